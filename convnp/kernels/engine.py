"""The engine switch: which tier computes each family of operations.

Every operation has a lecture Function in ``convnp/ops/<family>.py`` (the textbook forward and
backward, NumPy only) and may have faster kernels in ``convnp/kernels/<family>.py`` with the same
contract. One switch per family says which runs:

``"auto"``       (the default) the family's selector picks a kernel by its measured thresholds, or
                 the lecture Function where no kernel pays;
``"reference"``  always the lecture Function: the code a learner reads is the code that runs;
a kernel name    that kernel wherever it applies (the lecture Function elsewhere).

>>> import convnp as cn
>>> cn.set_engine("reference")                  # every family runs as the lecture writes it
>>> cn.get_engine("conv")
'reference'
>>> cn.set_engine("auto", conv="shifted")       # everything auto, convolution always shifted
>>> with cn.engine("reference"):
...     cn.get_engine("pool")
'reference'
>>> cn.get_engine("pool"), cn.get_engine("conv")
('auto', 'shifted')
>>> cn.set_engine("auto")
"""

from __future__ import annotations

import contextlib

# family -> its kernels' names (besides "auto" and "reference"); each kernels/<family>.py has them
FAMILIES: dict[str, tuple[str, ...]] = {
    "conv": ("shifted", "blocked", "chwn", "pointwise", "dense", "depthwise"),
    "pool": ("separable", "tiled"),
    "activation": ("bitmask",),
    "norm": ("blocked",),
    "loss": ("indexed",),
    "linear": ("one_thread",),
}
COMMON = ("auto", "reference")

_chosen: dict[str, str] = dict.fromkeys(FAMILIES, "auto")


def _check(family: str, name) -> str:
    allowed = COMMON + FAMILIES[family]
    if not isinstance(name, str):
        raise TypeError(
            f"set_engine: the engine of {family!r} must be a str, one of {', '.join(allowed)}. "
            f"Received: {name!r} of type {type(name).__name__}"
        )
    if name not in allowed:
        raise ValueError(
            f"set_engine: unknown engine for {family!r}; expected one of {', '.join(allowed)}. "
            f"Received: {family}={name!r}"
        )
    return name


def set_engine(name: str | None = None, /, **families: str) -> None:
    """Choose the engine of every family (``name``: "auto" or "reference") and/or of single families
    (``conv="shifted"``, ``pool="reference"``, ...). Families: conv, pool, activation, norm, loss."""
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ValueError(
            f"set_engine: unknown family; expected some of {', '.join(FAMILIES)}. "
            f"Received: {', '.join(f'{k}=...' for k in unknown)}"
        )
    if name is not None and _check_common(name):
        new = dict.fromkeys(FAMILIES, name)
    else:
        new = dict(_chosen)
    for family, value in families.items():
        new[family] = _check(family, value)
    _chosen.update(new)


def _check_common(name) -> bool:
    if not isinstance(name, str) or name not in COMMON:
        raise ValueError(
            f"set_engine: the engine of every family must be one of {', '.join(COMMON)} "
            f"(name a kernel per family, e.g. set_engine(conv='shifted')). Received: {name!r}"
        )
    return True


def get_engine(family: str | None = None):
    """The engine of ``family`` ("auto" unless changed), or of every family as a dict."""
    if family is None:
        return dict(_chosen)
    if family not in FAMILIES:
        raise ValueError(f"get_engine: unknown family; expected one of {', '.join(FAMILIES)}. Received: {family!r}")
    return _chosen[family]


@contextlib.contextmanager
def engine(name: str | None = None, /, **families: str):
    """``with cn.engine("reference"): ...`` runs the block on other engines, then restores them."""
    previous = dict(_chosen)
    set_engine(name, **families)
    try:
        yield
    finally:
        _chosen.clear()
        _chosen.update(previous)
