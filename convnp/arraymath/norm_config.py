"""What batch norm keeps for its backward, shared by the lecture tier and the kernels tier.

:class:`BatchNormConfig` is ``ctx.config`` of :class:`convnp.ops.normalization.BatchNorm` and of
its kernel :class:`convnp.kernels.normalization.BlockedBatchNorm`.

>>> BatchNormConfig(training=True, momentum=0.1, eps=1e-5)
BatchNormConfig(training=True, momentum=0.1, eps=1e-05)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchNormConfig:
    """training: batch statistics (and the running ones updated) or the running statistics (eval);
    momentum: running <- (1 - momentum) * running + momentum * batch statistic (training only);
    eps: added to the variance under the square root."""

    training: bool
    momentum: float | None
    eps: float
