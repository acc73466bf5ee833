"""cn.summary: trace one forward pass and count, layer by layer, what the lectures count by hand.

>>> import convnp as cn
>>> from convnp.models import lenet5
>>> s = summary(lenet5(variant="original"), (1, 1, 32, 32))
>>> row = s["c3"]
>>> row.params, row.connections
(1516, 151600)

``summary(model, input_size)`` runs the model once (under ``no_grad``, in evaluation mode unless
``training=True``; the training flags, every buffer and the default random generator are restored
afterwards, so a summary changes nothing) with forward
hooks on every module, and returns a :class:`ModelSummary`: one :class:`LayerRow` per module call,
in call order, a container before what it contains (printed indented by depth), then totals.

What each column means
----------------------
params, trainable
    The parameters of the module and its submodules (shared ones once); trainable are those with
    ``requires_grad``. Buffers (BatchNorm's running statistics) are not parameters.
MACs (multiply-accumulates), for the whole batch given (each layer's ``summary_counts``)
    convolution  out_elements * (C_in / groups * prod(kernel))     (bias additions not counted)
    transposed   in_elements * (C_out / groups * prod(kernel))
    linear       out_elements * in_features                        (out_elements = rows * out_features)
    locally connected  out_elements * C_in * prod(kernel)
    everything else (activations, pooling, normalization, additions, concatenations) 0.
    A container's MACs are the sum of its layers'. Published "FLOPs" of ImageNet networks
    (AlexNet 0.71 G, VGG16 15.47 G, ResNet-18 1.81 G, ResNet-50 4.09 G) are these MACs.
connections (LeCun et al. 1998's count)
    Summed over the output units, the inputs each unit is connected to, its bias included:
    convolution / linear: MACs + out_elements (if there is a bias); pooling: out_elements *
    window size (adaptive pooling: the exact bins); LeNet's trainable subsampling: 4 inputs + 1
    bias per unit. Elementwise layers (activations, normalization, dropout, reshapes) count 0.
    A module may define ``summary_counts(input_shapes, output_shape) -> {"macs", "connections"}``
    to give its own (LeNet-5's C3 connection table does).
receptive field and jump (per spatial axis, on the input image)
    r_out = r_in + (k_eff - 1) * j_in,   j_out = j_in * s,   k_eff = dilation * (k - 1) + 1,
    starting from r = j = 1 on the input. Every layer with a ``window`` (convolutions, pooling;
    a transposed convolution the other way round: r_out = r_in + (ceil(k_eff / s) - 1) * j_in,
    j_out = j_in / s) and any module with ``kernel_size`` and ``stride`` attributes apply it;
    adaptive pooling uses its largest bin and
    a jump of j * in / out; a linear layer joins every position of its (flattened) input map,
    r_out = r_in + (n - 1) * j_in over the n positions of that map; other layers keep the field.
    Fields are not clipped to the image: a field wider than the input reaches into the padding.
    Where tensors meet (a residual addition, an Inception concatenation) the largest field wins.
    Tensors are recorded by identity as the modules return them; a tensor made by an operation
    outside any module (``out + identity``, ``cat``, ``flatten`` in a forward) is given the
    largest field among the tensors produced so far inside the innermost module call that is
    running (for a residual block: its branches and its input), which is exact for additions,
    concatenations and reshapes of branches; such operations' own windows (a functional
    ``F.max_pool2d`` in a forward) are not seen.
activation bytes
    The bytes of the distinct tensors the module calls return (the input and the parameters
    excluded), for the batch and dtype given: roughly what a training step keeps for backward.

``compute=False`` runs a shape-only dry run: every layer that knows its ``output_shape`` (the
convolutions, pooling, linear, flatten, normalization and activation layers of convnp.nn) returns
a zero array of that shape instead of computing, so a summary of VGG16 at 224x224 takes a fraction
of a second; other modules and the operations in forwards still run (on zeros). The counts are the same.

The forward pass is traced by :func:`convnp.nn.tracing.record_calls` (convnp.inspect's tracer too);
the counts come from each layer's ``summary_counts`` and the fields from its ``window``, with the
arithmetic of :mod:`convnp.arraymath.receptive`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from convnp.arraymath.random import get_rng_state, set_rng_state
from convnp.arraymath.receptive import (
    adaptive_field_step,
    dense_field_step,
    field_step,
    transposed_field_step,
)
from convnp.autograd.grad_mode import no_grad
from convnp.autograd.tensor import Tensor
from convnp.nn.containers import Identity
from convnp.nn.dropout import Dropout, Dropout2d
from convnp.nn.linear import Flatten, Linear
from convnp.nn.module import Module
from convnp.nn.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d
from convnp.nn.tracing import LayerCall, record_calls, window_of

__all__ = ["summary", "ModelSummary", "LayerRow"]


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------
@dataclass
class LayerRow:
    """One module call: its path, type, output shape and counts (see the module docstring)."""

    name: str
    type: str
    depth: int
    output_shape: tuple | None = None
    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    connections: int = 0
    receptive_field: tuple | None = None
    jump: tuple | None = None
    parent: int | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "macs": self.macs,
            "connections": self.connections,
            "receptive_field": None if self.receptive_field is None else list(self.receptive_field),
            "jump": None if self.jump is None else list(self.jump),
        }


class ModelSummary:
    """The table :func:`summary` returns: ``rows`` (LayerRow, in call order), ``total_params``,
    ``trainable_params``, ``total_macs``, ``total_connections``, ``activation_bytes``,
    ``input_size``, ``dtype``. ``str()`` gives the text table, ``to_dict()`` / ``to_json()`` the data;
    ``summary["c1"]`` is the first row of that path."""

    def __init__(
        self,
        model_name: str,
        rows: list[LayerRow],
        total_params: int,
        trainable_params: int,
        activation_bytes: int,
        input_size: tuple,
        dtype: np.dtype,
        depth: int | None = None,
    ) -> None:
        self.model_name = model_name
        self.all_rows = rows
        self.rows = rows if depth is None else [r for r in rows if r.depth <= depth]
        self.total_params = total_params
        self.trainable_params = trainable_params
        top = [r for r in rows if r.parent is None]
        self.total_macs = sum(r.macs for r in top)
        self.total_connections = sum(r.connections for r in top)
        self.activation_bytes = activation_bytes
        self.input_size = tuple(input_size)
        self.dtype = np.dtype(dtype)

    def __getitem__(self, name: str) -> LayerRow:
        for row in self.all_rows:
            if row.name == name:
                return row
        raise KeyError(f"ModelSummary: no layer named {name!r}")

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict:
        """``{"layers": [{"name", "type", "output_shape", "params", "trainable_params", "macs",
        "connections", "receptive_field", "jump"}, ...], "total_params", "trainable_params",
        "total_macs", "activation_bytes"}``."""
        return {
            "layers": [r.to_dict() for r in self.rows],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "activation_bytes": self.activation_bytes,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def to_text(self) -> str:
        header = ["Layer", "Type", "Output shape", "Params", "Trainable", "MACs", "Connections", "RF", "Jump"]
        body = []
        for r in self.rows:
            body.append(
                [
                    "  " * (r.depth - 1) + r.name,
                    r.type,
                    _shape_text(r.output_shape),
                    f"{r.params:,}",
                    f"{r.trainable_params:,}",
                    f"{r.macs:,}",
                    f"{r.connections:,}",
                    _axes_text(r.receptive_field),
                    _axes_text(r.jump),
                ]
            )
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
        left = {0, 1, 2}

        def line(cells):
            return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        rule = "=" * len(line(header))
        out = [f"{self.model_name} summary", rule, line(header), "-" * len(rule)]
        out += [line(b) for b in body]
        itemsize = self.dtype.itemsize
        input_bytes = math.prod(self.input_size) * itemsize
        out += [
            rule,
            f"Total params:          {self.total_params:,}",
            f"Trainable params:      {self.trainable_params:,}",
            f"Non-trainable params:  {self.total_params - self.trainable_params:,}",
            f"Total MACs:            {self.total_macs:,} ({_si(self.total_macs)})",
            f"Total connections:     {self.total_connections:,}",
            f"Input:                 {self.input_size} {self.dtype.name}, {_bytes(input_bytes)}",
            f"Activations:           {_bytes(self.activation_bytes)} (every layer's output, one forward pass)",
            f"Parameters:            {_bytes(self.total_params * itemsize)} ({self.dtype.name})",
            rule,
        ]
        return "\n".join(out)


def _shape_text(shape) -> str:
    return "-" if shape is None else "(" + ", ".join(str(s) for s in shape) + ")"


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"


def _axes_text(values) -> str:
    if values is None:
        return "-"
    if len(set(values)) == 1:
        return _num(values[0])
    return "x".join(_num(v) for v in values)


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _bytes(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


# --------------------------------------------------------------------------------------------
# Per-layer rules: read from the layers (summary_counts, window, output_shape)
# --------------------------------------------------------------------------------------------
def _counts(module, in_shapes: list[tuple], out_shape: tuple | None) -> tuple[int, int]:
    """(MACs, connections) of one call of ``module`` (its own work, not its children's): what its
    ``summary_counts`` says (the convolution, linear and pooling layers have one), else 0."""
    if hasattr(module, "summary_counts"):
        c = module.summary_counts(in_shapes, out_shape)
        return int(c.get("macs", 0)), int(c.get("connections", 0))
    return 0, 0


@dataclass
class _Field:
    """Receptive field, jump and the grid (spatial size) of the map a tensor's units live on."""

    rf: tuple
    jump: tuple
    grid: tuple

    def key(self):
        return (math.prod(self.rf), max(self.jump) if self.jump else 0)


def _field_rule(module, fin: _Field, in_shape: tuple, out_shape: tuple | None) -> _Field:
    """The field of a layer's output from its input's (see the module docstring; the arithmetic
    is convnp.arraymath.receptive's)."""
    nd = len(fin.rf)
    if nd == 0:
        return fin
    grid_out = tuple(out_shape[-nd:]) if out_shape is not None and len(out_shape) >= nd + 1 else fin.grid
    window = window_of(module, nd)
    if window is not None:
        step = transposed_field_step if getattr(module, "transposed", False) else field_step
        rf, jump = step(fin.rf, fin.jump, window)
        return _Field(rf, jump, grid_out)
    if isinstance(module, (AdaptiveAvgPool2d, AdaptiveMaxPool2d)) and len(in_shape) >= nd + 1 and out_shape is not None:
        rf, jump = adaptive_field_step(fin.rf, fin.jump, in_shape[-nd:], out_shape[-nd:])
        return _Field(rf, jump, grid_out)
    if isinstance(module, Linear):
        if len(in_shape) <= 2:  # flattened: every position of the map
            return _Field(dense_field_step(fin.rf, fin.jump, fin.grid), fin.jump, (1,) * nd)
        rf = fin.rf[:-1] + dense_field_step(fin.rf[-1:], fin.jump[-1:], in_shape[-1:])  # mixes the last axis only
        return _Field(rf, fin.jump, fin.grid[:-1] + (1,))
    if isinstance(module, Flatten) or out_shape is None or len(out_shape) < nd + 1:
        return fin  # same units, reshaped
    return _Field(fin.rf, fin.jump, grid_out)


# --------------------------------------------------------------------------------------------
# Shape-only dry run
# --------------------------------------------------------------------------------------------
def _zeros(shape, dtype) -> Tensor:
    return Tensor(np.broadcast_to(np.zeros((), dtype=dtype), tuple(shape)), _copy=False)


_RETURN_THEIR_INPUT = (Dropout, Dropout2d, Identity)  # in evaluation: the input itself (one activation, not two)


def _install_dry_forward(module) -> bool:
    """Shadow the forward of a layer that knows its ``output_shape`` with a shape-only one on this
    instance (True if installed). Whatever the shape rule refuses runs for real, to raise the
    layer's own error."""
    if module._modules or type(module).output_shape is Module.output_shape or getattr(module, "return_indices", False):
        return False  # containers and modules with a forward only: their layers run dry
    if isinstance(module, _RETURN_THEIR_INPUT):
        return False
    real = type(module).forward.__get__(module)

    def forward(input, *args, **kwargs):
        if args or kwargs or not isinstance(input, Tensor):
            return real(input, *args, **kwargs)
        try:
            shape = module.output_shape(tuple(input.shape))
        except (TypeError, ValueError):
            return real(input)
        return _zeros(shape, input.dtype)

    object.__setattr__(module, "forward", forward)
    return True


# --------------------------------------------------------------------------------------------
# The rows, from the calls of one traced forward pass (convnp.nn.tracing)
# --------------------------------------------------------------------------------------------
def _tensors(obj) -> list[Tensor]:
    """The tensors in a module's output (a tensor, or a tuple / list / dict of them)."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


class _Frame:
    __slots__ = ("row", "start", "inputs")

    def __init__(self, row, start, inputs):
        self.row = row
        self.start = start
        self.inputs = inputs


class _Rows:
    """Replays the calls in the order they began and returned, carrying the receptive field of
    every tensor from the input to each module's output."""

    def __init__(self, model: Module, nd: int) -> None:
        self.nd = nd
        self.rows: list[LayerRow] = []
        self.stack: list[_Frame] = []
        self.fields: dict[int, _Field] = {}
        self.order: list[_Field] = []  # fields in the order they were recorded
        self.keep: list[Tensor] = []  # recorded tensors stay alive, so their ids stay unique
        self.activation_ids: set[int] = set()
        self.activation_bytes = 0
        self.param_counts = {}
        for _, m in model.named_modules():
            ps = list(m.parameters())
            self.param_counts[id(m)] = (sum(p.numel() for p in ps), sum(p.numel() for p in ps if p.requires_grad))

    def replay(self, calls: list[LayerCall]) -> None:
        events = sorted([(c.start, c, True) for c in calls] + [(c.end, c, False) for c in calls], key=lambda e: e[0])
        for _, c, begins in events:
            if begins:
                self.begin(c)
            else:
                self.returned(c)

    # fields ----------------------------------------------------------------------------------
    def record(self, t: Tensor, f: _Field) -> None:
        if id(t) not in self.fields:
            self.keep.append(t)
        self.fields[id(t)] = f
        self.order.append(f)

    def _default(self, t: Tensor) -> _Field:
        grid = tuple(t.shape[-self.nd :]) if self.nd and t.ndim >= self.nd + 1 else (1,) * self.nd
        return _Field((1,) * self.nd, (1,) * self.nd, grid)

    def _scope_best(self, frame: _Frame | None) -> _Field | None:
        candidates = (frame.inputs + self.order[frame.start :]) if frame is not None else self.order
        return max(candidates, key=_Field.key) if candidates else None

    def field_of(self, t: Tensor, frame: _Frame | None) -> _Field:
        """The recorded field of ``t``, or (a tensor made outside any module) the largest in scope."""
        f = self.fields.get(id(t))
        if f is None:
            f = self._scope_best(frame) or self._default(t)
            if self.nd and t.ndim >= self.nd + 1:
                f = _Field(f.rf, f.jump, tuple(t.shape[-self.nd :]))
            self.record(t, f)
        return f

    # one call ----------------------------------------------------------------------------------
    def begin(self, call: LayerCall) -> None:
        module = call.module
        parent = self.stack[-1] if self.stack else None
        inputs = [self.field_of(t, parent) for t in _tensors(call.inputs)]
        name = call.path
        total, trainable = self.param_counts.get(id(module), (0, 0))
        row = LayerRow(
            name=name,
            type=type(module).__name__,
            depth=name.count(".") + 1,
            params=total,
            trainable_params=trainable,
            parent=parent.row if parent is not None else None,
        )
        self.rows.append(row)
        self.stack.append(_Frame(len(self.rows) - 1, len(self.order), inputs))
        row._inputs = [tuple(t.shape) for t in _tensors(call.inputs)]  # for the counts
        row._in_fields = inputs

    def returned(self, call: LayerCall) -> None:
        module = call.module
        frame = self.stack.pop()
        row = self.rows[frame.row]
        outs = _tensors(call.output)
        out_shape = tuple(outs[0].shape) if outs else None
        row.output_shape = out_shape
        is_layer = hasattr(module, "summary_counts") or not module._modules
        if is_layer:
            row.macs, row.connections = _counts(module, row._inputs, out_shape)
        if self.nd:
            fins = row._in_fields
            if is_layer and fins:
                k = max(range(len(fins)), key=lambda i: fins[i].key())
                fout = _field_rule(module, fins[k], row._inputs[k], out_shape)
                for t in outs:
                    self.record(t, fout)
            else:
                for t in outs:
                    if id(t) not in self.fields:
                        best = self._scope_best(frame) or self._default(t)
                        grid = tuple(t.shape[-self.nd :]) if t.ndim >= self.nd + 1 else best.grid
                        self.record(t, _Field(best.rf, best.jump, grid))
            if outs:
                f = self.fields[id(outs[0])]
                row.receptive_field, row.jump = f.rf, f.jump
        for t in outs:
            if id(t) not in self.activation_ids:
                self.activation_ids.add(id(t))
                self.keep.append(t)
                self.activation_bytes += t.data.size * t.data.dtype.itemsize
        del row._inputs, row._in_fields


def _check_input_size(input_size) -> tuple[int, ...]:
    if (
        isinstance(input_size, (int, np.integer))
        or not isinstance(input_size, (tuple, list))
        or not input_size
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in input_size)
    ):
        raise TypeError(
            f"summary: input_size must be a tuple of ints, the shape of one input batch such as "
            f"(1, 3, 224, 224). Received: input_size={input_size!r}"
        )
    if any(v < 1 for v in input_size):
        raise ValueError(f"summary: every entry of input_size must be at least 1. Received: input_size={input_size!r}")
    return tuple(int(v) for v in input_size)


def _model_dtype(model: Module) -> np.dtype:
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return np.dtype(np.float32)


def summary(
    model: Module,
    input_size,
    dtype=None,
    *,
    compute: bool = True,
    training: bool = False,
    depth: int | None = None,
    seed: int = 0,
) -> ModelSummary:
    """Trace one forward pass of ``model`` on an input of shape ``input_size`` and count each layer.

    Args:
        model: a Module taking one tensor.
        input_size: the input's full shape, batch included, e.g. (1, 3, 224, 224). Counts (MACs,
            connections, activation bytes) are for this batch; the first 2 axes are (N, C) and the
            rest are spatial (for the receptive field).
        dtype: of the input (default: the model's parameter dtype, float32 for most models).
        compute: False runs the shape-only dry run (same counts, much faster; see the module docstring).
        training: trace in training mode (dropout active, auxiliary heads run); modes and buffers
            are restored afterwards either way.
        depth: show only rows of at most this depth (the totals count everything).
        seed: of the random normal input (compute=True).

    Returns a :class:`ModelSummary` (print it, or ``.to_dict()``).
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a convnp.nn.Module. Received: {type(model).__name__}")
    shape = _check_input_size(input_size)
    dt = _model_dtype(model) if dtype is None else np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"summary: dtype must be a floating-point dtype. Received: dtype={dt}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise ValueError(f"summary: depth must be a positive int or None. Received: depth={depth!r}")
    nd = max(len(shape) - 2, 0)
    rows_of = _Rows(model, nd)

    modules = [m for _, m in model.named_modules()]
    modes = [m.training for m in modules]
    buffers = [(m, name, b.copy()) for m in modules for name, b in m._buffers.items() if b is not None]
    rng_state = get_rng_state()  # dropout in training mode draws from the default generator
    dry = []
    try:
        model.train(bool(training))
        for m in modules:
            if not compute and _install_dry_forward(m):
                dry.append(m)
        if compute:
            data = np.random.default_rng(seed).standard_normal(shape).astype(dt)
        else:
            data = np.zeros(shape, dtype=dt)
        x = Tensor(data, _copy=False)
        if nd:
            rows_of.record(x, _Field((1,) * nd, (1,) * nd, shape[-nd:]))
        with no_grad():
            calls, _, _ = record_calls(model, x)
    finally:
        for m in dry:
            object.__delattr__(m, "forward")
        for m, mode in zip(modules, modes):
            m.training = mode
        for m, name, b in buffers:
            m._buffers[name][...] = b
        set_rng_state(rng_state)

    rows_of.replay(calls)
    rows = rows_of.rows
    # the root is not a row (its children become the top level), unless it is a layer itself
    if len(rows) > 1 and rows[0].name == "":
        rows.pop(0)
        for r in rows:
            r.parent = None if r.parent == 0 else r.parent - 1
    elif rows and rows[0].name == "":
        rows[0].name = type(model).__name__
    # a container's MACs and connections are its own plus its children's (children come after it)
    for r in reversed(rows):
        if r.parent is not None:
            rows[r.parent].macs += r.macs
            rows[r.parent].connections += r.connections
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return ModelSummary(type(model).__name__, rows, total, trainable, rows_of.activation_bytes, shape, dt, depth)
