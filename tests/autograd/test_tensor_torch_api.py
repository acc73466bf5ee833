"""The tensor speaks PyTorch (issue #14): each method and top-level function against torch on random
inputs (negative dims, dim=None, keepdim), the gradients too, in float32 and float64.

Most cases are written once as ``f(t, lib)`` and run with ``lib`` = convnp and = torch, so the
code under test is literally the same line in both libraries.
"""

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, check_gradcheck, compare_with_torch

import convnp as cn

DTYPES = [np.float32, np.float64]


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _parity(case, inputs, dtype, **kwargs):
    return compare_with_torch(lambda *t: case(*t, cn), lambda *t: case(*t, torch), inputs, dtype=dtype, **kwargs)


def _configs(n, seed):
    """Random (shape, dim, keepdim): odd sizes, batch of one, 1-4 axes, negative dims, tuples, None."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ndim = int(rng.integers(1, 5))
        shape = tuple(int(s) for s in rng.choice([1, 2, 3, 5, 7], size=ndim))
        kind = rng.integers(0, 3)
        if kind == 0:
            dim = int(rng.integers(-ndim, ndim))
        elif kind == 1:
            k = int(rng.integers(1, ndim + 1))
            dim = tuple(int(d) - ndim if rng.random() < 0.5 else int(d) for d in rng.permutation(ndim)[:k])
        else:
            dim = None
        out.append((shape, dim, bool(rng.integers(0, 2))))
    return out


REDUCE_CONFIGS = _configs(12, seed=14) + [((1,), 0, False), ((1, 1, 3), (-1, 0), True), ((4, 1), -2, False)]


# ---------------------------------------------------------------------------------------------
# The max(dim) trap: (values, indices), as PyTorch
# ---------------------------------------------------------------------------------------------


def test_max_dim_gives_indices_at_batch_size_two():
    out = cn.tensor([[0.1, 0.9, 0.3], [0.8, 0.2, 0.4]])
    _, pred = out.max(1)
    assert pred.tolist() == [1, 0] and pred.dtype == np.int64
    assert out.max(1, keepdim=True)[1].tolist() == [[1], [0]]
    values, indices = cn.max(out, 1)
    assert values.tolist() == pytest.approx([0.9, 0.8]) and indices.tolist() == [1, 0]
    r = out.min(dim=0)
    assert r.indices.tolist() == [0, 1, 0] and r.values.tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert type(r).__name__ == "min" and r._fields == ("values", "indices")
    assert out.max().shape == () and float(out.max()) == pytest.approx(0.9)
    assert cn.argmax(out, dim=1, keepdim=True).tolist() == [[1], [0]]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("shape,dim,keepdim", [c for c in REDUCE_CONFIGS if isinstance(c[1], int)])
def test_max_min_with_dim_match_torch(op, shape, dim, keepdim, dtype):
    x = _rand(sum(shape) + dim, *shape)
    _parity(lambda t, L: getattr(t, op)(dim, keepdim=keepdim), [x], dtype, what=f"{op}{shape} dim={dim}")
    _parity(lambda t, L: getattr(L, op)(t, dim, keepdim), [x], dtype, what=f"top-level {op}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_without_dim_give_a_scalar_and_share_ties_like_torch(op, dtype):
    _parity(lambda t, L: getattr(t, op)(), [_rand(1, 3, 5)], dtype)
    _parity(lambda t, L: getattr(L, op)(t), [np.array([[1.0, 3.0, 3.0], [-1.0, 2.0, -1.0]])], dtype)


@pytest.mark.parametrize("shape,dim,keepdim", REDUCE_CONFIGS)
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(op, shape, dim, keepdim):
    if isinstance(dim, tuple):
        dim = dim[0]
    x = _rand(3, *shape)
    for f in (lambda t, L: getattr(t, op)(dim=dim, keepdim=keepdim), lambda t, L: getattr(L, op)(t, dim, keepdim)):
        ours, theirs = f(cn.tensor(x), cn), f(torch.tensor(x), torch)
        assert ours.dtype == np.int64
        assert_close(ours, theirs, 0, f"{op}{shape} dim={dim} keepdim={keepdim}")


def test_max_on_a_0d_tensor_and_bad_dims():
    s = cn.tensor(2.5)
    v, i = s.max(0)
    assert float(v) == 2.5 and int(i) == 0
    with pytest.raises(IndexError, match=r"max: dim out of range \(expected to be in \[-2, 1\]\). Received: dim=2"):
        cn.zeros(2, 3).max(2)
    with pytest.raises(TypeError, match=r"argmax: dim must be an int. Received: dim=\(0, 1\)"):
        cn.zeros(2, 3).argmax((0, 1))
    with pytest.raises(IndexError, match=r"min: cannot reduce an empty dimension. Received: shape \(2, 0\), dim=1"):
        cn.zeros(2, 0).min(1)


def test_max_dim_gradcheck():
    check_gradcheck(lambda t: t.max(-1)[0] * 2 + t.min(0, keepdim=True).values.sum(), [_rand(5, 3, 4)])


# ---------------------------------------------------------------------------------------------
# size(), numel(), dim(), shape
# ---------------------------------------------------------------------------------------------


def test_size_is_a_tuple_like_torch_size():
    x = cn.zeros(2, 3, 5)
    assert isinstance(x.size(), cn.Size) and isinstance(x.size(), tuple)
    assert x.size() == (2, 3, 5) == tuple(torch.zeros(2, 3, 5).size()) and x.size().numel() == 30
    assert [x.size(d) for d in (0, 1, 2, -1, -3)] == [2, 3, 5, 5, 2]
    assert x.numel() == 30 and x.dim() == 3 and x.shape == (2, 3, 5)
    assert x.view(x.size(0), -1).shape == (2, 15)
    assert repr(x.size()) == "convnp.Size([2, 3, 5])" and cn.zeros(()).size() == ()
    with pytest.raises(IndexError, match=r"size: dim out of range \(expected to be in \[-3, 2\]\). Received: dim=3"):
        x.size(3)
    with pytest.raises(IndexError, match=r"size: a 0-d tensor has no dimensions. Received: dim=0"):
        cn.tensor(1.0).size(0)


# ---------------------------------------------------------------------------------------------
# Reductions with dim (int or tuple), keepdim, and correction / unbiased
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings(r"ignore:var\(\). degrees of freedom is <= 0")  # torch's, at n = 1 (both give inf)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "mean", "prod", "var", "std"])
@pytest.mark.parametrize("shape,dim,keepdim", REDUCE_CONFIGS)
def test_reductions_match_torch(op, shape, dim, keepdim, dtype):
    x = _rand(len(shape) + 7, *shape)
    if op == "prod":  # near 1: a product of hundreds stays finite
        x = 1.0 + 0.3 * x
    if op in ("var", "std"):
        n = math.prod(shape) if dim is None else math.prod(shape[d] for d in np.atleast_1d(dim))
        if n < 2:
            x = _rand(8, *shape)
        if op == "std" and n < 2:  # sqrt at 0 (or nan): no finite gradient to compare
            return
    kw = {} if dim is None else {"dim": dim}
    torch_fn = lambda t: getattr(t, op)(dim=dim, keepdim=keepdim)  # noqa: E731
    if op == "prod":  # torch's prod takes one int dim
        torch_fn = lambda t: _torch_prod(t, dim, keepdim)  # noqa: E731
    compare_with_torch(
        lambda t: getattr(t, op)(**kw, keepdim=keepdim), torch_fn, [x], dtype=dtype, what=f"{op}{shape} dim={dim}"
    )


def _torch_prod(t, dim, keepdim):
    if dim is None:
        return t.prod().reshape((1,) * t.ndim) if keepdim else t.prod()
    for d in sorted((d % t.ndim for d in np.atleast_1d(dim)), reverse=True):
        t = t.prod(int(d), keepdim=keepdim)
    return t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_correction_and_unbiased(op, dtype):
    x = _rand(2, 3, 4, 5)
    for case in (
        lambda t, L: getattr(t, op)(1, unbiased=False),
        lambda t, L: getattr(t, op)(False),
        lambda t, L: getattr(t, op)(dim=(0, -1), correction=0, keepdim=True),
        lambda t, L: getattr(t, op)(dim=-1, correction=2),
        lambda t, L: getattr(t, op)(unbiased=True),
    ):
        _parity(case, [x], dtype)
    with pytest.raises(ValueError, match="var/std: give correction= or unbiased=, not both. Received: unbiased=True"):
        getattr(cn.zeros(3), op)(unbiased=True, correction=1)


def test_prod_gradient_with_zeros_matches_torch():
    x = np.array([[0.0, 2.0, 3.0, 0.5], [0.0, 0.0, 1.5, 2.0], [1.0, 2.0, -1.0, 0.5]])
    for dim in (None, 0, 1, -1):
        kw = {} if dim is None else {"dim": dim}
        compare_with_torch(
            lambda t: t.prod(**kw), lambda t: _torch_prod(t, dim, False), [x], what=f"prod with zeros dim={dim}"
        )
    check_gradcheck(lambda t: t.prod(dim=(0, 2)), [_rand(4, 2, 3, 2)])
    check_gradcheck(lambda t: t.var(1) + t.std((0, 1), keepdim=True).sum(), [_rand(5, 3, 4)])


@pytest.mark.parametrize("shape,dim,keepdim", REDUCE_CONFIGS)
@pytest.mark.parametrize("op", ["all", "any"])
def test_all_any_match_torch(op, shape, dim, keepdim):
    x = _rand(11, *shape) > 0.3
    if isinstance(dim, tuple) and len(dim) == 1:
        dim = dim[0]
    if isinstance(dim, tuple):
        ours = getattr(cn.tensor(x), op)(dim, keepdim)
        theirs = torch.tensor(x)
        for d in sorted((d % len(shape) for d in dim), reverse=True):  # torch 2.13: one dim at a time
            theirs = getattr(theirs, op)(d, keepdim)
    else:
        kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
        ours, theirs = getattr(cn.tensor(x), op)(**kw), getattr(torch.tensor(x), op)(**kw)
    assert ours.dtype == np.bool_
    assert_close(ours, theirs, 0, f"{op}{shape} dim={dim}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_top_level_sum_mean_flatten_clamp_match_torch(dtype):
    x = _rand(6, 2, 3, 4)
    for case in (
        lambda t, L: L.sum(t),
        lambda t, L: L.sum(t, dim=(1, -1), keepdim=True),
        lambda t, L: L.mean(t, -2),
        lambda t, L: L.flatten(t),
        lambda t, L: L.flatten(t, 1),
        lambda t, L: L.clamp(t, -0.5, 0.5),
        lambda t, L: L.clamp(t, min=0.0),
        lambda t, L: t.sum(1, dtype=L.float64).to(t.dtype),
        lambda t, L: t.mean((0, 2)),
    ):
        _parity(case, [x], dtype)


# ---------------------------------------------------------------------------------------------
# Comparisons: bool tensors, no gradient
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_match_torch(op):
    a = np.round(_rand(1, 4, 5))
    b = np.round(_rand(2, 4, 5))
    x = cn.tensor(a, requires_grad=True)
    for other, t_other in ((cn.tensor(b), torch.tensor(b)), (0.0, 0.0), (cn.tensor(b[0]), torch.tensor(b[0]))):
        ours = getattr(x, op)(other)
        assert ours.dtype == np.bool_ and not ours.requires_grad
        assert_close(ours, getattr(torch.tensor(a), op)(t_other), 0, op)
    pred = cn.tensor([[1], [0], [2]])
    target = cn.tensor([1, 1, 2])
    assert pred.eq(target.view_as(pred)).sum().item() == 2


# ---------------------------------------------------------------------------------------------
# Movement and selection
# ---------------------------------------------------------------------------------------------

MOVE_CASES = [
    ("view_as", lambda t, L: t.view_as(L.zeros(3, 10)), (2, 3, 5)),
    ("expand", lambda t, L: t.expand(2, 4, 3, -1), (1, 3, 5)),
    ("expand_list", lambda t, L: t.expand([3, 5]), (1, 5)),
    ("expand_new_axes", lambda t, L: t.expand(2, 1, 3, 1), (3, 1)),
    ("expand_as", lambda t, L: t.expand_as(L.zeros(2, 4, 5)), (4, 1)),
    ("repeat", lambda t, L: t.repeat(2, 1, 3), (2, 3, 1)),
    ("repeat_new_axes", lambda t, L: t.repeat(3, 2, 1, 2), (1, 3)),
    ("repeat_tuple", lambda t, L: t.repeat((1, 2)), (5, 3)),
    ("topk", lambda t, L: t.topk(3), (4, 7)),
    ("topk_dim0_smallest", lambda t, L: t.topk(2, dim=0, largest=False), (5, 3)),
    ("topk_all", lambda t, L: t.topk(5, -1), (2, 1, 5)),
    ("topk_batch1", lambda t, L: L.topk(t, 1, 1), (1, 5, 2)),
    ("sort", lambda t, L: t.sort(), (3, 6)),
    ("sort_desc_dim", lambda t, L: t.sort(dim=-3, descending=True), (5, 2, 3)),
    ("sort_1d", lambda t, L: L.sort(t), (7,)),
    ("chunk", lambda t, L: t.chunk(3, 1)[1] * 2 + 0 * t.chunk(3, 1)[0].sum(), (2, 7)),
    ("chunk_last", lambda t, L: t.chunk(4, -1)[-1], (3, 5)),
    ("split", lambda t, L: t.split(2, dim=0)[2], (5, 3)),
    ("split_sections", lambda t, L: t.split([1, 4, 2], 1)[1], (2, 7)),
    ("pow", lambda t, L: t.pow(3) + t.pow(2.0), (3, 4)),
    ("contiguous", lambda t, L: t.transpose(0, 1).contiguous(), (3, 4)),
    ("double", lambda t, L: (t.double() * 2).to(t.dtype), (3,)),
    ("float", lambda t, L: (t.float() * 2).to(t.dtype), (3,)),
    ("to_dtype", lambda t, L: (t.to(L.float64) * 2).to(t.dtype) + t.to("cpu"), (2, 3)),
    ("to_device_dtype", lambda t, L: t.to("cpu", L.float64).to(device="cpu", dtype=t.dtype), (2, 3)),
    ("to_other", lambda t, L: t.to(L.zeros(1, dtype=L.float16)).to(t) * 0 + t.to(t), (4,)),
    ("type", lambda t, L: t.type(L.float64).type(t.dtype), (2, 2)),
    ("cpu", lambda t, L: t.cpu() * 3, (2, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,case,shape", MOVE_CASES, ids=[c[0] for c in MOVE_CASES])
def test_movement_and_selection_match_torch(name, case, shape, dtype):
    x = _rand(len(name), *shape)
    ours, theirs = _parity(case, [x], dtype, what=name)
    if name.startswith(("topk", "sort")):
        assert ours._fields == ("values", "indices") and type(ours).__name__ == type(theirs).__name__


@pytest.mark.parametrize("dtype", DTYPES)
def test_chunk_and_split_give_the_pieces_torch_gives(dtype):
    x = _rand(3, 7, 4)
    for n, dim in [(3, 0), (4, 0), (7, 0), (9, 0), (2, -1), (3, 1)]:
        ours, theirs = cn.tensor(x).chunk(n, dim), torch.tensor(x).chunk(n, dim)
        assert len(ours) == len(theirs), (n, dim)
        for o, t in zip(ours, theirs):
            assert_close(o, t, 0, f"chunk({n}, {dim})")
    for s, dim in [(2, 0), (3, 0), (7, 0), (10, 0), ([3, 0, 4], 0), ((1, 3), -1)]:
        ours, theirs = cn.tensor(x).split(s, dim), torch.tensor(x).split(s, dim)
        assert len(ours) == len(theirs), (s, dim)
        for o, t in zip(ours, theirs):
            assert_close(o, t, 0, f"split({s}, {dim})")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_matches_torch_with_repeated_indices(seed, dtype):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 5, size=3))
    dim = int(rng.integers(-3, 3))
    out_shape = list(shape)
    out_shape[dim] = int(rng.integers(1, 6))  # more picks than entries: repeats
    index = rng.integers(0, shape[dim], size=out_shape)
    _parity(lambda t, i, L: t.gather(dim, i), [_rand(seed, *shape), index], dtype, requires_grad=[True, False])
    check_gradcheck(lambda t: t.gather(dim, cn.tensor(index)), [_rand(seed, *shape)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_matches_torch(dtype):
    x = _rand(4, 3, 4)
    mask = _rand(5, 3, 4) > 0
    _parity(lambda t, m, L: t.masked_fill(m, -1.5), [x, mask], dtype, requires_grad=[True, False])
    _parity(lambda t, m, L: t.masked_fill(m[0], 0.25), [x, mask], dtype, requires_grad=[True, False])
    _parity(lambda t, L: t.masked_fill(t > 0, float("-inf")).exp(), [x], dtype)
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor. Received: dtype int64"):
        cn.zeros(2).masked_fill(cn.tensor([0, 1]), 1.0)
    with pytest.raises(
        ValueError,
        match=r"masked_fill: the value must be a number or a 0-d tensor. Received: "
        r"shape \(2,\)",
    ):
        cn.zeros(2).masked_fill(cn.tensor([True, False]), cn.zeros(2))


def test_movement_gradchecks():
    check_gradcheck(lambda t: t.expand(3, 2, 4) * cn.tensor(_rand(1, 3, 2, 4)), [_rand(0, 2, 1)])
    check_gradcheck(lambda t: t.repeat(2, 3, 1) * cn.tensor(_rand(2, 2, 6, 3)), [_rand(0, 2, 3)])
    check_gradcheck(lambda t: t.topk(2, 0).values, [_rand(3, 4, 3)])
    check_gradcheck(lambda t: t.sort(1, descending=True)[0] * cn.tensor(_rand(4, 2, 5)), [_rand(5, 2, 5)])
    check_gradcheck(lambda t: t.masked_fill(cn.tensor(_rand(6, 3, 3) > 0), 2.0), [_rand(7, 3, 3)])


def test_sort_and_topk_on_integers_and_bools():
    x = np.array([[3, -1, 7, 0], [2, 2, -5, 9]])
    for arr in (x, x.astype(np.uint8), x > 0):
        for desc in (False, True):
            v, i = cn.tensor(arr).sort(dim=1, descending=desc, stable=True)
            tv, ti = torch.tensor(arr).sort(dim=1, descending=desc, stable=True)
            assert_close(v, tv, 0, "sort values")
            assert_close(i, ti, 0, "sort indices")
    assert cn.tensor(x[:1]).topk(2).indices.tolist() == torch.tensor(x[:1]).topk(2).indices.tolist() == [[2, 0]]


def test_movement_errors():
    x = cn.zeros(2, 3)
    with pytest.raises(
        ValueError,
        match=r"expand: cannot expand a tensor of shape \(2, 3\) to \(4, 3\) \(only axes "
        r"of length 1 can grow, -1 keeps an axis\). Received: shape \(4, 3\)",
    ):
        x.expand(4, 3)
    with pytest.raises(ValueError, match=r"expand: the shape must have at least 2 dimensions. Received: shape \(3,\)"):
        x.expand(3)
    with pytest.raises(
        ValueError,
        match=r"repeat: expected at least 2 non-negative repeats \(one per dimension\). "
        r"Received: \(2,\)",
    ):
        x.repeat(2)
    with pytest.raises(ValueError, match=r"topk: k must be an int from 0 to 3 \(the size of dim -1\). Received: k=4"):
        x.topk(4)
    with pytest.raises(
        ValueError,
        match=r"gather: index must be an integer tensor with as many dimensions as the "
        r"input \(2\). Received: index of dtype float32 and shape \(2,\)",
    ):
        x.gather(0, cn.zeros(2))
    with pytest.raises(ValueError, match="split: the split size must be positive. Received: 0"):
        x.split(0)
    with pytest.raises(
        ValueError,
        match=r"split: the sizes must be non-negative and add up to 3 \(the size of dim "
        r"1\). Received: \[1, 1\]",
    ):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match="chunk: chunks must be a positive int. Received: 0"):
        x.chunk(0)


# ---------------------------------------------------------------------------------------------
# dtypes, devices, Python numbers
# ---------------------------------------------------------------------------------------------


def test_casts_type_and_to():
    x = cn.tensor([1.7, -2.2, 0.0], requires_grad=True)
    t = torch.tensor([1.7, -2.2, 0.0], requires_grad=True)
    for name in ("long", "int", "bool", "half", "float", "double"):
        ours, theirs = getattr(x, name)(), getattr(t, name)()
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), name
        assert_close(ours, theirs.float() if name == "half" else theirs, 0 if name != "half" else 1e-3, name)
        assert ours.requires_grad == theirs.requires_grad, name
    assert x.type() == "convnp.FloatTensor" and x.long().type() == "convnp.LongTensor"
    assert x.type("convnp.DoubleTensor").dtype == np.float64 and x.type(cn.float32) is x
    assert x.to("cpu") is x and x.to(cn.device("cpu")) is x and x.to(cn.float32) is x
    assert x.to(dtype=cn.float32, copy=True) is not x
    assert x.contiguous() is x and x.cpu() is x
    with pytest.raises(TypeError, match=r"type: expected a dtype \(cn.float32, cn.long, ...\). Received: 'nonsense'"):
        x.type("nonsense")
    with pytest.raises(TypeError, match="to: expected a numeric dtype .bool, integer or float.. Received: complex128"):
        x.to(np.complex128)


def test_device_is_always_the_cpu():
    x = cn.zeros(2)
    assert x.device == cn.device("cpu") == "cpu" and str(x.device) == "cpu" and x.device.type == "cpu"
    assert repr(cn.device("cpu")) == "device(type='cpu')" and not x.is_cuda
    assert cn.cuda.is_available() is False and cn.cuda.device_count() == 0
    device = cn.device("cuda" if cn.cuda.is_available() else "cpu")
    assert x.to(device) is x
    with pytest.raises(
        ValueError,
        match="device: convnp computes on the CPU only .NumPy., so the one device is 'cpu'. Received: 'cuda'",
    ):
        x.to("cuda")
    with pytest.raises(ValueError, match="Received: 'cuda:1'"):
        x.to("cuda:1")
    with pytest.raises(ValueError, match="Received: 'mps'"):
        cn.device("mps")
    with pytest.raises(ValueError, match="Received: 'cpu', index=1"):
        cn.device("cpu", 1)


def test_python_numbers_and_format():
    assert int(cn.tensor(3.9)) == 3 and float(cn.tensor([2.5])) == 2.5 and int(cn.tensor([[7]])) == 7
    assert [10, 11, 12][cn.tensor(2)] == 12 and list(range(10))[cn.tensor(1) : cn.tensor(3)] == [1, 2]
    assert bool(cn.tensor(0.0)) is False and bool(cn.tensor([1]))
    loss = cn.tensor(0.123456)
    assert f"{loss:.3f}" == "0.123" and f"{loss:>8.2f}" == "    0.12" and f"{cn.tensor(5):03d}" == "005"
    assert f"{cn.tensor([1, 2])}" == str(cn.tensor([1, 2]))
    with pytest.raises(
        TypeError,
        match=r"__index__: only an integer tensor with one element can be used as an "
        r"index. Received: dtype float32, shape \(\)",
    ):
        [1, 2][cn.tensor(1.0)]
    with pytest.raises(
        ValueError,
        match=r"float: only a tensor with one element can be converted to a Python "
        r"number. Received: shape \(2,\)",
    ):
        float(cn.zeros(2))
    with pytest.raises(ValueError, match=r"int: only a tensor .* Received: shape \(0,\)"):
        int(cn.zeros(0))


# ---------------------------------------------------------------------------------------------
# The top level
# ---------------------------------------------------------------------------------------------


def test_dtype_names_match_torch():
    for name in (
        "float16",
        "float32",
        "float64",
        "half",
        "float",
        "double",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "short",
        "int",
        "long",
        "bool",
    ):
        ours = np.dtype(getattr(cn, name))
        assert str(ours) == str(getattr(torch, name)).replace("torch.", ""), name
        assert cn.zeros(2, dtype=getattr(cn, name)).dtype == ours
    assert cn.tensor([1, 2]).dtype == cn.long and cn.randn(2).dtype == cn.float
    namespace = {}
    exec("from convnp import *", namespace)
    assert "int" not in namespace and "max" not in namespace and "Tensor" in namespace


def test_creation_size_keyword_is_tensor_and_inference_mode():
    cn.manual_seed(0)
    a = cn.randn(size=(2, 3))
    cn.manual_seed(0)
    assert np.array_equal(a.numpy(), cn.randn(2, 3).numpy())
    assert cn.rand(size=[4]).shape == (4,) and cn.zeros(size=(1, 2)).shape == (1, 2) and cn.ones(size=3).shape == (3,)
    with pytest.raises(
        TypeError,
        match=r"the size is given twice, as arguments and as size=. Received: \(2,\) and "
        r"size=\(2, 3\)",
    ):
        cn.randn(2, size=(2, 3))
    assert cn.is_tensor(a) and not cn.is_tensor(a.numpy()) and not cn.is_tensor(3)
    x = cn.randn(2, requires_grad=True)
    with cn.inference_mode():
        assert not (x * 2).requires_grad
    with cn.inference_mode(False):
        assert (x * 2).requires_grad

    @cn.inference_mode()
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad


def test_num_threads():
    from convnp.arraymath import parallel

    workers, blas = parallel._WORKERS["n"], parallel._get_threads() if parallel._get_threads else None
    try:
        cn.set_num_threads(1)
        assert cn.get_num_threads() == 1 and parallel.workers() == 1
        if blas is not None:
            assert parallel._get_threads() == 1
        assert (cn.randn(30, 40) @ cn.randn(40, 20)).shape == (30, 20)
        cn.set_num_threads(np.int64(2))
        assert cn.get_num_threads() == 2
    finally:
        parallel.set_num_workers(workers)
        if blas is not None:
            parallel._set_threads(blas)
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int. Received: 0"):
        cn.set_num_threads(0)
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int. Received: True"):
        cn.set_num_threads(True)
