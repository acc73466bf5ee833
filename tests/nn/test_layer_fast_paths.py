"""The layers' hot paths: Module.__call__ without hooks, the quick input checks for tensors, and
the layers reading their parameters. Each fast path must give what the general path gives: the
same results for a tensor and for a NumPy array, the same messages, hooks added during forward."""

import re

import numpy as np
import pytest
import torch

import convnp as cn
from convnp import nn
from convnp.nn import LayerInputError, Module, Parameter


def _x(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _error(fn):
    with pytest.raises(ValueError) as info:
        fn()
    return str(info.value)


LAYERS = [
    (lambda: nn.Conv2d(3, 4, 3, padding=1), (1, 3, 5, 6), [(2, 4, 5, 6), (5, 6), (1, 1, 3, 5, 6)]),
    (lambda: nn.Conv1d(2, 3, 3), (2, 5), [(1, 3, 5), (5,)]),
    (lambda: nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), (1, 2, 4, 4), [(1, 3, 4, 4)]),
    (lambda: nn.ConvTranspose2d(3, 2, 2, stride=2), (1, 3, 3, 3), [(1, 2, 3, 3), (3, 3)]),
    (lambda: nn.MaxPool2d(2), (1, 3, 4, 4), [(4, 4), (1, 1, 3, 4, 4)]),
    (lambda: nn.MaxPool1d(2), (3, 4), [(4,), (1, 1, 3, 4)]),
    (lambda: nn.AvgPool2d(2, ceil_mode=True), (2, 5, 5), [(5,)]),
    (lambda: nn.AdaptiveAvgPool2d(1), (1, 3, 3, 3), [(3, 3)]),
    (lambda: nn.BatchNorm2d(3).eval(), (1, 3, 2, 2), [(1, 2, 2, 2), (3, 2, 2), (1, 3)]),
    (lambda: nn.BatchNorm1d(3), (2, 3), [(2, 4), (3,), (1, 2, 3, 4)]),
    (lambda: nn.Linear(4, 2), (1, 4), [(1, 3), ()]),
    (lambda: nn.Linear(4, 2), (4,), []),
    (lambda: nn.Flatten(), (1, 3, 2, 2), [()]),
    (lambda: nn.Flatten(2, 3), (1, 3, 2, 2), [(3, 4), (2,)]),
    (lambda: nn.ReLU(), (1, 5), []),
]


@pytest.mark.parametrize("make,good,bad", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_and_array_inputs_agree(make, good, bad, dtype):
    layer = make().to(dtype)
    x = _x(*good, dtype=dtype)
    with cn.no_grad():
        a, b = layer(cn.tensor(x)), layer(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == dtype
    for shape in bad:
        v = _x(*shape, dtype=dtype) if shape else np.asarray(1.0, dtype)
        message = _error(lambda: layer(cn.tensor(v)))
        assert _error(lambda: layer(v)) == message
        assert message.startswith(type(layer).__name__ + ": ")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_batch_of_one_and_vector_match_torch(dtype):
    layer = nn.Linear(5, 3).to(dtype)
    t = torch.nn.Linear(5, 3).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(layer.weight.data))
        t.bias.copy_(torch.from_numpy(layer.bias.data))
    tol = 1e-10 if dtype == np.float64 else 1e-5
    for shape in ((1, 5), (5,), (2, 1, 5)):
        v = _x(*shape, dtype=dtype)
        x, tx = cn.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        y, ty = layer(x), t(tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
        g = _x(*y.shape, dtype=dtype, seed=1)
        layer.zero_grad(), t.zero_grad()
        y.backward(g), ty.backward(torch.from_numpy(g))
        for ours, theirs in ((x.grad, tx.grad), (layer.weight.grad, t.weight.grad), (layer.bias.grad, t.bias.grad)):
            assert ours.dtype == dtype
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=tol, atol=tol)


def test_check_input_accepts_every_kind_of_ndim():
    m = Module()
    x = cn.zeros(2, 3)
    for ndim in (2, np.int64(2), (1, 2), [2, 3], range(2, 3)):
        m.check_input(x, ndim=ndim)
        m.check_input(x.numpy(), ndim=ndim)
    for ndim, want in ((3, "3D"), (np.int32(4), "4D"), ((1, 3), "1D or 3D"), ([4, 5], "4D or 5D")):
        for v in (x, x.numpy(), Parameter(np.zeros((2, 3)))):
            with pytest.raises(
                LayerInputError, match=re.escape(f"Module: expected {want} input, received shape (2, 3)")
            ):
                m.check_input(v, ndim=ndim)


def test_forward_hook_registered_during_forward_runs_in_that_call():
    class Late(Module):
        def forward(self, x):
            if not self._forward_hooks:
                self.register_forward_hook(lambda m, args, out: out * 10)
            return x + 1

    late = Late()
    assert float(late(cn.tensor(1.0)).item()) == 20.0


def test_pre_hook_may_remove_itself_and_replace_args():
    seen = []

    class Echo(Module):
        def forward(self, x):
            seen.append(float(x.item()))
            return x

    echo = Echo()
    handle = None

    def once(m, args):
        handle.remove()
        return args[0] * 3  # one value: becomes the only argument

    handle = echo.register_forward_pre_hook(once)
    echo(cn.tensor(1.0))
    echo(cn.tensor(1.0))
    assert seen == [3.0, 1.0]


def test_layer_reads_a_reparametrised_weight():
    """``del conv.weight`` then a plain attribute (weight normalisation's pattern) is what forward uses."""
    conv = nn.Conv2d(1, 1, 1, bias=False)
    del conv.weight
    conv.weight = cn.tensor(np.full((1, 1, 1, 1), 2.0, np.float32))
    with cn.no_grad():
        y = conv(cn.tensor(np.ones((1, 1, 2, 2), np.float32)))
    np.testing.assert_array_equal(y.numpy(), np.full((1, 1, 2, 2), 2.0))
    lin = nn.Linear(2, 1)
    del lin.bias
    lin.bias = cn.tensor(np.array([5.0], np.float32))
    with cn.no_grad():
        y = lin(cn.tensor(np.zeros((1, 2), np.float32)))
    np.testing.assert_array_equal(y.numpy(), [[5.0]])


def test_module_attribute_lookup_order_and_errors():
    m = Module()
    m.register_parameter("p", Parameter(np.zeros(1)))
    m.register_buffer("b", np.ones(1))
    m.add_module("c", nn.ReLU())
    assert isinstance(m.p, Parameter) and m.b[0] == 1.0 and isinstance(m.c, nn.ReLU)
    with pytest.raises(AttributeError, match=r"^'Module' object has no attribute 'missing'$"):
        m.missing
    bare = Module.__new__(Module)  # before Module.__init__: no stores at all
    with pytest.raises(AttributeError, match=r"^'Module' object has no attribute 'weight'$"):
        bare.weight


def test_batchnorm_paths_match_torch():
    for train, track, momentum in (
        (True, True, 0.1),
        (True, True, None),
        (False, True, 0.1),
        (True, False, 0.1),
        (False, False, 0.1),
    ):
        for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
            ours = nn.BatchNorm2d(3, momentum=momentum, track_running_stats=track).to(dtype).train(train)
            theirs = torch.nn.BatchNorm2d(3, momentum=momentum, track_running_stats=track).to(tdtype).train(train)
            tol = 1e-10 if dtype == np.float64 else 1e-5
            for step in range(2):
                v = _x(2, 3, 4, 4, dtype=dtype, seed=step)
                y, ty = ours(cn.tensor(v)), theirs(torch.from_numpy(v))
                np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
            if track:
                np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=tol, atol=tol)
                np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=tol, atol=tol)
                assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
