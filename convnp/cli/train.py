"""``convnp train [MODEL]``: train a network on a data set, with a default recipe per model.

    convnp train                                   # LeNet-5 on the bundled MNIST sample (offline)
    convnp train lenet5 --dataset mnist --data-dir ../shared/data
    convnp train resnet20 --dataset imagefolder:cifar10-jpg.zip --augment standard --epochs 30
    convnp train --resume runs/lenet5-mnist/last.safetensors
    convnp train lenet5 --dataset fashion-mnist --init-from runs/lenet5-mnist/best.safetensors --freeze conv1

Every option left out comes from the model's recipe (convnp.train.recipes). Outputs go to
``--out`` (default ``runs/<model>-<dataset>``, or ``...-2``, ``-3`` when that holds a run):
last.safetensors, best.safetensors, metrics.json, metrics.csv, curves.png.

The run itself is library code, :class:`convnp.train.TrainingRun` (same options, same names): this
module parses the command line, makes the one call and turns what comes back into exit statuses
(2 for a SetupError, 1 for a diverged loss, 130 for Ctrl-C, with the command that resumes the run).
"""

from __future__ import annotations

import argparse
import sys

from convnp.cli.common import CLIError, cli_words, one_line
from convnp.train.run import DEFAULT_DATASET, DEFAULT_MODEL, TrainingRun
from convnp.train.setup import AUGMENTS, OPTIMIZERS, SCHEDULERS, SetupError, make_optimizer, make_scheduler
from convnp.train.trainer import TrainingError

__all__ = [
    "add_parser",
    "run",
    "settings_of",
    "OPTIMIZERS",
    "SCHEDULERS",
    "AUGMENTS",
    "DEFAULT_MODEL",
    "DEFAULT_DATASET",
    "make_optimizer",
    "make_scheduler",
]


def add_parser(subparsers) -> argparse.ArgumentParser:
    from convnp.train.recipes import describe_recipes

    p = subparsers.add_parser(
        "train",
        help="train a network (default: LeNet-5 on the bundled MNIST sample)",
        description="Train a convolutional network. Options left out come from the model's default recipe; "
        "see the README for the recipes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  convnp train\n  convnp train lenet5 --dataset mnist --data-dir ../shared/data\n"
        "  convnp train resnet20 --dataset imagefolder:cifar10-jpg.zip --epochs 30\n"
        "  convnp train --resume runs/lenet5-mnist/last.safetensors\n\n"
        "default recipes (any option given on the command line overrides them):\n" + describe_recipes(),
    )
    p.add_argument("model", nargs="?", default=None, help=f"model name from the zoo (default {DEFAULT_MODEL})")
    g = p.add_argument_group("data")
    g.add_argument(
        "--dataset",
        default=None,
        metavar="NAME",
        help=f"mnist, fashion-mnist, cifar10, mnist-sample or imagefolder:PATH (default {DEFAULT_DATASET})",
    )
    g.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="folder holding mnist/, cifar10/ ... (default $CONVNP_DATA, else ~/.cache/convnp)",
    )
    g.add_argument("--augment", default=None, choices=AUGMENTS, help="batch augmentation (default: the recipe's)")
    g.add_argument(
        "--val-split",
        type=float,
        default=None,
        metavar="F",
        help="hold out this fraction of the training set for per-epoch validation (the test split is "
        "then only used at the end)",
    )
    g.add_argument(
        "--limit-train", type=int, default=None, metavar="N", help="train on a random N images only (quick runs)"
    )
    g.add_argument(
        "--prefetch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="prepare the next batch in a background thread (default on)",
    )
    o = p.add_argument_group("optimisation (defaults: the model's recipe)")
    o.add_argument("--epochs", type=int, default=None, metavar="N")
    o.add_argument("--batch-size", type=int, default=None, metavar="B")
    o.add_argument("--lr", type=float, default=None, metavar="LR", help="learning rate (the peak for onecycle)")
    o.add_argument("--optimizer", default=None, choices=OPTIMIZERS)
    o.add_argument("--momentum", type=float, default=None, metavar="M")
    o.add_argument("--weight-decay", type=float, default=None, metavar="WD")
    o.add_argument("--scheduler", default=None, choices=SCHEDULERS)
    o.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="S",
        help="make the run reproducible (default: a random seed, printed and recorded)",
    )
    o.add_argument(
        "--model-arg",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        dest="model_args",
        help="extra constructor argument of the model, e.g. --model-arg variant=original (repeatable)",
    )
    t = p.add_argument_group("transfer learning")
    t.add_argument(
        "--init-from",
        default=None,
        metavar="CKPT",
        help="start from the weights of another run (layers whose name and shape match)",
    )
    t.add_argument(
        "--freeze",
        nargs="+",
        default=None,
        metavar="PREFIX",
        help="keep these layers (module name prefixes, e.g. conv1 layer1) fixed",
    )
    t.add_argument(
        "--backbone-lr-scale",
        type=float,
        default=None,
        metavar="F",
        help="train the --init-from layers at F times the learning rate of the new ones",
    )
    r = p.add_argument_group("output")
    r.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/<model>-<dataset>)")
    r.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="CKPT",
        help="continue the run in --out (or the given last.safetensors) where it stopped",
    )
    r.add_argument("--overwrite", action="store_true", help="start afresh in an --out folder that holds a run")
    r.add_argument(
        "--progress",
        default="auto",
        choices=("auto", "bar", "lines", "quiet"),
        help="progress display: a bar per epoch on a terminal, one line per epoch elsewhere",
    )
    p.set_defaults(func=run)
    return p


# ----------------------------------------------------------------------------- the command


def settings_of(args) -> TrainingRun:
    """The parsed command line as the library's run settings (the options have the same names)."""
    return TrainingRun(
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        scheduler=args.scheduler,
        augment=args.augment,
        seed=args.seed,
        val_split=args.val_split,
        limit_train=args.limit_train,
        model_args=args.model_args,
        init_from=args.init_from,
        freeze=args.freeze,
        backbone_lr_scale=args.backbone_lr_scale,
        out=args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        prefetch=args.prefetch,
        progress=args.progress,
    )


def run(args) -> int:
    try:
        result = settings_of(args).fit()
    except SetupError as exc:  # the user's to fix: one line, status 2
        raise CLIError(cli_words(one_line(exc))) from exc
    except TrainingError as exc:  # the loss diverged: status 1
        raise CLIError(one_line(exc), status=1) from exc
    if result.interrupted:
        last = result.last_path
        if result.epoch == 0:
            print("convnp: interrupted during epoch 1; nothing was saved", file=sys.stderr)
        else:
            print(
                f"convnp: interrupted during epoch {result.epoch + 1}: {last} holds epoch {result.epoch} of "
                f"{result.epochs}; continue with: convnp train --resume {last}",
                file=sys.stderr,
            )
        return 130
    return 0
