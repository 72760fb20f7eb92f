"""The checks of Chapter 1's exercises accept the right answers and explain wrong ones."""

from __future__ import annotations

import pytest

from companion.exercises import CheckFailed, ch01


def test_conv2():
    assert ch01.check_conv2_params(307_456)
    with pytest.raises(CheckFailed, match="groups"):
        ch01.check_conv2_params(614_656)
    with pytest.raises(CheckFailed, match="bias"):
        ch01.check_conv2_params(307_200)


def test_bert_base():
    assert ch01.check_bert_base_count(109_482_240)
    with pytest.raises(CheckFailed, match="pooler"):
        ch01.check_bert_base_count(108_891_648)


def test_chinchilla():
    c = 6 * 70e9 * 1.4e12
    assert ch01.check_chinchilla_flops(c, c / 8.64e19)
    with pytest.raises(CheckFailed, match="forward"):
        ch01.check_chinchilla_flops(2 * 70e9 * 1.4e12, 1.0)
    with pytest.raises(CheckFailed, match="PF-days"):
        ch01.check_chinchilla_flops(c, c / 1e15)


def test_chronological():
    names = [e.event for e in ch01.TIMELINE[:4]]
    assert ch01.check_chronological(names)
    with pytest.raises(CheckFailed, match="comes after"):
        ch01.check_chronological(names[::-1])
    with pytest.raises(CheckFailed, match="not an event"):
        ch01.check_chronological(["Moon landing"])
