"""Adam and AdamW: adaptive moment estimation (Kingma & Ba 2015; decoupled decay, Loshchilov & Hutter 2019).

PyTorch 2.13's update, per parameter theta with gradient g at step t (betas beta1, beta2)::

    g <- -g                                      if maximize
    theta <- theta * (1 - lr * lambda)           AdamW (decoupled weight decay)
    g <- g + lambda * theta                      Adam with weight_decay (L2 in the gradient)
    m <- m + (1 - beta1) * (g - m)               first moment  (lerp towards g)
    v <- beta2 * v + (1 - beta2) * g^2           second moment
    v_max <- max(v_max, v)                       amsgrad: normalise by the running maximum
    theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v or v_max) / sqrt(1 - beta2^t) + eps)

The state of each parameter: ``step`` (a 0-d float32 array), ``exp_avg`` (m), ``exp_avg_sq`` (v)
and, with amsgrad, ``max_exp_avg_sq``.
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer, check_adam_args

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=(float(betas[0]), float(betas[1])),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
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
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
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
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = np.sqrt(state["max_exp_avg_sq"]) / bias_correction2_sqrt + eps
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
        param += (-step_size) * (exp_avg / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``theta <- theta * (1 - lr * weight_decay)`` before the Adam
    step, instead of adding ``weight_decay * theta`` to the gradient (default weight_decay 1e-2)."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
