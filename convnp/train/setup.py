"""What a training run needs before its first batch, with errors that say what is wrong and how to fix it.

A setting that cannot work (a negative learning rate, an unknown model or data set, a missing
checkpoint, a model that cannot take the data set's images) raises :class:`SetupError`, a
ValueError (:class:`SetupFileNotFoundError` for a missing file, a FileNotFoundError too), with a
one-line message. ``convnp train`` prints that message as ``convnp: error: ...`` and exits with
status 2; the messages name the command-line options (``--lr``), which are the fields of
:class:`convnp.train.TrainingRun` with dashes for underscores (``lr``).

>>> check_positive(0.05, "--lr", "0.05")
0.05
>>> check_positive(-1, "--lr", "0.05")
Traceback (most recent call last):
...
convnp.train.setup.SetupError: --lr must be a positive number, for example --lr 0.05; received -1
>>> normalize_dataset_name("imagefolder:/data/cifar10-jpg.zip")
'imagefolder-cifar10-jpg'
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from pathlib import Path

__all__ = [
    "SetupError",
    "SetupFileNotFoundError",
    "one_line",
    "plural",
    "check_positive",
    "check_positive_int",
    "check_range",
    "check_choice",
    "parse_model_args",
    "model_names",
    "check_model_name",
    "build_model",
    "open_dataset",
    "normalize_dataset_name",
    "make_optimizer",
    "make_scheduler",
    "OPTIMIZERS",
    "SCHEDULERS",
    "AUGMENTS",
]

OPTIMIZERS = ("sgd", "adam", "adamw", "adadelta", "rmsprop")
SCHEDULERS = ("cosine", "onecycle", "step", "none")
AUGMENTS = ("none", "shift", "flip", "standard")


class SetupError(ValueError):
    """A training run that cannot start as asked: the message (one line) names the problem and the fix."""


class SetupFileNotFoundError(SetupError, FileNotFoundError):
    """A file the run needs (a checkpoint to resume or to start from) does not exist."""


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


# ----------------------------------------------------------------------------- numbers and names


def check_positive(value, option: str, example: str) -> float:
    if value is None:
        return value
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise SetupError(f"{option} must be a positive number, for example {option} {example}; received {value}")
    return float(value)


def check_positive_int(value, option: str, example: str, minimum: int = 1) -> int:
    if value is None:
        return value
    if value < minimum:
        what = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"
        raise SetupError(f"{option} must be {what}, for example {option} {example}; received {value}")
    return int(value)


def check_range(value, option: str, low: float, high: float, example: str, *, low_open=False, high_open=True):
    if value is None:
        return value
    ok = (
        math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open else value <= high)
    )
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise SetupError(
            f"{option} must lie in {lo}{low:g}, {high:g}{hi}, for example {option} {example}; received {value:g}"
        )
    return float(value)


def check_choice(value, option: str, choices) -> str:
    """``value`` if it is one of ``choices`` (or None), else a SetupError listing them."""
    if value is not None and value not in choices:
        raise SetupError(f"{option} must be one of {', '.join(choices)}; received {value!r}")
    return value


def parse_model_args(items) -> dict:
    """``["variant=original", "width=8"]`` -> ``{"variant": "original", "width": 8}`` (values read as
    Python literals when they are ones, else kept as strings); a dict is returned as a copy."""
    if isinstance(items, dict):
        return dict(items)
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SetupError(
                f"--model-arg expects KEY=VALUE, for example --model-arg variant=original; received {item!r}"
            )
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


# ----------------------------------------------------------------------------- models


def model_names() -> list[str]:
    import convnp.models as models

    return list(models.list_models())


def check_model_name(name: str) -> str:
    """The model's name as the zoo spells it, or a SetupError suggesting the closest names."""
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
    raise SetupError(f"unknown model '{name}'; {hint}available models: {', '.join(names)}")


def build_model(name: str, args: dict):
    """``convnp.models.get_model(name, **args)``; a SetupError when the arguments do not fit."""
    import convnp.models as models

    try:
        return models.get_model(name, **args)
    except (TypeError, ValueError) as exc:
        raise SetupError(f"cannot build model '{name}' with {args}: {one_line(exc)}") from exc


# ----------------------------------------------------------------------------- data


def normalize_dataset_name(name: str) -> str:
    """A file-name friendly form: 'imagefolder:/data/cifar10-jpg.zip' -> 'imagefolder-cifar10-jpg'."""
    if name.startswith("imagefolder:"):
        stem = Path(name[len("imagefolder:") :].rstrip("/\\")).name
        stem = stem[:-4] if stem.lower().endswith(".zip") else stem
        return "imagefolder-" + re.sub(r"[^A-Za-z0-9._-]+", "_", stem or "data")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def open_dataset(name: str, data_dir=None, split: str = "train", **options):
    """``convnp.data.get_dataset`` with its errors turned into one-line SetupErrors (in the data
    layer's words: ``data_dir=``; the command line says ``--data-dir``)."""
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
            raise SetupError(
                f"unknown dataset '{name}'; {hint}choose one of {', '.join(list_datasets())} (--dataset NAME)"
            ) from exc
        if name.lower() not in msg.lower() and "get_dataset" not in msg:
            msg = f"dataset '{name}': {msg}"
        kind = SetupFileNotFoundError if isinstance(exc, FileNotFoundError) else SetupError
        raise kind(msg) from exc


# ----------------------------------------------------------------------------- optimisers


def make_optimizer(
    name: str, groups: list[dict], lr: float, momentum: float, weight_decay: float, nesterov: bool = True
):
    """The optimiser of a recipe: ``name`` one of :data:`OPTIMIZERS` over the param ``groups``."""
    from convnp import optim

    if name == "sgd":
        return optim.SGD(
            groups, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=bool(nesterov and momentum > 0)
        )
    if name == "adam":
        return optim.Adam(groups, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    if name == "adadelta":
        return optim.Adadelta(groups, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(groups, lr=lr, momentum=momentum if momentum else 0.0, weight_decay=weight_decay)
    raise SetupError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def make_scheduler(name: str, optimizer, epochs: int, steps_per_epoch: int):
    """The learning-rate schedule of a recipe (:data:`SCHEDULERS`), or None for 'none'."""
    from convnp.optim import lr_scheduler as ls

    if name in (None, "none"):
        return None
    if name == "cosine":
        return ls.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return ls.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "onecycle":
        defaults = optimizer.defaults
        cycle = ("betas" in defaults) or (defaults.get("momentum", 0) or 0) > 0
        return ls.OneCycleLR(
            optimizer,
            max_lr=[g["lr"] for g in optimizer.param_groups],
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            cycle_momentum=cycle,
        )
    raise SetupError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
