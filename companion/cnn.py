"""Convolution and pooling from scratch, and the small networks of Chapter 5.

Chapter 5, "Convolutional networks". What deep-learning libraries call *convolution* is
2-D cross-correlation over a sliding window (eq. ``ch05-conv``)::

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] * xpad[n, c, s*i + u, s*j + v]

with input ``x``: ``(N, C_in, H, W)``, weight ``w``: ``(C_out, C_in, kH, kW)``, bias ``b``:
``(C_out,)``, zero padding ``p`` and stride ``s``; the output is ``(N, C_out, H_out, W_out)``
with ``H_out = floor((H + 2p - kH) / s) + 1`` (eq. ``ch05-out-size``).

* :func:`conv2d_loops` computes the sum literally, one output position at a time (teaching).
* :func:`conv2d` computes the same thing as one matrix product on unfolded patches
  (im2col) with a hand-written backward pass (:class:`Im2colConv2dFunction`, a
  ``torch.autograd.Function``); tests check both against ``F.conv2d``, values and gradients.
* :class:`Im2colConv2d`: an ``nn.Conv2d`` layer whose forward calls :func:`conv2d` (the
  *layer*; the Function above is the *operation* it runs).
* :func:`max_pool2d` / :func:`avg_pool2d`: pooling, which has no parameters (eq. ``ch05-pool``).
* :class:`LeNet`, :class:`DeepConvNet`: the chapter's networks; :class:`RandomShift`: data
  augmentation by random translation.

Input policy (see :mod:`companion.validation`): tensors are never converted silently (a
NumPy array or list is a ``TypeError`` that says how to convert it); inputs must be
floating point and of the weights' dtype (float64 data for a float32 layer is refused, not
cast); sizes, paddings and strides are integers (``bool`` is not). Wrong kinds raise
``TypeError``, wrong values or shapes ``ValueError``, each naming the argument.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from companion.validation import (
    check_bool,
    check_floating,
    check_int,
    check_positive_int,
    check_same_device,
    check_tensor,
    describe,
)


def _pair(value, name: str, *, min: int = 0) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(2, 1)`` stays; each entry an int >= ``min`` (not bool)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w) of ints, got {value!r}")
        return tuple(check_int(v, name, min=min) for v in value)  # type: ignore[return-value]
    if torch.is_tensor(value) and value.numel() != 1:
        raise TypeError(f"{name} must be an int or a pair of ints, got {describe(value)}")
    v = check_int(value, name, min=min)
    return v, v


def conv_output_size(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """Output length along one axis, eq. ``ch05-out-size``: ``floor((n + 2p - k) / s) + 1``."""
    size = check_positive_int(size, "size")
    kernel = check_positive_int(kernel, "kernel")
    padding = check_int(padding, "padding", min=0)
    stride = check_positive_int(stride, "stride")
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

    ``weight``: a floating (C_out, C_in, kH, kW) tensor; ``x``: (N, C_in, H, W) of the
    weight's dtype and device; ``bias``: (C_out,) or None. Raises ``TypeError`` /
    ``ValueError`` naming the argument and the expected and actual shapes.
    """
    weight = check_tensor(weight, "weight", dtype="float")
    if weight.ndim != 4:
        raise ValueError(f"weight must be (C_out, C_in, kH, kW), got shape {tuple(weight.shape)}")
    x = check_floating(x, "x", like=weight)
    if x.ndim != 4:
        raise ValueError(
            f"x must be (N, C_in, H, W), got shape {tuple(x.shape)}"
            + (" (a single image? add a batch axis with x[None])" if x.ndim == 3 else "")
        )
    check_same_device("x", x, "weight", weight)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels but the weight expects "
            f"{weight.shape[1]}: x (N, C_in, H, W) = {tuple(x.shape)}, weight "
            f"(C_out, C_in, kH, kW) = {tuple(weight.shape)}"
        )
    if bias is not None:
        bias = check_floating(bias, "bias", like=weight)
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(
                f"bias must be (C_out,) = ({weight.shape[0]},), got shape {tuple(bias.shape)}"
            )
        check_same_device("bias", bias, "weight", weight)
    p, s = _pair(padding, "padding", min=0), _pair(stride, "stride", min=1)
    H, W = x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1]
    kH, kW = weight.shape[2:]
    if kH > H or kW > W:
        raise ValueError(
            f"kernel {kH}x{kW} is larger than the padded input {H}x{W} (x {x.shape[2]}x"
            f"{x.shape[3]}, padding {p}); x shape {tuple(x.shape)}, weight shape "
            f"{tuple(weight.shape)}"
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


class Im2colConv2dFunction(torch.autograd.Function):
    """The *operation* behind :func:`conv2d`: convolution as a matrix product on unfolded
    patches, with an explicit backward (eq. ``ch05-backward``).

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
    return Im2colConv2dFunction.apply(x, weight, bias, p, s)


class Im2colConv2d(nn.Conv2d):
    """The *layer*: an ``nn.Conv2d`` (same constructor, same parameters, same state dict)
    whose forward runs the companion's :func:`conv2d` (im2col) instead of PyTorch's kernel.

    Supports zero padding, dilation 1 and groups 1; other settings are refused when the
    layer is built. (N, C_in, H, W) -> (N, C_out, H_out, W_out).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros" or self.dilation != (1, 1) or self.groups != 1:
            raise ValueError(
                "Im2colConv2d supports padding_mode='zeros', dilation=1 and groups=1 only; "
                f"got padding_mode={self.padding_mode!r}, dilation={self.dilation}, "
                f"groups={self.groups}"
            )
        if isinstance(self.padding, str):
            raise ValueError(f"Im2colConv2d needs integer padding, got padding={self.padding!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv2d(x, self.weight, self.bias, self.padding, self.stride)


def _pool_windows(x: torch.Tensor, kernel_size, stride, padding, fill: float, name: str):
    """Unfold every channel separately: (N, C, H, W) -> (N, C, kH*kW, H_out, W_out)."""
    x = check_tensor(x, "x", dtype="float")
    if x.ndim != 4:
        raise ValueError(f"{name}: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    k = _pair(kernel_size, "kernel_size", min=1)
    s = k if stride is None else _pair(stride, "stride", min=1)
    p = _pair(padding, "padding", min=0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{name}: padding {p} must be at most half the kernel_size {k}")
    N, C, H, W = x.shape
    if k[0] > H + 2 * p[0] or k[1] > W + 2 * p[1]:
        raise ValueError(
            f"{name}: kernel_size {k[0]}x{k[1]} is larger than the padded input "
            f"{H + 2 * p[0]}x{W + 2 * p[1]} (x shape {tuple(x.shape)})"
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
    (j is the distance, in input pixels, between neighbouring outputs of layer l; eq.
    ``ch05-rf``).
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of (kernel, stride) pairs, got {describe(layers)}")
    r, jump, out = 1, 1, []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 2:
            raise TypeError(f"layers[{i}] must be a (kernel, stride) pair, got {describe(layer)}")
        kernel = check_positive_int(layer[0], f"layers[{i}] kernel")
        stride = check_positive_int(layer[1], f"layers[{i}] stride")
        r += (kernel - 1) * jump
        jump *= stride
        out.append(r)
    return out


def _check_images(x, name: str, like: torch.Tensor, channels: int) -> torch.Tensor:
    """A floating (N, channels, H, W) batch of the weights' dtype; returns it."""
    x = check_floating(x, name, like=like)
    if x.ndim != 4 or x.shape[1] != channels:
        hint = " (a single image? add a batch axis with x[None])" if x.ndim == 3 else ""
        raise ValueError(
            f"{name} must be a batch of images (N, {channels}, H, W), got shape "
            f"{tuple(x.shape)}{hint}"
        )
    return x


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
        in_channels = check_positive_int(in_channels, "in_channels")
        num_classes = check_positive_int(num_classes, "num_classes")
        image_size = check_int(image_size, "image_size")
        if image_size not in (28, 32):
            raise ValueError(f"LeNet expects 28x28 or 32x32 images, got image_size={image_size}")
        if not isinstance(channels, (tuple, list)) or len(channels) != 2:
            raise TypeError(f"channels must be a pair (c1, c2) of ints, got {describe(channels)}")
        c1, c2 = (check_positive_int(c, "channels") for c in channels)
        if not (isinstance(conv, type) and issubclass(conv, nn.Conv2d)):
            raise TypeError(
                f"conv must be nn.Conv2d or a subclass such as Im2colConv2d, got {describe(conv)}"
            )
        self.in_channels = in_channels
        self.image_size = image_size
        self.conv1 = conv(in_channels, c1, 5, padding=(32 - image_size) // 2)
        self.conv2 = conv(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        want = (self.in_channels, self.image_size, self.image_size)
        x = check_floating(x, "x", like=self.conv1.weight)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(
                f"LeNet expects x of shape (N, {want[0]}, {want[1]}, {want[2]}), got "
                f"{tuple(x.shape)}"
                + (" (a single image? add a batch axis with x[None])" if x.ndim == 3 else "")
            )
        return x

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each conv+ReLU: [(N, c1, 28, 28), (N, c2, 10, 10)]."""
        a1 = F.relu(self.conv1(self._check(x)))
        a2 = F.relu(self.conv2(F.max_pool2d(a1, 2)))
        return [a1, a2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, S, S) images -> (N, num_classes) logits."""
        x = F.max_pool2d(self.features(x)[1], 2)  # (N, c2, 5, 5)
        x = torch.flatten(x, 1)  # (N, c2 * 25)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ConvBlock(nn.Module):
    """3x3 conv (+ batch norm), then ReLU; with ``residual=True`` the input is added before the
    ReLU, ``relu(x + norm(conv(x)))``, as in He et al. (2016). (N, width, H, W) -> same."""

    def __init__(self, width: int, batch_norm: bool, residual: bool):
        super().__init__()
        width = check_positive_int(width, "width")
        batch_norm = check_bool(batch_norm, "batch_norm")
        self.residual = check_bool(residual, "residual")
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm)
        self.norm = nn.BatchNorm2d(width) if batch_norm else nn.Identity()

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
        depth = check_positive_int(depth, "depth")
        width = check_positive_int(width, "width")
        self.in_channels = check_positive_int(in_channels, "in_channels")
        num_classes = check_positive_int(num_classes, "num_classes")
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[ConvBlock(width, batch_norm, residual) for _ in range(depth)])
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, H, W) -> (N, num_classes) logits."""
        x = _check_images(x, "x", self.stem.weight, self.in_channels)
        x = self.blocks(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


class RandomShift(torch.utils.data.Dataset):
    """Images ``X``: (n, C, H, W) with labels ``y``: (n,), each moved by up to ``max_shift``
    pixels in both directions every time it is read (data augmentation, Section 5.3).

    The border that appears is filled with the smallest value of ``X`` (the background of
    standardised digits). The shift draws on torch's global generator, so ``fit``
    reproduces it on resume.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, max_shift: int = 2):
        X = check_tensor(X, "X", dtype="float")
        if X.ndim != 4:
            raise ValueError(f"X must be images (n, C, H, W), got shape {tuple(X.shape)}")
        y = check_tensor(y, "y")
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"y must be (n,) with n = len(X) = {len(X)}, got shape {tuple(y.shape)}"
            )
        max_shift = check_int(max_shift, "max_shift", min=0)
        if max_shift >= min(X.shape[2:]):
            raise ValueError(
                f"max_shift must be smaller than the image ({tuple(X.shape[2:])}), got {max_shift}"
            )
        self.X, self.y, self.max_shift = X, y, max_shift
        self.padded = F.pad(X, (max_shift,) * 4, value=float(X.min()))

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):
        dy, dx = torch.randint(0, 2 * self.max_shift + 1, (2,)).tolist()
        H, W = self.X.shape[2:]
        return self.padded[i, :, dy : dy + H, dx : dx + W], self.y[i]
