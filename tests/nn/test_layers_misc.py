"""Linear, Flatten, Unflatten, Dropout, Dropout2d and the activation layers against torch.nn.

Same constructor arguments and (copied) weights in both libraries; forward output, input and
parameter gradients (float64 within 1e-10, float32 within 1e-4), train and eval mode, reprs and
state_dict layout. Dropout in eval is the identity; in training its masks follow the Bernoulli
statistics (they cannot equal torch's: the generators differ). Constructor and input errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from helpers import assert_same_state_layout, layer_parity

import convnp as cn
from convnp import nn


def _away_from_kinks(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return x + 0.1 * np.sign(x)  # |x| > 0.1: no ReLU-like kink nearby


# --------------------------------------------------------------------------------------------
# Linear, Flatten, Unflatten
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "args,kw,x",
    [
        ((5, 3), {}, (4, 5)),
        ((7, 2), dict(bias=False), (2, 3, 7)),  # leading axes kept
        ((1, 1), {}, (1, 1)),
        ((6, 4), {}, (6,)),  # unbatched
        ((400, 120), {}, (3, 400)),
    ],
)
def test_linear_matches_torch(args, kw, x, dtype):
    torch.manual_seed(0)
    ours, theirs = nn.Linear(*args, **kw), torch.nn.Linear(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    data = np.random.default_rng(1).standard_normal(x)
    for train in (True, False):
        ours.zero_grad()
        theirs.zero_grad()
        layer_parity(ours, theirs, [data], dtype, train=train, what=f"Linear{args}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "cls,args,x",
    [
        ("Flatten", (), (2, 3, 4, 5)),
        ("Flatten", (0, -1), (2, 3, 4)),
        ("Flatten", (2, 3), (2, 3, 4, 5, 2)),
        ("Flatten", (-3, -2), (2, 3, 4, 5)),
        ("Flatten", (1, 1), (2, 3, 4)),
        ("Unflatten", (1, (3, 4)), (2, 12, 5)),
        ("Unflatten", (-1, (2, -1)), (3, 8)),
        ("Unflatten", (0, (2, 1, 3)), (6, 2)),
    ],
)
def test_flatten_unflatten_match_torch(cls, args, x, dtype):
    ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(ours) == repr(theirs)
    layer_parity(ours, theirs, [np.random.default_rng(2).standard_normal(x)], dtype, what=f"{cls}{args}")


def test_linear_flatten_unflatten_errors():
    with pytest.raises(
        ValueError,
        match=r"^Linear: expected input of shape \(\*, 400\) \(in_features=400 in the last "
        r"dimension\), received shape \(2, 16, 4, 4\)$",
    ):
        nn.Linear(400, 120)(cn.randn(2, 16, 4, 4))
    with pytest.raises(ValueError, match=r"^Linear: in_features must be at least 1\. Received: in_features=0$"):
        nn.Linear(0, 3)
    with pytest.raises(TypeError, match=r"^Linear: out_features must be an int\. Received: out_features=2\.5$"):
        nn.Linear(3, 2.5)
    with pytest.raises(TypeError, match=r"^Linear: dtype must be a floating-point dtype\. Received: dtype=int64$"):
        nn.Linear(3, 2, dtype=np.int64)
    with pytest.raises(
        ValueError,
        match=r"^Flatten: expected an input with more dimensions: start_dim=1 is out of "
        r"range for a 1-D input \(expected -1 <= start_dim < 1\), received shape "
        r"\(5,\)$",
    ):
        nn.Flatten()(cn.randn(5))
    with pytest.raises(
        ValueError,
        match=r"^Flatten: expected start_dim to come before end_dim \(start_dim=2 is axis "
        r"2, end_dim=1 is axis 1\), received shape \(2, 3, 4\)$",
    ):
        nn.Flatten(2, 1)(cn.randn(2, 3, 4))
    with pytest.raises(TypeError, match=r"^Flatten: start_dim must be an int\. Received: start_dim=1\.0$"):
        nn.Flatten(1.0)
    with pytest.raises(
        ValueError,
        match=r"^Unflatten: expected dimension 1 of size 12 \(the product of "
        r"unflattened_size \(3, 4\)\), received shape \(2, 10\)$",
    ):
        nn.Unflatten(1, (3, 4))(cn.randn(2, 10))
    with pytest.raises(
        ValueError,
        match=r"^Unflatten: unflattened_size must hold sizes >= 0 and at most one -1\. "
        r"Received: unflattened_size=\(-1, -1\)$",
    ):
        nn.Unflatten(1, (-1, -1))


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["Dropout", "Dropout2d"])
def test_dropout_eval_is_identity_like_torch(cls):
    ours, theirs = getattr(nn, cls)(0.3), getattr(torch.nn, cls)(0.3)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    layer_parity(ours, theirs, [x], np.float64, train=False)
    t = cn.tensor(x)
    assert ours.eval()(t) is t
    assert nn.Dropout(0.0).train()(t) is t  # p = 0: nothing dropped


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_train_mask_statistics(p):
    cn.manual_seed(3)
    layer = nn.Dropout(p).train()
    x = cn.tensor(np.ones((200, 500)), requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    n = kept.size
    # each element dropped independently with probability p: the count within 6 sigma
    assert abs((~kept).mean() - p) <= 6 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y.data[kept], 1 / (1 - p), rtol=1e-12)  # inverted scaling
    assert abs(y.data.mean() - 1) <= 6 * math.sqrt(p / (1 - p) / n)  # E[y] = x
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad, y.data)  # the same mask and scale
    # torch's layer, same statistics
    ty = torch.nn.Dropout(p).train()(torch.ones(200, 500, dtype=torch.float64))
    assert abs((ty == 0).double().mean().item() - (~kept).mean()) <= 6 * math.sqrt(2 * p * (1 - p) / n)
    # masks differ between calls, and cn.manual_seed reproduces them
    assert not np.array_equal(layer(x).data, y.data)
    cn.manual_seed(3)
    np.testing.assert_array_equal(layer(x).data, y.data)


@pytest.mark.parametrize("shape", [(40, 50, 3, 4), (300, 2, 5)])
def test_dropout2d_train_drops_whole_channels(shape):
    p = 0.4
    cn.manual_seed(4)
    layer = nn.Dropout2d(p)
    x = cn.tensor(np.random.default_rng(0).standard_normal(shape) + 5.0, requires_grad=True)  # never zero
    y = layer(x)
    maps = (y.data / x.data).reshape(*shape[:-2], -1)  # per (n, c): all 0 or all 1/(1-p)
    first = maps[..., :1]
    np.testing.assert_allclose(maps, np.broadcast_to(first, maps.shape), rtol=1e-12)
    dropped = first[..., 0] == 0
    np.testing.assert_allclose(first[~dropped], 1 / (1 - p), rtol=1e-12)
    assert abs(dropped.mean() - p) <= 6 * math.sqrt(p * (1 - p) / dropped.size)
    y.backward(np.ones(shape))
    np.testing.assert_allclose(x.grad, y.data / x.data, rtol=1e-12)


def test_dropout_follows_the_model_mode_and_errors():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = cn.randn(8, 4).astype(np.float32)
    model.eval()
    a, b = model(x), model(x)
    np.testing.assert_array_equal(a.data, b.data)
    model.train()
    assert (model(x).data == 0).any()
    assert (nn.Dropout(1.0)(x).data == 0).all()
    with pytest.raises(
        ValueError,
        match=r"^Dropout: dropout probability p must be between 0 and 1\. "
        r"Received: p=1\.5$",
    ):
        nn.Dropout(1.5)
    with pytest.raises(
        ValueError,
        match=r"^Dropout2d: dropout probability p must be between 0 and 1\. "
        r"Received: p=-0\.1$",
    ):
        nn.Dropout2d(-0.1)
    with pytest.raises(ValueError, match=r"^Dropout: dropout probability p must be between 0 and 1\. Received: p=nan$"):
        nn.Dropout(float("nan"))
    with pytest.raises(TypeError, match=r"^Dropout: p must be a number between 0 and 1\. Received: p='0\.5'$"):
        nn.Dropout("0.5")
    with pytest.raises(
        ValueError,
        match=r"^Dropout2d: expected 3D or 4D input \(C, H, W\) or \(N, C, H, W\), "
        r"received shape \(4, 5\)$",
    ):
        nn.Dropout2d()(cn.randn(4, 5))


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", (), {}, (2, 3, 4)),
    ("ReLU", (), dict(inplace=True), (5,)),
    ("LeakyReLU", (), {}, (2, 3, 4, 2)),
    ("LeakyReLU", (0.2,), dict(inplace=True), (3, 4)),
    ("PReLU", (), {}, (2, 3, 4)),
    ("PReLU", (4,), dict(init=0.1), (2, 4, 3, 3)),
    ("PReLU", (3,), {}, (5, 3)),
    ("ELU", (), {}, (2, 3, 4)),
    ("ELU", (0.5,), {}, (3, 4)),
    ("GELU", (), {}, (2, 3, 4)),
    ("GELU", (), dict(approximate="tanh"), (2, 3, 4)),
    ("Sigmoid", (), {}, (2, 3, 4)),
    ("Tanh", (), {}, (2, 3, 4)),
    ("Softmax", (), dict(dim=1), (2, 3, 4)),
    ("Softmax", (-1,), {}, (2, 5)),
    ("Softmax", (), {}, (3, 4, 2)),  # dim=None: torch's legacy rule (dim 0 for 3-D), warned
    ("LogSoftmax", (), dict(dim=0), (4, 3)),
    ("LogSoftmax", (), {}, (2, 3, 4, 2)),  # dim=None: dim 1 for 4-D
    ("ReLU6", (), {}, (2, 3, 4)),
    ("ReLU6", (), dict(inplace=True), (1, 5)),
    ("Hardsigmoid", (), {}, (2, 3, 4)),
    ("Hardswish", (), {}, (1, 3, 5, 2)),
    ("SiLU", (), {}, (2, 3, 4)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(ACTIVATIONS)), ids=[a[0] + str(i) for i, a in enumerate(ACTIVATIONS)])
def test_activation_layers_match_torch(case, dtype):
    name, args, kw, shape = ACTIVATIONS[case]
    ours, theirs = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert_same_state_layout(ours, theirs)
    if kw.get("inplace"):  # torch cannot modify a leaf in place; convnp computes out of place
        theirs = getattr(torch.nn, name)(*args, **{**kw, "inplace": False})
    x = _away_from_kinks(shape, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the dim=None deprecation, in both
        for train in (True, False):
            ours.zero_grad()
            theirs.zero_grad()
            if name == "PReLU":  # a learned slope different from init
                with torch.no_grad():
                    theirs.weight.copy_(torch.linspace(-0.5, 0.7, theirs.weight.numel()))
            layer_parity(ours, theirs, [x], dtype, train=train, what=name)


def test_softmax_dim_none_warns():
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        nn.Softmax()(cn.randn(2, 3))


def test_activation_errors():
    with pytest.raises(ValueError, match=r"^PReLU: expected input with 4 channels, received shape \(2, 3, 5\)$"):
        nn.PReLU(4)(cn.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"^PReLU: num_parameters must be at least 1\. Received: num_parameters=0$"):
        nn.PReLU(0)
    with pytest.raises(
        ValueError,
        match=r"^GELU: approximate must be 'none' or 'tanh'\. "
        r"Received: approximate='exact'$",
    ):
        nn.GELU("exact")
    with pytest.raises(TypeError, match=r"^Softmax: dim must be an int or None\. Received: dim='1'$"):
        nn.Softmax("1")
    with pytest.raises(
        TypeError,
        match=r"^LeakyReLU: negative_slope must be a number\. "
        r"Received: negative_slope='0\.1'$",
    ):
        nn.LeakyReLU("0.1")
    with pytest.raises(ValueError, match=r"^1 \(LogSoftmax\): log_softmax: dim out of range"):
        nn.Sequential(nn.Linear(3, 3), nn.LogSoftmax(dim=2))(cn.randn(2, 3).astype(np.float32))
    with pytest.raises(TypeError, match=r"^ReLU: inplace must be a bool\. Received: inplace=1$"):
        nn.ReLU(1)
