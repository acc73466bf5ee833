"""The random source of convnp.

Everything random in convnp (cn.randn, weight initialisation, dropout masks, shuffling,
augmentation) draws from a NumPy Generator. Functions take an optional ``generator``; without
one they use the default generator, which :func:`manual_seed` resets, so one call makes a whole
run reproducible.
"""

from __future__ import annotations

import numpy as np

_default = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator (like torch.manual_seed) and return it."""
    global _default
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int. Received: seed={seed!r}")
    _default = np.random.default_rng(int(seed))
    return _default


def default_generator() -> np.random.Generator:
    return _default


def get_rng_state() -> dict:
    """The default generator's state, a plain dict (JSON-serialisable) for checkpoints."""
    return _default.bit_generator.state


def set_rng_state(state: dict) -> None:
    _default.bit_generator.state = state


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    return _default if generator is None else generator
