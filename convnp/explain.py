"""The arithmetic of one layer, as the lectures do it by hand (``convnp explain conv|pool|fc``).

The lectures' convolution layer: an input volume W1 x H1 x C, K filters of size F x F (x C),
stride S, zero padding P gives an output volume W2 x H2 x K with

    W2 = (W1 - F + 2P) / S + 1,   H2 = (H1 - F + 2P) / S + 1        (floored when S does not fit)
    parameters = F * F * C * K + K         (K filters of F*F*C weights, plus one bias each)

(with dilation d the filter spans F_eff = d * (F - 1) + 1 pixels, which replaces F in the size).
The formula itself lives once, in ``convnp.arraymath.conv_arithmetic`` (``conv_output_size``,
``describe_fit``); this module fills it in and says what it means:

>>> e = explain_conv((32, 32, 3), filters=10, kernel=5, stride=1, padding=2)
>>> e.output, e.params
((32, 32, 10), 760)
>>> explain_conv(7, kernel=3, stride=3).fits
False

Sizes are written the lectures' way, width x height x depth (``"32x32x3"``; ``"7"`` is 7x7x1, but
for ``explain_fc`` one number is the length of an input vector); ``"3,32,32"`` with commas is
PyTorch's (C, H, W). Kernel, stride and padding take one number
(square) or ``"WxH"``; padding also ``'same'`` (stride 1, the size kept: P = F_eff - 1 split
over both sides, the odd pixel after) and ``'valid'`` (P = 0).

Counted for each layer: parameters; connections (LeCun et al. 1998: summed over the output
neurons, the inputs each is connected to plus its bias); multiply-accumulates; and the receptive
field of an output neuron, r_out = r_in + (F_eff - 1) * j_in and its jump j_out = j_in * S, from
the field r_in and jump j_in of the input's units (1 and 1 on the image).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convnp.arraymath.conv_arithmetic import Window, conv_output_size, describe_fit, same_padding
from convnp.arraymath.receptive import dense_field_step, field_step

__all__ = ["Explanation", "explain_conv", "explain_pool", "explain_fc", "parse_volume", "parse_pair", "parse_padding"]


@dataclass
class Explanation:
    """The numbers of one layer and the text that derives them (``str()`` gives the text)."""

    layer: str
    input: tuple  # (W, H, C)
    output: tuple  # (W, H, K) or (units,)
    params: int
    weights: int
    biases: int
    connections: int
    macs: int
    receptive_field: tuple  # (width, height) on the image
    jump: tuple
    fits: bool
    lines: list[str] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "input": list(self.input),
            "output": list(self.output),
            "params": self.params,
            "weights": self.weights,
            "biases": self.biases,
            "connections": self.connections,
            "macs": self.macs,
            "receptive_field": list(self.receptive_field),
            "jump": list(self.jump),
            "fits": self.fits,
            "text": str(self),
        }


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------
def _positive_ints(parts, what: str, text) -> list[int]:
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = None
    if not values or any(v < 1 for v in values):
        raise ValueError(f"explain: {what} must be positive whole numbers. Received: {text!r}")
    return values


def parse_volume(text) -> tuple[int, int, int]:
    """An input volume as (W, H, C): ``"32x32x3"`` (W x H x C), ``"32x32"`` or ``"7"`` (depth 1),
    ``"3,32,32"`` (PyTorch's C, H, W), an int, or a (W, H, C) tuple.

    >>> parse_volume("32x32x3"), parse_volume("7"), parse_volume("3,64,32")
    ((32, 32, 3), (7, 7, 1), (32, 64, 3))
    """
    if isinstance(text, bool):
        raise TypeError(f"explain: the input size must be text such as '32x32x3' or an int. Received: {text!r}")
    if isinstance(text, int):
        text = str(text)
    if isinstance(text, (tuple, list)):
        values = _positive_ints(text, "the input size", text)
        if len(values) != 3:
            raise ValueError(f"explain: an input tuple must be (W, H, C). Received: {text!r}")
        return tuple(values)
    if not isinstance(text, str):
        raise TypeError(f"explain: the input size must be text such as '32x32x3' or an int. Received: {text!r}")
    s = text.strip().lower().replace(" ", "")
    if "," in s:
        values = _positive_ints(s.split(","), "the input size", text)
        if len(values) == 3:
            c, h, w = values
            return (w, h, c)
        if len(values) == 2:
            h, w = values
            return (w, h, 1)
        raise ValueError(f"explain: a comma-separated input size is C,H,W (PyTorch's order). Received: {text!r}")
    values = _positive_ints(s.split("x"), "the input size", text)
    if len(values) == 1:
        return (values[0], values[0], 1)
    if len(values) == 2:
        return (values[0], values[1], 1)
    if len(values) == 3:
        return tuple(values)
    raise ValueError(f"explain: the input size is W x H x C, e.g. '32x32x3'. Received: {text!r}")


def parse_pair(text, what: str) -> tuple[int, int]:
    """A window setting as (width, height): ``5``, ``"5"`` or ``"5x3"`` (W x H)."""
    if isinstance(text, bool):
        raise TypeError(f"explain: {what} must be an int or 'WxH'. Received: {text!r}")
    if isinstance(text, int):
        text = str(text)
    if isinstance(text, (tuple, list)):
        values = _positive_ints(text, what, text)
    elif isinstance(text, str):
        values = _positive_ints(text.strip().lower().split("x"), what, text)
    else:
        raise TypeError(f"explain: {what} must be an int or 'WxH'. Received: {text!r}")
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2:
        return (values[0], values[1])
    raise ValueError(f"explain: {what} is one number or W x H. Received: {text!r}")


def parse_padding(text) -> str | tuple[int, int]:
    """'same', 'valid', or (width, height) pixels of zero padding on each side."""
    if isinstance(text, str) and text.strip().lower() in ("same", "valid"):
        return text.strip().lower()
    if isinstance(text, bool):
        raise TypeError(f"explain: padding must be an int, 'WxH', 'same' or 'valid'. Received: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"explain: padding must be at least 0. Received: {text!r}")
        return (text, text)
    if isinstance(text, str):
        parts = text.strip().lower().split("x")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = None
        if values and all(v >= 0 for v in values) and len(values) in (1, 2):
            return (values[0], values[-1])
    raise ValueError(f"explain: padding must be a number of pixels (or 'WxH'), 'same' or 'valid'. Received: {text!r}")


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------
def _n(v) -> str:
    return f"{v:,}"


def _dims(values) -> str:
    return "x".join(str(v) for v in values)


def _axis_line(
    axis: str,
    size: int,
    kernel: int,
    stride: int,
    pad_before: int,
    pad_after: int,
    dilation: int,
    ceil_mode: bool = False,
) -> tuple[str, int, bool, list[int], list[int]]:
    """One axis: the formula with its numbers, the output size, whether the stride fits (a whole
    number of steps), the input pixels after the last window, and those between windows (a
    stride larger than the window)."""
    span = dilation * (kernel - 1) + 1
    out = conv_output_size(size, kernel, stride, pad_before, pad_after, dilation, ceil_mode)
    room = size + pad_before + pad_after - span
    fits = room % stride == 0
    if pad_before == pad_after and not ceil_mode:
        text = describe_fit(size, kernel, stride, pad_before, dilation)
    else:
        pads = f"2*{pad_before}" if pad_before == pad_after else f"{pad_before} + {pad_after}"
        exact = room / stride + 1
        text = f"({size} - {span} + {pads}) / {stride} + 1 = {exact:g}"
        if not fits:
            text += (
                f" -> {out}: ceil mode rounds up, the last window hangs over the edge"
                if ceil_mode
                else f" -> {out}: the stride does not fit"
            )
    starts = [i * stride - pad_before for i in range(out)]  # in input coordinates
    covered = set()
    for st in starts:
        covered.update(range(max(st, 0), min(st + span, size)))
    last_end = starts[-1] + span if starts else 0
    tail = [i for i in range(size) if i >= last_end]
    gaps = [i for i in range(size) if i not in covered and i < last_end]
    return f"  {axis}: {text}", out, fits, tail, gaps


def _ranges(values: list[int]) -> str:
    if len(values) == 1:
        return str(values[0])
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values[:6]) + (", ..." if len(values) > 6 else "")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}{'es' if word.endswith('s') else 's'}"


def _square(values) -> str:
    """'5' for (5, 5), '5x3' otherwise."""
    return str(values[0]) if len(set(values)) == 1 else _dims(values)


def _fit_lines(axes, out_wh) -> list[str]:
    """Plain words for the pixels a stride leaves out. ``axes``: per axis (name, tail, gaps,
    stride, span, starts text)."""
    lines = []
    same = len(axes) == 2 and axes[0][1:] == axes[1][1:]
    for axis, tail, gaps, stride, span, shown in axes[:1] if same else axes:
        names = "columns and rows" if same else f"{axis}s"
        one = "column and the last row" if same else axis
        if tail:
            where = f"column {tail[0]} and row {tail[0]}" if same else f"{axis} {tail[0]}"
            what = (
                f"the last {len(tail)} {names} ({names} {_ranges(tail)})"
                if len(tail) > 1
                else f"the last {one} ({where})"
            )
            lines.append(
                f"  The stride does not fit: windows of {span} pixels start every {stride} pixels (at "
                f"{shown}), so {what} of the input {'are' if len(tail) > 1 or same else 'is'} never covered."
            )
        if gaps:
            gap_names = names if len(gaps) > 1 else ("column and row" if same else axis)
            lines.append(
                f"  The stride {stride} is larger than the window ({span} pixels): {gap_names} "
                f"{_ranges(gaps)} between the windows {'are' if len(gaps) > 1 or same else 'is'} never seen."
            )
    if lines:
        lines.append(f"  The output is {out_wh[0]}x{out_wh[1]}.")
    return lines


def _axis_facts(axis, size, out, stride, span, pad, tail, gaps):
    starts = [i * stride - pad for i in range(out)]
    shown = ", ".join(str(v) for v in starts[:4]) + (", ..." if len(starts) > 4 else "")
    return (axis, tail, gaps, stride, span, shown)


def _apart(jump) -> str:
    return f"{_square(jump)} pixel{'' if set(jump) == {1} else 's'} apart"


def _resolve_padding(padding, kernel_wh, stride_wh, dilation_wh, what: str):
    """(before_w, after_w), (before_h, after_h) and a description."""
    if padding == "valid":
        return (0, 0), (0, 0), "'valid' = 0"
    if padding == "same":
        if stride_wh != (1, 1):
            raise ValueError(
                f"explain {what}: padding='same' needs stride 1 (PyTorch's rule). Received: stride={_dims(stride_wh)}"
            )
        pads = same_padding(kernel_wh, dilation_wh)
        if all(b == a for b, a in pads):
            desc = f"'same' = (F_eff - 1) / 2 = {_square([b for b, _ in pads])} on each side"
        else:
            desc = "'same' = F_eff - 1 in total, the odd pixel after: " + ", ".join(
                f"{b} before and {a} after" for b, a in pads
            )
        return pads[0], pads[1], desc
    pw, ph = padding
    return (pw, pw), (ph, ph), _square((pw, ph))


def _field_lines(kernel_wh, dilation_wh, stride_wh, rf_in, jump_in):
    window = Window(tuple(kernel_wh), tuple(stride_wh), ((0, 0),) * len(kernel_wh), tuple(dilation_wh))
    spans = window.span
    rf, jump = field_step(rf_in, jump_in, window)
    if rf_in[0] == rf_in[1] and jump_in[0] == jump_in[1] and spans[0] == spans[1] and stride_wh[0] == stride_wh[1]:
        formula = (
            f"  r_out = r_in + (F_eff - 1) * j_in = {rf_in[0]} + ({spans[0]} - 1) * {jump_in[0]} = {rf[0]},"
            f"  jump j_out = j_in * S = {jump_in[0]} * {stride_wh[0]} = {jump[0]}"
        )
    else:
        formula = "  " + "; ".join(
            f"{axis}: r_out = {r} + ({s} - 1) * {j} = {ro}, j_out = {j} * {st} = {jo}"
            for axis, r, s, j, ro, st, jo in zip(("width", "height"), rf_in, spans, jump_in, rf, stride_wh, jump)
        )
    return rf, jump, formula


# --------------------------------------------------------------------------------------------
# conv / pool / fc
# --------------------------------------------------------------------------------------------
def explain_conv(input, filters: int = 1, kernel=3, stride=1, padding=0, dilation=1, rf_in=1, jump_in=1) -> Explanation:
    """A convolution layer: output size, parameters, connections, MACs, receptive field.

    Args: input (W x H x C, see :func:`parse_volume`), filters K, kernel F, stride S, padding P
    (pixels, 'same' or 'valid'), dilation d, and the receptive field / jump of the input's units.
    """
    w, h, c = parse_volume(input)
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ValueError(f"explain conv: filters must be a positive int. Received: filters={filters!r}")
    kw, kh = parse_pair(kernel, "the kernel size")
    sw, sh = parse_pair(stride, "the stride")
    dw, dh = parse_pair(dilation, "the dilation")
    rw, rh = parse_pair(rf_in, "the input's receptive field")
    jw, jh = parse_pair(jump_in, "the input's jump")
    (pbw, paw), (pbh, pah), pad_desc = _resolve_padding(parse_padding(padding), (kw, kh), (sw, sh), (dw, dh), "conv")
    span_w, span_h = dw * (kw - 1) + 1, dh * (kh - 1) + 1
    if w + pbw + paw < span_w or h + pbh + pah < span_h:
        raise ValueError(
            f"explain conv: the filter (effective {span_w}x{span_h}) is larger than the padded input "
            f"({w + pbw + paw}x{h + pbh + pah}). Received: input={_dims((w, h, c))}, "
            f"kernel={_dims((kw, kh))}, padding={padding!r}, dilation={_dims((dw, dh))}"
        )
    k = filters
    lines = [
        f"Convolution layer: input {_dims((w, h, c))} (W x H x C), K = {k} filter{'s' if k > 1 else ''} of "
        f"F = {_square((kw, kh))} (x{c} deep), stride S = {_square((sw, sh))}, "
        f"padding P = {pad_desc}"
        + (f", dilation d = {_dims((dw, dh)) if dw != dh else dw}" if (dw, dh) != (1, 1) else "")
    ]
    if (dw, dh) != (1, 1):
        lines.append(
            f"  effective filter F_eff = d * (F - 1) + 1 = {dw} * ({kw} - 1) + 1 = {span_w}"
            + (f" (width), {dh} * ({kh} - 1) + 1 = {span_h} (height)" if (dw, kw) != (dh, kh) else "")
        )
    lines.append("Output size: (W - F + 2P) / S + 1")
    line_w, out_w, fit_w, tail_w, gaps_w = _axis_line("width ", w, kw, sw, pbw, paw, dw)
    line_h, out_h, fit_h, tail_h, gaps_h = _axis_line("height", h, kh, sh, pbh, pah, dh)
    lines += [line_w, line_h]
    fits = fit_w and fit_h
    lines += _fit_lines(
        [
            _axis_facts("column", w, out_w, sw, span_w, pbw, tail_w, gaps_w),
            _axis_facts("row", h, out_h, sh, span_h, pbh, tail_h, gaps_h),
        ],
        (out_w, out_h),
    )
    lines.append(f"  output volume: {_dims((out_w, out_h, k))} (W x H x K)")
    per_filter = kw * kh * c
    weights = per_filter * k
    params = weights + k
    lines.append(
        f"Parameters: F*F*C*K + K = {kw}*{kh}*{c}*{k} + {k} = {_n(params)}  "
        f"({_plural(weights, 'weight')} + {_plural(k, 'bias')}; each filter {kw}*{kh}*{c} + 1 = "
        f"{_n(per_filter + 1)})"
    )
    neurons = out_w * out_h * k
    connections = (per_filter + 1) * neurons
    macs = per_filter * neurons
    lines.append(
        f"Connections: (F*F*C + 1) per output neuron x {out_w}*{out_h}*{k} neurons = "
        f"{_n(per_filter + 1)} * {_n(neurons)} = {_n(connections)}"
    )
    lines.append(
        f"Multiply-accumulates: F*F*C per output neuron x {_n(neurons)} neurons = "
        f"{_n(per_filter)} * {_n(neurons)} = {_n(macs)}"
    )
    rf, jump, formula = _field_lines((kw, kh), (dw, dh), (sw, sh), (rw, rh), (jw, jh))
    lines.append(
        f"Receptive field: each output neuron sees a {_dims((span_w, span_h, c))} region of the layer's "
        f"input; on the image {_square(rf)} pixels wide, neighbouring neurons {_apart(jump)}"
    )
    lines.append(formula)
    return Explanation(
        "conv", (w, h, c), (out_w, out_h, k), params, weights, k, connections, macs, rf, jump, fits, lines
    )


def explain_pool(
    input, kernel=2, stride=None, padding=0, dilation=1, ceil_mode: bool = False, mode: str = "max", rf_in=1, jump_in=1
) -> Explanation:
    """A pooling layer (``mode`` 'max' or 'avg'): output size (each activation map on its own, depth
    unchanged), no parameters, connections (F*F per output neuron), receptive field.
    ``stride`` defaults to the kernel size; ``ceil_mode`` rounds the output size up (PyTorch's rule)."""
    if mode not in ("max", "avg"):
        raise ValueError(f"explain pool: mode must be 'max' or 'avg'. Received: mode={mode!r}")
    w, h, c = parse_volume(input)
    kw, kh = parse_pair(kernel, "the kernel size")
    sw, sh = (kw, kh) if stride is None else parse_pair(stride, "the stride")
    dw, dh = parse_pair(dilation, "the dilation")
    rw, rh = parse_pair(rf_in, "the input's receptive field")
    jw, jh = parse_pair(jump_in, "the input's jump")
    (pbw, paw), (pbh, pah), pad_desc = _resolve_padding(parse_padding(padding), (kw, kh), (sw, sh), (dw, dh), "pool")
    span_w, span_h = dw * (kw - 1) + 1, dh * (kh - 1) + 1
    if w + pbw + paw < span_w or h + pbh + pah < span_h:
        raise ValueError(
            f"explain pool: the window (effective {span_w}x{span_h}) is larger than the padded input "
            f"({w + pbw + paw}x{h + pbh + pah}). Received: input={_dims((w, h, c))}, "
            f"kernel={_dims((kw, kh))}, padding={padding!r}"
        )
    lines = [
        f"Pooling layer ({mode}): input {_dims((w, h, c))} (W x H x C), window F = "
        f"{_dims((kw, kh)) if kw != kh else kw}, stride S = {sw if sw == sh else _dims((sw, sh))}, "
        f"padding P = {pad_desc}" + (", ceil mode" if ceil_mode else "")
    ]
    lines.append("Output size: (W - F + 2P) / S + 1" + (", rounded up" if ceil_mode else ""))
    line_w, out_w, fit_w, tail_w, gaps_w = _axis_line("width ", w, kw, sw, pbw, paw, dw, ceil_mode)
    line_h, out_h, fit_h, tail_h, gaps_h = _axis_line("height", h, kh, sh, pbh, pah, dh, ceil_mode)
    lines += [line_w, line_h]
    fits = fit_w and fit_h
    lines += _fit_lines(
        [
            _axis_facts("column", w, out_w, sw, span_w, pbw, tail_w, gaps_w),
            _axis_facts("row", h, out_h, sh, span_h, pbh, tail_h, gaps_h),
        ],
        (out_w, out_h),
    )
    lines.append(
        f"  output volume: {_dims((out_w, out_h, c))} (pooling works on each activation map "
        f"independently: the depth {c} is unchanged)"
    )
    lines.append("Parameters: 0 (pooling has no weights)")
    neurons = out_w * out_h * c
    connections = kw * kh * neurons
    lines.append(
        f"Connections: F*F inputs per output neuron x {out_w}*{out_h}*{c} neurons = "
        f"{kw * kh} * {_n(neurons)} = {_n(connections)}"
    )
    lines.append("Multiply-accumulates: 0 (" + ("comparisons" if mode == "max" else "additions") + " only)")
    rf, jump, formula = _field_lines((kw, kh), (dw, dh), (sw, sh), (rw, rh), (jw, jh))
    lines.append(
        f"Receptive field: each output neuron sees a {_dims((span_w, span_h))} window of one map; on the "
        f"image {_square(rf)} pixels wide, neighbouring neurons {_apart(jump)}"
    )
    lines.append(formula)
    return Explanation("pool", (w, h, c), (out_w, out_h, c), 0, 0, 0, connections, 0, rf, jump, fits, lines)


def explain_fc(input, units: int, rf_in=1, jump_in=1) -> Explanation:
    """A fully connected layer: the input volume stretched to a vector, every unit connected to all
    of it: parameters inputs*units + units, connections (inputs + 1) * units, MACs inputs*units.

    ``input``: a volume (``"7x7x512"``, ``"3,32,32"``) or one number, the length of an input vector
    (``3072``: the lectures' 32x32x3 image stretched to 3072 x 1).
    """
    vector = (
        isinstance(input, int) and not isinstance(input, bool) or isinstance(input, str) and input.strip().isdigit()
    )
    if vector:
        n_in = int(input)
        if n_in < 1:
            raise ValueError(f"explain fc: the input size must be positive whole numbers. Received: {input!r}")
        w, h, c = 1, 1, n_in
    else:
        w, h, c = parse_volume(input)
        n_in = w * h * c
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ValueError(f"explain fc: units must be a positive int. Received: units={units!r}")
    rw, rh = parse_pair(rf_in, "the input's receptive field")
    jw, jh = parse_pair(jump_in, "the input's jump")
    weights = n_in * units
    params = weights + units
    connections = (n_in + 1) * units
    if vector:
        lines = [f"Fully connected layer: input vector of {_n(n_in)} values, {_n(units)} units"]
    else:
        lines = [
            f"Fully connected layer: input {_dims((w, h, c))} (W x H x C) stretched to a vector of "
            f"{w}*{h}*{c} = {_n(n_in)} values, {_n(units)} units"
        ]
    lines.append(f"Output: {_n(units)} values (one per unit)")
    lines.append(
        f"Parameters: inputs*units + units = {_n(n_in)}*{_n(units)} + {_n(units)} = {_n(params)}  "
        f"({_plural(weights, 'weight')} + {_plural(units, 'bias')})"
    )
    lines.append(
        f"Connections: (inputs + 1) per unit x {_n(units)} units = {_n(n_in + 1)} * {_n(units)} = {_n(connections)}"
    )
    lines.append(f"Multiply-accumulates: inputs per unit x units = {_n(n_in)} * {_n(units)} = {_n(weights)}")
    rf = dense_field_step((rw, rh), (jw, jh), (w, h))
    if vector:
        lines.append(
            f"Receptive field: each unit sees the whole input vector (on the image: the field of the "
            f"input's units, {_square((rw, rh))} pixels, joined over all of them)"
        )
    else:
        lines.append(
            f"Receptive field: each unit sees the whole input volume ({_dims((w, h, c))}); on the image "
            f"r_out = r_in + (W - 1) * j_in = {rw} + ({w} - 1) * {jw} = {rf[0]}"
            + (f" (width), {rh} + ({h} - 1) * {jh} = {rf[1]} (height)" if (rw, w, jw) != (rh, h, jh) else "")
        )
    return Explanation(
        "fc",
        (n_in,) if vector else (w, h, c),
        (units,),
        params,
        weights,
        units,
        connections,
        weights,
        rf,
        (jw, jh),
        True,
        lines,
    )
