"""Atomic file writes for run outputs (metrics.json, metrics.csv, PNGs).

The bytes go to a temporary file beside the destination, are flushed and fsync'ed, and then
``os.replace`` puts them in place: a reader (or a crash, or Ctrl-C) sees the old file or the new
one, never half of one.
"""

from __future__ import annotations

import csv
import io
import json
import math

from convnp.serialization import atomic_write

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_json", "write_csv"]


def atomic_write_bytes(path, data: bytes) -> None:
    """Write a file atomically (see convnp.serialization.atomic_write): a crash leaves the old file."""
    atomic_write(path, data, op="write")


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_safe(value):
    """NaN and infinities become null (strict JSON); NumPy scalars become Python numbers."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(_json_safe(obj), indent=2, allow_nan=False) + "\n")


def write_csv(path, rows: list[dict]) -> None:
    """One row per dict; the columns are the keys in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in _json_safe(row).items()})
    atomic_write_text(path, buf.getvalue())
