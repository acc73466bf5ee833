"""What the subcommands share: the one-line user error, argument checks, the model zoo, checkpoints
and data sets opened with messages that say what is wrong and how to fix it.

A subcommand reports a problem the user can fix by raising :class:`CLIError`; ``convnp.cli.main``
prints it as ``convnp: error: <message>`` on stderr and exits with status 2 (no traceback unless
``--debug``).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from pathlib import Path

__all__ = ["CLIError", "one_line", "check_positive", "check_positive_int", "check_range", "model_names",
           "check_model_name", "build_model", "open_checkpoint", "model_from_checkpoint", "open_dataset",
           "normalize_dataset_name", "plural"]


class CLIError(Exception):
    """A problem with the command's input: printed as one line, exit status ``status`` (2)."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def one_line(message) -> str:
    """Collapse a (library) message to one line: newlines and tabs become '; ' / spaces."""
    text = str(message).strip()
    text = re.sub(r"\s*\n\s*", "; ", text)
    text = re.sub(r"[ \t]+", " ", text)
    return text


def plural(n: int, word: str) -> str:
    """'1 image', '2 images', '10 classes'."""
    if n == 1:
        return f"{n:,} {word}"
    return f"{n:,} {word}" + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


# ----------------------------------------------------------------------------- numbers

def check_positive(value, option: str, example: str) -> float:
    if value is None:
        return value
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise CLIError(f"{option} must be a positive number, for example {option} {example}; received {value}")
    return float(value)


def check_positive_int(value, option: str, example: str, minimum: int = 1) -> int:
    if value is None:
        return value
    if value < minimum:
        what = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise CLIError(f"{option} must be {what}, for example {option} {example}; received {value}")
    return int(value)


def check_range(value, option: str, low: float, high: float, example: str, *, low_open=False, high_open=True):
    if value is None:
        return value
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and \
        (value < high if high_open else value <= high)
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise CLIError(f"{option} must lie in {lo}{low:g}, {high:g}{hi}, for example {option} {example}; "
                       f"received {value:g}")
    return float(value)


# ----------------------------------------------------------------------------- models

def _zoo():
    try:
        import convnp.models as models
    except ImportError as exc:       # the model zoo is a separate part of convnp
        raise CLIError(f"the model zoo convnp.models cannot be imported ({one_line(exc)}); reinstall convnp",
                       status=1) from exc
    return models


def model_names() -> list[str]:
    return list(_zoo().list_models())


def check_model_name(name: str) -> str:
    """The model's name as the zoo spells it, or a CLIError suggesting the closest names."""
    names = model_names()
    if name in names:
        return name
    lower = {n.lower(): n for n in names}
    key = name.lower().replace("_", "").replace("-", "")
    for n in names:
        if n.lower().replace("_", "").replace("-", "") == key:
            return n
    close = difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(lower[c] for c in close)}? " if close else ""
    raise CLIError(f"unknown model '{name}'; {hint}available models: {', '.join(names)}")


def build_model(name: str, args: dict):
    """``convnp.models.get_model(name, **args)``, as float32."""
    try:
        model = _zoo().get_model(name, **args)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"cannot build model '{name}' with {args}: {one_line(exc)}") from exc
    return model


# ----------------------------------------------------------------------------- checkpoints

def open_checkpoint(path) -> dict:
    from convnp.train.checkpoint import CheckpointError, load_checkpoint
    try:
        return load_checkpoint(path)
    except CheckpointError as exc:
        raise CLIError(one_line(exc)) from exc


def model_from_checkpoint(ckpt: dict, path) -> object:
    """Rebuild the checkpoint's model from its recorded name and constructor arguments and load its weights."""
    info = ckpt["model"]
    name = info.get("name")
    if not name:
        raise CLIError(f"'{path}' records no model name, so convnp cannot rebuild its network; it was not written "
                       f"by 'convnp train'")
    names = model_names()
    if name not in names:
        raise CLIError(f"'{path}' was saved by model '{name}', which this convnp does not have; available models: "
                       f"{', '.join(names)}")
    model = build_model(name, dict(info.get("args") or {}))
    try:
        model.load_state_dict(info["state"])
    except (ValueError, RuntimeError, TypeError) as exc:
        first = one_line(exc).split("; ")[1:2] or [one_line(exc)]
        raise CLIError(f"the weights in '{path}' do not fit model '{name}' as convnp builds it "
                       f"({first[0].strip()}); the file belongs to another model or another convnp version") from exc
    model.eval()
    return model


# ----------------------------------------------------------------------------- data

def normalize_dataset_name(name: str) -> str:
    """A file-name friendly form: 'imagefolder:/data/cifar10-jpg.zip' -> 'imagefolder-cifar10-jpg'."""
    if name.startswith("imagefolder:"):
        stem = Path(name[len("imagefolder:"):].rstrip("/\\")).name
        stem = stem[:-4] if stem.lower().endswith(".zip") else stem
        return "imagefolder-" + re.sub(r"[^A-Za-z0-9._-]+", "_", stem or "data")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def open_dataset(name: str, data_dir=None, split: str = "train", **options):
    """``convnp.data.get_dataset`` with its errors turned into one-line CLIErrors."""
    from convnp.data import get_dataset, list_datasets
    from convnp.data.download import DownloadError
    try:
        return get_dataset(name, data_dir=data_dir, split=split, **options)
    except (ValueError, TypeError, OSError, EOFError, DownloadError) as exc:
        msg = one_line(exc)
        if isinstance(exc, ValueError) and msg.startswith("get_dataset: unknown dataset"):
            known = [d.split(":")[0] for d in list_datasets()]
            close = difflib.get_close_matches(name.lower(), known, n=2, cutoff=0.7)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise CLIError(f"unknown dataset '{name}'; {hint}choose one of {', '.join(list_datasets())} "
                           f"(--dataset NAME)") from exc
        msg = _cli_words(msg)
        if name.lower() not in msg.lower() and "get_dataset" not in msg:
            msg = f"dataset '{name}': {msg}"
        raise CLIError(msg) from exc


def _cli_words(msg: str) -> str:
    """The data layer speaks Python (``data_dir=``); on the command line the same things are options."""
    return (msg.replace("pass data_dir= (or set $CONVNP_DATA to)", "pass --data-dir (or set $CONVNP_DATA to)")
               .replace("data_dir=", "--data-dir ")
               .replace("get_dataset('mnist-sample')", "--dataset mnist-sample"))


def checkpoint_and_data(args):
    """What ``convnp eval`` and ``convnp inspect`` start from: (checkpoint, its rebuilt model, the
    data section it recorded, the data set's name (--dataset, else the recorded one), the data
    set opened from --data-dir or the recorded folder, split --split)."""
    ckpt = open_checkpoint(args.checkpoint)
    model = model_from_checkpoint(ckpt, args.checkpoint)
    data = ckpt.get("data") or {}
    name = args.dataset or data.get("dataset")
    if not name:
        raise CLIError(f"'{args.checkpoint}' records no data set; give one with --dataset NAME")
    dataset = open_dataset(name, data_dir_of(args.data_dir, data.get("data_dir")), args.split)
    return ckpt, model, data, name, dataset


def data_dir_of(args_dir, recorded) -> str | None:
    """--data-dir if given, else the directory the checkpoint recorded when it still exists, else None."""
    if args_dir is not None:
        return args_dir
    if recorded and os.path.isdir(recorded):
        return recorded
    return None
