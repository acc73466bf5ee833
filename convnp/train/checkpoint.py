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

import math
import os
from typing import Any

import numpy as np

from convnp.arraymath.random import get_rng_state, set_rng_state
from convnp.serialization import load, save

__all__ = [
    "CheckpointError",
    "FORMAT",
    "FORMAT_VERSION",
    "make_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "restore_rng",
    "model_state_of",
    "is_checkpoint",
    "check_metadata",
    "nonfinite_tensors",
    "check_finite_weights",
    "MAX_CLASSES",
    "MAX_EPOCHS",
    "MAX_CHANNELS",
    "MAX_IMAGE_SIDE",
    "SMALL_MODEL_ARG",
]

FORMAT = "convnp.checkpoint"
FORMAT_VERSION = 1

# Caps on what a checkpoint's metadata may claim (it comes from a file, so it is checked by type and
# range before anything is built from it). Adjust them here (``convnp.train.checkpoint.MAX_CLASSES = ...``).
MAX_CLASSES = 100_000  # data.classes and model.args.num_classes (ImageNet-21k has 21,841)
MAX_EPOCHS = 1_000_000  # epoch, config.epochs
MAX_CHANNELS = 64  # data.channels (images have 1 or 3)
MAX_IMAGE_SIDE = 8192  # data.image_size: height and width
# A whole-number model argument (num_classes, in_channels, hidden_units, ...) sizes a layer, so it may
# not exceed the largest axis of the file's own (non-empty) model tensors, or this much when that is smaller.
SMALL_MODEL_ARG = 64


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


def make_checkpoint(
    model,
    optimizer=None,
    scheduler=None,
    *,
    epoch: int,
    model_name: str | None = None,
    model_args: dict | None = None,
    data: dict | None = None,
    config: dict | None = None,
    history: list | None = None,
    best: dict | None = None,
    loader_generator: np.random.Generator | None = None,
) -> dict[str, Any]:
    """The checkpoint dict of the current state (arrays are copies: later training does not change it)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "convnp_version": _version(),
        "epoch": int(epoch),
        "model": {"name": model_name, "args": _plain(dict(model_args or {})), "state": dict(model.state_dict())},
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": {
            "global": get_rng_state(),
            "loader": loader_generator.bit_generator.state if loader_generator is not None else None,
        },
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
        raise CheckpointError(
            f"checkpoint '{path}' does not exist; give the path of a .safetensors file that "
            f"'convnp train' wrote (for example runs/lenet5-mnist/best.safetensors)"
        )
    if os.path.isdir(path):
        raise CheckpointError(
            f"checkpoint '{path}' is a directory; give a file in it, such as '{os.path.join(path, 'best.safetensors')}'"
        )
    try:
        obj = load(path)
    except (ValueError, OSError) as exc:
        detail = str(exc).replace(f"'{path}' ", "").removeprefix("load: ")
        raise CheckpointError(
            f"'{path}' is not a readable convnp checkpoint ({detail}); give a "
            f".safetensors file that 'convnp train' wrote"
        ) from None
    if not is_checkpoint(obj):
        kind = (
            "a plain weights file (tensors only)"
            if isinstance(obj, dict) and obj and all(isinstance(v, np.ndarray) for v in obj.values())
            else "another kind of safetensors file"
        )
        raise CheckpointError(
            f"'{path}' is {kind}, not a convnp training checkpoint (it records no model name, "
            f"classes or normalisation); use last.safetensors or best.safetensors from a "
            f"'convnp train' run"
        )
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"'{path}' is a convnp checkpoint of format version {version!r}; this convnp reads version {FORMAT_VERSION}"
        )
    model = obj.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("state"), dict):
        raise CheckpointError(f"'{path}' is a damaged convnp checkpoint: it holds no model weights")
    check_metadata(obj, path)
    return obj


# ----------------------------------------------------------------------------- metadata checks


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value) -> str:
    if value is None:
        return "null"
    name = type(value).__name__
    return ("an " if name[0] in "aeiou" else "a ") + name


def _bad(path, field: str, expected: str, value) -> CheckpointError:
    return CheckpointError(
        f"'{path}' has invalid metadata: {field} must be {expected}; received {_show(value)} "
        f"({_kind(value)}); the file was damaged or not written by 'convnp train'"
    )


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _int_in(d: dict, key: str, path, field: str, low: int, high: int) -> None:
    v = d.get(key)
    if v is not None and not (_is_int(v) and low <= v <= high):
        raise _bad(path, field, f"a whole number from {low:,} to {high:,}", v)


def _largest_axis(state: dict) -> int:
    """The longest axis of the model's non-empty tensors (0 when there are none)."""
    return max((max(a.shape) for a in state.values() if isinstance(a, np.ndarray) and a.ndim and a.size), default=0)


def check_metadata(obj: dict, path) -> None:
    """Check what a checkpoint says about itself by type and range before anything uses it (every
    entry is optional; present ones must make sense). Raises CheckpointError naming the entry:
    ``epoch`` (0..MAX_EPOCHS), ``model.name``, ``model.args`` (whole numbers at most the largest axis of
    the file's model tensors or SMALL_MODEL_ARG; num_classes = the number of classes), ``data``
    (classes: 1..MAX_CLASSES names; channels; image_size; mean and std: finite, one per channel, std > 0),
    ``config`` (the recorded training options), ``history`` and ``best``."""
    _int_in(obj, "epoch", path, "epoch", 0, MAX_EPOCHS)
    if obj.get("epoch") is None:
        raise _bad(path, "epoch", "the number of completed epochs", None)
    model = obj["model"]
    if model.get("name") is not None and not isinstance(model["name"], str):
        raise _bad(path, "model.name", "a model name (a string)", model["name"])
    args = model.get("args")
    if args is not None and not (isinstance(args, dict) and all(isinstance(k, str) for k in args)):
        raise _bad(path, "model.args", "a dict of constructor arguments by name", args)
    args = args or {}
    cap = max(SMALL_MODEL_ARG, _largest_axis(model["state"]))
    for key, v in args.items():
        if _is_int(v) and not 0 <= v <= cap:
            raise _bad(
                path,
                f"model.args.{key}",
                f"a whole number from 0 to {cap:,} (the largest axis of the file's model tensors)",
                v,
            )
        if _is_real(v) and not _is_int(v) and not (math.isfinite(v) and abs(v) <= cap):
            raise _bad(path, f"model.args.{key}", f"a finite number of size at most {cap:,}", v)
    if args.get("num_classes") is not None and not (_is_int(args["num_classes"]) and args["num_classes"] >= 1):
        raise _bad(path, "model.args.num_classes", "a positive whole number", args["num_classes"])

    data = obj.get("data")
    if data is not None and not isinstance(data, dict):
        raise _bad(path, "data", "a dict (dataset, classes, mean, std, channels, image_size)", data)
    data = data or {}
    for key in ("dataset", "data_dir"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise _bad(path, f"data.{key}", "a string", data[key])
    classes = data.get("classes")
    if classes is not None:
        if not (
            isinstance(classes, list)
            and 1 <= len(classes) <= MAX_CLASSES
            and all(isinstance(c, str) or _is_int(c) for c in classes)
        ):
            raise _bad(path, "data.classes", f"a list of 1 to {MAX_CLASSES:,} class names", classes)
        k = args.get("num_classes")
        if k is not None and k != len(classes):
            raise CheckpointError(
                f"'{path}' has invalid metadata: model.args.num_classes is {k:,} but data.classes "
                f"names {len(classes):,} classes; expected the same number; the file was damaged or "
                f"not written by 'convnp train'"
            )
    _int_in(data, "channels", path, "data.channels", 1, MAX_CHANNELS)
    size = data.get("image_size")
    if size is not None and not (
        isinstance(size, list) and len(size) == 2 and all(_is_int(v) and 1 <= v <= MAX_IMAGE_SIDE for v in size)
    ):
        raise _bad(path, "data.image_size", f"[height, width], two whole numbers from 1 to {MAX_IMAGE_SIDE:,}", size)
    channels = data.get("channels")
    for key in ("mean", "std"):
        v = data.get(key)
        if v is None:
            continue
        n = f"{channels} " if channels is not None else ""
        if not (
            isinstance(v, list)
            and 1 <= len(v) <= MAX_CHANNELS
            and all(_is_real(x) for x in v)
            and all(np.isfinite(float(x)) for x in v)
            and (channels is None or len(v) == channels)
            and (key == "mean" or all(x > 0 for x in v))
        ):
            what = "finite number" if key == "mean" else "positive finite number"
            what += "" if channels == 1 else "s"
            raise _bad(path, f"data.{key}", f"a list of {n}{what}, one per channel", v)

    _check_config(obj.get("config"), path)
    history = obj.get("history")
    if history is not None and not (
        isinstance(history, list)
        and len(history) <= MAX_EPOCHS
        and all(isinstance(h, dict) and all(v is None or _is_real(v) for v in h.values()) for h in history)
    ):
        raise _bad(path, "history", "a list of per-epoch dicts of numbers", history)
    best = obj.get("best")
    if best is not None:
        if not (
            isinstance(best, dict)
            and _is_int(best.get("epoch"))
            and 0 <= best["epoch"] <= MAX_EPOCHS
            and _is_real(best.get("value"))
        ):
            raise _bad(path, "best", 'null or {"epoch": a whole number, "metric": ..., "value": a number}', best)


def _check_config(config, path) -> None:
    """The recorded training options (what ``--resume`` continues with)."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise _bad(path, "config", "a dict of the training options", config)
    from convnp.train.setup import AUGMENTS, OPTIMIZERS, SCHEDULERS

    for key, low, high in (
        ("epochs", 1, MAX_EPOCHS),
        ("batch_size", 1, 1 << 31),
        ("seed", 0, (1 << 63) - 1),
        ("limit_train", 1, 1 << 62),
    ):
        _int_in(config, key, path, f"config.{key}", low, high)
    for key, low, high, open_low in (
        ("lr", 0.0, math.inf, True),
        ("momentum", 0.0, 1.0, False),
        ("weight_decay", 0.0, math.inf, False),
        ("val_split", 0.0, 1.0, True),
        ("backbone_lr_scale", 0.0, 1.0, True),
    ):
        v = config.get(key)
        if v is None:
            continue
        ok = _is_real(v) and math.isfinite(v) and (v > low if open_low else v >= low) and v <= high
        if not ok:
            lo = "(" if open_low else "["
            hi = "]" if high != math.inf else ")"
            raise _bad(path, f"config.{key}", f"a number in {lo}{low:g}, {high:g}{hi}", v)
    for key, choices in (("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS), ("augment", AUGMENTS)):
        v = config.get(key)
        if v is not None and v not in choices:
            raise _bad(path, f"config.{key}", f"one of {', '.join(choices)}", v)
    for key in ("init_from", "data_dir"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise _bad(path, f"config.{key}", "a path (a string)", config[key])
    for key in ("freeze", "pretrained"):
        v = config.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise _bad(path, f"config.{key}", "a list of layer names", v)
    v = config.get("model_args")
    if v is not None and not (isinstance(v, dict) and all(isinstance(k, str) for k in v)):
        raise _bad(path, "config.model_args", "a dict of constructor arguments by name", v)


def nonfinite_tensors(state: dict) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold a NaN or an infinity."""
    bad = []
    for name, a in state.items():
        if isinstance(a, np.ndarray) and a.dtype.kind in "fc" and a.size and not np.isfinite(a).all():
            bad.append(str(name))
    return bad


def check_finite_weights(checkpoint: dict, path) -> None:
    """CheckpointError when the checkpoint's model weights hold NaN or infinity (a diverged run):
    such a network predicts nothing, and its scores would be meaningless."""
    bad = nonfinite_tensors(checkpoint["model"]["state"])
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise CheckpointError(
            f"'{path}' holds non-finite weights (NaN or infinity in model.state.{bad[0]}{more}); "
            f"the run that wrote it diverged: train again with a lower --lr"
        )


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
