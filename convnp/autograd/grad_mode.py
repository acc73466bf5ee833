"""Whether operations record the graph: ``with cn.no_grad():`` turns recording off."""

from __future__ import annotations

import contextlib

_enabled = True


def is_grad_enabled() -> bool:
    return _enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager (and decorator) that turns graph recording on or off."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        global _enabled
        self.prev = _enabled
        _enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.prev
        return False


class no_grad(set_grad_enabled):
    """Inside ``with cn.no_grad():`` (or a function decorated with ``@cn.no_grad()``) nothing is
    recorded: results have requires_grad=False and hold no graph, as for inference."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(True)
