"""Chapter 1's data (companion.history): timeline, parameter counts, 6·N·D."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from companion.history import (
    MODELS,
    TIMELINE,
    count_on_meta,
    flops_to_pf_days,
    parameter_table,
    training_flops,
)
from companion.transformer import GPT, GPT2_SMALL, GPT3_175B, gpt_parameter_formula

BIB = Path(__file__).resolve().parents[1] / "book" / "references.bib"


def _bib_years() -> dict[str, int]:
    text = BIB.read_text()
    years = {}
    for key, body in re.findall(r"@\w+\{([^,\s]+),(.*?)\n\}", text, flags=re.S):
        found = re.search(r"year\s*=\s*\{?(\d{4})", body)
        years[key] = int(found.group(1)) if found else None
    return years


def test_timeline_is_sorted_and_cited():
    years = [e.year for e in TIMELINE]
    assert years == sorted(years) and years[0] == 1943
    bib = _bib_years()
    for e in TIMELINE:
        assert e.key in bib, f"{e.key} is not in references.bib"
        # the event's year is its first public appearance: the venue may be a year later
        assert 0 <= bib[e.key] - e.year <= 1, (e.event, e.year, bib[e.key])


def test_timeline_is_sorted_by_month_and_reaches_the_present():
    dates = [(e.year, e.month or 0) for e in TIMELINE]
    assert dates == sorted(dates)
    assert all(e.month is not None for e in TIMELINE if e.year >= 2013)  # recent: to the month
    assert all(e.month is None or 1 <= e.month <= 12 for e in TIMELINE)
    assert TIMELINE[-1].year >= 2025


@pytest.mark.parametrize(
    "key, date",
    [
        ("openai2022chatgpt", "Nov 2022"),
        ("openai2023gpt4", "Mar 2023"),
        ("touvron2023llama", "Feb 2023"),
        ("touvron2023llama2", "Jul 2023"),
        ("jiang2024mixtral", "Dec 2023"),
        ("fedus2022switch", "Jan 2021"),
        ("openai2024o1", "Sep 2024"),
        ("deepseekai2025r1", "Jan 2025"),
        ("mnih2013playing", "Dec 2013"),
        ("devlin2019bert", "Oct 2018"),
        ("mcculloch1943logical", "1943"),
    ],
)
def test_dates_of_recent_events(key, date):
    assert {e.key: e for e in TIMELINE}[key].date == date


def test_pre_training_then_fine_tuning_predates_gpt_and_bert():
    by_key = {e.key: (e.year, e.month) for e in TIMELINE}
    assert by_key["dai2015semi"] < by_key["howard2018universal"] < by_key["radford2018improving"]
    assert by_key["radford2018improving"] < by_key["devlin2019bert"]


def test_model_keys_are_cited():
    bib = _bib_years()
    for m in MODELS:
        assert m.key in bib
        assert 0 <= bib[m.key] - m.year <= 1, (m.name, m.year, bib[m.key])


def test_dates_the_source_documents_got_wrong():
    by_key = {e.key: e for e in TIMELINE}
    assert by_key["mnih2013playing"].year == 2013  # not 2012
    assert "DeepMind Technologies" in by_key["mnih2013playing"].event  # not yet Google's
    assert by_key["devlin2019bert"].year == 2018  # not 2017
    assert "Microsoft" in by_key["he2016deep"].event  # not Facebook
    assert by_key["silver2016mastering"].year == 2016  # not 2017
    assert by_key["hinton2006fast"].year < by_key["krizhevsky2012imagenet"].year


# (exact count of the companion's model, allowed relative gap to the published figure)
EXPECTED = {
    "AlexNet": (60_965_224, 0.02),
    "VGG-16": (138_357_544, 0.005),
    "BERT-base": (109_482_240, 0.01),
    "BERT-large": (335_141_888, 0.015),
    "GPT-2 XL": (1_557_611_200, 0.015),
    "GPT-3": (174_604_259_328, 0.005),
}


def test_parameter_table_against_published_figures():
    rows = {r["model"]: r for r in parameter_table()}
    for name, (exact, tol) in EXPECTED.items():
        row = rows[name]
        assert row["computed"] == exact, name
        assert abs(row["ratio"] - 1) < tol, (name, row["ratio"])
        assert row["ratio"] == pytest.approx(exact / row["published"])
    assert rows["ResNet-50"]["computed"] == 25_557_032 and math.isnan(rows["ResNet-50"]["ratio"])
    years = [r["year"] for r in rows.values()]
    assert years == sorted(years)


def test_gpt2_small_is_124m_not_117m():
    n = count_on_meta(lambda: GPT(GPT2_SMALL))
    assert n == 124_439_808 == gpt_parameter_formula(GPT2_SMALL)
    assert n / 117e6 > 1.06  # the paper's figure is not a rounding of the true count


def test_gpt3_count_matches_closed_form_and_table_d1():
    n = count_on_meta(lambda: GPT(GPT3_175B))
    assert n == gpt_parameter_formula(GPT3_175B) == 174_604_259_328
    assert round(n / 1e8) * 100 == 174_600  # Brown et al. (2020), Table D.1: 174,600 M


def test_count_on_meta_allocates_nothing_and_checks_input():
    with pytest.raises(TypeError, match="callable"):
        count_on_meta("alexnet")
    with pytest.raises(TypeError, match="nn.Module"):
        count_on_meta(lambda: 3)
    with pytest.raises(RuntimeError, match="allocated"):
        count_on_meta(lambda: nn.Linear(2, 2, device="cpu"))

    def tied():
        model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
        model[1].weight = model[0].weight
        return model

    assert count_on_meta(tied) == 40  # a shared matrix counts once


def test_six_n_d():
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23, rel=1e-12)
    n = count_on_meta(lambda: GPT(GPT3_175B))
    c = training_flops(n, 300e9)
    assert abs(c / 3.14e23 - 1) < 0.001  # Brown et al. (2020), Table D.1
    assert abs(flops_to_pf_days(c) / 3.64e3 - 1) < 0.002
    assert training_flops(1, 1) == 6.0


@pytest.mark.parametrize(
    "n", [70e9, 70_000_000_000, np.float64(70e9), np.int64(70_000_000_000), torch.tensor(70e9)]
)
def test_six_n_d_accepts_every_numeric_type(n):
    # the right answer in every type; wrong values and types are in tests/badinput
    assert training_flops(n, 1.4e12) == pytest.approx(5.88e23, rel=1e-6)


def test_every_event_has_a_short_label():
    from companion.history import TIMELINE_LABELS

    assert set(TIMELINE_LABELS) == {e.key for e in TIMELINE}
    assert len({e.key for e in TIMELINE}) == len(TIMELINE)
