"""Chapter 5: the companion's convolution and pooling agree with PyTorch's, values and grads."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion import cnn
from companion.cnn import (
    ConvBlock,
    DeepConvNet,
    Im2colConv2d,
    Im2colConv2dFunction,
    LeNet,
    avg_pool2d,
    conv2d,
    conv2d_loops,
    conv_output_size,
    max_pool2d,
    receptive_field,
)
from companion.data import cifar10

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only add overhead

GRID = [  # (C_in, C_out, kernel, padding, stride, H, W)
    (1, 1, 3, 0, 1, 7, 7),
    (1, 4, 3, 1, 1, 6, 5),
    (3, 2, 3, 1, 2, 7, 8),
    (2, 5, (3, 2), (2, 1), (2, 3), 8, 9),
    (4, 3, 5, 2, 3, 9, 9),
    (3, 6, 1, 0, 1, 4, 4),
]


def _data(c_in, c_out, kernel, h, w, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = torch.randn(2, c_in, h, w, generator=g, dtype=dtype, requires_grad=True)
    weight = torch.randn(c_out, c_in, kh, kw, generator=g, dtype=dtype, requires_grad=True)
    bias = torch.randn(c_out, generator=g, dtype=dtype, requires_grad=True)
    return x, weight, bias


@pytest.mark.parametrize("c_in,c_out,kernel,padding,stride,h,w", GRID)
def test_conv2d_matches_torch_values_and_gradients(c_in, c_out, kernel, padding, stride, h, w):
    x, weight, bias = _data(c_in, c_out, kernel, h, w)
    ours = conv2d(x, weight, bias, padding, stride)
    ref = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(conv2d_loops(x, weight, bias, padding, stride), ref)
    upstream = torch.randn_like(ref)
    got = torch.autograd.grad(ours, (x, weight, bias), upstream)
    want = torch.autograd.grad(ref, (x, weight, bias), upstream)
    for g, r in zip(got, want, strict=True):
        torch.testing.assert_close(g, r)


@pytest.mark.parametrize("padding,stride", [(1, 2), ((2, 0), (1, 2))])
def test_conv2d_gradcheck(padding, stride):
    """Finite differences, independent of autograd's own conv2d backward."""
    x, weight, bias = _data(2, 2, 3, 5, 4)
    assert torch.autograd.gradcheck(
        lambda a, b, c: conv2d(a, b, c, padding, stride), (x, weight, bias)
    )


def test_conv2d_without_bias_and_float32():
    x, weight, _ = _data(3, 4, 3, 8, 8, dtype=torch.float32)
    torch.testing.assert_close(
        conv2d(x, weight, None, 1, 1), F.conv2d(x, weight, padding=1), rtol=1e-5, atol=1e-5
    )


def test_im2col_layer_equals_nn_conv2d_values_and_gradients():
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(3, 5, 3, padding=1, stride=2)
    ours = Im2colConv2d(3, 5, 3, padding=1, stride=2)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 9, 9, requires_grad=True)
    y_ours, y_ref = ours(x), ref(x)
    torch.testing.assert_close(y_ours, y_ref)
    up = torch.randn_like(y_ref)
    got = torch.autograd.grad(y_ours, (x, ours.weight, ours.bias), up)
    want = torch.autograd.grad(y_ref, (x, ref.weight, ref.bias), up)
    for g, r in zip(got, want, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)


def test_the_layer_runs_the_function_with_the_hand_written_backward(monkeypatch):
    """Im2colConv2d (the layer) calls Im2colConv2dFunction (the operation), not F.conv2d."""
    calls = []
    original = Im2colConv2dFunction.backward

    def spy(ctx, grad):
        calls.append(grad.shape)
        return original(ctx, grad)

    monkeypatch.setattr(Im2colConv2dFunction, "backward", staticmethod(spy))
    layer = Im2colConv2d(2, 3, 3)
    layer(torch.randn(1, 2, 5, 5)).sum().backward()
    assert calls == [(1, 3, 3, 3)]
    with pytest.raises(ValueError, match="groups"):
        Im2colConv2d(2, 4, 3, groups=2)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda x, w, b: F.conv2d(x, w.flip(2, 3), b, padding=1),  # true convolution (flipped)
        lambda x, w, b: F.conv2d(x, w.transpose(2, 3), b, padding=1),  # kernel transposed
        lambda x, w, b: F.conv2d(x, w, None, padding=1),  # bias forgotten
        lambda x, w, b: F.conv2d(x, w, b, padding=0),  # padding forgotten (shape differs)
    ],
)
def test_the_reference_comparison_rejects_plausible_wrong_convolutions(wrong):
    """The comparison used above is sharp: each classic slip differs from F.conv2d."""
    x, weight, bias = _data(3, 4, 3, 7, 7)
    with pytest.raises(AssertionError):
        torch.testing.assert_close(wrong(x, weight, bias), conv2d(x, weight, bias, 1, 1))


def test_cross_correlation_does_not_flip_the_kernel():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 0] = 1.0  # a single bright pixel at the top left
    w = torch.arange(9.0).reshape(1, 1, 3, 3)
    # the one output sees the window as is: the pixel meets w[0, 0] = 0, not w[2, 2] = 8
    assert conv2d(x, w).item() == 0.0
    assert conv2d(x.flip(2, 3), w).item() == 8.0


@pytest.mark.parametrize(
    "kernel,stride,padding", [(2, None, 0), (3, 2, 1), (3, 1, 0), ((2, 3), (1, 2), (1, 1))]
)
def test_pooling_matches_torch(kernel, stride, padding):
    x = torch.randn(2, 3, 7, 8, dtype=torch.float64, requires_grad=True)
    for ours, ref in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
        got = ours(x, kernel, stride, padding)
        want = ref(x, kernel, stride, padding)
        torch.testing.assert_close(got, want)
        up = torch.randn_like(want)
        torch.testing.assert_close(
            torch.autograd.grad(got, x, up)[0], torch.autograd.grad(want, x, up)[0]
        )


@pytest.mark.parametrize(
    "wrong,ref",
    [
        # max pooling that pads with zeros: wrong wherever a window holds only negatives
        (
            lambda x: F.pad(x, (1, 1, 1, 1)).unfold(2, 3, 2).unfold(3, 3, 2).amax((-1, -2)),
            lambda x: F.max_pool2d(x, 3, 2, 1),
        ),
        # average pooling that leaves the padding out of the count
        (
            lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
            lambda x: avg_pool2d(x, 3, 2, 1),
        ),
        # stride 1 instead of the window size
        (lambda x: F.max_pool2d(x, 2, 1), lambda x: max_pool2d(x, 2)),
    ],
    ids=["max-zero-pad", "avg-exclude-pad", "stride-1"],
)
def test_pooling_comparison_rejects_plausible_wrong_pooling(wrong, ref):
    x = -torch.rand(2, 3, 7, 8, dtype=torch.float64)  # all negative: zero padding shows
    got, want = wrong(x), ref(x)
    assert got.shape != want.shape or not torch.allclose(got, want)


def test_output_size_formula():
    assert conv_output_size(224, 11, 2, 4) == 55  # AlexNet's first layer
    assert conv_output_size(7, 3, 1, 2) == 4
    assert conv_output_size(28, 5, 0, 1) == 24
    for n, k, p, s in [(9, 3, 1, 2), (10, 4, 0, 3), (5, 5, 2, 1)]:
        y = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=p, stride=s)
        assert y.shape[-1] == conv_output_size(n, k, p, s)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv_output_size(3, 5)


def test_receptive_field_matches_the_gradient_footprint():
    layers = [(3, 1), (3, 2), (3, 1), (2, 2), (3, 1)]
    assert receptive_field(layers) == [3, 5, 9, 11, 19]
    x = torch.zeros(1, 1, 41, 41, requires_grad=True)
    y = x
    for k, s in layers:
        y = F.conv2d(y, torch.ones(1, 1, k, k), stride=s)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == 19


def test_errors_name_the_shapes():
    """The messages the chapter shows: both shapes, and the padded size."""
    x = torch.randn(2, 3, 28, 28)
    with pytest.raises(ValueError, match=r"3 channels but the weight expects 1.*\(2, 3, 28, 28\)"):
        conv2d(x, torch.randn(6, 1, 5, 5))
    with pytest.raises(ValueError, match=r"kernel 7x7 is larger than the padded input 6x6"):
        conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 7, 7), padding=1)


def test_lenet_shapes_and_parameter_count():
    assert sum(p.numel() for p in LeNet().parameters()) == 61_706
    cifar = LeNet(in_channels=3, image_size=32)
    assert sum(p.numel() for p in cifar.parameters()) == 62_006  # the source's CIFAR net
    assert cifar(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    a1, a2 = LeNet().features(torch.randn(2, 1, 28, 28))
    assert a1.shape == (2, 6, 28, 28) and a2.shape == (2, 16, 10, 10)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("residual", [False, True])
def test_conv_block_computes_what_its_docstring_says(batch_norm, residual):
    """relu(x + BN(conv(x))) with the residual, relu(BN(conv(x))) without; BN replaces the
    conv bias. A block that drops x, or adds it after the ReLU, fails."""
    torch.manual_seed(0)
    block = ConvBlock(4, batch_norm=batch_norm, residual=residual).train()
    x = torch.randn(3, 4, 6, 6)
    z = F.conv2d(x, block.conv.weight, block.conv.bias, padding=1)
    if batch_norm:
        assert block.conv.bias is None
        z = (z - z.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
            z.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5
        )
    want = F.relu(x + z) if residual else F.relu(z)
    torch.testing.assert_close(block(x), want, rtol=1e-5, atol=1e-5)
    if residual:  # the wrong variant: add the input after the ReLU
        assert not torch.allclose(block(x), x + F.relu(z), atol=1e-3)


def test_deep_conv_net_is_stem_blocks_global_average_pool_head():
    torch.manual_seed(0)
    net = DeepConvNet(depth=3, width=4, residual=True, batch_norm=True).eval()
    x = torch.randn(2, 1, 7, 7)
    h = net.blocks(net.stem(x))
    torch.testing.assert_close(net(x), net.head(h.mean(dim=(2, 3))))
    assert len(net.blocks) == 3 and net(x).shape == (2, 10)


# --- CIFAR-10 loader: only the checksum and parsing logic, on small local files -----------


def test_official_checksum_constant():
    assert cifar10.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
    assert cifar10.CIFAR10_URL.startswith("https://www.cs.toronto.edu/")


def test_verify_checksum_accepts_and_rejects(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(b"convolution")
    good = hashlib.md5(b"convolution").hexdigest()
    assert cifar10.verify_checksum(f, good) == f
    with pytest.raises(ValueError, match="checksum mismatch"):
        cifar10.verify_checksum(f, "0" * 32)
    with pytest.raises(FileNotFoundError):
        cifar10.verify_checksum(tmp_path / "missing.tar.gz", good)


def _fake_archive(path, n=4):
    """A tiny archive with the official layout: 5 train batches and a test batch."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {
                b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"labels": list(rng.integers(0, 10, n)),
            }
            raw = pickle.dumps(batch)
            info = tarfile.TarInfo(f"{cifar10.FOLDER}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def test_load_from_a_verified_local_archive(tmp_path):
    archive = tmp_path / cifar10.ARCHIVE_NAME
    _fake_archive(archive)
    with pytest.raises(ValueError, match="checksum mismatch"):  # not the official archive
        cifar10.load_cifar10(tmp_path)
    split = cifar10.load_cifar10(tmp_path, md5=cifar10.md5sum(archive))
    assert split.X_train.shape == (20, 3, 32, 32) and split.X_test.shape == (4, 3, 32, 32)
    assert split.X_train.dtype == torch.float32 and 0 <= split.X_train.min() <= 1
    assert split.y_train.dtype == torch.int64


def test_missing_data_does_not_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        cifar10.load_cifar10(tmp_path / "empty")


def test_random_shift_moves_images_within_bounds():
    X = torch.zeros(3, 1, 8, 8)
    X[:, :, 3:5, 3:5] = 1.0  # a bright 2x2 square in the middle
    data = cnn.RandomShift(X, torch.arange(3), max_shift=2)
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        img, label = data[1]
        assert img.shape == (1, 8, 8) and label == 1 and img.sum() == 4.0  # moved, not cut
        rows, cols = img[0].nonzero().min(0).values.tolist()
        assert 1 <= rows <= 5 and 1 <= cols <= 5
        seen.add((rows, cols))
    assert len(seen) > 5  # it really moves
    # content that leaves the frame is gone, not wrapped around (torch.roll would fail)
    X = torch.zeros(1, 1, 8, 8)
    X[0, 0, 0, 0] = 1.0
    data = cnn.RandomShift(X, torch.zeros(1, dtype=torch.long), max_shift=2)
    for _ in range(40):
        img, _ = data[0]
        bright = img[0].nonzero().tolist()
        assert all(r <= 2 and c <= 2 for r, c in bright)


# --- CPU and CUDA agree (run with `pytest -m gpu` on a CUDA machine; skipped here) ----------
# Tolerances: float64 differs only by summation order (1e-10); float32 convolutions on
# CUDA may use TF32 unless disabled, so they are compared with TF32 off, at 1e-4.


@pytest.mark.gpu
@pytest.mark.parametrize("fn", [conv2d, conv2d_loops], ids=["im2col", "loops"])
def test_conv2d_on_cuda_matches_cpu(fn):
    x, weight, bias = _data(3, 4, 3, 9, 8)
    up = torch.randn(2, 4, 5, 4, dtype=torch.float64)
    results = {}
    for device in ("cpu", "cuda"):
        args = [t.detach().to(device).requires_grad_() for t in (x, weight, bias)]
        y = fn(*args, 1, 2)
        grads = torch.autograd.grad(y, args, up.to(device))
        results[device] = [y.detach().cpu(), *(g.cpu() for g in grads)]
    for a, b in zip(results["cpu"], results["cuda"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.gpu
def test_fused_conv_and_pooling_on_cuda_match_cpu():
    torch.backends.cudnn.allow_tf32 = False
    x, weight, bias = _data(3, 4, 3, 9, 8, dtype=torch.float32)
    ref = F.conv2d(x, weight, bias, padding=1)
    got = F.conv2d(x.cuda(), weight.cuda(), bias.cuda(), padding=1).cpu()
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(max_pool2d(x.detach().cuda(), 2).cpu(), max_pool2d(x.detach(), 2))


@pytest.mark.gpu
def test_lenet_training_step_on_cuda_matches_cpu():
    """One Adam step of LeNet on the same batch: same loss and parameters within 1e-4."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)
    out = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        net = LeNet().to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss = F.cross_entropy(net(X.to(device)), y.to(device))
        loss.backward()
        opt.step()
        out[device] = [loss.detach().cpu()] + [p.detach().cpu() for p in net.parameters()]
    for a, b in zip(out["cpu"], out["cuda"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
