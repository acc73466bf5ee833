"""Finite-difference gradient checking: the test that a hand-written backward is right."""

from __future__ import annotations

import numpy as np

from convnp.autograd.tensor import Tensor


class GradcheckError(AssertionError):
    pass


def _scalar_output(fn, inputs, weights):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0.0
    for o, w in zip(outs, weights):
        if isinstance(o, Tensor) and w is not None:
            total = total + float(np.sum(o.data * w))
    return outs, total


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare every input's analytic gradient with central finite differences.

    ``fn(*inputs)`` returns a tensor (or a tuple of them). It is reduced to the scalar
    sum(output * r) with a fixed random r, so that every output element weighs differently and a
    gradient sent to the wrong element shows. For each input tensor with requires_grad, each
    element x_i is nudged: (L(x_i + eps) - L(x_i - eps)) / (2 eps) must equal dL/dx_i from
    backward within atol + rtol * |numeric|. Inputs should be float64.

    Returns True, or raises GradcheckError naming the input, the worst element and both values.
    """
    inputs = list(inputs)
    targets = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not targets:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in targets:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64")
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(o.shape) if isinstance(o, Tensor) and o.requires_grad else None for o in outs]
    for i in targets:
        inputs[i].grad = None
    loss = None
    for o, w in zip(outs, weights):
        if w is not None:
            term = (o * Tensor(w, _copy=False)).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        raise ValueError("gradcheck: no output of fn requires grad")
    loss.backward()
    for i in targets:
        x = inputs[i]
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        numeric = np.zeros_like(x.data)
        flat = x.data.reshape(-1)  # a view: nudging it nudges the input
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + eps
            _, plus = _scalar_output(fn, inputs, weights)
            flat[j] = keep - eps
            _, minus = _scalar_output(fn, inputs, weights)
            flat[j] = keep
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(error > 0):
            worst = np.unravel_index(int(np.argmax(error)), x.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) gradient mismatch at index {worst}: "
                f"analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g} "
                f"({int(np.sum(error > 0))} of {x.size} elements outside atol={atol}, rtol={rtol})"
            )
    return True
