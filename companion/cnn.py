"""Convolution and pooling from scratch, and the small networks of Chapter 5.

Chapter 5, "Convolutional networks". What deep-learning libraries call *convolution* is
2-D cross-correlation over a sliding window (eq. ``ch05-conv``)::

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * xpad[n, c, s*i + u, s*j + v]

with input ``x``: ``(N, C_in, H, W)``, weight ``w``: ``(C_out, C_in, kH, kW)``, bias ``b``:
``(C_out,)``, zero padding ``p`` and stride ``s``; the output is ``(N, C_out, H_out, W_out)``
with ``H_out = floor((H + 2p - kH) / s) + 1`` (eq. ``ch05-out-size``).

* :func:`conv2d_loops` computes the sum literally, one output position at a time (teaching).
* :func:`conv2d` computes the same thing as one matrix product on unfolded patches
  (im2col) with a hand-written backward pass (:class:`Conv2dIm2col`); tests check both
  against ``F.conv2d``, values and gradients.
* :func:`max_pool2d` / :func:`avg_pool2d`: pooling, which has no parameters (eq. ``ch05-pool``).
* :class:`LeNet`, :class:`DeepConvNet`: the chapter's networks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable


def _pair(value, name: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 1)`` stays; anything else is a TypeError."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        return value, value
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def conv_output_size(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """Output length along one axis, eq. ``ch05-out-size``: ``floor((n + 2p - k) / s) + 1``."""
    if stride < 1 or padding < 0 or kernel < 1:
        raise ValueError(
            f"need kernel >= 1, padding >= 0, stride >= 1; got kernel={kernel}, "
            f"padding={padding}, stride={stride}"
        )
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel {kernel} is larger than the padded input {size} + 2*{padding} "
            f"= {size + 2 * padding}"
        )
    return (size + 2 * padding - kernel) // stride + 1


def check_conv_args(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding, stride
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Validate the arguments of a 2-D convolution; return ``(padding, stride)`` as pairs.

    Raises ``TypeError`` / ``ValueError`` naming the expected and actual shapes.
    """
    if not torch.is_tensor(x) or not torch.is_tensor(weight):
        raise TypeError(
            f"conv2d expects tensors, got {type(x).__name__} and {type(weight).__name__}"
        )
    if x.ndim != 4:
        raise ValueError(f"conv2d input must be (N, C_in, H, W), got shape {tuple(x.shape)}")
    if weight.ndim != 4:
        raise ValueError(
            f"conv2d weight must be (C_out, C_in, kH, kW), got shape {tuple(weight.shape)}"
        )
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: input has {x.shape[1]} channels but the weight expects "
            f"{weight.shape[1]}: input (N, C_in, H, W) = {tuple(x.shape)}, weight "
            f"(C_out, C_in, kH, kW) = {tuple(weight.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"conv2d bias must be (C_out,) = ({weight.shape[0]},), got shape {tuple(bias.shape)}"
        )
    p, s = _pair(padding, "padding"), _pair(stride, "stride")
    if min(p) < 0 or min(s) < 1:
        raise ValueError(f"need padding >= 0 and stride >= 1, got padding={p}, stride={s}")
    H, W = x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1]
    kH, kW = weight.shape[2:]
    if kH > H or kW > W:
        raise ValueError(
            f"conv2d: kernel {kH}x{kW} is larger than the padded input {H}x{W} "
            f"(input {x.shape[2]}x{x.shape[3]}, padding {p}); input shape "
            f"{tuple(x.shape)}, weight shape {tuple(weight.shape)}"
        )
    return p, s


def conv2d_loops(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, padding=0, stride=1
) -> torch.Tensor:
    """Eq. ``ch05-conv`` written as loops over output positions (slow; for teaching).

    ``x``: (N, C_in, H, W), ``weight``: (C_out, C_in, kH, kW) -> (N, C_out, H_out, W_out).
    Each output pixel is the sum, over input channels and the kH x kW window, of window
    times kernel: a *cross-correlation*, the kernel is not flipped.
    """
    (ph, pw), (sh, sw) = check_conv_args(x, weight, bias, padding, stride)
    xpad = F.pad(x, (pw, pw, ph, ph))  # zeros: left, right, top, bottom
    C_out, _, kH, kW = weight.shape
    H_out = (xpad.shape[2] - kH) // sh + 1
    W_out = (xpad.shape[3] - kW) // sw + 1
    rows = []
    for i in range(H_out):
        cols = []
        for j in range(W_out):
            window = xpad[:, :, i * sh : i * sh + kH, j * sw : j * sw + kW]  # (N, C_in, kH, kW)
            cols.append((window[:, None] * weight[None]).sum(dim=(2, 3, 4)))  # (N, C_out)
        rows.append(torch.stack(cols, dim=-1))  # (N, C_out, W_out)
    y = torch.stack(rows, dim=-2)  # (N, C_out, H_out, W_out)
    if bias is not None:
        y = y + bias[None, :, None, None]
    return y


class Conv2dIm2col(torch.autograd.Function):
    """Convolution as a matrix product on unfolded patches, with an explicit backward.

    Forward (im2col): ``cols = unfold(x)``: (N, C_in*kH*kW, L) with L = H_out*W_out output
    positions; ``y = W_mat @ cols + b`` with ``W_mat``: (C_out, C_in*kH*kW).
    Backward, for upstream gradient ``g``: (N, C_out, L):
    ``dW_mat = sum_n g[n] @ cols[n]^T``, ``db = sum_{n, l} g``, and
    ``dx = fold(W_mat^T @ g)``: fold (col2im) adds each patch's gradient back onto the
    pixels it came from, so overlapping windows accumulate.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, padding, stride):
        C_out, C_in, kH, kW = weight.shape
        cols = F.unfold(x, (kH, kW), padding=padding, stride=stride)  # (N, C_in*kH*kW, L)
        H_out = (x.shape[2] + 2 * padding[0] - kH) // stride[0] + 1
        W_out = (x.shape[3] + 2 * padding[1] - kW) // stride[1] + 1
        y = weight.reshape(C_out, -1) @ cols  # (N, C_out, L)
        if bias is not None:
            y = y + bias[None, :, None]
        ctx.save_for_backward(cols, weight)
        ctx.conf = (x.shape[2:], padding, stride, bias is not None)
        return y.reshape(x.shape[0], C_out, H_out, W_out)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        cols, weight = ctx.saved_tensors
        (H, W), padding, stride, has_bias = ctx.conf
        C_out, _, kH, kW = weight.shape
        g = grad_y.reshape(grad_y.shape[0], C_out, -1)  # (N, C_out, L)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_cols = weight.reshape(C_out, -1).t() @ g  # (N, C_in*kH*kW, L)
            grad_x = F.fold(grad_cols, (H, W), (kH, kW), padding=padding, stride=stride)
        if ctx.needs_input_grad[1]:
            grad_w = (g @ cols.transpose(1, 2)).sum(0).reshape(weight.shape)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = g.sum(dim=(0, 2))
        return grad_x, grad_w, grad_b, None, None


def conv2d(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, padding=0, stride=1
) -> torch.Tensor:
    """Eq. ``ch05-conv`` vectorised with im2col; same result and gradients as ``F.conv2d``.

    ``x``: (N, C_in, H, W), ``weight``: (C_out, C_in, kH, kW), ``bias``: (C_out,) or None;
    ``padding`` (zeros) and ``stride``: int or (h, w). Returns (N, C_out, H_out, W_out).
    """
    p, s = check_conv_args(x, weight, bias, padding, stride)
    return Conv2dIm2col.apply(x, weight, bias, p, s)


class Im2colConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose forward uses the companion's :func:`conv2d` (same parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding_mode != "zeros" or self.dilation != (1, 1) or self.groups != 1:
            raise ValueError("Im2colConv2d supports zero padding, dilation 1 and groups 1 only")
        return conv2d(x, self.weight, self.bias, self.padding, self.stride)


def _pool_windows(x: torch.Tensor, kernel_size, stride, padding, fill: float, name: str):
    """Unfold every channel separately: (N, C, H, W) -> (N, C, kH*kW, H_out, W_out)."""
    if not torch.is_tensor(x) or x.ndim != 4:
        raise ValueError(
            f"{name} input must be a tensor (N, C, H, W), got "
            f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}"
        )
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    p = _pair(padding, "padding")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2 or min(p) < 0:
        raise ValueError(f"{name}: padding {p} must be between 0 and half the kernel {k}")
    N, C, H, W = x.shape
    if k[0] > H + 2 * p[0] or k[1] > W + 2 * p[1]:
        raise ValueError(
            f"{name}: window {k[0]}x{k[1]} is larger than the padded input "
            f"{H + 2 * p[0]}x{W + 2 * p[1]} (input shape {tuple(x.shape)})"
        )
    xpad = F.pad(x, (p[1], p[1], p[0], p[0]), value=fill)
    cols = F.unfold(xpad.reshape(N * C, 1, *xpad.shape[2:]), k, stride=s)  # (N*C, kH*kW, L)
    H_out = (H + 2 * p[0] - k[0]) // s[0] + 1
    W_out = (W + 2 * p[1] - k[1]) // s[1] + 1
    return cols.reshape(N, C, k[0] * k[1], H_out, W_out)


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """Max pooling, eq. ``ch05-pool``: the largest value in each window, per channel.

    No weights, no bias. ``stride`` defaults to the window size; padding uses -inf, as
    ``F.max_pool2d`` does. (N, C, H, W) -> (N, C, H_out, W_out).
    """
    return _pool_windows(x, kernel_size, stride, padding, float("-inf"), "max_pool2d").amax(2)


def avg_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """Average pooling, eq. ``ch05-pool``: the mean of each window (zero padding counted,
    like ``F.avg_pool2d``'s default). (N, C, H, W) -> (N, C, H_out, W_out)."""
    return _pool_windows(x, kernel_size, stride, padding, 0.0, "avg_pool2d").mean(2)


def receptive_field(layers) -> list[int]:
    """Receptive field size after each layer of a stack of ``(kernel, stride)`` layers.

    r_l = r_{l-1} + (k_l - 1) * j_{l-1} and j_l = j_{l-1} * s_l, starting from r_0 = j_0 = 1
    (j is the distance, in input pixels, between neighbouring outputs of layer l).
    """
    r, jump, out = 1, 1, []
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError(
                f"each layer needs kernel >= 1 and stride >= 1, got {(kernel, stride)}"
            )
        r += (kernel - 1) * jump
        jump *= stride
        out.append(r)
    return out


class LeNet(nn.Module):
    """A LeNet-style network (LeCun et al., 1998) with ReLU and max pooling (Section 5.3).

    (N, C, 28 or 32, same) -> conv 5x5 (c1 = 6) -> pool -> conv 5x5 (c2 = 16) -> pool -> 120
    -> 84 -> classes; ``channels=(c1, c2)`` widens the two conv layers. A 28x28 input is
    padded by 2 so that both sizes reach the c2 x 5 x 5 feature block.
    ``conv=Im2colConv2d`` swaps in the companion's convolution.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int = 28,
        channels: tuple[int, int] = (6, 16),
        conv: type[nn.Conv2d] = nn.Conv2d,
    ):
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(f"LeNet expects 28x28 or 32x32 images, got image_size={image_size}")
        self.in_channels = in_channels
        self.image_size = image_size
        c1, c2 = channels
        self.conv1 = conv(in_channels, c1, 5, padding=(32 - image_size) // 2)
        self.conv2 = conv(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each conv+ReLU: [(N, c1, 28, 28), (N, c2, 10, 10)]."""
        a1 = F.relu(self.conv1(x))
        a2 = F.relu(self.conv2(F.max_pool2d(a1, 2)))
        return [a1, a2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        want = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(
                f"LeNet expects input (N, {want[0]}, {want[1]}, {want[2]}), got {tuple(x.shape)}"
            )
        x = F.max_pool2d(self.features(x)[1], 2)  # (N, c2, 5, 5)
        x = torch.flatten(x, 1)  # (N, c2 * 25)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ConvBlock(nn.Module):
    """3x3 conv (+ batch norm), then ReLU; with ``residual=True`` the input is added before the
    ReLU, ``relu(x + norm(conv(x)))``, as in He et al. (2016). (N, width, H, W) -> same."""

    def __init__(self, width: int, batch_norm: bool, residual: bool):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm)
        self.norm = nn.BatchNorm2d(width) if batch_norm else nn.Identity()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm(self.conv(x))
        return F.relu(x + out) if self.residual else F.relu(out)


class DeepConvNet(nn.Module):
    """``depth`` 3x3 conv blocks of equal width, global average pooling, a linear classifier.

    Section 5.4's experiment: the same depth trained plain, with batch normalisation, and
    with residual connections. Input (N, C, H, W) -> logits (N, classes).
    """

    def __init__(
        self,
        depth: int,
        width: int = 16,
        in_channels: int = 1,
        num_classes: int = 10,
        batch_norm: bool = False,
        residual: bool = False,
    ):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[ConvBlock(width, batch_norm, residual) for _ in range(depth)])
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


class RandomShift(torch.utils.data.Dataset):
    """Images ``X``: (n, C, H, W) with labels ``y``: (n,), each moved by up to ``max_shift``
    pixels in both directions every time it is read (data augmentation, Section 5.3).

    The shift draws on torch's global generator, so ``fit`` reproduces it on resume.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, max_shift: int = 2):
        if X.ndim != 4 or len(X) != len(y):
            raise ValueError(
                f"expected X (n, C, H, W) and y (n,), got {tuple(X.shape)} and {tuple(y.shape)}"
            )
        self.X, self.y, self.max_shift = X, y, int(max_shift)
        self.padded = F.pad(X, (max_shift,) * 4, value=float(X.min()))

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):
        dy, dx = torch.randint(0, 2 * self.max_shift + 1, (2,)).tolist()
        H, W = self.X.shape[2:]
        return self.padded[i, :, dy : dy + H, dx : dx + W], self.y[i]
