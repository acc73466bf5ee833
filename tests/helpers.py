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


def compare_with_torch(cn_fn, torch_fn, inputs, *, dtype=np.float64, requires_grad=None, tol=None,
                       seed: int = 0, check_grads: bool = True, what: str = ""):
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
    tensors = [cn.tensor(a.astype(np.float64), requires_grad=True) if rg else
               (cn.tensor(a) if isinstance(a, np.ndarray) else a) for a, rg in zip(inputs, requires_grad)]
    assert cn.gradcheck(fn, tensors, **kwargs)
