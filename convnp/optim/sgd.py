"""SGD: stochastic gradient descent with optional momentum, dampening, Nesterov, weight decay.

PyTorch 2.13's update, per parameter theta with gradient g (lr gamma, momentum mu, dampening tau,
weight decay lambda)::

    g <- -g                       if maximize
    g <- g + lambda * theta       if lambda != 0        (L2 penalty in the gradient)
    b <- g                        at the first step     (momentum buffer starts at the gradient)
    b <- mu * b + (1 - tau) * g   afterwards
    g <- g + mu * b               if nesterov, else g <- b
    theta <- theta - gamma * g

>>> import numpy as np, convnp as cn
>>> from convnp.nn import Parameter
>>> w = Parameter(np.array([1.0, 2.0]))
>>> w.grad = np.array([0.5, -1.0])
>>> SGD([w], lr=0.1).step()
>>> w.data
array([0.95, 2.1 ])
"""

from __future__ import annotations

import numpy as np

from convnp.optim.optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, p, group: dict) -> None:
        momentum, lr = group["momentum"], group["lr"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * param
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = np.array(g, copy=True)
                state["momentum_buffer"] = buf
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        param += (-lr) * g
