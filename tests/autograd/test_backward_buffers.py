"""The backward walk's buffer handling and Function.apply's fast paths.

A leaf's ``.grad`` is never an array that something else can see or change: the caller's
gradient, one array given to two inputs, a context that saved it, a view, the user's own
reference to an earlier ``.grad`` all behave as fresh copies.
"""

import weakref

import numpy as np
import pytest
import torch

import convnp as cn
from convnp.autograd.function import Function
from convnp.autograd.tensor_ops import Clone as Identity  # backward hands its gradient on as it is
from convnp.nn import Parameter


class KeepsGrad(Function):
    """Backward returns its incoming gradient and keeps a reference to it on the context."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        ctx.kept = grad
        return grad


class ViewOfSaved(Function):
    """Backward returns a view of an array saved on the context (which it keeps)."""

    @staticmethod
    def forward(ctx, x):
        ctx.saved = np.full(x.size, 3.0, dtype=x.dtype)
        return x * 3

    @staticmethod
    def backward(ctx, grad):
        return ctx.saved.reshape(grad.shape)


class Twice(Function):
    """y = 2x through two inputs that are the same tensor: backward gives one array to both."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def _leaf(shape=(2, 3), dtype=np.float64, seed=0):
    return cn.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype), requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fresh_gradient_is_a_plain_array(dtype):
    x = _leaf(dtype=dtype)
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0, dtype))
    assert x.grad.dtype == dtype and x.grad.flags.c_contiguous and x.grad.flags.writeable


def test_callers_gradient_is_copied():
    x = _leaf()
    g = np.arange(6.0).reshape(2, 3)
    Identity.apply(x).backward(g)
    assert x.grad is not g and not np.shares_memory(x.grad, g)
    g[...] = -1
    np.testing.assert_array_equal(x.grad, np.arange(6.0).reshape(2, 3))


def test_callers_gradient_on_a_leaf_root_is_copied():
    x = _leaf()
    g = np.ones((2, 3))
    x.backward(g)
    assert not np.shares_memory(x.grad, g)
    g[...] = 5
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_a_tensor_gradient_passed_to_backward_is_copied():
    x = _leaf()
    g = cn.tensor(np.ones((2, 3)))
    Identity.apply(x).backward(g)
    assert not np.shares_memory(x.grad, g.data)


def test_one_array_given_to_two_leaves_is_not_shared():
    a, b = _leaf(seed=1), _leaf(seed=2)
    (a + b).backward(np.ones((2, 3)))
    assert not np.shares_memory(a.grad, b.grad)
    a.grad[...] = 7
    np.testing.assert_array_equal(b.grad, np.ones((2, 3)))


def test_gradient_kept_by_a_context_is_copied():
    x = _leaf()
    y = KeepsGrad.apply(x)
    (y * 1.0).backward(np.ones((2, 3)))  # KeepsGrad.backward receives a fresh array and keeps it
    kept = y._node.ctx.kept
    assert not np.shares_memory(x.grad, kept)
    kept[...] = 9
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_view_of_a_saved_array_is_copied():
    x = _leaf()
    y = ViewOfSaved.apply(x)
    y.backward(np.ones((2, 3)))
    saved = y._node.ctx.saved
    assert not np.shares_memory(x.grad, saved)
    x.grad[...] = 0
    np.testing.assert_array_equal(saved, np.full(6, 3.0))


def test_weakly_referenced_gradient_is_copied():
    refs = []

    class Watched(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            out = grad * 2
            refs.append(weakref.ref(out))
            return out

    x = _leaf()
    Watched.apply(x).backward(np.ones((2, 3)))
    assert refs[0]() is None or refs[0]() is not x.grad
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_used_twice_sums_both_paths(dtype):
    x = _leaf(dtype=dtype)
    y = Twice.apply(x, x)  # one array for both inputs: the sum must not double it in place
    y.backward(np.ones((2, 3), dtype))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0, dtype))
    z = _leaf(dtype=dtype)
    w = (z * 3.0) + (z * 4.0) + Identity.apply(z)
    w.sum().backward()
    np.testing.assert_array_equal(z.grad, np.full((2, 3), 8.0, dtype))


def test_residual_sum_matches_torch_in_both_dtypes():
    for dtype in (np.float32, np.float64):
        r = np.random.default_rng(3)
        xv, wv = r.standard_normal((1, 3, 5, 5)).astype(dtype), r.standard_normal((3, 3, 3, 3)).astype(dtype)
        x, w = cn.tensor(xv, requires_grad=True), cn.tensor(wv, requires_grad=True)
        tx, tw = torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)
        h = cn.nn.functional.conv2d(x, w, padding=1)
        out = cn.nn.functional.conv2d(cn.nn.functional.relu(h), w, padding=1) + x + h
        th = torch.nn.functional.conv2d(tx, tw, padding=1)
        tout = torch.nn.functional.conv2d(torch.relu(th), tw, padding=1) + tx + th
        (out * out).sum().backward()
        (tout * tout).sum().backward()
        tol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=tol, atol=tol)


def test_accumulation_leaves_an_earlier_grad_the_user_holds_alone():
    x = _leaf()
    (x * 2.0).sum().backward()
    first = x.grad
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(first, np.full((2, 3), 2.0))  # not changed in place
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 5.0))


def test_accumulation_into_an_assigned_parameter_grad_leaves_the_array_alone():
    p = Parameter(np.zeros((2, 3)))
    mine = np.ones((2, 3))
    p.grad = mine
    (p * 2.0).sum().backward()
    np.testing.assert_array_equal(mine, np.ones((2, 3)))
    np.testing.assert_array_equal(p.grad, np.full((2, 3), 3.0))


def test_accumulation_keeps_a_grad_of_another_dtype_as_before():
    x = _leaf(dtype=np.float32)
    x.grad = np.ones((2, 3), np.float64)  # a plain tensor's grad can be anything
    (x * 2.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 3.0))


def test_retained_gradient_is_a_copy_of_what_flows_on():
    x = _leaf()
    y = x * 2.0
    y.retain_grad()
    z = Identity.apply(y)
    z.backward(np.ones((2, 3)))
    assert not np.shares_memory(y.grad, x.grad)
    y.grad[...] = 100
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


# ---------------------------------------------------------------------------------------------
# Function.apply
# ---------------------------------------------------------------------------------------------


class Spy(Function):
    seen = []

    @staticmethod
    def forward(ctx, x, w, scale, *, shift=0.0):
        Spy.seen.append(ctx.needs_input_grad)
        return x * scale + shift + (0 if w is None else w)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad, None


def test_needs_input_grad_when_recording_and_not():
    x, w = _leaf(), cn.tensor(np.ones((2, 3)), requires_grad=True)
    c = cn.tensor(np.ones((2, 3)))
    Spy.seen.clear()
    y = Spy.apply(x, c, 2.0, shift=1.0)
    assert Spy.seen[-1] == (True, False, False) and y.requires_grad and y.grad_fn is not None
    y = Spy.apply(c, w, 2.0)
    assert Spy.seen[-1] == (False, True, False) and y.requires_grad
    y = Spy.apply(c, None, 2.0)
    assert Spy.seen[-1] == (False, False, False) and not y.requires_grad and y.grad_fn is None
    with cn.no_grad():  # nothing recorded: no backward can run, nothing is needed
        y = Spy.apply(x, w, 2.0)
    assert Spy.seen[-1] == (False, False, False) and not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.data, x.data * 2.0 + 1.0)


def test_many_arguments():
    class Many(Function):
        @staticmethod
        def forward(ctx, *arrays):
            Many.needs = ctx.needs_input_grad
            return sum(arrays)

        @staticmethod
        def backward(ctx, grad):
            return (grad,) * len(ctx.needs_input_grad)

    xs = [_leaf(seed=i) for i in range(11)]
    y = Many.apply(*xs)
    assert Many.needs == (True,) * 11
    y.sum().backward()
    for x in xs:
        np.testing.assert_array_equal(x.grad, np.ones((2, 3)))
    with cn.no_grad():
        Many.apply(*xs)
    assert Many.needs == (False,) * 11


def test_results_that_are_not_plain_float_arrays():
    class Scalar(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()  # a NumPy scalar

        @staticmethod
        def backward(ctx, grad):
            return np.broadcast_to(grad, (2, 3)).copy()

    x = _leaf()
    s = Scalar.apply(x)
    assert isinstance(s.data, np.ndarray) and s.shape == () and s.requires_grad
    s.backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))

    class Index(Function):
        @staticmethod
        def forward(ctx, x):
            return x.argmax(axis=1)

    with pytest.raises(TypeError, match="only float tensors can require gradients"):
        Index.apply(x)
    i = Index.apply(x.detach())  # an integer result without a graph is fine
    assert i.dtype == np.int64 and not i.requires_grad

    class WithExtras(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, np.arange(3)

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    out, extra = WithExtras.apply(x)
    assert out.requires_grad and not extra.requires_grad and extra.dtype == np.int64


@pytest.mark.parametrize(
    "shape,start,end",
    [
        ((2, 3, 4, 5), 1, -1),
        ((2, 3, 4, 5), 0, 1),
        ((2, 3, 4, 5), -2, -1),
        ((2, 3, 4, 5), 2, 1),
        ((7,), 0, -1),
        ((), 0, -1),
        ((3, 0, 2), 1, 2),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flatten_matches_torch(shape, start, end, dtype):
    v = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x, t = cn.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    if len(shape) and start % len(shape) > end % len(shape):
        assert x.flatten(start, end).shape == cn.autograd.tensor_ops.flatten(x, start, end).shape
        return
    y, ty = x.flatten(start, end), t.flatten(start, end)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())
    assert x.grad.shape == shape and x.grad.dtype == dtype
