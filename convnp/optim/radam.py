"""RAdam (Liu et al. 2020): Adam with a rectified adaptive term, plain momentum SGD while the
variance of the adaptive step is not yet tractable (rho_t <= 5).

PyTorch 2.13's update, per parameter theta with gradient g at step t (betas beta1, beta2)::

    g <- -g                                      if maximize
    theta <- theta * (1 - lr * lambda)           decoupled_weight_decay
    g <- g + lambda * theta                      otherwise, if weight_decay != 0
    m <- m + (1 - beta1) * (g - m);  v <- beta2 * v + (1 - beta2) * g^2
    rho_inf <- 2 / (1 - beta2) - 1;  rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
    r <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
    theta <- theta - lr * m / (1 - beta1^t) * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)   if rho_t > 5
    theta <- theta - lr * m / (1 - beta1^t)                                              otherwise

The state of each parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer, check_adam_args

__all__ = ["RAdam"]


class RAdam(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=(float(betas[0]), float(betas[1])),
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, p, group: dict) -> None:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        beta1, beta2 = group["betas"]
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        g = -grad if group["maximize"] else grad
        state["step"] += 1
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * wd
            else:
                g = g + wd * param
        self._lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (g * g)

        step = float(state["step"])
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2**0.5) / (np.sqrt(exp_avg_sq) + eps)
            param -= bias_corrected_exp_avg * lr * adaptive_lr * rect
        else:
            param -= bias_corrected_exp_avg * lr
