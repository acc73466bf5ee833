"""convnp keeps freed memory mapped (glibc mallopt), unless CONVNP_KEEP_FREED_MEMORY=0."""

import os
import subprocess
import sys

import pytest

from convnp.arraymath import allocator


def _in_fresh_process(env_value):
    env = dict(os.environ)
    env.pop("CONVNP_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["CONVNP_KEEP_FREED_MEMORY"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", "import convnp; print(convnp.keeps_freed_memory())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.skipif(allocator._MALLOPT is None, reason="needs glibc (mallopt); elsewhere it is a no-op")
def test_import_keeps_freed_memory_unless_told_not_to():
    assert _in_fresh_process(None) == "True"
    assert _in_fresh_process("1") == "True"
    assert _in_fresh_process("0") == "False"


@pytest.mark.skipif(allocator._MALLOPT is None, reason="needs glibc (mallopt); elsewhere it is a no-op")
def test_keep_freed_memory_switches_both_ways():
    before = allocator.keeps_freed_memory()
    try:
        assert allocator.keep_freed_memory(False) is True
        assert allocator.keeps_freed_memory() is False
        assert allocator.keep_freed_memory(True) is True
        assert allocator.keeps_freed_memory() is True
    finally:
        allocator.keep_freed_memory(before)


def test_keep_freed_memory_wants_a_bool():
    with pytest.raises(TypeError, match=r"keep must be a bool. Received: 1"):
        allocator.keep_freed_memory(1)
