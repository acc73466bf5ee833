"""batch_norm, layer_norm, group_norm, local_response_norm: gradcheck, PyTorch parity, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import TOL, assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.normalization import batch_norm, group_norm, layer_norm, local_response_norm

DTYPES = [np.float64, np.float32]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def _randn(rng, *shape, scale=1.0, shift=0.0):
    return rng.standard_normal(shape) * scale + shift


# ============================================================================================
# batch_norm
# ============================================================================================

BN_SHAPES = [(4, 3), (2, 3, 5), (3, 2, 3, 4), (2, 2, 2, 3, 2), (1, 3, 2, 3), (5, 1), (1, 1, 4, 1)]


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4), (2, 2, 3, 2), (2, 2, 2, 2, 2), (1, 2, 3, 1)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_gradcheck(shape, training, affine):
    rng = np.random.default_rng([*shape, int(training), int(affine)])
    C = shape[1]
    x = _randn(rng, *shape, scale=2.0, shift=0.5)
    rm, rv = _randn(rng, C), rng.uniform(0.5, 2.0, C)
    if affine:
        w, b = _randn(rng, C), _randn(rng, C)
        check_gradcheck(lambda x, w, b: batch_norm(x, rm.copy(), rv.copy(), w, b, training=training), [x, w, b])
    else:
        check_gradcheck(lambda x: batch_norm(x, rm.copy(), rv.copy(), training=training), [x])


def _bn_configs():
    rng = np.random.default_rng(2024)
    configs = []
    for k, shape in enumerate(BN_SHAPES):
        for training in (True, False):
            configs.append(
                dict(
                    shape=shape,
                    training=training,
                    affine=bool(k % 2 == 0 or not training),
                    momentum=float(rng.choice([0.1, 0.0, 1.0, 0.37])),
                    eps=float(rng.choice([1e-5, 1e-3, 0.1])),
                    seed=int(rng.integers(1 << 30)),
                )
            )
    return configs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", _bn_configs(), ids=lambda c: f"{c['shape']}-train{c['training']}-aff{c['affine']}")
def test_batch_norm_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    shape, C = cfg["shape"], cfg["shape"][1]
    x = _randn(rng, *shape, scale=3.0, shift=-1.0)
    rm0, rv0 = _randn(rng, C), rng.uniform(0.3, 3.0, C)
    rm_cn, rv_cn = rm0.astype(dtype), rv0.astype(dtype)
    rm_t, rv_t = torch.tensor(rm0, dtype=TORCH_DTYPE[dtype]), torch.tensor(rv0, dtype=TORCH_DTYPE[dtype])
    kw = dict(training=cfg["training"], momentum=cfg["momentum"], eps=cfg["eps"])
    if cfg["affine"]:
        inputs = [x, _randn(rng, C), _randn(rng, C)]
        compare_with_torch(
            lambda x, w, b: batch_norm(x, rm_cn, rv_cn, w, b, **kw),
            lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, **kw),
            inputs,
            dtype=dtype,
        )
    else:
        compare_with_torch(
            lambda x: batch_norm(x, rm_cn, rv_cn, **kw), lambda x: F.batch_norm(x, rm_t, rv_t, **kw), [x], dtype=dtype
        )
    assert_close(rm_cn, rm_t, TOL[np.dtype(dtype)], "running_mean")
    assert_close(rv_cn, rv_t, TOL[np.dtype(dtype)], "running_var")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES[:5])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.0, 1.0])
@pytest.mark.parametrize("as_tensor", [True, False])
def test_batch_norm_running_stats_over_several_calls(shape, momentum, dtype, as_tensor):
    """Three training steps then an eval step: buffers and every gradient agree with torch's."""
    rng = np.random.default_rng(len(shape) * 1000 + int(momentum * 100))
    C = shape[1]
    rm_np, rv_np = np.zeros(C, dtype), np.ones(C, dtype)
    rm_cn = cn.tensor(rm_np) if as_tensor else rm_np
    rv_cn = cn.tensor(rv_np) if as_tensor else rv_np
    rm_t, rv_t = torch.zeros(C, dtype=TORCH_DTYPE[dtype]), torch.ones(C, dtype=TORCH_DTYPE[dtype])
    w, b = _randn(rng, C), _randn(rng, C)
    tol = TOL[np.dtype(dtype)]
    for step in range(3):
        x = _randn(rng, *shape, scale=1.0 + step, shift=step - 1.0)
        compare_with_torch(
            lambda x, w, b: batch_norm(x, rm_cn, rv_cn, w, b, training=True, momentum=momentum),
            lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, training=True, momentum=momentum),
            [x, w, b],
            dtype=dtype,
            seed=step,
        )
        assert_close(rm_cn, rm_t, tol, f"running_mean after step {step}")
        assert_close(rv_cn, rv_t, tol, f"running_var after step {step}")
    before = (np.array(rm_cn), np.array(rv_cn))
    x = _randn(rng, *shape)
    compare_with_torch(
        lambda x, w, b: batch_norm(x, rm_cn, rv_cn, w, b, training=False),
        lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, training=False),
        [x, w, b],
        dtype=dtype,
    )
    np.testing.assert_array_equal(np.asarray(rm_cn), before[0])  # eval leaves the buffers alone
    np.testing.assert_array_equal(np.asarray(rv_cn), before[1])


def test_batch_norm_updates_tensor_buffers_in_place_and_accepts_none():
    rng = np.random.default_rng(0)
    x = _randn(rng, 6, 2, 3)
    rm = cn.tensor(np.zeros(2))
    rv = cn.tensor(np.ones(2))
    data_before = rm.data
    batch_norm(cn.tensor(x), rm, rv, training=True, momentum=0.25)
    assert rm.data is data_before
    mean = x.mean(axis=(0, 2))
    var_unbiased = x.var(axis=(0, 2), ddof=1)
    np.testing.assert_allclose(rm.data, 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(rv.data, 0.75 + 0.25 * var_unbiased, rtol=1e-12)
    out = batch_norm(cn.tensor(x), None, None, training=True)  # no buffers to update
    expected = F.batch_norm(torch.tensor(x), None, None, training=True)
    assert_close(out, expected, 1e-10, "batch_norm without running stats")


# batch_norm at sizes where the kernel takes its paths (blocks of samples, the worker threads above
# _PARALLEL_MIN entries, rows of C * L below _ROWWISE_MAX_L, statistics about a rounded mean
# estimate), under either engine; the kernel's thresholds lowered: tests/kernels/test_normalization.py.

BN_FAST_CASES = [  # shape, scale, shift
    ((5, 3, 257, 275), 1.0, 0.0),  # >= 2^20 entries: worker threads, several blocks, rows of C * L
    ((1, 2, 700, 800), 2.0, 1.0),  # batch of one, long rows (L >= _ROWWISE_MAX_L), one sample > a block
    ((4099, 257), 0.5, 3.0),  # (N, C): L = 1, odd sizes, threads
    ((3, 5, 20, 21), 0.01, 50.0),  # mean 5000 sigma away from 0
]


def _bn_both(x, w, b, rm, rv, training, g, dtype, requires=(True, True, True)):
    """Forward, every requested gradient and the running stats, ours and torch's in float64."""
    res = []
    for lib in ("cn", "torch"):
        if lib == "cn":
            ts = [
                cn.tensor(a.astype(dtype), requires_grad=r) if a is not None else None
                for a, r in zip((x, w, b), requires)
            ]
            rm_, rv_ = rm.astype(dtype), rv.astype(dtype)
            y = batch_norm(ts[0], rm_, rv_, ts[1], ts[2], training=training, momentum=0.3)
            y.backward(g.astype(dtype))
            grads = [t.grad if t is not None and r else None for t, r in zip(ts, requires)]
            res.append((y.data, grads, rm_, rv_))
        else:
            ts = [
                torch.tensor(a.astype(dtype).astype(np.float64), requires_grad=r) if a is not None else None
                for a, r in zip((x, w, b), requires)
            ]
            rm_, rv_ = (
                torch.tensor(rm.astype(dtype), dtype=torch.float64),
                torch.tensor(rv.astype(dtype), dtype=torch.float64),
            )
            y = F.batch_norm(ts[0], rm_, rv_, ts[1], ts[2], training=training, momentum=0.3)
            y.backward(torch.tensor(g.astype(dtype), dtype=torch.float64))
            grads = [t.grad.numpy() if t is not None and r else None for t, r in zip(ts, requires)]
            res.append((y.detach().numpy(), grads, rm_.numpy(), rv_.numpy()))
    return res


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("case", BN_FAST_CASES, ids=lambda c: "x".join(map(str, c[0])))
def test_batch_norm_fast_path_against_float64_torch(case, training, dtype):
    """Every path at its real size, checked against torch in float64 (stricter than float32 torch,
    which loses ~1e-4 on the far-from-zero mean case)."""
    shape, scale, shift = case
    rng = np.random.default_rng(sum(shape))
    C = shape[1]
    x = _randn(rng, *shape, scale=scale, shift=shift)
    w, b, g = _randn(rng, C), _randn(rng, C), _randn(rng, *shape)
    rm, rv = np.full(C, shift) + _randn(rng, C, scale=scale), np.full(C, scale**2) * rng.uniform(0.5, 2, C)
    (y, grads, rm_c, rv_c), (ty, tgrads, rm_t, rv_t) = _bn_both(x, w, b, rm, rv, training, g, dtype)
    tol = TOL[np.dtype(dtype)]
    assert y.dtype == dtype
    assert_close(y, ty, tol, "output")
    for name, ours, theirs in zip(("input", "weight", "bias"), grads, tgrads):
        assert ours.dtype == dtype and ours.shape == theirs.shape
        assert_close(ours, theirs, tol, f"{name} gradient")
    assert_close(rm_c, rm_t, tol, "running_mean")
    assert_close(rv_c, rv_t, tol, "running_var")


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "requires",
    [(True, False, False), (False, True, False), (False, False, True), (False, True, True), (True, False, True)],
)
def test_batch_norm_each_gradient_alone(requires, training):
    rng = np.random.default_rng(len(requires) + sum(requires))
    shape = (6, 4, 3, 5)
    x, w, b, g = _randn(rng, *shape, shift=2.0), _randn(rng, 4), _randn(rng, 4), _randn(rng, *shape)
    rm, rv = _randn(rng, 4), rng.uniform(0.5, 2.0, 4)
    (y, grads, *_), (ty, tgrads, *_) = _bn_both(x, w, b, rm, rv, training, g, np.float64, requires)
    assert_close(y, ty, 1e-10, "output")
    for r, ours, theirs in zip(requires, grads, tgrads):
        assert (ours is None) == (not r)
        if r:
            assert_close(ours, theirs, 1e-10, "gradient")


def test_batch_norm_nan_spreads_over_its_channel_like_torch():
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    x[1, 2, 3] = np.nan
    ours = batch_norm(cn.tensor(x), None, None, training=True).data
    theirs = F.batch_norm(torch.tensor(x), None, None, training=True).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(ours[:, 2]).all() and not np.isnan(ours[:, :2]).any()


def test_batch_norm_errors():
    x = cn.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"batch_norm: Expected more than 1 value per channel when training"):
        batch_norm(cn.tensor(np.zeros((1, 3))), None, None, training=True)
    with pytest.raises(
        ValueError,
        match=r"Expected more than 1 value per channel when training.*Received: input "
        r"of shape \(1, 2, 1, 1\)",
    ):
        batch_norm(cn.tensor(np.zeros((1, 2, 1, 1))), np.zeros(2), np.ones(2), training=True)
    with pytest.raises(
        ValueError,
        match=r"batch_norm: expected running_mean of shape \(3,\).*"
        r"Received: running_mean of shape \(4,\)",
    ):
        batch_norm(x, np.zeros(4), np.ones(3), training=True)
    with pytest.raises(
        ValueError,
        match=r"batch_norm: expected running_var of shape \(3,\).*"
        r"Received: running_var of shape \(2,\)",
    ):
        batch_norm(x, np.zeros(3), np.ones(2))
    with pytest.raises(
        ValueError,
        match=r"batch_norm: expected weight of shape \(3,\).*"
        r"Received: weight of shape \(3, 1\)",
    ):
        batch_norm(x, np.zeros(3), np.ones(3), weight=np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"batch_norm: expected bias of shape \(3,\).*Received: bias of shape \(5,\)"):
        batch_norm(x, np.zeros(3), np.ones(3), bias=np.ones(5))
    with pytest.raises(
        ValueError,
        match=r"batch_norm: running_mean must be given in evaluation mode.*"
        r"Received: running_mean=None",
    ):
        batch_norm(x, None, np.ones(3), training=False)
    with pytest.raises(
        ValueError,
        match=r"batch_norm: running_var must be given in evaluation mode.*"
        r"Received: running_var=None",
    ):
        batch_norm(x, np.zeros(3), None)
    with pytest.raises(
        ValueError,
        match=r"batch_norm: expected input of 2 or more dimensions.*"
        r"Received: input of shape \(3,\)",
    ):
        batch_norm(cn.tensor(np.zeros(3)), np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match=r"batch_norm: expected a floating-point input. Received: input of dtype int64"):
        batch_norm(cn.tensor(np.zeros((2, 3), dtype=np.int64)), np.zeros(3), np.ones(3))
    with pytest.raises(
        TypeError,
        match=r"batch_norm: expected input to be a convnp Tensor or a NumPy array. "
        r"Received: list",
    ):
        batch_norm([[1.0, 2.0]], None, None, training=True)
    with pytest.raises(
        TypeError,
        match=r"batch_norm: expected running_mean to be a convnp Tensor, a NumPy array or "
        r"None. Received: list",
    ):
        batch_norm(x, [0.0, 0.0, 0.0], np.ones(3))
    with pytest.raises(
        TypeError,
        match=r"batch_norm: expected running_var to be a floating-point array. "
        r"Received: dtype int64",
    ):
        batch_norm(x, np.zeros(3), np.ones(3, dtype=np.int64))
    with pytest.raises(TypeError, match=r"batch_norm: expected momentum to be a number. Received: None"):
        batch_norm(x, np.zeros(3), np.ones(3), training=True, momentum=None)
    with pytest.raises(ValueError, match=r"batch_norm: expected eps to be a non-negative number. Received: -1"):
        batch_norm(x, np.zeros(3), np.ones(3), eps=-1)


# ============================================================================================
# layer_norm
# ============================================================================================


@pytest.mark.parametrize(
    "shape,normalized",
    [((3, 4), 4), ((2, 3, 4), (3, 4)), ((2, 2, 3, 2), (2,)), ((5,), (5,)), ((1, 2, 3, 2), (2, 3, 2))],
)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradcheck(shape, normalized, affine):
    rng = np.random.default_rng(len(shape) * 7 + int(affine))
    x = _randn(rng, *shape, scale=2.0, shift=1.0)
    ns = (normalized,) if isinstance(normalized, int) else normalized
    if affine:
        check_gradcheck(lambda x, w, b: layer_norm(x, normalized, w, b), [x, _randn(rng, *ns), _randn(rng, *ns)])
    else:
        check_gradcheck(lambda x: layer_norm(x, normalized), [x])


def _ln_configs():
    rng = np.random.default_rng(77)
    base = [
        ((4, 6), (6,)),
        ((2, 3, 5), (5,)),
        ((2, 3, 5), (3, 5)),
        ((2, 3, 4, 5), (4, 5)),
        ((1, 2, 3, 4, 2), (2, 3, 4, 2)),
        ((3, 1, 3), (1, 3)),
        ((7,), (7,)),
    ]
    return [
        dict(
            shape=s,
            ns=ns,
            affine=[True, "weight", "bias", False][k % 4],
            eps=float(rng.choice([1e-5, 1e-2])),
            seed=int(rng.integers(1 << 30)),
        )
        for k, (s, ns) in enumerate(base)
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", _ln_configs(), ids=lambda c: f"{c['shape']}-{c['ns']}-{c['affine']}")
def test_layer_norm_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x = _randn(rng, *cfg["shape"], scale=4.0, shift=2.0)
    ns, eps = cfg["ns"], cfg["eps"]
    w, b = _randn(rng, *ns), _randn(rng, *ns)
    if cfg["affine"] is True:
        compare_with_torch(
            lambda x, w, b: layer_norm(x, ns, w, b, eps),
            lambda x, w, b: F.layer_norm(x, ns, w, b, eps),
            [x, w, b],
            dtype=dtype,
        )
    elif cfg["affine"] == "weight":
        compare_with_torch(
            lambda x, w: layer_norm(x, ns, w, eps=eps),
            lambda x, w: F.layer_norm(x, ns, w, eps=eps),
            [x, w],
            dtype=dtype,
        )
    elif cfg["affine"] == "bias":
        compare_with_torch(
            lambda x, b: layer_norm(x, ns, None, b, eps),
            lambda x, b: F.layer_norm(x, ns, None, b, eps),
            [x, b],
            dtype=dtype,
        )
    else:
        compare_with_torch(
            lambda x: layer_norm(x, ns, eps=eps), lambda x: F.layer_norm(x, ns, eps=eps), [x], dtype=dtype
        )


def test_layer_norm_over_one_element_gives_the_bias():
    """normalized_shape (1,): x_hat = 0, so y = b and dL/dx = 0 (torch agrees up to its rounding)."""
    rng = np.random.default_rng(3)
    x, w, b = _randn(rng, 4, 1, scale=4.0, shift=2.0), _randn(rng, 1), _randn(rng, 1)
    X = cn.tensor(x, requires_grad=True)
    y = layer_norm(X, (1,), cn.tensor(w), cn.tensor(b), eps=1e-2)
    np.testing.assert_array_equal(y.data, np.broadcast_to(b, (4, 1)))
    y.backward(rng.standard_normal((4, 1)))
    np.testing.assert_array_equal(X.grad, np.zeros((4, 1)))
    xt = torch.tensor(x, requires_grad=True)
    F.layer_norm(xt, (1,), torch.tensor(w), torch.tensor(b), eps=1e-2).backward(torch.ones(4, 1, dtype=torch.float64))
    assert np.abs(xt.grad.numpy()).max() < 1e-10


def test_layer_norm_errors():
    x = cn.tensor(np.zeros((2, 6, 3)))
    with pytest.raises(
        ValueError,
        match=r"layer_norm: expected input with shape \(\*, 4\).*"
        r"Received: input of shape \(2, 6, 3\)",
    ):
        layer_norm(x, (4,))
    with pytest.raises(
        ValueError,
        match=r"layer_norm: expected input with shape \(\*, 1, 2, 6, 3\).*"
        r"Received: input of shape \(2, 6, 3\)",
    ):
        layer_norm(x, (1, 2, 6, 3))
    with pytest.raises(ValueError, match=r"layer_norm: expected input with shape \(\*, \).*at least one"):
        layer_norm(x, ())
    with pytest.raises(
        ValueError,
        match=r"layer_norm: expected weight of shape \(6, 3\).*"
        r"Received: weight of shape \(3,\)",
    ):
        layer_norm(x, (6, 3), weight=np.ones(3))
    with pytest.raises(ValueError, match=r"layer_norm: expected bias of shape \(3,\).*Received: bias of shape \(6,\)"):
        layer_norm(x, 3, bias=np.ones(6))
    with pytest.raises(
        TypeError,
        match=r"layer_norm: expected normalized_shape to be an int or a sequence of ints. "
        r"Received: 3.5",
    ):
        layer_norm(x, 3.5)


# ============================================================================================
# group_norm
# ============================================================================================


@pytest.mark.parametrize(
    "shape,groups", [((2, 4, 3), 2), ((2, 6), 3), ((1, 4, 2, 3), 4), ((2, 3, 2, 2), 1), ((2, 4, 2, 1, 2), 2)]
)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_gradcheck(shape, groups, affine):
    rng = np.random.default_rng(len(shape) * 13 + groups)
    x = _randn(rng, *shape, scale=2.0, shift=-0.5)
    C = shape[1]
    if affine:
        check_gradcheck(lambda x, w, b: group_norm(x, groups, w, b), [x, _randn(rng, C), _randn(rng, C)])
    else:
        check_gradcheck(lambda x: group_norm(x, groups), [x])


def _gn_configs():
    rng = np.random.default_rng(99)
    base = [
        ((3, 6, 4), 3),
        ((2, 6, 5, 3), 2),
        ((1, 8, 3, 5), 4),
        ((2, 4, 3, 2, 3), 4),
        ((4, 6), 2),
        ((2, 3, 7), 1),
        ((1, 1, 3, 3), 1),
    ]
    return [
        dict(
            shape=s, groups=g, affine=(k % 3 != 2), eps=float(rng.choice([1e-5, 1e-1])), seed=int(rng.integers(1 << 30))
        )
        for k, (s, g) in enumerate(base)
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", _gn_configs(), ids=lambda c: f"{c['shape']}-g{c['groups']}-aff{c['affine']}")
def test_group_norm_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x = _randn(rng, *cfg["shape"], scale=3.0, shift=1.0)
    g, eps, C = cfg["groups"], cfg["eps"], cfg["shape"][1]
    if cfg["affine"]:
        compare_with_torch(
            lambda x, w, b: group_norm(x, g, w, b, eps),
            lambda x, w, b: F.group_norm(x, g, w, b, eps),
            [x, _randn(rng, C), _randn(rng, C)],
            dtype=dtype,
        )
    else:
        compare_with_torch(lambda x: group_norm(x, g, eps=eps), lambda x: F.group_norm(x, g, eps=eps), [x], dtype=dtype)


def test_group_norm_errors():
    x = cn.tensor(np.zeros((2, 6, 3)))
    with pytest.raises(
        ValueError,
        match=r"group_norm: expected the number of channels to be divisible by num_groups "
        r"\(6 channels, num_groups=4\). Received: input of shape \(2, 6, 3\)",
    ):
        group_norm(x, 4)
    with pytest.raises(ValueError, match=r"group_norm: expected num_groups to be a positive integer. Received: 0"):
        group_norm(x, 0)
    with pytest.raises(
        ValueError, match=r"group_norm: expected weight of shape \(6,\).*Received: weight of shape \(3,\)"
    ):
        group_norm(x, 3, weight=np.ones(3))
    with pytest.raises(ValueError, match=r"group_norm: expected bias of shape \(6,\).*Received: bias of shape \(2,\)"):
        group_norm(x, 3, bias=np.ones(2))
    with pytest.raises(
        ValueError,
        match=r"group_norm: expected input of 2 or more dimensions.*"
        r"Received: input of shape \(6,\)",
    ):
        group_norm(cn.tensor(np.zeros(6)), 3)


# ============================================================================================
# local_response_norm
# ============================================================================================


@pytest.mark.parametrize(
    "shape,size",
    [((2, 5, 3), 3), ((1, 4, 2, 3), 2), ((2, 3, 2, 2), 5), ((1, 6, 2, 1, 2), 4), ((2, 1, 3), 1), ((1, 3, 2, 2), 6)],
)
def test_local_response_norm_gradcheck(shape, size):
    rng = np.random.default_rng(len(shape) + 10 * size)
    x = _randn(rng, *shape, scale=2.0)
    check_gradcheck(lambda x: local_response_norm(x, size, alpha=0.5, beta=0.75, k=1.5), [x])
    check_gradcheck(lambda x: local_response_norm(x, size, alpha=2.0, beta=1.3, k=0.7), [x])


def _lrn_configs():
    rng = np.random.default_rng(5)
    base = [
        ((2, 7, 5), 5),
        ((2, 8, 4, 3), 5),
        ((1, 6, 3, 4), 2),
        ((2, 5, 2, 3, 2), 3),
        ((3, 1, 4), 1),
        ((2, 3, 3, 3), 7),
        ((1, 10, 2, 2), 4),
    ]
    out = []
    for s, size in base:
        out.append(
            dict(
                shape=s,
                size=size,
                alpha=float(rng.choice([1e-4, 0.1, 1.0, 3.0])),
                beta=float(rng.choice([0.75, 0.5, 1.5])),
                k=float(rng.choice([1.0, 2.0, 0.5])),
                seed=int(rng.integers(1 << 30)),
            )
        )
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", _lrn_configs(), ids=lambda c: f"{c['shape']}-size{c['size']}")
def test_local_response_norm_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x = _randn(rng, *cfg["shape"], scale=2.0)
    kw = dict(alpha=cfg["alpha"], beta=cfg["beta"], k=cfg["k"])
    compare_with_torch(
        lambda x: local_response_norm(x, cfg["size"], **kw),
        lambda x: F.local_response_norm(x, cfg["size"], **kw),
        [x],
        dtype=dtype,
    )


def test_local_response_norm_errors():
    with pytest.raises(
        ValueError,
        match=r"local_response_norm: expected input of 3 or more dimensions \(N, C, \*\). "
        r"Received: input of shape \(2, 6\)",
    ):
        local_response_norm(cn.tensor(np.zeros((2, 6))), 2)
    with pytest.raises(ValueError, match=r"local_response_norm: expected size to be a positive integer. Received: 0"):
        local_response_norm(cn.tensor(np.zeros((2, 6, 3))), 0)
    with pytest.raises(TypeError, match=r"local_response_norm: expected beta to be a number. Received: 'x'"):
        local_response_norm(cn.tensor(np.zeros((2, 6, 3))), 2, beta="x")


# ============================================================================================
# instance_norm
# ============================================================================================
from convnp.ops.normalization import instance_norm  # noqa: E402


def _instance_config(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 4))
    shape = (int(rng.choice([1, 2, 3])), int(rng.integers(1, 5))) + tuple(
        int(s) for s in rng.integers(1, 6 if k < 3 else 4, k)
    )
    if np.prod(shape[2:]) < 2:
        shape = shape[:-1] + (2,)
    return rng, shape, bool(rng.random() < 0.6), bool(rng.random() < 0.7), bool(rng.random() < 0.5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(24))
def test_instance_norm_matches_torch(seed, dtype):
    rng, shape, affine, use_input_stats, with_running = _instance_config(seed)
    if not use_input_stats:
        with_running = True
    C = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    w, b = rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = rng.standard_normal(C).astype(dtype), rng.uniform(0.5, 2, C).astype(dtype)
    ours_rm, ours_rv = rm.copy(), rv.copy()
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    momentum, eps = float(rng.choice([0.1, 0.5, 1.0])), float(rng.choice([1e-5, 1e-3]))
    args = dict(use_input_stats=use_input_stats, momentum=momentum, eps=eps)
    inputs = [x, w, b] if affine else [x]

    def ours(t, weight=None, bias=None):
        return instance_norm(
            t, ours_rm if with_running else None, ours_rv if with_running else None, weight, bias, **args
        )

    def theirs(t, weight=None, bias=None):
        return F.instance_norm(t, t_rm if with_running else None, t_rv if with_running else None, weight, bias, **args)

    compare_with_torch(ours, theirs, inputs, dtype=dtype, seed=seed, what=f"instance_norm {shape} {args}")
    assert_close(ours_rm, t_rm, TOL[np.dtype(dtype)], "running_mean")
    assert_close(ours_rv, t_rv, TOL[np.dtype(dtype)], "running_var")


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_gradcheck(use_input_stats):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    check_gradcheck(
        lambda t, weight, bias: instance_norm(t, rm.copy(), rv.copy(), weight, bias, use_input_stats=use_input_stats),
        [x, w, b],
    )
    check_gradcheck(lambda t: instance_norm(t, use_input_stats=True), [rng.standard_normal((1, 2, 5))])


def test_instance_norm_errors():
    x = cn.tensor(np.ones((2, 3, 4, 4)))
    cases = [
        (lambda: instance_norm(cn.tensor(np.ones((2, 3)))), ValueError, "expected input of 3 or more dimensions"),
        (lambda: instance_norm(x, np.zeros(4), np.ones(3)), ValueError, "expected running_mean of shape (3,)"),
        (lambda: instance_norm(x, weight=[1.0, 1.0, 1.0]), TypeError, "expected weight to be a convnp Tensor"),
        (lambda: instance_norm(x, eps=-1), ValueError, "expected eps to be a non-negative number"),
        (lambda: instance_norm(x, use_input_stats=1), TypeError, "expected use_input_stats to be a bool"),
        (lambda: instance_norm(x, momentum="0.1"), TypeError, "expected momentum to be a number"),
        (lambda: instance_norm(cn.tensor(np.ones((2, 3, 1, 1)))), ValueError, "Expected more than 1 spatial element"),
        (lambda: instance_norm(x, use_input_stats=False), ValueError, "running_mean and running_var must be given"),
        (lambda: instance_norm(cn.tensor(np.ones((2, 3, 4), np.int64))), TypeError, "floating-point input"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match="Received") as err:
            call()
        assert message in str(err.value), str(err.value)
