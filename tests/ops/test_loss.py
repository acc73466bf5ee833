"""cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits, focal_loss:
gradcheck, PyTorch parity (float64 and float32), extreme logits, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.loss import binary_cross_entropy_with_logits, cross_entropy, focal_loss, mse_loss, nll_loss

DTYPES = [np.float64, np.float32]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
REDUCTIONS = ["mean", "sum", "none"]


def _labels(rng, C, shape, ignore_index=None, ignore_frac=0.0):
    t = rng.integers(0, C, size=shape)
    if ignore_index is not None and ignore_frac > 0:
        t = np.where(rng.random(shape) < ignore_frac, ignore_index, t)
    return t.astype(np.int64)


def _probs(rng, shape):
    z = rng.standard_normal(shape) * 2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def _weights(rng, C, dtype):
    w = rng.uniform(0.2, 3.0, C)
    return w.astype(dtype), torch.tensor(w.astype(dtype))


# ============================================================================================
# cross_entropy
# ============================================================================================

CE_GRADCHECK = [
    dict(shape=(3, 4), weight=False, ignore=False, smoothing=0.0),
    dict(shape=(4, 3), weight=True, ignore=True, smoothing=0.0),
    dict(shape=(3, 4), weight=True, ignore=False, smoothing=0.3),
    dict(shape=(2, 3, 2), weight=False, ignore=True, smoothing=0.15),
    dict(shape=(2, 3, 2, 2), weight=True, ignore=True, smoothing=0.5),
    dict(shape=(1, 5), weight=False, ignore=False, smoothing=1.0),
    dict(shape=(4,), weight=True, ignore=False, smoothing=0.2),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "cfg", CE_GRADCHECK, ids=lambda c: f"{c['shape']}-w{c['weight']}-ig{c['ignore']}-ls{c['smoothing']}"
)
def test_cross_entropy_index_gradcheck(cfg, reduction):
    rng = np.random.default_rng(len(cfg["shape"]) * 10 + int(cfg["smoothing"] * 10))
    shape = cfg["shape"]
    C = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * 2
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = _labels(rng, C, tshape, 2 if cfg["ignore"] else None, 0.3 if cfg["ignore"] else 0.0)
    if cfg["ignore"]:
        t.reshape(-1)[0] = 2  # at least one ignored, one kept
        t.reshape(-1)[-1] = 0
    w = rng.uniform(0.2, 3.0, C) if cfg["weight"] else None
    kw = dict(
        weight=w, ignore_index=2 if cfg["ignore"] else -100, reduction=reduction, label_smoothing=cfg["smoothing"]
    )
    check_gradcheck(lambda x: cross_entropy(x, t, **kw), [x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "shape,weight,smoothing",
    [((3, 4), False, 0.0), ((2, 3), True, 0.25), ((2, 3, 2), True, 0.0), ((1, 3, 2, 2), False, 0.6), ((5,), True, 0.1)],
)
def test_cross_entropy_probability_gradcheck(shape, weight, smoothing, reduction):
    rng = np.random.default_rng(len(shape) + int(smoothing * 100))
    C = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * 2
    t = _probs(rng, shape if len(shape) > 1 else (1,) + shape).reshape(shape)
    w = rng.uniform(0.2, 3.0, C) if weight else None
    check_gradcheck(lambda x, t: cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=smoothing), [x, t])


def _ce_configs():
    rng = np.random.default_rng(31337)
    shapes = [(5, 4), (1, 3), (6, 1), (3, 5, 4), (2, 4, 3, 2), (2, 3, 2, 1, 3), (7,), (4, 10)]
    configs = []
    for k, shape in enumerate(shapes):
        configs.append(
            dict(
                shape=shape,
                reduction=REDUCTIONS[k % 3],
                weight=bool(k % 2),
                ignore_index=int(rng.choice([-100, 0, 1, -1])) if shape[-1] > 1 or len(shape) > 2 else -100,
                ignore_frac=float(rng.choice([0.0, 0.3])),
                smoothing=float(rng.choice([0.0, 0.1, 0.45, 1.0])),
                probs=bool(k % 3 == 1),
                scale=float(rng.choice([1.0, 5.0])),
                seed=int(rng.integers(1 << 30)),
            )
        )
    # awkward ones on top: weights with ignore and smoothing under 'mean'; smoothing with weights and probs
    configs.append(
        dict(
            shape=(6, 5),
            reduction="mean",
            weight=True,
            ignore_index=3,
            ignore_frac=0.4,
            smoothing=0.3,
            probs=False,
            scale=2.0,
            seed=1,
        )
    )
    configs.append(
        dict(
            shape=(3, 4, 2),
            reduction="mean",
            weight=True,
            ignore_index=-100,
            ignore_frac=0.0,
            smoothing=0.2,
            probs=True,
            scale=2.0,
            seed=2,
        )
    )
    configs.append(
        dict(
            shape=(2, 3, 3),
            reduction="sum",
            weight=True,
            ignore_index=-7,
            ignore_frac=0.5,
            smoothing=0.7,
            probs=False,
            scale=1.0,
            seed=3,
        )
    )
    return configs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "cfg", _ce_configs(), ids=lambda c: f"{c['shape']}-{c['reduction']}-w{c['weight']}-ls{c['smoothing']}-p{c['probs']}"
)
def test_cross_entropy_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    shape = cfg["shape"]
    C = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * cfg["scale"]
    w_np, w_t = _weights(rng, C, dtype) if cfg["weight"] else (None, None)
    kw = dict(reduction=cfg["reduction"], label_smoothing=cfg["smoothing"])
    if cfg["probs"]:
        t = _probs(rng, shape if len(shape) > 1 else (1,) + shape).reshape(shape)
        compare_with_torch(
            lambda x, t: cross_entropy(x, t, weight=w_np, **kw),
            lambda x, t: F.cross_entropy(x, t, weight=w_t, **kw),
            [x, t],
            dtype=dtype,
        )
    else:
        ii = cfg["ignore_index"]
        t = _labels(rng, C, shape[:1] + shape[2:] if len(shape) > 1 else (), ii, cfg["ignore_frac"])
        t.reshape(-1)[-1] = C - 1  # never everything ignored
        compare_with_torch(
            lambda x, t: cross_entropy(x, t, weight=w_np, ignore_index=ii, **kw),
            lambda x, t: F.cross_entropy(x, t, weight=w_t, ignore_index=ii, **kw),
            [x, t],
            dtype=dtype,
        )


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_extreme_logits(dtype, reduction, smoothing):
    rng = np.random.default_rng(8)
    x = rng.choice([-1e4, 1e4, 0.0, 3.0], size=(6, 4, 3))
    x[0, :, 0] = 1e4  # ties at the top
    x[1, :, 1] = -1e4
    t = _labels(rng, 4, (6, 3))
    w_np, w_t = _weights(rng, 4, dtype)
    out, _ = compare_with_torch(
        lambda x, t: cross_entropy(x, t, weight=w_np, reduction=reduction, label_smoothing=smoothing),
        lambda x, t: F.cross_entropy(x, t, weight=w_t, reduction=reduction, label_smoothing=smoothing),
        [x, t],
        dtype=dtype,
    )
    assert np.all(np.isfinite(out.data))
    tp = _probs(rng, (6, 4, 3))
    out, _ = compare_with_torch(
        lambda x, t: cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
        lambda x, t: F.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
        [x, tp],
        dtype=dtype,
    )
    assert np.all(np.isfinite(out.data))


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x = np.random.default_rng(0).standard_normal((3, 4))
    t = np.full(3, -100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = cross_entropy(cn.tensor(x), t)
    assert np.isnan(ours.item()) and np.isnan(F.cross_entropy(torch.tensor(x), torch.tensor(t)).item())
    assert cross_entropy(cn.tensor(x), t, reduction="sum").item() == 0.0


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_all_ignored_gradient_is_zero_like_torch(reduction, smoothing):
    """Every row ignored: 'mean' is 0/0 = nan, yet every gradient is 0 (not nan), as torch's."""
    x = np.random.default_rng(1).standard_normal((3, 4))
    t = np.full(3, -100)
    cx, tx = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = cross_entropy(cx, t, reduction=reduction, label_smoothing=smoothing, weight=np.ones(4))
        ours.backward(np.ones(ours.shape))
    F.cross_entropy(
        tx, torch.tensor(t), reduction=reduction, label_smoothing=smoothing, weight=torch.ones(4, dtype=torch.float64)
    ).backward(torch.ones(ours.shape, dtype=torch.float64))
    np.testing.assert_array_equal(tx.grad.numpy(), 0.0)
    np.testing.assert_array_equal(cx.grad, 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(128, 1000), (128, 10), (1, 7), (5, 3, 4)])
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2, 0])  # below, inside and at the edge of the labels
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_cross_entropy_index_targets_every_row_mask(shape, weight, ignore_index, smoothing, dtype):
    """The index path with and without a mask of counted rows: ignore_index outside the labels
    (no mask), inside their range but absent, and present."""
    rng = np.random.default_rng(sum(shape) + ignore_index + 100)
    C = shape[1]
    x = rng.standard_normal(shape) * 3
    tshape = shape[:1] + shape[2:]
    for present in (False, True):
        t = rng.integers(0, C, tshape)
        if ignore_index >= 0 and not present:
            t[t == ignore_index] = (ignore_index + 1) % C  # in [min, max] of the labels, but absent
        if present and ignore_index >= 0:
            t.reshape(-1)[::3] = ignore_index
            t.reshape(-1)[-1] = (ignore_index + 1) % C
        w_np, w_t = _weights(rng, C, dtype) if weight else (None, None)
        for reduction in REDUCTIONS:
            kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=smoothing)
            compare_with_torch(
                lambda x, t: cross_entropy(x, t, weight=w_np, **kw),
                lambda x, t: F.cross_entropy(x, t, weight=w_t, **kw),
                [x, t],
                dtype=dtype,
                what=f"{shape} w={weight} ii={ignore_index} present={present} {reduction}",
            )


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_nan_logits_in_an_ignored_row_like_torch(smoothing):
    """An ignored row's loss is 0 even if its logits are NaN; its gradient is NaN, as torch's."""
    x = np.random.default_rng(4).standard_normal((4, 3))
    x[1, 2] = np.nan
    t = np.array([0, 1, 2, 1])
    kw = dict(ignore_index=1, label_smoothing=smoothing)
    for reduction in REDUCTIONS:
        cx, tx = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours = cross_entropy(cx, t, reduction=reduction, **kw)
        theirs = F.cross_entropy(tx, torch.tensor(t), reduction=reduction, **kw)
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
        g = np.ones(ours.shape)
        ours.backward(g)
        theirs.backward(torch.tensor(g))
        np.testing.assert_array_equal(np.isnan(cx.grad), np.isnan(tx.grad.numpy()))
        ok = ~np.isnan(cx.grad)
        np.testing.assert_allclose(cx.grad[ok], tx.grad.numpy()[ok], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("tdtype", [np.uint8, np.int32, np.int64])
def test_cross_entropy_accepts_any_integer_target_dtype(tdtype):
    x = np.random.default_rng(2).standard_normal((6, 5))
    t = np.array([0, 4, 2, 2, 1, 3], dtype=tdtype)
    compare_with_torch(
        lambda x: cross_entropy(x, t), lambda x: F.cross_entropy(x, torch.tensor(t.astype(np.int64))), [x]
    )


def test_cross_entropy_accepts_tensor_targets_and_lists():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4))
    t = np.array([0, 3, 1])
    a = cross_entropy(cn.tensor(x), cn.tensor(t)).item()
    b = cross_entropy(cn.tensor(x), [0, 3, 1]).item()
    c = F.cross_entropy(torch.tensor(x), torch.tensor(t)).item()
    assert abs(a - c) <= 1e-12 and abs(b - c) <= 1e-12


def test_cross_entropy_errors():
    x = cn.tensor(np.zeros((3, 4)))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected target of shape \(3,\) \(class indices\) or "
        r"\(3, 4\) \(class probabilities\).*Received: target of shape \(2,\)",
    ):
        cross_entropy(x, np.array([0, 1]))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: target contains class index 4, outside \[0, 4\) for 4 "
        r"classes or ignore_index=-100. Received: target value 4",
    ):
        cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: target contains class index -1.*Received: target value -1"):
        cross_entropy(x, np.array([0, 2, -1]))
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: expected target of integer class indices.*"
        r"Received: target of dtype float64 and shape \(3,\)",
    ):
        cross_entropy(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: expected a floating-point target of class probabilities.*"
        r"Received: target of dtype int64",
    ):
        cross_entropy(x, np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: ignore_index is not supported for class-probability "
        r"targets.*Received: ignore_index=1",
    ):
        cross_entropy(x, np.full((3, 4), 0.25), ignore_index=1)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected weight of shape \(4,\) \(one weight per class of "
        r"the 4 classes\). Received: weight of shape \(3,\)",
    ):
        cross_entropy(x, np.array([0, 1, 2]), weight=np.ones(3))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected reduction to be 'mean', 'sum' or 'none'. "
        r"Received: 'avg'",
    ):
        cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected label_smoothing between 0.0 and 1.0. "
        r"Received: 1.5",
    ):
        cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: expected label_smoothing between 0.0 and 1.0. "
        r"Received: -0.1",
    ):
        cross_entropy(x, np.full((3, 4), 0.25), label_smoothing=-0.1)
    with pytest.raises(
        TypeError, match=r"cross_entropy: expected a floating-point input. Received: input of dtype int64"
    ):
        cross_entropy(cn.tensor(np.zeros((3, 4), dtype=np.int64)), np.array([0, 1, 2]))
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: expected input to be a convnp Tensor or a NumPy array. "
        r"Received: list",
    ):
        cross_entropy([[0.0, 1.0]], np.array([0]))
    with pytest.raises(
        TypeError,
        match=r"cross_entropy: expected target to be a convnp Tensor or a NumPy array of "
        r"numbers. Received: str",
    ):
        cross_entropy(x, "abc")


# ============================================================================================
# nll_loss
# ============================================================================================


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "shape,weight,ignore",
    [
        ((3, 4), False, False),
        ((4, 3), True, True),
        ((2, 3, 2, 2), True, False),
        ((2, 4, 3), False, True),
        ((3,), True, False),
    ],
)
def test_nll_loss_gradcheck(shape, weight, ignore, reduction):
    rng = np.random.default_rng(len(shape) * 3 + int(weight))
    C = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape)
    t = _labels(rng, C, shape[:1] + shape[2:] if len(shape) > 1 else (), 1 if ignore else None, 0.3)
    if ignore:
        t.reshape(-1)[0], t.reshape(-1)[-1] = 1, 0
    w = rng.uniform(0.2, 3.0, C) if weight else None
    check_gradcheck(lambda x: nll_loss(x, t, weight=w, ignore_index=1 if ignore else -100, reduction=reduction), [x])


def _nll_configs():
    rng = np.random.default_rng(4242)
    shapes = [(5, 4), (1, 3), (4, 1), (3, 5, 4), (2, 4, 3, 2), (2, 3, 2, 1, 3), (6,)]
    return [
        dict(
            shape=s,
            reduction=REDUCTIONS[k % 3],
            weight=bool((k + 1) % 2),
            ignore_index=int(rng.choice([-100, 0, 2])),
            seed=int(rng.integers(1 << 30)),
        )
        for k, s in enumerate(shapes)
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", _nll_configs(), ids=lambda c: f"{c['shape']}-{c['reduction']}-w{c['weight']}")
def test_nll_loss_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    shape = cfg["shape"]
    C = shape[1] if len(shape) > 1 else shape[0]
    x = np.log(_probs(rng, shape if len(shape) > 1 else (1,) + shape)).reshape(shape)
    ii = cfg["ignore_index"]
    t = _labels(rng, C, shape[:1] + shape[2:] if len(shape) > 1 else (), ii, 0.3)
    t.reshape(-1)[-1] = C - 1 if C - 1 != ii else t.reshape(-1)[-1]
    w_np, w_t = _weights(rng, C, dtype) if cfg["weight"] else (None, None)
    r = cfg["reduction"]
    compare_with_torch(
        lambda x, t: nll_loss(x, t, weight=w_np, ignore_index=ii, reduction=r),
        lambda x, t: F.nll_loss(x, t, weight=w_t, ignore_index=ii, reduction=r),
        [x, t],
        dtype=dtype,
    )


def test_nll_loss_errors():
    x = cn.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(
        ValueError,
        match=r"nll_loss: expected target of shape \(2, 4\) \(class indices\) for input of "
        r"shape \(2, 3, 4\). Received: target of shape \(2, 3\)",
    ):
        nll_loss(x, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(
        TypeError,
        match=r"nll_loss: expected target of integer class indices.*"
        r"Received: target of dtype float32 and shape \(2, 4\)",
    ):
        nll_loss(x, np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(
        ValueError,
        match=r"nll_loss: target contains class index 3, outside \[0, 3\) for 3 classes "
        r"or ignore_index=-100. Received: target value 3",
    ):
        nll_loss(x, np.array([[0, 1, 2, 3], [0, 0, 0, 0]]))
    with pytest.raises(ValueError, match=r"nll_loss: target contains class index -100.*ignore_index=-1"):
        nll_loss(x, np.array([[0, 1, 2, -1], [0, 0, -100, 0]]), ignore_index=-1)
    with pytest.raises(
        ValueError, match=r"nll_loss: expected weight of shape \(3,\).*Received: weight of shape \(4,\)"
    ):
        nll_loss(x, np.zeros((2, 4), dtype=np.int64), weight=np.ones(4))
    with pytest.raises(
        ValueError,
        match=r"nll_loss: expected reduction to be 'mean', 'sum' or 'none'. "
        r"Received: 'batchmean'",
    ):
        nll_loss(x, np.zeros((2, 4), dtype=np.int64), reduction="batchmean")


# ============================================================================================
# mse_loss
# ============================================================================================


@pytest.mark.filterwarnings("ignore:.*target size")
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xshape,tshape", [((3, 4), (3, 4)), ((2, 3, 2), (3, 1)), ((5,), (5,)), ((2, 1, 3), (2, 4, 3))])
def test_mse_loss_gradcheck(xshape, tshape, reduction):
    rng = np.random.default_rng(len(xshape) + len(tshape))
    check_gradcheck(
        lambda x, t: mse_loss(x, t, reduction=reduction), [rng.standard_normal(xshape), rng.standard_normal(tshape)]
    )


@pytest.mark.filterwarnings("ignore:.*target size")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "xshape,tshape,target_grad",
    [
        ((4, 5), (4, 5), True),
        ((2, 3, 4, 4), (2, 3, 4, 4), False),
        ((3, 4), (4,), True),
        ((1, 3, 1), (2, 1, 5), True),
        ((7,), (7,), True),
    ],
)
def test_mse_loss_matches_torch(xshape, tshape, target_grad, reduction, dtype):
    rng = np.random.default_rng(len(xshape) * 5 + len(tshape))
    x, t = rng.standard_normal(xshape) * 3, rng.standard_normal(tshape)
    compare_with_torch(
        lambda x, t: mse_loss(x, t, reduction=reduction),
        lambda x, t: F.mse_loss(x, t, reduction=reduction),
        [x, t],
        dtype=dtype,
        requires_grad=[True, target_grad],
    )


def test_mse_loss_warns_on_broadcasting_and_errors():
    x = cn.tensor(np.zeros((3, 4)))
    with pytest.warns(
        UserWarning,
        match=r"mse_loss: using a target size \(4,\) that is different to the input size "
        r"\(3, 4\)",
    ):
        mse_loss(x, np.zeros(4))
    with pytest.raises(
        ValueError,
        match=r"mse_loss: expected target broadcastable to input's shape \(3, 4\).*"
        r"Received: target of shape \(4, 3\)",
    ):
        mse_loss(x, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"mse_loss: expected reduction to be 'mean', 'sum' or 'none'. Received: None"):
        mse_loss(x, np.zeros((3, 4)), reduction=None)
    with pytest.raises(TypeError, match=r"mse_loss: expected a floating-point input. Received: input of dtype int64"):
        mse_loss(cn.tensor(np.zeros(3, dtype=np.int64)), np.zeros(3))


# ============================================================================================
# binary_cross_entropy_with_logits
# ============================================================================================


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "shape,weight,pos_weight",
    [
        ((3, 4), False, False),
        ((3, 4), True, True),
        ((2, 3, 2), False, True),
        ((5,), True, False),
        ((2, 2, 2, 3), True, True),
    ],
)
def test_bce_with_logits_gradcheck(shape, weight, pos_weight, reduction):
    rng = np.random.default_rng(len(shape) * 3 + int(weight) + 2 * int(pos_weight))
    x, t = rng.standard_normal(shape) * 3, rng.random(shape)
    w = rng.uniform(0.2, 2.0, shape[-1:]) if weight else None
    pw = rng.uniform(0.2, 4.0, shape[-1:]) if pos_weight else None
    check_gradcheck(lambda x, t: binary_cross_entropy_with_logits(x, t, w, reduction, pw), [x, t])


def _bce_configs():
    rng = np.random.default_rng(2718)
    shapes = [(6, 4), (1, 3), (4, 1), (2, 3, 5), (2, 3, 4, 2), (9,)]
    return [
        dict(
            shape=s,
            reduction=REDUCTIONS[k % 3],
            weight=["none", "last", "full"][k % 3],
            pos_weight=bool(k % 2),
            scale=float(rng.choice([1.0, 10.0])),
            seed=int(rng.integers(1 << 30)),
        )
        for k, s in enumerate(shapes)
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "cfg", _bce_configs(), ids=lambda c: f"{c['shape']}-{c['reduction']}-w{c['weight']}-pw{c['pos_weight']}"
)
def test_bce_with_logits_matches_torch(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    shape = cfg["shape"]
    x, t = rng.standard_normal(shape) * cfg["scale"], rng.random(shape)
    t[..., 0] = np.round(t[..., 0])  # hard labels among soft ones
    w = {"none": None, "last": rng.uniform(0.2, 2.0, shape[-1:]), "full": rng.uniform(0.2, 2.0, shape)}[cfg["weight"]]
    pw = rng.uniform(0.2, 4.0, shape[-1:]) if cfg["pos_weight"] else None
    w_np, pw_np = [None if a is None else a.astype(dtype) for a in (w, pw)]
    w_t, pw_t = [None if a is None else torch.tensor(a) for a in (w_np, pw_np)]
    r = cfg["reduction"]
    compare_with_torch(
        lambda x, t: binary_cross_entropy_with_logits(x, t, w_np, r, pw_np),
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, w_t, reduction=r, pos_weight=pw_t),
        [x, t],
        dtype=dtype,
    )


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_extreme_logits(dtype, reduction):
    x = np.array([[-1e4, 1e4, 0.0, -1e4], [1e4, -50.0, 50.0, 1e4]])
    t = np.array([[1.0, 0.0, 0.5, 0.0], [1.0, 1.0, 0.0, 0.3]])
    pw_np = np.array([2.0, 0.5, 1.0, 3.0], dtype)
    out, _ = compare_with_torch(
        lambda x, t: binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=pw_np),
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=torch.tensor(pw_np)),
        [x, t],
        dtype=dtype,
    )
    assert np.all(np.isfinite(out.data))


def test_bce_with_logits_errors():
    x = cn.tensor(np.zeros((3, 4)))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: expected target of the same shape as "
        r"input \(3, 4\). Received: target of shape \(2, 4\)",
    ):
        binary_cross_entropy_with_logits(x, np.zeros((2, 4)))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: expected weight broadcastable to input's "
        r"shape \(3, 4\). Received: weight of shape \(3,\)",
    ):
        binary_cross_entropy_with_logits(x, np.zeros((3, 4)), weight=np.ones(3))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: expected pos_weight broadcastable to "
        r"input's shape \(3, 4\). Received: pos_weight of shape \(2, 3, 4\)",
    ):
        binary_cross_entropy_with_logits(x, np.zeros((3, 4)), pos_weight=np.ones((2, 3, 4)))
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: expected reduction to be 'mean', 'sum' "
        r"or 'none'. Received: 'max'",
    ):
        binary_cross_entropy_with_logits(x, np.zeros((3, 4)), reduction="max")


# ============================================================================================
# focal_loss
# ============================================================================================


def torch_focal_loss(x, t, gamma, alpha, reduction):
    """Reference: FL = -alpha_t (1 - p_t)^gamma log p_t, from torch's log_softmax (Lin et al. 2017)."""
    logp = torch.log_softmax(x, dim=1 if x.dim() > 1 else 0)
    if x.dim() == 1:
        logp, t = logp[None], t.reshape(1)
    logpt = logp.gather(1, t.unsqueeze(1)).squeeze(1)
    one_minus_pt = -torch.expm1(logpt)  # 1 - p_t, exact near p_t = 1
    # (1 - p_t)^gamma with the derivative's limit 0 where p_t = 1 (plain autograd gives inf * 0 = nan there
    # for gamma < 1, although the loss -(1 - p_t)^gamma log p_t has gradient 0 at that point)
    if gamma == 0:
        modulator = torch.ones_like(logpt)
    else:
        positive = one_minus_pt > 0
        safe = torch.where(positive, one_minus_pt, torch.ones_like(one_minus_pt))
        modulator = torch.where(positive, safe**gamma, torch.zeros_like(safe))
    C = x.shape[1] if x.dim() > 1 else x.shape[0]
    if alpha is None:
        a = torch.ones(C, dtype=x.dtype)
    elif isinstance(alpha, float):
        a = torch.full((C,), alpha, dtype=x.dtype)
    else:
        a = torch.tensor(np.asarray(alpha), dtype=x.dtype)
    loss = -a[t] * modulator * logpt
    if x.dim() == 1:
        loss = loss[0]
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "shape,gamma,alpha",
    [
        ((3, 4), 2.0, None),
        ((4, 3), 0.5, 0.25),
        ((2, 3, 2), 1.0, "vec"),
        ((2, 3, 2, 2), 3.0, "vec"),
        ((4,), 2.0, 0.7),
        ((3, 4), 0.0, None),
    ],
)
def test_focal_loss_gradcheck(shape, gamma, alpha, reduction):
    rng = np.random.default_rng(len(shape) * 7 + int(gamma * 10))
    C = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * 2
    t = _labels(rng, C, shape[:1] + shape[2:] if len(shape) > 1 else ())
    a = rng.uniform(0.1, 1.0, C) if alpha == "vec" else alpha
    check_gradcheck(lambda x: focal_loss(x, t, gamma=gamma, alpha=a, reduction=reduction), [x])


def _focal_configs():
    rng = np.random.default_rng(1717)
    shapes = [(6, 4), (1, 3), (5, 1), (3, 5, 4), (2, 4, 3, 2), (2, 3, 2, 1, 3), (8,), (16, 10)]
    out = []
    for k, s in enumerate(shapes):
        out.append(
            dict(
                shape=s,
                reduction=REDUCTIONS[k % 3],
                gamma=float(rng.choice([0.0, 0.5, 1.0, 2.0, 5.0])),
                alpha=[None, "float", "vec"][k % 3],
                scale=float(rng.choice([1.0, 4.0, 20.0])),
                seed=int(rng.integers(1 << 30)),
            )
        )
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "cfg", _focal_configs(), ids=lambda c: f"{c['shape']}-{c['reduction']}-g{c['gamma']}-a{c['alpha']}"
)
def test_focal_loss_matches_torch_reference(cfg, dtype):
    rng = np.random.default_rng(cfg["seed"])
    shape = cfg["shape"]
    C = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * cfg["scale"]
    t = _labels(rng, C, shape[:1] + shape[2:] if len(shape) > 1 else ())
    alpha = {None: None, "float": 0.25, "vec": list(rng.uniform(0.1, 1.0, C))}[cfg["alpha"]]
    g, r = cfg["gamma"], cfg["reduction"]
    compare_with_torch(
        lambda x, t: focal_loss(x, t, gamma=g, alpha=alpha, reduction=r),
        lambda x, t: torch_focal_loss(x, t, g, alpha, r),
        [x, t],
        dtype=dtype,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_loss_gamma_zero_is_cross_entropy(dtype, reduction):
    rng = np.random.default_rng(21)
    x = rng.standard_normal((4, 5, 3)) * 3
    t = _labels(rng, 5, (4, 3))
    compare_with_torch(
        lambda x, t: focal_loss(x, t, gamma=0.0, reduction=reduction),
        lambda x, t: F.cross_entropy(x, t, reduction=reduction),
        [x, t],
        dtype=dtype,
    )


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_loss_extreme_logits(dtype, gamma, reduction):
    rng = np.random.default_rng(12)
    x = rng.choice([-1e4, 1e4, 0.0, 2.0], size=(8, 4))
    x[0] = [1e4, -1e4, -1e4, -1e4]  # p_t = 1 exactly: loss 0, gradient 0
    x[1] = [1e4, 1e4, -1e4, 0.0]
    t = _labels(rng, 4, (8,))
    t[0] = 0
    out, _ = compare_with_torch(
        lambda x, t: focal_loss(x, t, gamma=gamma, alpha=0.25, reduction=reduction),
        lambda x, t: torch_focal_loss(x, t, gamma, 0.25, reduction),
        [x, t],
        dtype=dtype,
    )
    assert np.all(np.isfinite(out.data))


def test_focal_loss_errors():
    x = cn.tensor(np.zeros((3, 4)))
    t = np.array([0, 1, 2])
    with pytest.raises(
        ValueError,
        match=r"focal_loss: expected alpha to be None, a number, or 4 per-class weights "
        r"\(shape \(4,\)\). Received: alpha of shape \(3,\)",
    ):
        focal_loss(x, t, alpha=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"focal_loss: expected gamma to be a non-negative number. Received: -1.0"):
        focal_loss(x, t, gamma=-1.0)
    with pytest.raises(
        ValueError,
        match=r"focal_loss: target contains class index 7, outside \[0, 4\) for 4 classes. "
        r"Received: target value 7",
    ):
        focal_loss(x, np.array([0, 7, 1]))
    with pytest.raises(ValueError, match=r"focal_loss: target contains class index -100.*Received: target value -100"):
        focal_loss(x, np.array([0, -100, 1]))
    with pytest.raises(
        ValueError,
        match=r"focal_loss: expected target of shape \(3,\) \(class indices\) for input of "
        r"shape \(3, 4\). Received: target of shape \(3, 4\)",
    ):
        focal_loss(x, np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(
        TypeError,
        match=r"focal_loss: expected target of integer class indices.*"
        r"Received: target of dtype float64",
    ):
        focal_loss(x, np.zeros(3))
    with pytest.raises(
        ValueError,
        match=r"focal_loss: expected reduction to be 'mean', 'sum' or 'none'. "
        r"Received: 'elementwise'",
    ):
        focal_loss(x, t, reduction="elementwise")
