"""The tensor: dtype rules, the backward walk, and every tensor operation against PyTorch."""

import numpy as np
import pytest
import torch
from helpers import assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp.autograd.function import Function

# ---------------------------------------------------------------------------------------------
# dtypes follow torch.tensor
# ---------------------------------------------------------------------------------------------


def test_dtype_rules_follow_torch():
    assert cn.tensor([1.0, 2.0]).dtype == np.float32
    assert cn.tensor(2.5).dtype == np.float32
    assert cn.tensor([1, 2]).dtype == np.int64
    assert cn.tensor([True, False]).dtype == np.bool_
    assert cn.tensor(np.ones(3)).dtype == np.float64
    assert cn.tensor(np.ones(3, np.float32)).dtype == np.float32
    assert cn.tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert cn.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert cn.tensor(np.ones(3), dtype=np.float32).dtype == np.float32
    assert cn.randn(2, 3).dtype == np.float32 and cn.zeros(2).dtype == np.float32
    assert cn.arange(5).dtype == np.int64 and cn.arange(0.0, 1.0, 0.25).dtype == np.float32


@pytest.mark.parametrize(
    "a_dtype,b_dtype",
    [
        (np.float32, np.float64),
        (np.float64, np.float32),
        (np.float32, np.float32),
        (np.int64, np.float32),
        (np.float64, np.int64),
    ],
)
def test_binary_promotion_matches_torch(a_dtype, b_dtype):
    a, b = np.arange(1, 4).astype(a_dtype), np.arange(2, 5).astype(b_dtype)
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y, lambda x, y: x - y):
        ours = op(cn.tensor(a), cn.tensor(b))
        theirs = op(torch.tensor(a), torch.tensor(b))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


def test_python_scalars_do_not_raise_precision():
    x = cn.tensor(np.ones(3, np.float32))
    assert (x * 2.0).dtype == np.float32
    assert (x + np.float64(2.0)).dtype == np.float32
    assert (2.0 / x).dtype == np.float32
    assert (cn.tensor([1, 2]) * 0.5).dtype == np.float32
    assert (cn.tensor(np.ones(3)) * 2).dtype == np.float64


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError, match="only float tensors can require gradients. Received dtype int64"):
        cn.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="must be numeric"):
        cn.tensor(["a", "b"])


# ---------------------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------------------


def test_tensor_used_twice_gets_both_paths():
    x = cn.tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x * x + x  # residual-style reuse: dy/dx = 2x + 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 1)


def test_gradients_accumulate_until_zeroed():
    x = cn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_backward_needs_grad_for_non_scalar():
    x = cn.randn(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(
        ValueError, match=r"gradient is needed for a non-scalar output. Expected grad of shape \(2, 3\)"
    ):
        y.backward()
    with pytest.raises(ValueError, match=r"grad must have the tensor's shape \(2, 3\). Received shape \(3,\)"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0, np.float32))
    assert x.grad.dtype == np.float32


def test_backward_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cn.randn(3).sum().backward()


def test_no_grad_records_nothing():
    x = cn.randn(3, requires_grad=True)
    with cn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert (x * 2).requires_grad

    @cn.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = cn.randn(3, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf


def test_deep_graph_does_not_hit_recursion_limit():
    x = cn.tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    assert np.isclose(x.grad[0], 1.0001**5000)


def test_retain_grad_keeps_intermediate_gradient():
    x = cn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)


def test_item_and_numpy():
    assert cn.tensor([[3.5]]).item() == 3.5
    with pytest.raises(ValueError, match="only a tensor with one element"):
        cn.tensor([1.0, 2.0]).item()
    a = np.ones(3)
    assert cn.from_numpy(a).numpy() is a


def test_manual_seed_makes_random_reproducible():
    cn.manual_seed(7)
    a = cn.randn(4, 4).numpy().copy()
    cn.manual_seed(7)
    np.testing.assert_array_equal(a, cn.randn(4, 4).numpy())
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        cn.manual_seed(-1)


# ---------------------------------------------------------------------------------------------
# every tensor operation: gradcheck and PyTorch parity
# ---------------------------------------------------------------------------------------------

R = np.random.default_rng(0)


def _pos(*shape):
    return R.uniform(0.5, 2.0, shape)


def _any(*shape):
    return R.standard_normal(shape)


# (name, convnp function, torch function, inputs)
CASES = [
    ("add_broadcast", lambda a, b: a + b, lambda a, b: a + b, [_any(2, 3, 4), _any(3, 1)]),
    ("sub_broadcast", lambda a, b: a - b, lambda a, b: a - b, [_any(4), _any(2, 3, 4)]),
    ("mul_broadcast", lambda a, b: a * b, lambda a, b: a * b, [_any(2, 1, 4), _any(3, 1)]),
    ("div_broadcast", lambda a, b: a / b, lambda a, b: a / b, [_any(2, 3), _pos(2, 1)]),
    ("scalar_ops", lambda a: 3.0 - a * 2.0 + 1.0 / (a + 5.0), lambda a: 3.0 - a * 2.0 + 1.0 / (a + 5.0), [_pos(3, 2)]),
    ("pow", lambda a: a**3 + a**-0.5, lambda a: a**3 + a**-0.5, [_pos(2, 3)]),
    ("neg", lambda a: -a, lambda a: -a, [_any(5)]),
    ("matmul_2d", lambda a, b: a @ b, lambda a, b: a @ b, [_any(3, 4), _any(4, 5)]),
    ("matmul_batched_broadcast", lambda a, b: a @ b, lambda a, b: a @ b, [_any(2, 1, 3, 4), _any(3, 4, 2)]),
    ("matmul_vec_mat", lambda a, b: a @ b, lambda a, b: a @ b, [_any(4), _any(2, 4, 3)]),
    ("matmul_mat_vec", lambda a, b: a @ b, lambda a, b: a @ b, [_any(2, 3, 4), _any(4)]),
    ("matmul_vec_vec", lambda a, b: a @ b, lambda a, b: a @ b, [_any(4), _any(4)]),
    ("sum_all", lambda a: a.sum(), lambda a: a.sum(), [_any(2, 3)]),
    (
        "sum_axis_keep",
        lambda a: a.sum(axis=(0, 2), keepdims=True),
        lambda a: a.sum(dim=(0, 2), keepdim=True),
        [_any(2, 3, 4)],
    ),
    ("mean_axis", lambda a: a.mean(axis=-1), lambda a: a.mean(dim=-1), [_any(2, 3, 4)]),
    ("amax_axis", lambda a: a.amax(1), lambda a: a.amax(dim=1), [_any(3, 5, 2)]),
    ("min_all", lambda a: a.min(), lambda a: a.amin(), [_any(3, 4)]),
    ("reshape", lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6), [_any(2, 3, 4)]),
    ("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [_any(2, 3, 4, 2)]),
    ("flatten_middle", lambda a: a.flatten(1, 2), lambda a: a.flatten(1, 2), [_any(2, 3, 4, 2)]),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), [_any(2, 3, 4)]),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [_any(2, 3, 4)]),
    ("T", lambda a: a.T, lambda a: a.T, [_any(3, 4)]),
    ("getitem_basic", lambda a: a[1:, ::2, -1], lambda a: a[1:, ::2, -1], [_any(3, 5, 4)]),
    (
        "getitem_int_array_repeats",
        lambda a: a[np.array([0, 2, 0, 0]), 1:],
        lambda a: a[torch.tensor([0, 2, 0, 0]), 1:],
        [_any(3, 4)],
    ),
    (
        "getitem_two_arrays",
        lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])],
        lambda a: a[torch.tensor([0, 1, 1]), torch.tensor([2, 0, 2])],
        [_any(2, 3)],
    ),
    ("exp", lambda a: a.exp(), lambda a: a.exp(), [_any(3, 2)]),
    ("log", lambda a: a.log(), lambda a: a.log(), [_pos(3, 2)]),
    ("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), [_pos(3, 2)]),
    ("abs", lambda a: abs(a), lambda a: abs(a), [np.array([-2.0, -0.5, 0.7, 3.0])]),
    ("clip", lambda a: a.clip(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [np.array([-2.0, -0.3, 0.1, 0.9])]),
    ("cat", lambda a, b: cn.cat([a, b, a], axis=1), lambda a, b: torch.cat([a, b, a], dim=1), [_any(2, 3), _any(2, 1)]),
    ("stack", lambda a, b: cn.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], dim=1), [_any(2, 3), _any(2, 3)]),
    ("where", lambda a, b: cn.where(a.data > 0, a, b), lambda a, b: torch.where(a > 0, a, b), [_any(3, 4), _any(4)]),
]


@pytest.mark.parametrize("name,ours,theirs,inputs", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_op_matches_torch(name, ours, theirs, inputs, dtype):
    compare_with_torch(ours, theirs, inputs, dtype=dtype, what=name)


@pytest.mark.parametrize("name,ours,theirs,inputs", CASES, ids=[c[0] for c in CASES])
def test_tensor_op_gradcheck(name, ours, theirs, inputs):
    check_gradcheck(ours, inputs)


# add / sub / mul: NumPy's values bit for bit and every gradient only where asked for (Sub's
# backward skips the negated copy for an operand without grad), for every layout and dtype mix.

_OPS = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
}


def _same_shape_case(op, a, b, requires=(True, True)):
    ours, ufunc = _OPS[op]
    ca, cb = cn.tensor(a, requires_grad=requires[0]), cn.tensor(b, requires_grad=requires[1])
    ta, tb = torch.tensor(a, requires_grad=requires[0]), torch.tensor(b, requires_grad=requires[1])
    out, tout = ours(ca, cb), ours(ta, tb)
    assert out.dtype == np.result_type(a, b)
    np.testing.assert_array_equal(out.data, ufunc(a, b))
    g = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for c, t, r in ((ca, ta, requires[0]), (cb, tb, requires[1])):
        if r:
            assert c.grad.dtype == c.dtype and c.grad.shape == c.shape
            np.testing.assert_array_equal(c.grad, t.grad.numpy())
        else:
            assert c.grad is None


@pytest.mark.parametrize("op", list(_OPS))
def test_binary_ops_layouts_dtypes_and_single_gradients(op):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 5, 4))
    b = rng.standard_normal((4, 5, 6)).transpose(2, 1, 0)  # Fortran-ordered view
    _same_shape_case(op, a, b)
    _same_shape_case(op, a.astype(np.float32), b)  # float32 with float64: float64
    _same_shape_case(op, a[:, ::2], b[:, ::2])  # strided views
    _same_shape_case(op, a, b, requires=(False, True))
    _same_shape_case(op, a.astype(np.float32), b.astype(np.float32), requires=(True, False))
    x = np.array([[np.inf, -np.inf, np.nan, 0.0, -0.0] * 4] * 4)
    with np.errstate(invalid="ignore"):  # inf - inf, inf * 0
        _same_shape_case(op, x, x[::-1].copy())


def test_max_shares_gradient_among_ties_like_amax():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    compare_with_torch(lambda t: t.amax(1), lambda t: t.amax(dim=1), [a], what="tied amax")
    compare_with_torch(lambda t: t.max(), lambda t: t.max(), [a], what="tied max over everything")


def test_comparisons_give_bool_tensors_without_grad():
    x = cn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    np.testing.assert_array_equal(m.numpy(), [False, True, True])


def test_errors_name_the_operation():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: \(2, 3\) @ \(4, 5\)"):
        cn.randn(2, 3) @ cn.randn(4, 5)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        cn.randn(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        cn.randn(2, 3).sum(axis=3)
    with pytest.raises(TypeError, match="exponent must be a Python number"):
        cn.randn(2) ** cn.randn(2)


# ---------------------------------------------------------------------------------------------
# gradcheck itself must catch a wrong backward
# ---------------------------------------------------------------------------------------------


class WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.x  # should be 2x


def test_gradcheck_catches_a_wrong_backward():
    x = cn.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    with pytest.raises(cn.GradcheckError, match=r"input 0 \(shape \(3,\)\) gradient mismatch"):
        cn.gradcheck(lambda t: WrongSquare.apply(t), [x])


def test_gradcheck_wants_float64():
    with pytest.raises(ValueError, match="finite differences need float64"):
        cn.gradcheck(lambda t: t * 2, [cn.randn(3, requires_grad=True)])


def test_assert_close_can_fail():
    with pytest.raises(AssertionError):
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.001]), 1e-10, "self-test")


def test_apply_makes_the_tensor_class_that_tensor_py_registers():
    """function.py does not import tensor.py (tensor.py imports it, through tensor_ops): @tensor_class hands
    the class down, so every operation's result is a cn.Tensor."""
    from convnp.autograd import function, tensor_ops
    from convnp.autograd.tensor import Tensor

    assert function.Tensor is Tensor is cn.Tensor
    x = cn.tensor([1.0, 2.0], requires_grad=True)
    for result in (x + 1.0, x.clone(), x.astype(np.float64), tensor_ops.exp([0.0]), cn.where([True, False], x, 0.0)):
        assert type(result) is cn.Tensor
