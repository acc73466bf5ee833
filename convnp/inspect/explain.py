"""One output value of one layer, computed by hand the way the lectures do it.

For a convolution layer (stride s, padding p, dilation d, groups g), output value (n, c, y, x) is

    out[n, c, y, x] = b[c] + sum_{ch, a, b'} x_pad[n, ch, s*y + d*a, s*x + d*b'] * W[c, ch, a, b']

over the input channels ch of c's group: take the input patch under the kernel, multiply it
element by element with the kernel, add the products and the bias; then the activation that
follows the layer (if any) squashes the sum. :func:`explain_output` prints those numbers and
returns them; the tests check that the sum is the layer's actual output.

Linear layers (out[n, c] = b[c] + sum_i x[n, i] W[c, i]) and max / average pooling (the window
and its maximum or mean) are explained the same way.

>>> import numpy as np
>>> from convnp.nn import Conv2d, ReLU, Sequential
>>> net = Sequential(Conv2d(1, 3, 3, padding=1), ReLU())
>>> e = explain_output(net, np.ones((1, 1, 5, 5), np.float32), "0", n=0, c=2, y=0, x=0, show=False)
>>> e.patch.shape, bool(np.isclose(e.sum, e.output))
((1, 3, 3), True)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import numpy as np

from convnp.arraymath.conv_arithmetic import Window
from convnp.autograd.tensor import Tensor
from convnp.inspect.trace import LayerCall, ModelTrace, as_input, conv_like, output_tensor, trace
from convnp.nn import functional as F
from convnp.nn.linear import Linear
from convnp.nn.module import Module
from convnp.nn.pooling import AvgPool2d, MaxPool2d
from convnp.nn.tracing import window_of

__all__ = ["OutputExplanation", "explain_output"]

_ACTIVATIONS = re.compile(r"(relu|tanh|sigmoid|elu|gelu|silu|swish|softplus|mish|hardtanh)$", re.IGNORECASE)


@dataclass
class OutputExplanation:
    """The numbers behind one output value. ``sum`` is ``products.sum() + bias`` (for pooling: the
    window's maximum or mean) and equals ``output``, the layer's actual value; ``activated`` is the
    value after the activation that follows the layer (None if none does)."""

    layer: str
    kind: str  # "conv", "linear", "maxpool", "avgpool"
    index: tuple  # (n, c, y, x), or (n, c) for a linear layer
    patch: np.ndarray  # conv: (C_in/groups, kh, kw) input under the kernel; linear: (in,); pool: window
    kernel: np.ndarray | None  # the weights multiplying the patch (None for pooling)
    products: np.ndarray | None  # patch * kernel
    bias: float
    sum: float
    output: float
    activation: str | None = None
    activated: float | None = None
    channels: np.ndarray | None = None  # input channels of the patch (conv: c's group)
    rows: np.ndarray | None = None  # input rows / columns of the taps (-1 .. : in the padding)
    cols: np.ndarray | None = None
    lines: list[str] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def _fmt(v: float) -> str:
    return f"{v: .4f}"


def _grid(a: np.ndarray, indent: str = "    ") -> list[str]:
    return [indent + " ".join(f"{v:8.4f}" for v in row) for row in np.atleast_2d(a)]


def _next_activation(tr: ModelTrace, call: LayerCall, out: Tensor):
    """The activation layer that takes this layer's output as its input, and its output."""
    for c in tr.calls:
        if c.order <= call.order or not c.inputs or c.inputs[0] is not out:
            continue
        name = type(c.module).__name__
        if c.is_leaf and _ACTIVATIONS.search(name) and isinstance(c.output, Tensor) and c.output.shape == out.shape:
            return c
    return None


def _check_index(op, name, shape, n, c, y, x) -> None:
    dims = (n, c) if len(shape) == 2 else (n, c, y, x)
    for label, v, size in zip("ncyx", dims, shape):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < size:
            raise ValueError(
                f"{op}: {label} must be an index in [0, {size}) for layer {name!r} of output shape "
                f"{tuple(shape)}. Received: {label}={v!r}"
            )


def explain_output(
    model: Module,
    input,
    layer: str,
    n: int = 0,
    c: int = 0,
    y: int = 0,
    x: int = 0,
    *,
    show: bool = True,
    file=None,
    max_channels: int = 4,
) -> OutputExplanation:
    """Print, and return, how ``layer``'s output value at (n, c, y, x) is computed for ``input``.

    ``input``: (N, C, H, W) images (the model's input); the layer: a Conv2d (or any layer with a
    bank of 2-D filters), a Linear layer (y, x unused), MaxPool2d or AvgPool2d. The printout shows
    the input patch, the kernel, the products, the bias, the sum, and the activation that follows
    the layer; ``show=False`` only returns the :class:`OutputExplanation`. At most
    ``max_channels`` input channels are printed in full (the sums of all are shown).
    """
    op = "explain_output"
    arr = as_input(model, input, op)
    tr = trace(model, arr)
    call = tr[layer]
    out = output_tensor(call, op)
    _check_index(op, layer, out.shape, n, c, y, x)
    module = call.module
    src = call.inputs[0] if call.inputs else None
    if not isinstance(src, Tensor):
        raise ValueError(f"{op}: layer {layer!r} received no tensor input. Received: {type(src).__name__}")
    xin = src.data.astype(np.float64)
    if conv_like(module):
        e = _explain_conv(call, module, xin, out, n, c, y, x)
    elif isinstance(module, Linear):
        e = _explain_linear(call, module, xin, out, n, c)
    elif isinstance(module, (MaxPool2d, AvgPool2d)):
        e = _explain_pool(call, module, xin, out, n, c, y, x)
    else:
        raise ValueError(
            f"{op}: layer {layer!r} is a {type(module).__name__}; explain_output explains a "
            f"convolution, a linear layer or a max / average pooling. Received: layer={layer!r}"
        )
    act = _next_activation(tr, call, out)
    if act is not None:
        idx = e.index
        e.activation = f"{act.key} ({type(act.module).__name__})"
        e.activated = float(act.output.data[idx])
    e.lines = _text(e, max_channels)
    if show:
        print(str(e), file=file or sys.stdout)
    return e


def _explain_conv(call, module, xin, out, n, c, y, x) -> OutputExplanation:
    w = module.dense_weight() if callable(getattr(module, "dense_weight", None)) else module.weight
    w = (w.data if isinstance(w, Tensor) else np.asarray(w)).astype(np.float64)  # (C_out, C_in/g, kh, kw)
    kh, kw = w.shape[2:]
    window = window_of(module, 2) or Window.of(  # 'same' resolved: the odd pixel after
        2,
        (kh, kw),
        getattr(module, "stride", 1),
        getattr(module, "padding", 0),
        getattr(module, "dilation", 1),
        op="explain_output",
    )
    s, d = window.stride, window.dilation
    before = tuple(b for b, _ in window.padding)
    after = tuple(a for _, a in window.padding)
    groups = int(getattr(module, "groups", 1))
    cin_g = w.shape[1]
    g = c // (w.shape[0] // groups)
    chans = np.arange(g * cin_g, (g + 1) * cin_g)
    rows = s[0] * y - before[0] + d[0] * np.arange(kh)  # input rows of the taps
    cols = s[1] * x - before[1] + d[1] * np.arange(kw)
    mode = getattr(module, "padding_mode", "zeros")
    h, wd = xin.shape[2:]
    if mode == "zeros":
        ok = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < wd))[None, :]
        patch = xin[n][chans][:, np.clip(rows, 0, h - 1)][:, :, np.clip(cols, 0, wd - 1)] * ok  # (C_in/g, kh, kw)
    else:  # reflect / replicate / circular
        padded = F.pad(Tensor(xin[n : n + 1]), (before[1], after[1], before[0], after[0]), mode=mode).data[0]
        patch = padded[chans][:, rows + before[0]][:, :, cols + before[1]]
    kernel = w[c]
    products = patch * kernel
    bias = float(module.bias.data[c]) if getattr(module, "bias", None) is not None else 0.0
    total = float(products.sum() + bias)
    return OutputExplanation(
        call.key,
        "conv",
        (n, c, y, x),
        patch,
        kernel,
        products,
        bias,
        total,
        float(out.data[n, c, y, x]),
        channels=chans,
        rows=rows,
        cols=cols,
    )


def _explain_linear(call, module, xin, out, n, c) -> OutputExplanation:
    if xin.ndim != 2:
        raise ValueError(
            f"explain_output: layer {call.key!r} received input of shape {xin.shape}; explain_output "
            f"explains a linear layer on (N, features). Received: input shape {xin.shape}"
        )
    v = xin[n]
    wrow = module.weight.data[c].astype(np.float64)
    products = v * wrow
    bias = float(module.bias.data[c]) if module.bias is not None else 0.0
    return OutputExplanation(
        call.key, "linear", (n, c), v, wrow, products, bias, float(products.sum() + bias), float(out.data[n, c])
    )


def _explain_pool(call, module, xin, out, n, c, y, x) -> OutputExplanation:
    window = module.window
    k, s, d = window.kernel, window.stride, window.dilation
    p = tuple(before for before, _ in window.padding)  # pooling pads symmetrically
    rows = s[0] * y - p[0] + d[0] * np.arange(k[0])
    cols = s[1] * x - p[1] + d[1] * np.arange(k[1])
    h, wd = xin.shape[2:]
    ok = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < wd))[None, :]
    window = xin[n, c][np.clip(rows, 0, h - 1)][:, np.clip(cols, 0, wd - 1)]  # (kh, kw)
    if isinstance(module, MaxPool2d):
        value = float(np.where(ok, window, -np.inf).max())
        kind = "maxpool"
    else:
        if module.divisor_override:
            divisor = module.divisor_override
        elif module.count_include_pad:  # the window clipped to the padded input
            in_r = (rows < h + p[0]).sum()
            in_c = (cols < wd + p[1]).sum()
            divisor = int(in_r * in_c)
        else:
            divisor = int(ok.sum())
        value = float(np.where(ok, window, 0).sum() / divisor)
        kind = "avgpool"
    return OutputExplanation(
        call.key,
        kind,
        (n, c, y, x),
        np.where(ok, window, np.nan),
        None,
        None,
        0.0,
        value,
        float(out.data[n, c, y, x]),
        channels=np.array([c]),
        rows=rows,
        cols=cols,
    )


def _text(e: OutputExplanation, max_channels: int) -> list[str]:
    lines = []
    where = "[" + ", ".join(f"{a}={v}" for a, v in zip("ncyx", e.index)) + "]"
    if e.kind == "conv":
        cin, kh, kw = e.patch.shape
        lines.append(
            f"{e.layer} output {where}: a {kh}x{kw} kernel over {cin} input channel"
            f"{'s' if cin > 1 else ''} (rows {e.rows[0]}..{e.rows[-1]}, columns {e.cols[0]}..{e.cols[-1]} "
            f"of the layer's input; outside 0..H-1 is zero padding)"
        )
        for i, ch in enumerate(e.channels):
            part = float(e.products[i].sum())
            if i < max_channels:
                lines.append(f"  input channel {ch}: patch")
                lines += _grid(e.patch[i])
                lines.append("  x kernel")
                lines += _grid(e.kernel[i])
                lines.append("  = products")
                lines += _grid(e.products[i])
                lines.append(f"  sum of products for channel {ch}: {_fmt(part)}")
            elif i == max_channels:
                rest = e.products[max_channels:].sum(axis=(1, 2))
                lines.append(
                    f"  ... {cin - max_channels} more input channels, their sums: "
                    + ", ".join(f"{v:.4f}" for v in rest[:16])
                    + (" ..." if rest.size > 16 else "")
                )
        lines.append(f"  sum of all {e.products.size} products: {_fmt(float(e.products.sum()))}")
    elif e.kind == "linear":
        lines.append(f"{e.layer} output {where}: {e.patch.size} inputs times the weights of unit {e.index[1]}")
        show = min(e.patch.size, 12)
        lines.append(
            "  inputs   " + " ".join(f"{v:8.4f}" for v in e.patch[:show]) + (" ..." if e.patch.size > show else "")
        )
        lines.append(
            "  weights  " + " ".join(f"{v:8.4f}" for v in e.kernel[:show]) + (" ..." if e.patch.size > show else "")
        )
        lines.append(
            "  products " + " ".join(f"{v:8.4f}" for v in e.products[:show]) + (" ..." if e.patch.size > show else "")
        )
        lines.append(f"  sum of all {e.products.size} products: {_fmt(float(e.products.sum()))}")
    else:
        what = "maximum" if e.kind == "maxpool" else "mean"
        lines.append(
            f"{e.layer} output {where}: the {what} of the window (rows {e.rows[0]}..{e.rows[-1]}, "
            f"columns {e.cols[0]}..{e.cols[-1]}; nan: padding)"
        )
        lines += _grid(e.patch)
    if e.kind in ("conv", "linear"):
        lines.append(f"  + bias: {_fmt(e.bias)}")
        lines.append(f"  = sum: {_fmt(e.sum)}")
    else:
        lines.append(f"  = {what}: {_fmt(e.sum)}")
    lines.append(f"  the layer's output: {_fmt(e.output)}")
    if e.activation is not None:
        lines.append(f"  after the activation {e.activation}: {_fmt(e.activated)}")
    return lines
