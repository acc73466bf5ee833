"""RMSprop (Hinton's lecture 6e): divide the gradient by a running root-mean-square of its past.

PyTorch 2.13's update, per parameter theta with gradient g (smoothing alpha)::

    g <- -g                                   if maximize
    g <- g + lambda * theta                   if weight_decay != 0
    v <- alpha * v + (1 - alpha) * g^2        square_avg
    gbar <- gbar + (1 - alpha) * (g - gbar)   centered: running mean of g, and
    s <- sqrt(v - gbar^2) + eps               centered (an estimate of the variance), else
    s <- sqrt(v) + eps
    b <- mu * b + g / s; theta <- theta - lr * b     if momentum > 0
    theta <- theta - lr * g / s                       otherwise
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, p, group: dict) -> None:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = self._new_step()
            state["square_avg"] = np.zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        alpha, eps, lr, wd, momentum = (
            group["alpha"],
            group["eps"],
            group["lr"],
            group["weight_decay"],
            group["momentum"],
        )
        square_avg = state["square_avg"]
        g = -grad if group["maximize"] else grad
        state["step"] += 1
        if wd != 0:
            g = g + wd * param
        square_avg *= alpha
        square_avg += (1 - alpha) * (g * g)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            self._lerp_(grad_avg, g, 1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += g / avg
            param += (-lr) * buf
        else:
            param += (-lr) * (g / avg)
