"""Adagrad (Duchi, Hazan & Singer 2011): per-coordinate step sizes from the sum of squared gradients.

PyTorch 2.13's update, per parameter theta with gradient g at step t::

    g <- -g                                      if maximize
    g <- g + lambda * theta                      if weight_decay != 0
    clr <- lr / (1 + (t - 1) * lr_decay)
    s <- s + g^2                                 sum (starts at initial_accumulator_value)
    theta <- theta - clr * g / (sqrt(s) + eps)

The state of each parameter (created at construction, as PyTorch does): ``step`` and ``sum``.
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group: dict) -> None:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])

    def _update(self, param: np.ndarray, grad: np.ndarray, p, group: dict) -> None:
        self._init_state(p, group)  # a group added later with add_param_group
        state = self.state[p]
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        state["step"] += 1
        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = g + wd * param
        clr = lr / (1 + (float(state["step"]) - 1) * group["lr_decay"])
        state["sum"] += g * g
        std = np.sqrt(state["sum"]) + eps
        param += (-clr) * (g / std)
