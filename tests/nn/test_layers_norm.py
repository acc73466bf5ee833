"""BatchNorm1d/2d/3d, LayerNorm, GroupNorm and LocalResponseNorm as layers, against torch.nn.

BatchNorm: several training steps in both libraries from the same weights, comparing output,
input and parameter gradients and, after every step, running_mean, running_var and
num_batches_tracked (momentum 0.1, another momentum, and None = cumulative average), then eval
mode (running statistics) and track_running_stats=False (batch statistics in eval too).
Defaults (weight ones, bias zeros, running_mean zeros, running_var ones, num_batches_tracked
int64 0), state_dict layout, reprs, dtype conversion, constructor and input errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_same_state_layout, copy_weights, layer_parity

import convnp as cn
from convnp import nn


def _randomise(t_layer, seed=0):
    """Weights away from their defaults (ones and zeros), so that a mix-up would show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in t_layer.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) + 0.5)


# --------------------------------------------------------------------------------------------
# BatchNorm
# --------------------------------------------------------------------------------------------
BN_SHAPES = [
    ("BatchNorm1d", (8, 5)),
    ("BatchNorm1d", (4, 5, 6)),
    ("BatchNorm2d", (3, 5, 4, 3)),
    ("BatchNorm3d", (2, 5, 3, 2, 3)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("cls,shape", BN_SHAPES)
def test_batchnorm_training_steps_and_eval_match_torch(cls, shape, momentum, dtype):
    ours, theirs = getattr(nn, cls)(5, momentum=momentum), getattr(torch.nn, cls)(5, momentum=momentum)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    _randomise(theirs)
    rng = np.random.default_rng(sum(shape))
    for step in range(4):
        x = rng.standard_normal(shape) * (1 + step) + step  # the statistics move between steps
        ours.zero_grad()
        theirs.zero_grad()
        layer_parity(ours, theirs, [x], dtype, train=True, copy=step == 0, what=f"{cls} step {step}")
    assert int(ours.num_batches_tracked) == 4 and ours.num_batches_tracked.dtype == np.int64
    ours.zero_grad()
    theirs.zero_grad()
    layer_parity(ours, theirs, [rng.standard_normal(shape)], dtype, train=False, copy=False, what=f"{cls} eval")
    assert int(ours.num_batches_tracked) == 4  # eval does not count


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "kw",
    [
        dict(affine=False),
        dict(track_running_stats=False),
        dict(bias=False),
        dict(affine=False, track_running_stats=False, eps=1e-3),
    ],
)
def test_batchnorm_options_match_torch(kw, dtype):
    ours, theirs = nn.BatchNorm2d(3, **kw), torch.nn.BatchNorm2d(3, **kw)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    _randomise(theirs, 1)
    rng = np.random.default_rng(5)
    for step, train in enumerate([True, True, False, True, False]):
        ours.zero_grad()
        theirs.zero_grad()
        layer_parity(
            ours,
            theirs,
            [rng.standard_normal((4, 3, 3, 2)) + step],
            dtype,
            train=train,
            copy=step == 0,
            what=f"{kw} step {step}",
        )


def test_batchnorm_defaults_and_dtype_conversion():
    ours, theirs = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy(), err_msg=name)
        assert ours.state_dict()[name].dtype == value.numpy().dtype, name
    assert ours.num_batches_tracked.shape == () and ours.num_batches_tracked.dtype == np.int64
    ours.double()
    assert ours.weight.dtype == np.float64 and ours.running_mean.dtype == np.float64
    assert ours.running_var.dtype == np.float64 and ours.num_batches_tracked.dtype == np.int64
    # a double model matches torch's double model
    theirs.double()
    _randomise(theirs, 2)
    copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 2))
    assert_close(ours(cn.tensor(x)), theirs(torch.tensor(x)), 1e-10, "double")
    assert_close(ours.running_var, theirs.running_var, 1e-10, "running_var")
    ours.float()
    assert ours.running_mean.dtype == np.float32
    ours.reset_running_stats()
    assert int(ours.num_batches_tracked) == 0 and (ours.running_var == 1).all()


def test_batchnorm_errors():
    with pytest.raises(
        ValueError,
        match=r"^BatchNorm2d: expected input with 6 channels, "
        r"received shape \(2, 3, 4, 4\)$",
    ):
        nn.BatchNorm2d(6)(cn.randn(2, 3, 4, 4).astype(np.float32))
    with pytest.raises(ValueError, match=r"^BatchNorm2d: expected 4D input \(N, C, H, W\), received shape \(2, 6\)$"):
        nn.BatchNorm2d(6)(cn.randn(2, 6).astype(np.float32))
    with pytest.raises(
        ValueError,
        match=r"^BatchNorm1d: expected 2D or 3D input \(N, C\) or \(N, C, L\), "
        r"received shape \(2, 6, 3, 3\)$",
    ):
        nn.BatchNorm1d(6)(cn.randn(2, 6, 3, 3).astype(np.float32))
    with pytest.raises(
        ValueError,
        match=r"^1 \(BatchNorm1d\): batch_norm: Expected more than 1 value per channel "
        r"when training",
    ):
        nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))(cn.randn(1, 3).astype(np.float32))
    with pytest.raises(ValueError, match=r"^BatchNorm2d: num_features must be at least 1\. Received: num_features=0$"):
        nn.BatchNorm2d(0)
    with pytest.raises(ValueError, match=r"^BatchNorm2d: eps must be a non-negative number\. Received: eps=-1$"):
        nn.BatchNorm2d(3, eps=-1)
    with pytest.raises(TypeError, match=r"^BatchNorm3d: momentum must be a number\. Received: momentum='0\.1'$"):
        nn.BatchNorm3d(3, momentum="0.1")
    with pytest.raises(TypeError, match=r"^BatchNorm2d: affine must be a bool\. Received: affine=None$"):
        nn.BatchNorm2d(3, affine=None)


# --------------------------------------------------------------------------------------------
# LayerNorm, GroupNorm, LocalResponseNorm
# --------------------------------------------------------------------------------------------
NORMS = [
    ("LayerNorm", (4,), {}, (2, 3, 4)),
    ("LayerNorm", ((3, 4),), {}, (2, 3, 4)),
    ("LayerNorm", ([2, 3, 2],), dict(eps=1e-3), (3, 2, 3, 2)),
    ("LayerNorm", (5,), dict(elementwise_affine=False), (4, 5)),
    ("LayerNorm", ((2, 5),), dict(bias=False), (3, 2, 5)),
    ("LayerNorm", (6,), {}, (6,)),
    ("GroupNorm", (3, 6), {}, (2, 6, 5, 5)),
    ("GroupNorm", (1, 4), {}, (3, 4, 7)),
    ("GroupNorm", (4, 4), dict(eps=1e-3), (2, 4, 3, 3)),
    ("GroupNorm", (2, 6), dict(affine=False), (2, 6, 2, 2, 2)),
    ("GroupNorm", (2, 4), dict(bias=False), (5, 4, 3)),
    ("LocalResponseNorm", (2,), {}, (2, 5, 4, 4)),
    ("LocalResponseNorm", (3,), dict(alpha=1e-2, beta=0.5, k=2.0), (2, 7, 3)),
    ("LocalResponseNorm", (5,), dict(alpha=0.1), (1, 4, 2, 3, 2)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(NORMS)), ids=[n[0] + str(i) for i, n in enumerate(NORMS)])
def test_layer_group_lrn_norms_match_torch(case, dtype):
    name, args, kw, shape = NORMS[case]
    ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(v, tv.numpy(), err_msg=f"default {k}")
    _randomise(theirs, case)
    x = np.random.default_rng(case).standard_normal(shape) * 2 + 0.5
    for train in (True, False):
        ours.zero_grad()
        theirs.zero_grad()
        layer_parity(ours, theirs, [x], dtype, train=train, copy=train, what=name)


def test_norm_errors():
    with pytest.raises(
        ValueError,
        match=r"^LayerNorm: expected input of shape \(\*, 3, 4\) \(normalized_shape=\(3, 4\) "
        r"as the trailing dimensions\), received shape \(2, 4, 3\)$",
    ):
        nn.LayerNorm((3, 4))(cn.randn(2, 4, 3).astype(np.float32))
    with pytest.raises(ValueError, match=r"^LayerNorm: expected input of shape \(\*, 3, 4\)"):
        nn.LayerNorm((3, 4))(cn.randn(4).astype(np.float32))
    with pytest.raises(
        TypeError,
        match=r"^LayerNorm: normalized_shape must be an int or a tuple of ints\. "
        r"Received: normalized_shape=3\.0$",
    ):
        nn.LayerNorm(3.0)
    with pytest.raises(
        ValueError,
        match=r"^GroupNorm: num_channels must be divisible by num_groups\. "
        r"Received: num_channels=6, num_groups=4$",
    ):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"^GroupNorm: expected input with 6 channels, received shape \(2, 4, 3\)$"):
        nn.GroupNorm(3, 6)(cn.randn(2, 4, 3).astype(np.float32))
    with pytest.raises(
        ValueError,
        match=r"^GroupNorm: expected input of shape \(N, C, \*\) with at least 2 "
        r"dimensions, received shape \(6,\)$",
    ):
        nn.GroupNorm(3, 6)(cn.randn(6).astype(np.float32))
    with pytest.raises(
        ValueError,
        match=r"^LocalResponseNorm: expected input of shape \(N, C, \*\) with at least 3 "
        r"dimensions, received shape \(2, 6\)$",
    ):
        nn.LocalResponseNorm(3)(cn.randn(2, 6))
    with pytest.raises(ValueError, match=r"^LocalResponseNorm: size must be at least 1\. Received: size=0$"):
        nn.LocalResponseNorm(0)


# --------------------------------------------------------------------------------------------
# InstanceNorm1d/2d/3d
# --------------------------------------------------------------------------------------------
def _instance_case(seed):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 4))
    C = int(rng.integers(1, 5))
    spatial = tuple(int(s) for s in rng.integers(2, 6 if nd < 3 else 4, nd))
    batched = bool(rng.random() < 0.75)
    shape = ((int(rng.choice([1, 2, 3])),) if batched else ()) + (C,) + spatial
    kwargs = dict(
        affine=bool(rng.random() < 0.5),
        track_running_stats=bool(rng.random() < 0.5),
        momentum=[0.1, 0.3, None][int(rng.integers(0, 3))],
        eps=float(rng.choice([1e-5, 1e-2])),
    )
    if rng.random() < 0.3:
        kwargs["bias"] = False
    return rng, nd, C, shape, kwargs, bool(rng.random() < 0.6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(24))
def test_instance_norm_layers_match_torch(seed, dtype):
    rng, nd, C, shape, kwargs, train = _instance_case(seed)
    ours, theirs = getattr(nn, f"InstanceNorm{nd}d")(C, **kwargs), getattr(torch.nn, f"InstanceNorm{nd}d")(C, **kwargs)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    with torch.no_grad():  # random parameters and running statistics, copied into ours
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
        if theirs.track_running_stats:
            theirs.running_mean.copy_(torch.tensor(rng.standard_normal(C)))
            theirs.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, C)))
    x = rng.standard_normal(shape) * 2 + 0.5
    what = f"{theirs!r} {'train' if train else 'eval'} on {shape}"
    if not ours.affine:  # layer_parity wants a gradient on every parameter; there are none
        assert not list(ours.parameters())
    layer_parity(ours, theirs, [x], dtype, train=train, what=what)
    assert ours.output_shape(shape) == shape


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (nn.InstanceNorm2d(3), (3, 4), "expected 3D or 4D input (C, H, W) or (N, C, H, W), received shape (3, 4)"),
        (nn.InstanceNorm1d(3, affine=True), (2, 4, 5), "expected input with 3 channels, received shape (2, 4, 5)"),
        (nn.InstanceNorm3d(2, track_running_stats=True), (1, 3, 3, 3, 3), "expected input with 2 channels"),
        (nn.InstanceNorm1d(3), (2, 3, 1), "Expected more than 1 spatial element"),
    ],
)
def test_instance_norm_layer_input_errors(layer, shape, message):
    with pytest.raises(nn.LayerInputError) as err:
        layer(cn.zeros(*shape))
    assert message in str(err.value)
    if "spatial" not in message:  # a shape error output_shape sees too
        with pytest.raises(nn.LayerInputError) as err:
            layer.output_shape(shape)
        assert message in str(err.value)


def test_instance_norm_without_affine_takes_any_channel_count_and_constructor_errors():
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    with pytest.warns(UserWarning, match="does not match num_features"):  # torch warns; convnp runs quietly
        expected = torch.nn.InstanceNorm1d(3)(torch.tensor(x))
    assert_close(nn.InstanceNorm1d(3)(cn.tensor(x)), expected, 1e-10, "C != 3")
    with pytest.raises(ValueError, match=r"^InstanceNorm2d: num_features must be at least 1\. Received: "):
        nn.InstanceNorm2d(0)
    with pytest.raises(TypeError, match=r"^InstanceNorm2d: affine must be a bool\. Received: affine=1"):
        nn.InstanceNorm2d(3, affine=1)
    with pytest.raises(TypeError, match=r"^InstanceNorm3d: momentum must be a number\. Received: momentum='a'"):
        nn.InstanceNorm3d(3, momentum="a")
