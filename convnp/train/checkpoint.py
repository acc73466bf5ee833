"""Training checkpoints: everything ``eval``, ``predict`` and ``--resume`` need, in one safetensors file.

A checkpoint is a nested dict written with ``convnp.save`` (atomic: temporary file, fsync,
``os.replace``), so the tensors are ordinary safetensors tensors (``model.state.conv1.weight``)
and the rest is JSON in the header::

    {"format": "convnp.checkpoint", "format_version": 1, "convnp_version": "0.1.0",
     "epoch": 3,                                   # completed epochs
     "model": {"name": "lenet5", "args": {"num_classes": 10, "in_channels": 1}, "state": {...}},
     "optimizer": {...} | None, "scheduler": {...} | None,
     "rng": {"global": {...}, "loader": {...} | None},       # NumPy bit-generator states
     "data": {"dataset": "mnist", "data_dir": ..., "classes": [...], "mean": [...], "std": [...],
              "channels": 1, "image_size": [28, 28]},
     "config": {...},                              # the training options, for --resume
     "history": [{...}, ...], "best": {"epoch": 3, "metric": "test_accuracy", "value": 0.99} | None}

>>> import numpy as np, os, tempfile
>>> from convnp.nn import Linear
>>> path = os.path.join(tempfile.mkdtemp(), "last.safetensors")
>>> save_checkpoint(path, make_checkpoint(Linear(2, 3), epoch=1, model_name="linear", model_args={}))
>>> load_checkpoint(path)["epoch"]
1
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from convnp.arraymath.random import get_rng_state, set_rng_state
from convnp.serialization import load, save

__all__ = ["CheckpointError", "FORMAT", "FORMAT_VERSION", "make_checkpoint", "save_checkpoint", "load_checkpoint",
           "restore_rng", "model_state_of", "is_checkpoint"]

FORMAT = "convnp.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable convnp training checkpoint (missing, corrupt, another kind of
    file, another model). The message names the file and what to do."""


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("convnp")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "unknown"


def _plain(value):
    """NumPy scalars and tuples -> Python numbers and lists (JSON-friendly metadata)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def make_checkpoint(model, optimizer=None, scheduler=None, *, epoch: int, model_name: str | None = None,
                    model_args: dict | None = None, data: dict | None = None, config: dict | None = None,
                    history: list | None = None, best: dict | None = None,
                    loader_generator: np.random.Generator | None = None) -> dict[str, Any]:
    """The checkpoint dict of the current state (arrays are copies: later training does not change it)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "convnp_version": _version(),
        "epoch": int(epoch),
        "model": {"name": model_name, "args": _plain(dict(model_args or {})), "state": dict(model.state_dict())},
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": {"global": get_rng_state(),
                "loader": loader_generator.bit_generator.state if loader_generator is not None else None},
        "data": _plain(dict(data or {})),
        "config": _plain(dict(config or {})),
        "history": _plain(list(history or [])),
        "best": _plain(best) if best else None,
    }


def save_checkpoint(path, checkpoint: dict) -> None:
    """Write ``checkpoint`` to ``path`` atomically (the previous file survives a crash mid-write)."""
    save(checkpoint, path)


def is_checkpoint(obj) -> bool:
    return isinstance(obj, dict) and obj.get("format") == FORMAT


def load_checkpoint(path) -> dict[str, Any]:
    """Read and check a training checkpoint. Raises CheckpointError (a ValueError) with a one-line
    message for a missing file, a file that is not safetensors, a truncated file, or a safetensors
    file that is not a convnp training checkpoint (a plain weights file, for example)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint '{path}' does not exist; give the path of a .safetensors file that "
                              f"'convnp train' wrote (for example runs/lenet5-mnist/best.safetensors)")
    if os.path.isdir(path):
        raise CheckpointError(f"checkpoint '{path}' is a directory; give a file in it, such as "
                              f"'{os.path.join(path, 'best.safetensors')}'")
    try:
        obj = load(path)
    except (ValueError, OSError) as exc:
        detail = str(exc).replace(f"'{path}' ", "").removeprefix("load: ")
        raise CheckpointError(f"'{path}' is not a readable convnp checkpoint ({detail}); give a "
                              f".safetensors file that 'convnp train' wrote") from None
    if not is_checkpoint(obj):
        kind = ("a plain weights file (tensors only)" if isinstance(obj, dict) and obj
                and all(isinstance(v, np.ndarray) for v in obj.values()) else "another kind of safetensors file")
        raise CheckpointError(f"'{path}' is {kind}, not a convnp training checkpoint (it records no model name, "
                              f"classes or normalisation); use last.safetensors or best.safetensors from a "
                              f"'convnp train' run")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"'{path}' is a convnp checkpoint of format version {version!r}; this convnp reads "
                              f"version {FORMAT_VERSION}")
    model = obj.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("state"), dict):
        raise CheckpointError(f"'{path}' is a damaged convnp checkpoint: it holds no model weights")
    return obj


def model_state_of(obj) -> dict[str, np.ndarray]:
    """The model's state dict from a checkpoint dict, or ``obj`` itself when it is a plain state dict."""
    if is_checkpoint(obj):
        return dict(obj["model"]["state"])
    return {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}


def restore_rng(checkpoint: dict, loader_generator: np.random.Generator | None = None) -> None:
    """Put back the global generator's state (dropout, initialisation) and, when given, the
    training loader's shuffling/augmentation generator."""
    rng = checkpoint.get("rng") or {}
    if rng.get("global") is not None:
        set_rng_state(rng["global"])
    if loader_generator is not None and rng.get("loader") is not None:
        loader_generator.bit_generator.state = rng["loader"]
