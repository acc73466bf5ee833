"""Adamax (Kingma & Ba 2015, section 7): Adam with the infinity norm in place of the second moment.

PyTorch 2.13's update, per parameter theta with gradient g at step t (betas beta1, beta2)::

    g <- -g                                      if maximize
    g <- g + lambda * theta                      if weight_decay != 0
    m <- m + (1 - beta1) * (g - m)               exp_avg (lerp towards g)
    u <- max(beta2 * u, |g| + eps)               exp_inf
    theta <- theta - lr / (1 - beta1^t) * m / u

The state of each parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer, check_adam_args

__all__ = ["Adamax"]


class Adamax(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr, betas=(float(betas[0]), float(betas[1])), eps=eps, weight_decay=weight_decay, maximize=maximize
        )
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, p, group: dict) -> None:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["exp_avg"] = np.zeros_like(param)
            state["exp_inf"] = np.zeros_like(param)
        beta1, beta2 = group["betas"]
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        g = -grad if group["maximize"] else grad
        state["step"] += 1
        if wd != 0:
            g = g + wd * param
        self._lerp_(exp_avg, g, 1 - beta1)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(g) + eps, out=exp_inf)
        clr = lr / (1 - beta1 ** float(state["step"]))
        param += (-clr) * (exp_avg / exp_inf)
