"""checked_once: argument checks that run once per combination of plain arguments."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as cn
from convnp.nn import functional as F
from convnp.ops.checks import _plain_key, checked_once


def _counting_check():
    calls = []

    @checked_once
    def check(size, stride):
        """Doubles the size; rejects anything but an int stride of at least 1."""
        calls.append((size, stride))
        if type(stride) is not int or stride < 1:
            raise ValueError(f"bad stride {stride!r}")
        return size * 2, stride

    return check, calls


def test_a_combination_is_checked_once_and_its_result_reused():
    check, calls = _counting_check()
    assert check((4, 5), 2) == ((4, 5, 4, 5), 2)
    assert check((4, 5), 2) == ((4, 5, 4, 5), 2)
    assert calls == [((4, 5), 2)]
    assert check((4, 5), 3) == ((4, 5, 4, 5), 3)  # another combination: checked
    assert len(calls) == 2
    assert check.__name__ == "check" and "Doubles" in check.__doc__


def test_errors_are_raised_every_time_and_never_remembered():
    check, calls = _counting_check()
    for _ in range(2):
        with pytest.raises(ValueError, match="bad stride 0"):
            check((4,), 0)
    assert len(calls) == 2


def test_true_never_stands_for_1_nor_a_float_for_an_int():
    check, calls = _counting_check()
    assert check((4,), 1) == ((4, 4), 1)
    with pytest.raises(ValueError, match="bad stride True"):
        check((4,), True)
    with pytest.raises(ValueError, match=r"bad stride 1\.0"):
        check((4,), 1.0)
    assert len(calls) == 3


def test_arguments_that_are_not_plain_are_checked_every_time():
    check, calls = _counting_check()
    check([4], 1)  # a list
    check([4], 1)
    assert len(calls) == 2
    assert _plain_key(([4], 1)) is None
    assert _plain_key(((4, True), 1)) is None  # a bool inside a tuple
    assert _plain_key(((4, np.int64(2)),)) is None
    assert _plain_key((((1, 1), (2, 2)), "same", None, 0.5, np.dtype(np.float32))) is not None
    assert _plain_key((1,)) != _plain_key((True,))


def test_a_layer_with_cached_checks_still_rejects_what_it_rejected_before():
    """The public functions keep every complaint after a good call with the same shapes."""
    x, w = cn.randn(2, 3, 8, 8), cn.randn(4, 3, 3, 3)
    assert F.conv2d(x, w, stride=1, groups=1).shape == (2, 4, 6, 6)
    with pytest.raises(TypeError, match=r"conv2d: groups must be an int\. Received: groups=True"):
        F.conv2d(x, w, stride=1, groups=True)
    with pytest.raises(TypeError, match=r"conv2d: stride must be an int or a tuple of 2 ints"):
        F.conv2d(x, w, stride=(1, True))
    assert F.max_pool2d(x, 2).shape == (2, 3, 4, 4)
    with pytest.raises(TypeError, match=r"max_pool2d: ceil_mode must be a bool\. Received: ceil_mode=1"):
        F.max_pool2d(x, 2, ceil_mode=1)
    assert F.pad(x, (1, 1)).shape == (2, 3, 8, 10)
    with pytest.raises(TypeError, match=r"pad: pad must be a tuple of ints"):
        F.pad(x, (1, True))
