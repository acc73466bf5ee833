"""The losses as modules against torch.nn: CrossEntropyLoss, NLLLoss, MSELoss, BCEWithLogitsLoss,
and FocalLoss (against a direct torch formula, since torch.nn has none).

Forward value and the gradients of input (and of float targets), float64 and float32, every
reduction, class weights, ignore_index, label smoothing, K-dimensional input, probability targets;
weights registered as buffers exactly where torch registers them (state_dict keys), reprs, the
deprecated size_average / reduce arguments, constructor errors and input errors named by the loss.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from helpers import TOL, assert_close, assert_same_state_layout, layer_parity

import convnp as cn
from convnp import nn


def _targets(shape, classes, seed, ignore=None):
    t = np.random.default_rng(seed).integers(0, classes, size=shape).astype(np.int64)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


W5 = np.array([0.5, 2.0, 1.0, 0.1, 3.0], dtype=np.float32)

LOSSES = [
    ("CrossEntropyLoss", {}, (6, 5), "index"),
    ("CrossEntropyLoss", dict(weight=W5, ignore_index=2), (7, 5), "index-ignore2"),
    ("CrossEntropyLoss", dict(weight=W5, label_smoothing=0.1, reduction="sum"), (6, 5), "index"),
    ("CrossEntropyLoss", dict(ignore_index=-1, reduction="none"), (3, 5, 2, 3), "index-ignore-1"),
    ("CrossEntropyLoss", dict(label_smoothing=0.2), (4, 5, 3), "probabilities"),
    ("CrossEntropyLoss", dict(weight=W5), (5,), "index"),  # one unbatched sample
    ("NLLLoss", {}, (6, 5), "index"),
    ("NLLLoss", dict(weight=W5, ignore_index=0, reduction="mean"), (8, 5), "index-ignore0"),
    ("NLLLoss", dict(reduction="none"), (2, 5, 3, 2), "index"),
    ("MSELoss", {}, (4, 3), "float"),
    ("MSELoss", dict(reduction="sum"), (2, 3, 4), "float"),
    ("MSELoss", dict(reduction="none"), (5,), "float"),
    ("BCEWithLogitsLoss", {}, (4, 5), "binary"),
    ("BCEWithLogitsLoss", dict(weight=W5, pos_weight=np.array([1, 2, 3, 4, 0.5], np.float32)), (4, 5), "soft"),
    ("BCEWithLogitsLoss", dict(reduction="none", pos_weight=W5), (2, 3, 5), "binary"),
]


def _torch_kwargs(kw):
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}


def _make_target(kind, shape, seed):
    r = np.random.default_rng(seed)
    C = shape[1] if len(shape) >= 2 else shape[0]
    index_shape = shape[:1] + shape[2:] if len(shape) >= 2 else ()
    if kind.startswith("index"):
        ignore = int(kind.split("ignore")[1]) if "ignore" in kind else None
        return _targets(index_shape, C, seed, ignore)
    if kind == "probabilities":
        p = r.random(shape)
        return p / p.sum(axis=1, keepdims=True)
    if kind == "binary":
        return r.integers(0, 2, size=shape).astype(np.float64)
    if kind == "soft":
        return r.random(shape)
    return r.standard_normal(shape)  # MSE


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(LOSSES)), ids=[c[0] + str(i) for i, c in enumerate(LOSSES)])
def test_loss_modules_match_torch(case, dtype):
    name, kw, shape, kind = LOSSES[case]
    ours, theirs = getattr(nn, name)(**kw), getattr(torch.nn, name)(**_torch_kwargs(kw))
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)  # weight / pos_weight buffers where torch has them
    x = np.random.default_rng(case).standard_normal(shape) * 2
    if name == "NLLLoss":
        x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))  # log-probabilities
    target = _make_target(kind, shape, case + 100)
    for train in (True, False):
        layer_parity(ours, theirs, [x, target], dtype, train=train, what=f"{name} {kw}")


def test_weighted_loss_buffers_follow_dtype_and_state_dict():
    ours = nn.CrossEntropyLoss(weight=W5)
    assert list(ours.state_dict()) == ["weight"] and ours.weight.dtype == np.float32
    ours.double()
    assert ours.weight.dtype == np.float64
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=W5).state_dict()) == ["pos_weight"]
    assert list(nn.FocalLoss(alpha=W5).state_dict()) == ["alpha"]
    assert list(nn.FocalLoss(alpha=0.25).state_dict()) == []
    ours.load_state_dict({"weight": np.ones(5)})
    np.testing.assert_array_equal(ours.weight, np.ones(5))


def _focal_torch(x, t, gamma, alpha, reduction):
    logp = torch.log_softmax(x, dim=1)
    logpt = logp.gather(1, t.unsqueeze(1)).squeeze(1)
    if alpha is None:
        a = 1.0
    elif isinstance(alpha, float):
        a = alpha
    else:
        a = torch.tensor(alpha).to(x.dtype)[t]  # a list becomes float32 (torch's default), as in convnp
    loss = -a * (1 - logpt.exp()) ** gamma * logpt
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "gamma,alpha,reduction,shape",
    [
        (2.0, None, "mean", (6, 4)),
        (0.0, None, "sum", (5, 3)),
        (1.5, 0.25, "none", (3, 4, 2, 2)),
        (3.0, [0.2, 1.0, 0.5, 2.0], "mean", (7, 4, 3)),
    ],
)
def test_focal_loss_module_matches_formula(gamma, alpha, reduction, shape, dtype):
    layer = nn.FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction).to(dtype)
    r = np.random.default_rng(int(gamma * 10))
    x = (r.standard_normal(shape) * 2).astype(dtype)
    t = _targets(shape[:1] + shape[2:], shape[1], 3)
    cx, tx = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = layer(cx, t)
    ref = _focal_torch(tx, torch.tensor(t), gamma, alpha, reduction)
    tol = TOL[np.dtype(dtype)]
    assert_close(out, ref, tol, "focal forward")
    g = r.standard_normal(out.shape).astype(dtype)
    out.backward(g)
    ref.backward(torch.tensor(g))
    assert_close(cx.grad, tx.grad, tol, "focal grad")
    # gamma = 0 without alpha is cross-entropy
    if gamma == 0 and alpha is None:
        ce = nn.CrossEntropyLoss(reduction=reduction)(cn.tensor(x), t)
        assert_close(out, ce.data, tol, "focal gamma 0")


def test_legacy_size_average_and_reduce_like_torch():
    x = np.random.default_rng(0).standard_normal((4, 3))
    t = np.array([0, 2, 1, 1])
    for kw in (dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True)):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            ours = nn.CrossEntropyLoss(**kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torch.nn.CrossEntropyLoss(**kw)
        assert ours.reduction == theirs.reduction
        assert_close(ours(cn.tensor(x), t), theirs(torch.tensor(x), torch.tensor(t)), 1e-10, str(kw))


@pytest.mark.parametrize(
    "make,exc,message",
    [
        (
            lambda: nn.CrossEntropyLoss(reduction="avg"),
            ValueError,
            "CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none'. Received: reduction='avg'",
        ),
        (
            lambda: nn.MSELoss(reduction=None),
            ValueError,
            "MSELoss: reduction must be 'mean', 'sum' or 'none'. Received: reduction=None",
        ),
        (
            lambda: nn.CrossEntropyLoss(label_smoothing=1.5),
            ValueError,
            "CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0. Received: label_smoothing=1.5",
        ),
        (
            lambda: nn.NLLLoss(ignore_index=1.0),
            TypeError,
            "NLLLoss: ignore_index must be an int. Received: ignore_index=1.0",
        ),
        (
            lambda: nn.NLLLoss(weight=np.ones((2, 3))),
            ValueError,
            "NLLLoss: weight must be 1-D, one weight per class. Received: weight of shape (2, 3)",
        ),
        (
            lambda: nn.FocalLoss(gamma=-1),
            ValueError,
            "FocalLoss: gamma must be a non-negative number. Received: gamma=-1",
        ),
        (
            lambda: nn.FocalLoss(alpha="x"),
            TypeError,
            "FocalLoss: alpha must be an array of numbers. Received: alpha of type str and dtype <U1",
        ),
    ],
)
def test_loss_constructor_errors(make, exc, message):
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        make()


def test_loss_input_errors_name_the_loss():
    with pytest.raises(
        ValueError,
        match=r"^CrossEntropyLoss: cross_entropy: target contains class index 7, outside "
        r"\[0, 5\) for 5 classes or ignore_index=-100\.",
    ):
        nn.CrossEntropyLoss()(cn.randn(2, 5), np.array([1, 7]))
    with pytest.raises(ValueError, match=r"^NLLLoss: nll_loss: expected weight of shape \(4,\)"):
        nn.NLLLoss(weight=W5)(cn.randn(2, 4), np.array([1, 3]))
    with pytest.raises(
        ValueError,
        match=r"^BCEWithLogitsLoss: binary_cross_entropy_with_logits: expected target of "
        r"the same shape as input \(2, 4\)\. Received: target of shape \(2, 3\)$",
    ):
        nn.BCEWithLogitsLoss()(cn.randn(2, 4), np.zeros((2, 3)))
