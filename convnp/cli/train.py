"""``convnp train [MODEL]``: train a network on a data set, with a default recipe per model.

    convnp train                                   # LeNet-5 on the bundled MNIST sample (offline)
    convnp train lenet5 --dataset mnist --data-dir ../shared/data
    convnp train resnet20 --dataset imagefolder:cifar10-jpg.zip --augment standard --epochs 30
    convnp train --resume runs/lenet5-mnist/last.safetensors
    convnp train lenet5 --dataset fashion-mnist --init-from runs/lenet5-mnist/best.safetensors --freeze conv1

Every option left out comes from the model's recipe (convnp.train.recipes). Outputs go to
``--out`` (default ``runs/<model>-<dataset>``, or ``...-2``, ``-3`` when that holds a run):
last.safetensors, best.safetensors, metrics.json, metrics.csv, curves.png.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import secrets
import sys
import time
from pathlib import Path

from convnp.cli.common import (
    CLIError, build_model, check_model_name, check_positive, check_positive_int, check_range, normalize_dataset_name,
    one_line, open_checkpoint, open_dataset, plural,
)

OPTIMIZERS = ("sgd", "adam", "adamw", "adadelta", "rmsprop")
SCHEDULERS = ("cosine", "onecycle", "step", "none")
AUGMENTS = ("none", "shift", "flip", "standard")
DEFAULT_MODEL = "lenet5"
DEFAULT_DATASET = "mnist-sample"

# options recorded in the checkpoint's config that --resume takes from there
_RESUMED = ("optimizer", "lr", "momentum", "weight_decay", "scheduler", "augment", "batch_size", "seed",
            "val_split", "limit_train", "init_from", "freeze", "backbone_lr_scale")


def add_parser(subparsers) -> argparse.ArgumentParser:
    from convnp.train.recipes import describe_recipes
    p = subparsers.add_parser(
        "train", help="train a network (default: LeNet-5 on the bundled MNIST sample)",
        description="Train a convolutional network. Options left out come from the model's default recipe; "
                    "see the README for the recipes.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  convnp train\n  convnp train lenet5 --dataset mnist --data-dir ../shared/data\n"
               "  convnp train resnet20 --dataset imagefolder:cifar10-jpg.zip --epochs 30\n"
               "  convnp train --resume runs/lenet5-mnist/last.safetensors\n\n"
               "default recipes (any option given on the command line overrides them):\n" + describe_recipes())
    p.add_argument("model", nargs="?", default=None, help=f"model name from the zoo (default {DEFAULT_MODEL})")
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=None, metavar="NAME",
                   help=f"mnist, fashion-mnist, cifar10, mnist-sample or imagefolder:PATH (default {DEFAULT_DATASET})")
    g.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder holding mnist/, cifar10/ ... (default $CONVNP_DATA, else ~/.cache/convnp)")
    g.add_argument("--augment", default=None, choices=AUGMENTS, help="batch augmentation (default: the recipe's)")
    g.add_argument("--val-split", type=float, default=None, metavar="F",
                   help="hold out this fraction of the training set for per-epoch validation (the test split is "
                        "then only used at the end)")
    g.add_argument("--limit-train", type=int, default=None, metavar="N",
                   help="train on a random N images only (quick runs)")
    g.add_argument("--prefetch", action=argparse.BooleanOptionalAction, default=True,
                   help="prepare the next batch in a background thread (default on)")
    o = p.add_argument_group("optimisation (defaults: the model's recipe)")
    o.add_argument("--epochs", type=int, default=None, metavar="N")
    o.add_argument("--batch-size", type=int, default=None, metavar="B")
    o.add_argument("--lr", type=float, default=None, metavar="LR", help="learning rate (the peak for onecycle)")
    o.add_argument("--optimizer", default=None, choices=OPTIMIZERS)
    o.add_argument("--momentum", type=float, default=None, metavar="M")
    o.add_argument("--weight-decay", type=float, default=None, metavar="WD")
    o.add_argument("--scheduler", default=None, choices=SCHEDULERS)
    o.add_argument("--seed", type=int, default=None, metavar="S",
                   help="make the run reproducible (default: a random seed, printed and recorded)")
    o.add_argument("--model-arg", action="append", default=None, metavar="KEY=VALUE", dest="model_args",
                   help="extra constructor argument of the model, e.g. --model-arg variant=original (repeatable)")
    t = p.add_argument_group("transfer learning")
    t.add_argument("--init-from", default=None, metavar="CKPT",
                   help="start from the weights of another run (layers whose name and shape match)")
    t.add_argument("--freeze", nargs="+", default=None, metavar="PREFIX",
                   help="keep these layers (module name prefixes, e.g. conv1 layer1) fixed")
    t.add_argument("--backbone-lr-scale", type=float, default=None, metavar="F",
                   help="train the --init-from layers at F times the learning rate of the new ones")
    r = p.add_argument_group("output")
    r.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/<model>-<dataset>)")
    r.add_argument("--resume", nargs="?", const=True, default=None, metavar="CKPT",
                   help="continue the run in --out (or the given last.safetensors) where it stopped")
    r.add_argument("--overwrite", action="store_true", help="start afresh in an --out folder that holds a run")
    r.add_argument("--progress", default="auto", choices=("auto", "bar", "lines", "quiet"),
                   help="progress display: a bar per epoch on a terminal, one line per epoch elsewhere")
    p.set_defaults(func=run)
    return p


# ----------------------------------------------------------------------------- argument checks

def _parse_model_args(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise CLIError(f"--model-arg expects KEY=VALUE, for example --model-arg variant=original; received {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def _check_args(args) -> None:
    check_positive(args.lr, "--lr", "0.05")
    check_positive_int(args.epochs, "--epochs", "10")
    check_positive_int(args.batch_size, "--batch-size", "128")
    check_positive_int(args.limit_train, "--limit-train", "1000")
    check_range(args.momentum, "--momentum", 0.0, 1.0, "0.9")
    if args.weight_decay is not None and not args.weight_decay >= 0:
        raise CLIError(f"--weight-decay must be zero or positive, for example --weight-decay 5e-4; "
                       f"received {args.weight_decay:g}")
    check_range(args.val_split, "--val-split", 0.0, 1.0, "0.1", low_open=True)
    if args.seed is not None and args.seed < 0:
        raise CLIError(f"--seed must be zero or a positive whole number, for example --seed 0; received {args.seed}")
    check_range(args.backbone_lr_scale, "--backbone-lr-scale", 0.0, 1.0, "0.1", low_open=True, high_open=False)
    if args.backbone_lr_scale is not None and args.init_from is None:
        raise CLIError("--backbone-lr-scale needs --init-from CKPT: it scales the learning rate of the layers "
                       "copied from that checkpoint")


# ----------------------------------------------------------------------------- building blocks

def make_optimizer(name: str, groups: list[dict], lr: float, momentum: float, weight_decay: float,
                   nesterov: bool = True):
    from convnp import optim
    if name == "sgd":
        return optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay,
                         nesterov=bool(nesterov and momentum > 0))
    if name == "adam":
        return optim.Adam(groups, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    if name == "adadelta":
        return optim.Adadelta(groups, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(groups, lr=lr, momentum=momentum if momentum else 0.0, weight_decay=weight_decay)
    raise CLIError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def make_scheduler(name: str, optimizer, epochs: int, steps_per_epoch: int):
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
        return ls.OneCycleLR(optimizer, max_lr=[g["lr"] for g in optimizer.param_groups], epochs=epochs,
                             steps_per_epoch=steps_per_epoch, cycle_momentum=cycle)
    raise CLIError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")


def _holds_run(folder: Path) -> bool:
    return (folder / "last.safetensors").exists() or (folder / "metrics.json").exists()


def _fresh_out_dir(model: str, dataset: str) -> Path:
    base = Path("runs") / f"{model}-{normalize_dataset_name(dataset)}"
    if not _holds_run(base):
        return base
    k = 2
    while _holds_run(Path(f"{base}-{k}")):
        k += 1
    return Path(f"{base}-{k}")


def _given(args, name: str) -> bool:
    value = getattr(args, name)
    return value is not None


# ----------------------------------------------------------------------------- the command

def run(args) -> int:
    _check_args(args)
    out = Path(args.out) if args.out else None
    ckpt = None
    resume_path = None

    # -- what run is this: a new one or the continuation of a recorded one
    if args.resume is not None:
        if isinstance(args.resume, str):
            resume_path = Path(args.resume)
            if resume_path.is_dir():
                resume_path = resume_path / "last.safetensors"
        else:
            folder = out or Path("runs") / (f"{args.model or DEFAULT_MODEL}-"
                                            f"{normalize_dataset_name(args.dataset or DEFAULT_DATASET)}")
            resume_path = folder / "last.safetensors"
        if not resume_path.exists():
            raise CLIError(f"--resume: there is no checkpoint {resume_path} to continue; give the run's folder with "
                           f"--out DIR or the file with --resume PATH/last.safetensors")
        ckpt = open_checkpoint(resume_path)
        out = out or resume_path.parent
    config = dict(ckpt.get("config") or {}) if ckpt else {}

    if ckpt is not None:
        model_name = ckpt["model"].get("name")
        if args.model is not None and check_model_name(args.model) != model_name:
            raise CLIError(f"{resume_path} is a checkpoint of model '{model_name}', not '{args.model}'; to resume "
                           f"it leave the model name out, or train '{args.model}' in another --out folder")
        dataset = (ckpt.get("data") or {}).get("dataset") or DEFAULT_DATASET
        if args.dataset is not None and args.dataset != dataset:
            raise CLIError(f"{resume_path} was trained on '{dataset}', not '{args.dataset}'; resume without --dataset, "
                           f"or use --init-from to start a new run on '{args.dataset}' from its weights")
        conflicts = []
        for name in _RESUMED:
            if _given(args, name) and name in config and getattr(args, name) != config[name]:
                conflicts.append(f"--{name.replace('_', '-')}")
        if args.model_args:
            conflicts.append("--model-arg")
        if conflicts:
            raise CLIError(f"--resume continues the recorded run with its own settings; leave out "
                           f"{', '.join(conflicts)} (or start a new run in another --out folder)")
        recipe = dict(config)
    else:
        model_name = check_model_name(args.model or DEFAULT_MODEL)
        dataset = args.dataset or DEFAULT_DATASET
        from convnp.train.recipes import recipe_for
        recipe = recipe_for(model_name, dataset)
        for name in ("optimizer", "lr", "momentum", "weight_decay", "scheduler", "augment", "batch_size",
                     "epochs"):
            if _given(args, name):
                recipe[name] = getattr(args, name)
        recipe["seed"] = args.seed if args.seed is not None else secrets.randbelow(2 ** 31)
        recipe["val_split"] = args.val_split
        recipe["limit_train"] = args.limit_train
        recipe["init_from"] = args.init_from
        recipe["freeze"] = list(args.freeze) if args.freeze else None
        recipe["backbone_lr_scale"] = args.backbone_lr_scale
        recipe["model_args"] = _parse_model_args(args.model_args)
        if out is None:
            out = _fresh_out_dir(model_name, dataset)
        elif _holds_run(out) and not args.overwrite:
            raise CLIError(f"{out} already holds a training run; continue it with --resume, start afresh there "
                           f"with --overwrite, or choose another --out folder")
    epochs = args.epochs if args.epochs is not None else int(recipe["epochs"])
    if ckpt is not None:
        done = int(ckpt["epoch"])
        planned = int(config.get("epochs", epochs))
        if epochs != planned and recipe.get("scheduler") not in ("none", "step", None):
            raise CLIError(f"--epochs {epochs}: the run was planned for {planned} epochs and its "
                           f"{recipe['scheduler']} learning-rate schedule is fixed to that; resume without --epochs")
        if done >= epochs:
            raise CLIError(f"{resume_path} has already completed all {epochs} epochs; nothing to resume (evaluate "
                           f"it with 'convnp eval {out / 'best.safetensors'}')")
    recipe["epochs"] = epochs
    data_dir = args.data_dir if args.data_dir is not None else config.get("data_dir")
    recipe["data_dir"] = data_dir
    seed = int(recipe["seed"])
    progress_mode = args.progress

    # -- data
    import numpy as np
    import convnp as cn
    from convnp.data import DataLoader, stratified_split, transforms

    train_set = open_dataset(dataset, data_dir, "train")
    test_set = open_dataset(dataset, data_dir, "test")
    mean, std = train_set.mean, train_set.std
    classes = list(train_set.classes)
    eval_set, eval_name = test_set, "test"
    if recipe.get("val_split"):
        keep, held = stratified_split(train_set.labels, float(recipe["val_split"]), seed=seed)
        train_set, eval_set, eval_name = train_set.subset(keep), train_set.subset(held), "val"
    if recipe.get("limit_train") and recipe["limit_train"] < len(train_set):
        pick = np.sort(np.random.default_rng([seed, 2]).permutation(len(train_set))[:int(recipe["limit_train"])])
        train_set = train_set.subset(pick)
    channels, image_size = train_set.num_channels, list(train_set.image_size)
    batch_size = int(recipe["batch_size"])
    loader_gen = np.random.default_rng([seed, 1])
    try:
        augment = transforms.preset(recipe["augment"], mean=mean, std=std)
    except ValueError as exc:
        raise CLIError(one_line(exc)) from exc
    train_loader = DataLoader(train_set, batch_size, shuffle=True, generator=loader_gen, transform=augment,
                              prefetch=bool(args.prefetch), drop_last=len(train_set) % batch_size == 1)
    eval_batch = max(batch_size, 500)
    norm = transforms.Normalize(mean, std)
    eval_loader = DataLoader(eval_set, eval_batch, transform=norm, generator=np.random.default_rng(0),
                             prefetch=bool(args.prefetch))
    test_loader = (DataLoader(test_set, eval_batch, transform=norm, generator=np.random.default_rng(0),
                              prefetch=bool(args.prefetch)) if eval_name == "val" else None)

    # -- model
    cn.manual_seed(seed)
    model_args = {"num_classes": len(classes), "in_channels": channels}
    model_args.update(recipe.get("model_args") or {})
    model_args = json.loads(json.dumps(model_args))      # as the checkpoint will hold them (tuples -> lists)
    if ckpt is not None and dict(ckpt["model"].get("args") or {}) != model_args:
        raise CLIError(f"{resume_path} was built with {ckpt['model'].get('args')}, but the data now gives "
                       f"{model_args}; the data set changed since the run started")
    model = build_model(model_name, model_args)
    _preflight(model, model_name, train_set, dataset)

    # -- transfer learning
    from convnp.train.transfer import freeze, frozen_prefixes_of, param_groups
    pretrained = list(config.get("pretrained") or [])
    transfer_line = None
    if recipe.get("init_from") and ckpt is None:
        transfer_line, pretrained = _init_from(model, recipe["init_from"])
    recipe["pretrained"] = pretrained
    frozen_modules = []
    if recipe.get("freeze"):
        try:
            frozen = freeze(model, recipe["freeze"])
        except ValueError as exc:
            raise CLIError("--freeze: " + one_line(exc).removeprefix("freeze: ")) from exc
        frozen_modules = frozen_prefixes_of(model, recipe["freeze"])
        if len(frozen) == sum(1 for _ in model.parameters()):
            raise CLIError(f"--freeze {' '.join(recipe['freeze'])} freezes every layer of {model_name}; leave at "
                           f"least the classifier trainable")
    lr = float(recipe["lr"])
    groups = param_groups(model, lr, pretrained, recipe.get("backbone_lr_scale"))
    optimizer = make_optimizer(recipe["optimizer"], groups, lr, float(recipe.get("momentum") or 0.0),
                               float(recipe.get("weight_decay") or 0.0), recipe.get("nesterov", True))
    scheduler = make_scheduler(recipe["scheduler"], optimizer, epochs, len(train_loader))

    # -- the trainer
    from convnp.train.progress import Progress
    from convnp.train.trainer import Trainer, TrainingError
    data_meta = {"dataset": dataset, "data_dir": data_dir, "classes": classes, "mean": list(mean), "std": list(std),
                 "channels": channels, "image_size": image_size}
    recipe_record = {k: v for k, v in recipe.items() if k != "by_dataset"}
    progress = Progress(progress_mode)
    trainer = Trainer(model, optimizer, scheduler, progress=progress, frozen_modules=frozen_modules,
                      meta={"model_name": model_name, "model_args": model_args, "data": data_meta,
                            "config": recipe_record})
    if ckpt is not None:
        try:
            trainer.load_checkpoint(ckpt)
        except (ValueError, RuntimeError, KeyError) as exc:
            raise CLIError(f"cannot resume from {resume_path}: {one_line(exc)}") from exc
    out.mkdir(parents=True, exist_ok=True)

    n_params = sum(int(p.data.size) for p in model.parameters())
    n_train = sum(int(p.data.size) for p in model.parameters() if p.requires_grad)
    say = progress.message
    trainable = "" if n_train == n_params else f", {n_train:,} trainable"
    say(f"convnp train: {model_name} ({n_params:,} parameters{trainable}) on {dataset}: "
        f"{plural(len(train_set), 'training image')}, {len(eval_set):,} {eval_name}, {channels}x{image_size[0]}x"
        f"{image_size[1]}, {plural(len(classes), 'class')}")
    mom = f" momentum {recipe['momentum']:g}" if recipe["optimizer"] in ("sgd", "rmsprop") else ""
    say(f"  {recipe['optimizer']} lr {lr:g}{mom} weight decay {recipe['weight_decay']:g}, {recipe['scheduler']} "
        f"schedule, batch {batch_size}, augment {recipe['augment']}, {epochs} epochs, seed {seed} -> {out}")
    if transfer_line:
        say(f"  init-from: {transfer_line}")
    if frozen_modules:
        say(f"  frozen: {', '.join(recipe['freeze'])} ({n_params - n_train:,} parameters)")
    if ckpt is not None:
        say(f"  resuming after epoch {trainer.epoch} of {epochs} from {resume_path}")

    start = time.perf_counter()
    try:
        trainer.fit(train_loader, eval_loader, epochs=epochs, out_dir=out, eval_name=eval_name,
                    test_loader=test_loader)
    except TrainingError as exc:
        kept = (f"; {out / 'last.safetensors'} keeps epoch {trainer.epoch}" if trainer.epoch else "")
        raise CLIError(one_line(exc) + kept, status=1) from exc
    if trainer.interrupted:
        progress.close()
        if trainer.epoch == 0:
            print("convnp: interrupted during epoch 1; nothing was saved", file=sys.stderr)
        else:
            print(f"convnp: interrupted during epoch {trainer.epoch + 1}: {out / 'last.safetensors'} holds epoch "
                  f"{trainer.epoch} of {epochs}; continue with: convnp train --resume "
                  f"{out / 'last.safetensors'}", file=sys.stderr)
        return 130
    m = trainer.metrics()
    took = time.perf_counter() - start
    best = trainer.best
    best_txt = (f" (best {eval_name} {100 * best['value']:.2f}% at epoch {best['epoch']})" if best else "")
    test_acc = m.get("test_accuracy")
    say(f"test accuracy {100 * test_acc:.2f}%{best_txt}; {took:.1f} s" if test_acc is not None
        else f"finished in {took:.1f} s")
    say(f"wrote {out}/: last.safetensors, best.safetensors, metrics.json, metrics.csv, curves.png")
    return 0


def _preflight(model, model_name: str, dataset, dataset_name: str) -> None:
    """One forward pass on two training images (eval mode, no gradients) so that a model that cannot
    take the data set's images fails now, with a message, rather than in the first batch."""
    import numpy as np
    from convnp.autograd.grad_mode import no_grad
    from convnp.autograd.tensor import Tensor
    x, _ = dataset[np.arange(min(2, len(dataset)))]
    x = np.asarray(x, dtype=np.float32) / (255.0 if np.asarray(x).dtype == np.uint8 else 1.0)
    was = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(x))
    except (ValueError, TypeError, IndexError) as exc:
        c, h, w = x.shape[1:]
        raise CLIError(f"model '{model_name}' cannot take {dataset_name}'s {c}x{h}x{w} images: "
                       f"{one_line(exc)}") from exc
    finally:
        model.train(was)
    if out.shape != (x.shape[0], dataset.num_classes):
        raise CLIError(f"model '{model_name}' returned outputs of shape {tuple(out.shape)} for {x.shape[0]} images; "
                       f"expected ({x.shape[0]}, {dataset.num_classes}) class scores")


def _init_from(model, path) -> tuple[str, list[str]]:
    from convnp.serialization import load
    from convnp.train.checkpoint import model_state_of
    from convnp.train.transfer import load_matching
    if not os.path.exists(path):
        raise CLIError(f"--init-from: checkpoint '{path}' does not exist; give the last.safetensors or "
                       f"best.safetensors of an earlier run")
    try:
        obj = load(path)
    except (ValueError, OSError) as exc:
        raise CLIError(f"--init-from: '{path}' is not a readable checkpoint ({one_line(exc)})") from exc
    state = model_state_of(obj) if isinstance(obj, dict) else {}
    report = load_matching(model, state)
    if not report.copied:
        src = obj.get("model", {}).get("name") if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else None
        from_model = f" (a checkpoint of model '{src}')" if src else ""
        raise CLIError(f"--init-from: '{path}'{from_model} shares no layer (same name and shape) with this model; "
                       f"start from a checkpoint of the same architecture")
    return report.summary(os.path.basename(path)), report.copied
