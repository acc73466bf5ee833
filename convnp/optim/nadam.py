"""NAdam (Dozat 2016): Adam with Nesterov momentum and a momentum schedule.

PyTorch 2.13's update, per parameter theta with gradient g at step t (betas beta1, beta2, psi =
momentum_decay)::

    g <- -g                                      if maximize
    theta <- theta * (1 - lr * lambda)           decoupled_weight_decay
    g <- g + lambda * theta                      otherwise, if weight_decay != 0
    mu_t <- beta1 * (1 - 0.5 * 0.96^(t psi));  mu_{t+1} likewise
    P <- P * mu_t                                mu_product (a float32 scalar, as PyTorch keeps it)
    m <- m + (1 - beta1) * (g - m);  v <- beta2 * v + (1 - beta2) * g^2
    d <- sqrt(v / (1 - beta2^t)) + eps
    theta <- theta - lr (1 - mu_t) / (1 - P) * g / d - lr mu_{t+1} / (1 - P mu_{t+1}) * m / d

The state of each parameter: ``step``, ``mu_product`` (P), ``exp_avg`` (m), ``exp_avg_sq`` (v).
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer, check_adam_args

__all__ = ["NAdam"]


class NAdam(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(
            lr=lr,
            betas=(float(betas[0]), float(betas[1])),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        for state in self.state.values():  # a float32 scalar like step, not the parameter's dtype
            if isinstance(state, dict) and "mu_product" in state:
                state["mu_product"] = np.array(state["mu_product"], dtype=np.float32)

    def _update(self, param: np.ndarray, grad: np.ndarray, p, group: dict) -> None:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["mu_product"] = np.ones((), dtype=np.float32)
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        beta1, beta2 = group["betas"]
        lr, wd, eps, psi = group["lr"], group["weight_decay"], group["eps"], group["momentum_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        g = -grad if group["maximize"] else grad
        state["step"] += 1
        step = float(state["step"])
        bias_correction2 = 1 - beta2**step
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * wd
            else:
                g = g + wd * param
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        state["mu_product"] *= mu
        mu_product = float(state["mu_product"])
        self._lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (g * g)
        denom = np.sqrt(exp_avg_sq / bias_correction2) + eps
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        param += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
