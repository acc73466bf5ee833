"""Shared test tools: PyTorch parity of forward and every gradient, and gradcheck in float64.

PyTorch is the oracle: a parity test runs the same operation in both libraries on the same
inputs, compares the outputs, backpropagates the same random upstream gradient through both and
compares every input's gradient. Tolerances are those the issues promise: 1e-10 relative in
float64, 1e-4 in float32, relative to the largest magnitude of the expected array.
"""

from __future__ import annotations

import numpy as np
import torch

import convnp as cn

TOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


def assert_close(actual, expected, tol: float, what: str = "") -> None:
    actual = np.asarray(actual.data if isinstance(actual, cn.Tensor) else actual)
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    if actual.dtype == bool or expected.dtype.kind in "iub":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    assert np.all(np.isfinite(actual) == np.isfinite(expected)), f"{what}: non-finite values differ"
    fin = np.isfinite(expected)
    if not fin.any():
        return
    err = np.max(np.abs(actual[fin] - expected[fin]), initial=0.0)
    scale = max(float(np.max(np.abs(expected[fin]), initial=0.0)), 1e-8)
    assert err <= tol * scale, f"{what}: max abs error {err:.3e} > {tol:g} x scale {scale:.3e}"


def compare_with_torch(
    cn_fn,
    torch_fn,
    inputs,
    *,
    dtype=np.float64,
    requires_grad=None,
    tol=None,
    seed: int = 0,
    check_grads: bool = True,
    what: str = "",
):
    """Run ``cn_fn(*cn_inputs)`` and ``torch_fn(*torch_inputs)`` on the same data and compare.

    ``inputs``: NumPy arrays (float arrays are cast to ``dtype``) or other values passed as they are.
    ``requires_grad``: one bool per input (default: every float array). Each function returns a
    tensor or a tuple whose first entry is the differentiable output (other entries are compared
    exactly, e.g. pooling indices). Returns (cn_output, torch_output).
    """
    dtype = np.dtype(dtype)
    tol = TOL[dtype] if tol is None else tol
    if requires_grad is None:
        requires_grad = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in inputs]
    cn_in, th_in = [], []
    for a, rg in zip(inputs, requires_grad):
        if isinstance(a, np.ndarray):
            arr = a.astype(dtype) if a.dtype.kind == "f" else a
            cn_in.append(cn.tensor(arr, requires_grad=rg))
            th_in.append(torch.tensor(arr, requires_grad=rg))
        else:
            cn_in.append(a)
            th_in.append(a)
    ours, theirs = cn_fn(*cn_in), torch_fn(*th_in)
    ours_t = ours if isinstance(ours, tuple) else (ours,)
    theirs_t = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours_t) == len(theirs_t), f"{what}: {len(ours_t)} outputs != {len(theirs_t)}"
    for k, (o, t) in enumerate(zip(ours_t, theirs_t)):
        assert isinstance(o, cn.Tensor), f"{what}: output {k} is {type(o).__name__}, not a Tensor"
        if o.dtype.kind == "f":
            assert o.dtype == dtype or k > 0, f"{what}: output dtype {o.dtype} != input dtype {dtype}"
        assert_close(o, t, tol, f"{what} forward output {k}")
    if check_grads and any(requires_grad):
        upstream = np.random.default_rng(seed).standard_normal(ours_t[0].shape).astype(dtype)
        ours_t[0].backward(upstream)
        theirs_t[0].backward(torch.tensor(upstream))
        for i, (c, t, rg) in enumerate(zip(cn_in, th_in, requires_grad)):
            if rg:
                assert c.grad is not None, f"{what}: no gradient reached input {i}"
                expected = t.grad if t.grad is not None else torch.zeros_like(t)
                assert c.grad.dtype == dtype, f"{what}: grad dtype {c.grad.dtype} != {dtype}"
                assert_close(c.grad, expected, tol, f"{what} gradient of input {i}")
    return ours, theirs


def check_gradcheck(fn, inputs, requires_grad=None, **kwargs) -> None:
    """cn.gradcheck on float64 copies of ``inputs`` (float arrays get requires_grad by default)."""
    if requires_grad is None:
        requires_grad = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in inputs]
    tensors = [
        cn.tensor(a.astype(np.float64), requires_grad=True)
        if rg
        else (cn.tensor(a) if isinstance(a, np.ndarray) else a)
        for a, rg in zip(inputs, requires_grad)
    ]
    assert cn.gradcheck(fn, tensors, **kwargs)


# ---------------------------------------------------------------------------------------------
# Layers: the same module in both libraries with the same weights
# ---------------------------------------------------------------------------------------------

TDT = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


def copy_weights(cn_layer, t_layer) -> None:
    result = cn_layer.load_state_dict({k: v.detach().numpy().copy() for k, v in t_layer.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys


def layer_parity(cn_layer, t_layer, inputs, dtype=np.float64, *, train=True, copy=True, seed=0, what="", kwargs=None):
    """Forward and every gradient (inputs, parameters) and the buffers after the step, both libraries.

    ``inputs``: NumPy arrays; float ones are cast to ``dtype`` and get gradients, integer ones
    (pooling indices) are passed as they are.
    """
    dtype = np.dtype(dtype)
    tol = TOL[dtype]
    kwargs = kwargs or {}
    if copy:
        t_layer.to(TDT[dtype])
        cn_layer.to(dtype)
        copy_weights(cn_layer, t_layer)
    cn_layer.train(train)
    t_layer.train(train)
    cn_in, t_in = [], []
    for a in inputs:
        if a.dtype.kind == "f":
            cn_in.append(cn.tensor(a.astype(dtype), requires_grad=True))
            t_in.append(torch.tensor(a.astype(dtype), requires_grad=True))
        else:
            cn_in.append(cn.tensor(a))
            t_in.append(torch.tensor(a))
    ours, theirs = cn_layer(*cn_in, **kwargs), t_layer(*t_in, **kwargs)
    ours_t = ours if isinstance(ours, tuple) else (ours,)
    theirs_t = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours_t) == len(theirs_t)
    for k, (o, t) in enumerate(zip(ours_t, theirs_t)):
        if o.dtype.kind == "f":
            assert o.dtype == dtype, f"{what}: output dtype {o.dtype}"
        assert_close(o, t, tol, f"{what} output {k}")
    upstream = np.random.default_rng(seed).standard_normal(ours_t[0].shape).astype(dtype)
    ours_t[0].backward(upstream)
    theirs_t[0].backward(torch.tensor(upstream))
    for i, (c, t) in enumerate(zip(cn_in, t_in)):
        if t.requires_grad:
            assert_close(c.grad, t.grad, tol, f"{what} input {i} gradient")
    ours_p, theirs_p = list(cn_layer.named_parameters()), list(t_layer.named_parameters())
    assert [n for n, _ in ours_p] == [n for n, _ in theirs_p]
    for (name, p), (_, tp) in zip(ours_p, theirs_p):
        assert p.grad is not None and p.grad.dtype == dtype, f"{what}: {name}.grad"
        assert_close(p.grad, tp.grad, tol, f"{what} {name} gradient")
    ours_s, theirs_s = cn_layer.state_dict(), t_layer.state_dict()
    assert list(ours_s) == list(theirs_s)
    for name in ours_s:
        assert_close(ours_s[name], theirs_s[name], tol, f"{what} state {name}")
    return ours, theirs


def assert_same_state_layout(cn_module, t_module) -> None:
    ours, theirs = cn_module.state_dict(), t_module.state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        assert ours[k].shape == tuple(theirs[k].shape), k
        assert ours[k].dtype == theirs[k].numpy().dtype, k


# Pooling windows with the awkward cases (overlap, ceil_mode with padding, dilation, non-square, 1-D/3-D,
# unbatched): tests/ops/test_pooling.py holds the lecture to PyTorch on them, tests/kernels the kernels.
POOL_WINDOW_CASES = {
    "2x2-2": (2, (3, 4, 12, 12), dict(kernel_size=2)),
    "2x2-2-odd-sizes": (2, (1, 3, 9, 7), dict(kernel_size=2, stride=2)),
    "2x2-2-ceil-partial": (2, (2, 2, 9, 7), dict(kernel_size=2, ceil_mode=True)),
    "3x3-2": (2, (2, 3, 11, 11), dict(kernel_size=3, stride=2)),
    "3x3-2-even-leftover": (2, (2, 2, 10, 12), dict(kernel_size=3, stride=2)),
    "3x3-2-pad1": (2, (1, 4, 12, 13), dict(kernel_size=3, stride=2, padding=1)),
    "3x3-2-ceil-partial": (2, (2, 2, 10, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    "3x3-2-pad1-ceil": (2, (2, 1, 8, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "3x3-2-dil2": (2, (1, 2, 11, 12), dict(kernel_size=3, stride=2, dilation=2)),
    "3x3-1-pad1": (2, (2, 2, 7, 6), dict(kernel_size=3, stride=1, padding=1)),
    "2x3-3x1-nonsquare": (2, (2, 2, 9, 8), dict(kernel_size=(2, 3), stride=(3, 1), padding=(1, 0), ceil_mode=True)),
    "1d-3-2-pad-ceil": (1, (2, 3, 15), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    "3d-3-2-pad1": (3, (1, 2, 7, 6, 7), dict(kernel_size=3, stride=2, padding=1)),
    "3d-2-2": (3, (2, 2, 6, 5, 4), dict(kernel_size=2)),
    "unbatched-3x3-2": (2, (3, 9, 9), dict(kernel_size=3, stride=2)),
}
