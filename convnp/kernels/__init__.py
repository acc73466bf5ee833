"""The kernels tier: fast paths with the same contract as the lecture Functions of convnp/ops.

A kernel computes what its lecture twin computes (the same inputs and outputs, the same values to
float rounding, the same state saved for backward) by a faster route: threads, cache-sized
blocks, bit tricks, BLAS calls in place. Each family's selector (``select`` in
``kernels/<family>.py``) picks a kernel by named thresholds that carry the measurement that set
them; :mod:`convnp.kernels.engine` holds the switch (``cn.set_engine``). Kernels import arraymath
and autograd, never convnp.ops: the lecture tier calls the selector, not the other way round.

Read convnp/ops first; come here to see how the same sums are made fast.
"""
