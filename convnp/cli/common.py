"""What the subcommands share: the one-line user error, argument checks, the model zoo, checkpoints
and data sets opened with messages that say what is wrong and how to fix it.

A subcommand reports a problem the user can fix by raising :class:`CLIError`; ``convnp.cli.main``
prints it as ``convnp: error: <message>`` on stderr and exits with status 2 (no traceback unless
``--debug``).
"""

from __future__ import annotations

import os

from convnp.train import setup as _setup
from convnp.train.setup import SetupError, normalize_dataset_name, one_line, plural

__all__ = [
    "CLIError",
    "one_line",
    "check_positive",
    "check_positive_int",
    "check_range",
    "model_names",
    "check_model_name",
    "build_model",
    "open_checkpoint",
    "model_from_checkpoint",
    "open_dataset",
    "normalize_dataset_name",
    "plural",
    "cli_words",
]


class CLIError(Exception):
    """A problem with the command's input: printed as one line, exit status ``status`` (2)."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------- numbers


def _cli(check, *args, **kwargs):
    """``check(*args, **kwargs)`` of convnp.train.setup, its SetupError as a CLIError (same message)."""
    try:
        return check(*args, **kwargs)
    except SetupError as exc:
        raise CLIError(cli_words(str(exc))) from exc


def check_positive(value, option: str, example: str) -> float:
    return _cli(_setup.check_positive, value, option, example)


def check_positive_int(value, option: str, example: str, minimum: int = 1) -> int:
    return _cli(_setup.check_positive_int, value, option, example, minimum)


def check_range(value, option: str, low: float, high: float, example: str, *, low_open=False, high_open=True):
    return _cli(_setup.check_range, value, option, low, high, example, low_open=low_open, high_open=high_open)


# ----------------------------------------------------------------------------- models


def _zoo():
    try:
        import convnp.models as models
    except ImportError as exc:  # the model zoo is a separate part of convnp
        raise CLIError(
            f"the model zoo convnp.models cannot be imported ({one_line(exc)}); reinstall convnp", status=1
        ) from exc
    return models


def model_names() -> list[str]:
    return list(_zoo().list_models())


def check_model_name(name: str) -> str:
    """The model's name as the zoo spells it, or a CLIError suggesting the closest names."""
    _zoo()
    return _cli(_setup.check_model_name, name)


def build_model(name: str, args: dict):
    """``convnp.models.get_model(name, **args)``."""
    _zoo()
    return _cli(_setup.build_model, name, args)


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
        raise CLIError(
            f"'{path}' records no model name, so convnp cannot rebuild its network; it was not written "
            f"by 'convnp train'"
        )
    names = model_names()
    if name not in names:
        raise CLIError(
            f"'{path}' was saved by model '{name}', which this convnp does not have; available models: "
            f"{', '.join(names)}"
        )
    from convnp.train.checkpoint import CheckpointError, check_finite_weights

    try:
        check_finite_weights(ckpt, path)
    except CheckpointError as exc:
        raise CLIError(one_line(exc)) from exc
    model = build_model(name, dict(info.get("args") or {}))
    try:
        model.load_state_dict(info["state"])
    except (ValueError, RuntimeError, TypeError) as exc:
        first = one_line(exc).split("; ")[1:2] or [one_line(exc)]
        raise CLIError(
            f"the weights in '{path}' do not fit model '{name}' as convnp builds it "
            f"({first[0].strip()}); the file belongs to another model or another convnp version"
        ) from exc
    model.eval()
    return model


# ----------------------------------------------------------------------------- data


def open_dataset(name: str, data_dir=None, split: str = "train", **options):
    """``convnp.data.get_dataset`` with its errors turned into one-line CLIErrors."""
    return _cli(_setup.open_dataset, name, data_dir, split, **options)


def cli_words(msg: str) -> str:
    """The data layer speaks Python (``data_dir=``); on the command line the same things are options."""
    return (
        msg.replace("pass data_dir= (or set $CONVNP_DATA to)", "pass --data-dir (or set $CONVNP_DATA to)")
        .replace("data_dir=", "--data-dir ")
        .replace("get_dataset('mnist-sample')", "--dataset mnist-sample")
    )


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
