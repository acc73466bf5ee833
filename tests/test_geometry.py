"""Layers own their geometry: ``output_shape`` of every layer equals the shape of its forward, window
layers expose their ``window``, the receptive-field arithmetic (convnp.arraymath.receptive) is the
lectures', a functional convolution or pooling in a forward is followed through its context's
``config.window``, and the output-size formula and the 'same' rule are written once."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from inspect_nets import field_masks, positive, probe_changes

import convnp as cn
from convnp import models, nn
from convnp.arraymath.conv_arithmetic import Window, same_padding
from convnp.arraymath.receptive import (
    adaptive_bins,
    adaptive_field_step,
    dense_field_step,
    field_step,
    identity_axis,
    transposed_field_step,
    window_axis,
)
from convnp.nn import functional as F
from convnp.nn.tracing import record_calls, window_of

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

PACKAGE = Path(__file__).resolve().parents[1] / "convnp"


def _forward_shape(layer, shape, *args):
    layer.eval()
    with cn.no_grad():
        out = layer(cn.zeros(*shape), *args)
    return tuple((out[0] if isinstance(out, tuple) else out).shape)


def _both_raise(layer, shape):
    """A shape the layer refuses: output_shape raises the ValueError its forward raises."""
    with pytest.raises(ValueError) as real:
        _forward_shape(layer, shape)
    with pytest.raises(ValueError) as dry:
        layer.output_shape(shape)
    return str(real.value), str(dry.value)


# --------------------------------------------------------------------------------------------
# output_shape == the forward's shape, on seeded random configurations
# --------------------------------------------------------------------------------------------
def _random_conv(rng, nd):
    groups = int(rng.choice([1, 2]))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
    dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
    if rng.random() < 0.25:
        padding, stride = str(rng.choice(["same", "valid"])), 1
    else:
        padding = tuple(int(p) for p in rng.integers(0, 3, nd))
        stride = tuple(int(s) for s in rng.integers(1, 4, nd))
    mode = (
        str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
        if isinstance(padding, tuple) and rng.random() < 0.3
        else "zeros"
    )
    layer = getattr(nn, f"Conv{nd}d")(
        cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, padding_mode=mode
    )
    spatial = tuple(int(v) for v in rng.integers(1, 10, nd))
    batch = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
    return layer, batch + (cin,) + spatial


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_output_shape_is_the_forwards(seed, nd):
    rng = np.random.default_rng(1000 * nd + seed)
    layer, shape = _random_conv(rng, nd)
    try:
        expected = _forward_shape(layer, shape)
    except ValueError:  # too small for the window, or for reflect / circular padding
        _both_raise(layer, shape)
    else:
        assert layer.output_shape(shape) == expected


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_output_shape_is_the_forwards(seed, nd):
    rng = np.random.default_rng(7000 + 100 * nd + seed)
    stride = tuple(int(s) for s in rng.integers(1, 4, nd))
    dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
    output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    groups = int(rng.choice([1, 2]))
    layer = getattr(nn, f"ConvTranspose{nd}d")(
        2 * groups,
        groups,
        tuple(int(k) for k in rng.integers(1, 4, nd)),
        stride=stride,
        padding=tuple(int(p) for p in rng.integers(0, 2, nd)),
        output_padding=output_padding,
        groups=groups,
        dilation=dilation,
    )
    shape = (int(rng.integers(1, 3)), 2 * groups) + tuple(int(v) for v in rng.integers(1, 5, nd))
    out = layer.window.transposed_output_size(shape[2:], output_padding)
    if min(out) < 1:
        _both_raise(layer, shape)
    else:
        assert layer.output_shape(shape) == _forward_shape(layer, shape)
        assert layer.output_shape(shape[1:]) == _forward_shape(layer, shape[1:])  # unbatched


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_pooling_output_shape_is_the_forwards(seed, nd):
    rng = np.random.default_rng(5000 + 100 * nd + seed)
    kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    stride = None if rng.random() < 0.3 else tuple(int(s) for s in rng.integers(1, 4, nd))
    ceil_mode = bool(rng.random() < 0.5)
    if rng.random() < 0.5:
        layer = getattr(nn, f"MaxPool{nd}d")(
            kernel,
            stride,
            padding,
            dilation=int(rng.integers(1, 3)),
            ceil_mode=ceil_mode,
            return_indices=bool(rng.random() < 0.3),
        )
    else:
        layer = getattr(nn, f"AvgPool{nd}d")(kernel, stride, padding, ceil_mode=ceil_mode)
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) + tuple(int(v) for v in rng.integers(1, 8, nd))
    try:
        expected = _forward_shape(layer, shape)
    except ValueError:  # no window fits (or avg_pool3d's input smaller than the kernel)
        _both_raise(layer, shape)
    else:
        assert layer.output_shape(shape) == expected
        assert layer.output_shape(shape[1:]) == _forward_shape(layer, shape[1:])


@pytest.mark.parametrize("seed", range(20))
def test_adaptive_unpool_and_locally_connected_output_shapes(seed):
    rng = np.random.default_rng(9000 + seed)
    shape = (int(rng.integers(1, 3)), 3) + tuple(int(v) for v in rng.integers(1, 12, 2))
    size = tuple(None if rng.random() < 0.2 else int(v) for v in rng.integers(1, 6, 2))
    for layer in (
        nn.AdaptiveAvgPool2d(size),
        nn.AdaptiveMaxPool2d(size, return_indices=True),
        nn.AdaptiveAvgPool2d(int(rng.integers(1, 5))),
    ):
        assert layer.output_shape(shape) == _forward_shape(layer, shape)
    k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    pool, unpool = nn.MaxPool2d(k, s, return_indices=True), nn.MaxUnpool2d(k, s)
    big = shape[:2] + tuple(k + s * n for n in shape[2:])  # the windows tile it: unpooling restores it
    pooled, indices = pool(cn.zeros(*big))
    assert unpool.output_shape(pooled.shape) == tuple(unpool(pooled, indices).shape)
    p = int(rng.integers(0, 2))
    lc = nn.LocallyConnected2d(3, 2, k, big[2:], stride=s, padding=p)
    assert lc.output_shape(big) == _forward_shape(lc, big)
    assert lc.window == Window.of(2, k, s, p)


@pytest.mark.parametrize("seed", range(10))
def test_shape_keeping_and_reshaping_layers(seed):
    rng = np.random.default_rng(300 + seed)
    shape = tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(2, 6))))
    shape = shape[:1] + (4,) + shape[2:]
    layers = [
        nn.ReLU(),
        nn.LeakyReLU(0.1),
        nn.PReLU(),
        nn.ELU(),
        nn.GELU(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.Softmax(dim=1),
        nn.LogSoftmax(dim=-1),
        nn.Dropout(0.3),
        nn.Identity(),
        nn.GroupNorm(2, 4),
        nn.LayerNorm(shape[-1]),
        nn.Linear(shape[-1], 3),
        nn.Flatten(),
        nn.Flatten(0, -2),
        nn.Unflatten(1, (2, -1)),
    ]
    if len(shape) >= 3:
        layers += [nn.LocalResponseNorm(3), nn.PReLU(4)]
    if len(shape) in (3, 4):
        layers += [nn.Dropout2d(0.2)]
    batch_norm = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[len(shape)]
    layers.append(batch_norm(4))
    for layer in layers:
        assert layer.output_shape(shape) == _forward_shape(layer, shape), layer


def test_wrong_shapes_raise_the_layers_own_error():
    real, dry = _both_raise(nn.Conv2d(3, 4, 3), (1, 2, 8, 8))
    assert real == dry == "Conv2d: expected input with 3 channels, received shape (1, 2, 8, 8)"
    real, dry = _both_raise(nn.BatchNorm2d(3), (1, 3, 8))
    assert real == dry
    real, dry = _both_raise(nn.Linear(5, 2), (3, 4))
    assert real == dry
    real, dry = _both_raise(nn.Flatten(2), (3, 4))
    assert real == dry
    _, dry = _both_raise(nn.MaxPool2d(5), (1, 1, 3, 3))
    assert "the output size would be (0, 0)" in dry and dry.endswith("received shape (1, 1, 3, 3)")
    _both_raise(nn.Conv2d(1, 1, 3, stride=2), (1, 1, 2, 9))
    _both_raise(nn.LocallyConnected2d(1, 1, 3, (8, 8)), (1, 1, 8, 9))
    with pytest.raises(
        TypeError,
        match=r"Conv2d.output_shape: expected the input's shape as a tuple of "
        r"non-negative ints.*Received: input_shape=\(1, 3, 8.0, 8\)",
    ):
        nn.Conv2d(3, 4, 3).output_shape((1, 3, 8.0, 8))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,kwargs,shape",
    [
        ("lenet5", {}, (2, 1, 28, 28)),
        ("lenet5", {"variant": "original"}, (1, 1, 32, 32)),
        ("resnet20", {}, (1, 3, 32, 32)),
        ("googlenet", {}, (1, 3, 40, 40)),
        ("alexnet", {}, (1, 3, 67, 67)),
        ("tinyvgg", {}, (1, 3, 64, 64)),
    ],
)
def test_models_and_their_blocks_answer_output_shape(name, kwargs, shape):
    model = models.get_model(name, num_classes=5, **kwargs)
    model.train()
    assert model.output_shape(shape) == _forward_shape(model, shape)
    # the default Module.output_shape (a forward on zeros) leaves every flag as it was
    model.train()
    before = [(m.training, {k: b.copy() for k, b in m._buffers.items() if b is not None}) for m in model.modules()]
    model.output_shape(shape)
    for (mode, bufs), m in zip(before, model.modules()):
        assert m.training == mode
        for k, b in bufs.items():
            np.testing.assert_array_equal(m._buffers[k], b)
    # every block: its output_shape is the shape it returned when the model ran
    calls, _, _ = record_calls(model.eval(), cn.zeros(*shape))
    for c in calls:
        if c.path and isinstance(c.output, cn.Tensor) and len(c.inputs) == 1 and isinstance(c.inputs[0], cn.Tensor):
            assert c.module.output_shape(tuple(c.inputs[0].shape)) == tuple(c.output.shape), c.path


def test_sequential_composes_its_layers():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )
    assert net.output_shape((4, 3, 32, 32)) == (4, 10) == _forward_shape(net, (4, 3, 32, 32))


# --------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------
def test_window_layers_expose_their_window():
    assert nn.Conv2d(1, 1, (4, 3), padding="same", dilation=(1, 2)).window == Window(
        (4, 3), (1, 1), tuple(same_padding((4, 3), (1, 2))), (1, 2)
    )
    assert nn.Conv2d(1, 1, (4, 3), padding="same").window.padding == ((1, 2), (1, 1))
    assert nn.Conv1d(1, 1, 3, stride=2, padding="valid").window == Window((3,), (2,), ((0, 0),), (1,))
    assert nn.Conv3d(1, 1, 3, padding=(1, 0, 2)).window.padding == ((1, 1), (0, 0), (2, 2))
    assert nn.MaxPool2d(3, padding=1, dilation=2, ceil_mode=True).window == Window(
        (3, 3), (3, 3), ((1, 1), (1, 1)), (2, 2), True
    )
    assert nn.AvgPool1d(4, 2, 1, ceil_mode=True).window == Window((4,), (2,), ((1, 1),), (1,), True)
    assert nn.AvgPool3d((2, 1, 2)).window.stride == (2, 1, 2)
    t = nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1)
    assert t.transposed and t.window == Window((4, 4), (2, 2), ((1, 1), (1, 1)), (1, 1))
    assert nn.MaxUnpool2d(2).transposed and nn.MaxUnpool2d(2).window.kernel == (2, 2)
    # window_of: the layer's window, or the kernel_size / stride of a zoo module; None for the rest
    lenet = models.lenet5(variant="original")
    assert window_of(lenet.s2, 2) == Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
    assert window_of(lenet.c3, 2).kernel == (5, 5)
    assert window_of(nn.ReLU(), 2) is None and window_of(nn.Sequential(nn.Conv2d(1, 1, 3)), 2) is None
    assert window_of(nn.Conv1d(1, 1, 3), 2) is None  # not a window over 2 axes


# --------------------------------------------------------------------------------------------
# The receptive-field arithmetic
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(20))
def test_window_boxes_are_the_taps_of_every_position(seed):
    rng = np.random.default_rng(seed)
    n, k, s, d = int(rng.integers(3, 20)), int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    p = int(rng.integers(0, k + 1))
    w = Window((k,), (s,), ((p, p),), (d,))
    m = w.output_size((n,))[0]
    if m < 1:
        return
    inner = window_axis(identity_axis(n), m, k, s, p, d)
    for i in range(m):
        taps = [s * i - p + d * a for a in range(k)]
        inside = [u for u in taps if 0 <= u < n]
        if inside:
            assert (inner.lo[i], inner.hi[i]) == (min(inside), max(inside))
        else:
            assert inner.lo[i] > inner.hi[i]
        assert (inner.nlo[i], inner.nhi[i]) == (taps[0], taps[-1])
    rf, jump = field_step((1,), (1,), w)
    assert rf == (d * (k - 1) + 1,) and jump == (s,)
    assert int((inner.nhi - inner.nlo + 1).max()) == rf[0]


def test_field_steps_are_the_lecture_formulas():
    w = Window.of(2, (3, 5), stride=(2, 1), dilation=(1, 2))
    assert field_step((3, 3), (2, 2), w) == ((3 + 2 * 2, 3 + 8 * 2), (4, 2))
    assert transposed_field_step((7, 7), (4, 4), Window.of(2, 4, stride=2)) == ((7 + 1 * 4,) * 2, (2, 2))
    assert adaptive_bins(5, 3) == [2, 3, 2] and adaptive_bins(3, 2) == [2, 2] and adaptive_bins(4, 4) == [1] * 4
    assert adaptive_field_step((3,), (2,), (7,), (2,)) == ((3 + 3 * 2,), (7,))
    assert dense_field_step((212, 212), (32, 32), (7, 7)) == (404, 404)


# --------------------------------------------------------------------------------------------
# A functional convolution or pooling in a forward: followed through ctx.config.window
# --------------------------------------------------------------------------------------------
class _Functional(nn.Module):
    """F.conv2d (stride 2, padding 'same'-free), F.max_pool2d (ceil_mode, padding) and F.avg_pool2d
    inside a forward, none of them a layer."""

    def __init__(self, channels: int = 2):
        super().__init__()
        self.w1 = nn.Parameter(np.ones((channels, 1, 3, 2)))
        self.w2 = nn.Parameter(np.ones((channels, channels, 2, 3)))
        self.head = nn.ReLU()

    def forward(self, x):
        x = F.conv2d(x, self.w1, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
        x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        x = F.conv2d(x, self.w2, padding="same")
        x = F.avg_pool2d(x, 2, stride=1)
        return self.head(x)


ENGINES = [
    {"name": "reference"},
    {"name": "auto"},
    {"conv": "shifted", "pool": "separable"},
    {"conv": "blocked", "pool": "tiled"},
]


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: "-".join(e.values()))
@pytest.mark.parametrize("channels", [2, 24])  # 24 channels: large enough for the kernels' paths
def test_functional_windows_are_followed_exactly(engine, channels):
    # the lecture Functions and the kernels keep the same ctx.config (ConvConfig, PoolConfig)
    from convnp.inspect import receptive_field

    model = positive(_Functional(channels)).double()
    x = np.random.default_rng(0).uniform(0.1, 1.0, (1, 1, 19, 14))
    with cn.engine(engine.get("name"), **{k: v for k, v in engine.items() if k != "name"}):
        rf = receptive_field(model, "head", x.shape)
        changed = probe_changes(model, x, "head", 1e3)
    assert rf.exact
    np.testing.assert_array_equal(changed, field_masks(rf))


def test_a_functional_transposed_convolution_is_not_a_window():
    from convnp.inspect import receptive_field

    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones((1, 1, 2, 2)))
            self.head = nn.ReLU()

        def forward(self, x):
            return self.head(F.conv_transpose2d(x, self.w, stride=2))

    rf = receptive_field(Up().double(), "head", (1, 1, 5, 5))
    assert not rf.exact  # no rule: its whole input, said so


def test_a_lecture_windowed_context_without_config_fails_loudly(monkeypatch):
    from convnp.inspect import receptive as rmod

    class Ctx:  # a context whose field was renamed
        cfg = None

    with pytest.raises(AttributeError, match="config"):
        rmod._node_window(rmod._oconv.ConvNd, Ctx())


# --------------------------------------------------------------------------------------------
# One formula, one 'same' rule
# --------------------------------------------------------------------------------------------
# floor((in + pads - d * (k - 1) - 1) / s) + 1, written out or with the span / room named
_OUTPUT_SIZE = re.compile(r"(\*\s*\(\s*\w+\s*-\s*1\s*\)|\b(span|room)\b)[^\n]*//\s*\(?\s*\w+\s*\)?\s*\+\s*1\b")
_HALF_OF = r"(?<![\w.]){name}\s*//\s*2"
_TOTAL = re.compile(r"(\w+)\s*=\s*\w+\s*\*\s*\(\s*\w+\s*-\s*1\s*\)")  # total = d * (k - 1)
_SAME_INLINE = re.compile(r"\*\s*\(\s*\w+\s*-\s*1\s*\)\s*//\s*2")  # d * (k - 1) // 2


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel != "convnp/arraymath/conv_arithmetic.py":
            yield rel, path.read_text()


def test_the_output_size_formula_lives_in_conv_arithmetic_only():
    found = [
        f"{rel}:{text[: m.start()].count(chr(10)) + 1}" for rel, text in _sources() for m in _OUTPUT_SIZE.finditer(text)
    ]
    assert not found, "floor((in + pads - span) / stride) + 1 written outside conv_arithmetic: " + ", ".join(found)


def test_the_same_padding_rule_lives_in_conv_arithmetic_only():
    found = []
    for rel, text in _sources():
        for m in _SAME_INLINE.finditer(text):
            found.append(f"{rel}:{text[: m.start()].count(chr(10)) + 1}")
        for name in {m.group(1) for m in _TOTAL.finditer(text)}:
            for m in re.finditer(_HALF_OF.format(name=re.escape(name)), text):
                found.append(f"{rel}:{text[: m.start()].count(chr(10)) + 1}")
    assert not found, "the 'same' split of d * (k - 1) written outside conv_arithmetic: " + ", ".join(found)
    text = (PACKAGE / "arraymath" / "conv_arithmetic.py").read_text()
    assert "return room // stride + 1" in text and "total - total // 2" in text  # the one place each


def test_one_tracer_installs_the_hooks():
    # cn.summary and convnp.inspect both trace with convnp.nn.tracing.record_calls
    users = sorted(rel for rel, text in _sources() if re.search(r"\.register_forward(_pre)?_hook\(", text))
    assert users == ["convnp/nn/tracing.py"]
