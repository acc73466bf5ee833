"""A whole training run as one call: what ``convnp train`` does, from Python.

:class:`TrainingRun` holds the settings of a run; every one left as None comes from the model's
recipe (:mod:`convnp.train.recipes`), or, when resuming, from the checkpoint. ``fit()`` then does
what the command does and returns a :class:`RunResult`:

1. plan (:meth:`TrainingRun.plan`): check the settings, decide whether this is a new run or the
   continuation of a recorded one (``resume``: what it refuses, see below), merge the recipe, choose
   the run folder ``out`` (default ``runs/<model>-<dataset>``, or ``...-2``, ``-3`` when that holds a
   run) and the seed (a random one, recorded, when none is given);
2. build (:meth:`TrainingRun.build`): open the data set (a validation split, a random subset of
   ``limit_train`` images, normalisation, the augmentation preset), build the model from the zoo,
   copy the ``init_from`` weights, freeze layers, make the optimiser (pretrained layers at
   ``backbone_lr_scale`` times the learning rate) and the schedule, and a :class:`Trainer`;
3. fit: train, writing last.safetensors, best.safetensors, metrics.json, metrics.csv and curves.png
   into ``out``. Ctrl-C stops after the last completed epoch: ``fit()`` returns with
   ``result.interrupted`` True and last.safetensors holding that epoch (``resume=True`` continues it,
   bit-identical to a run that was never stopped).

Resuming continues the recorded run with its own settings: it refuses another model or data set,
any recorded setting given with another value, ``model_args``, a different ``epochs`` under a
schedule planned for the recorded number (onecycle, cosine), and a run that has completed all its
epochs. A new run refuses an ``out`` folder that holds a run unless ``overwrite=True``.

A crash between the files an epoch writes (best.safetensors, then last.safetensors, then the
metrics files) leaves a run that ``resume`` repairs (:func:`repair_run`): last.safetensors is the
truth. A best.safetensors one epoch ahead of it is left for the resumed epoch to rewrite; when last
records its own epoch as the best and best.safetensors is missing or holds another epoch,
best.safetensors is rewritten from it; when last holds every planned epoch but metrics.json
does not say the run is complete (the crash came before the final evaluation), resuming runs the
final evaluation and writes the metrics files without training. A run whose metrics.json says it
is complete is "already completed".

Settings that cannot work raise :class:`~convnp.train.setup.SetupError` (a ValueError;
``SetupFileNotFoundError``, also a FileNotFoundError, for a missing checkpoint) before anything is
written; a loss that becomes NaN raises :class:`TrainingError`. The messages are those of
``convnp train``, which names the settings as options (``--lr`` for ``lr``).

Example (two quick epochs on 300 digits of the bundled sample)::

    from convnp.train import TrainingRun

    result = TrainingRun("lenet5", dataset="mnist-sample", epochs=2, limit_train=300, seed=0,
                         out="runs/quick", progress="lines").fit()
    result.metrics["test_accuracy"], result.best_path       # (0.9..., PosixPath('runs/quick/best.safetensors'))
    result.model                                            # the trained network (eval it, inspect it)
    TrainingRun(resume="runs/quick").fit()                  # SetupError: it has completed all 2 epochs
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convnp.train.progress import PROGRESS_MODES, Progress
from convnp.train.setup import (
    AUGMENTS,
    OPTIMIZERS,
    SCHEDULERS,
    SetupError,
    SetupFileNotFoundError,
    build_model,
    check_choice,
    check_model_name,
    check_positive,
    check_positive_int,
    check_range,
    make_optimizer,
    make_scheduler,
    normalize_dataset_name,
    one_line,
    open_dataset,
    parse_model_args,
    plural,
)

__all__ = [
    "TrainingRun",
    "RunPlan",
    "BuiltRun",
    "RunResult",
    "fit_run",
    "repair_run",
    "DEFAULT_MODEL",
    "DEFAULT_DATASET",
]

DEFAULT_MODEL = "lenet5"
DEFAULT_DATASET = "mnist-sample"

# settings recorded in the checkpoint's config that a resumed run takes from there
RESUMED = (
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "scheduler",
    "augment",
    "batch_size",
    "seed",
    "val_split",
    "limit_train",
    "init_from",
    "freeze",
    "backbone_lr_scale",
)
# the recorded settings a resumed run cannot do without (checked by type in checkpoint.check_metadata)
_RESUME_NEEDS = ("epochs", "seed", "batch_size", "lr", "optimizer", "scheduler", "augment")
# recipe entries a new run's settings override
_RECIPE_KEYS = ("optimizer", "lr", "momentum", "weight_decay", "scheduler", "augment", "batch_size", "epochs")


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


def _path_str(value):
    return os.fspath(value) if isinstance(value, os.PathLike) else value


@dataclass
class RunPlan:
    """What :meth:`TrainingRun.plan` decided: the model, data set and folder, and ``config``, the
    merged recipe as the checkpoints record it (for a resumed run, the recorded one)."""

    model_name: str
    dataset: str
    data_dir: str | None
    out: Path
    config: dict
    epochs: int
    seed: int
    checkpoint: dict | None = field(default=None, repr=False)  # the checkpoint a resumed run continues
    resume_path: Path | None = None


@dataclass
class BuiltRun:
    """Everything :meth:`TrainingRun.build` made, ready for :meth:`fit` (or for a look inside first:
    add callbacks to ``trainer.callbacks``, print ``model``)."""

    plan: RunPlan
    model: Any = field(repr=False)
    trainer: Any = field(repr=False)
    train_loader: Any = field(repr=False)
    eval_loader: Any = field(repr=False)
    test_loader: Any = field(repr=False)  # the test split when the per-epoch evaluation is a validation split
    eval_name: str  # 'test' or 'val'
    train_size: int
    eval_size: int
    classes: list
    channels: int
    image_size: list
    transfer_line: str | None = None  # what init_from copied, in one line
    frozen_modules: list = field(default_factory=list)

    @property
    def progress(self) -> Progress:
        return self.trainer.progress

    def describe(self) -> list[str]:
        """The lines printed before the first epoch."""
        plan, recipe, model = self.plan, self.plan.config, self.model
        n_params = sum(int(p.data.size) for p in model.parameters())
        n_train = sum(int(p.data.size) for p in model.parameters() if p.requires_grad)
        trainable = "" if n_train == n_params else f", {n_train:,} trainable"
        lines = [
            f"convnp train: {plan.model_name} ({n_params:,} parameters{trainable}) on {plan.dataset}: "
            f"{plural(self.train_size, 'training image')}, {self.eval_size:,} {self.eval_name}, "
            f"{self.channels}x{self.image_size[0]}x{self.image_size[1]}, {plural(len(self.classes), 'class')}"
        ]
        mom = f" momentum {recipe['momentum']:g}" if recipe["optimizer"] in ("sgd", "rmsprop") else ""
        lines.append(
            f"  {recipe['optimizer']} lr {float(recipe['lr']):g}{mom} weight decay "
            f"{recipe['weight_decay']:g}, {recipe['scheduler']} schedule, batch {int(recipe['batch_size'])}, "
            f"augment {recipe['augment']}, {plan.epochs} epochs, seed {plan.seed} -> {plan.out}"
        )
        if self.transfer_line:
            lines.append(f"  init-from: {self.transfer_line}")
        if self.frozen_modules:
            lines.append(f"  frozen: {', '.join(recipe['freeze'])} ({n_params - n_train:,} parameters)")
        if plan.checkpoint is not None:
            lines.append(f"  resuming after epoch {self.trainer.epoch} of {plan.epochs} from {plan.resume_path}")
        return lines

    def fit(self) -> RunResult:
        """Train to ``plan.epochs`` (printing through the progress display) and return the result."""
        from convnp.train.trainer import TrainingError

        plan, trainer, progress = self.plan, self.trainer, self.progress
        for line in self.describe():
            progress.message(line)
        if plan.checkpoint is not None:
            for line in repair_run(plan.out, plan.checkpoint, plan.epochs):
                progress.message(line)
        start = time.perf_counter()
        try:
            trainer.fit(
                self.train_loader,
                self.eval_loader,
                epochs=plan.epochs,
                out_dir=plan.out,
                eval_name=self.eval_name,
                test_loader=self.test_loader,
            )
        except TrainingError as exc:
            kept = f"; {plan.out / 'last.safetensors'} keeps epoch {trainer.epoch}" if trainer.epoch else ""
            raise TrainingError(one_line(exc) + kept) from exc
        took = time.perf_counter() - start
        result = RunResult(
            model=self.model,
            trainer=trainer,
            out=plan.out,
            config=plan.config,
            seed=plan.seed,
            epochs=plan.epochs,
            interrupted=trainer.interrupted,
            seconds=took,
        )
        if trainer.interrupted:
            progress.close()
            return result
        m = result.metrics
        best = trainer.best
        best_txt = f" (best {self.eval_name} {100 * best['value']:.2f}% at epoch {best['epoch']})" if best else ""
        test_acc = m.get("test_accuracy")
        progress.message(
            f"test accuracy {100 * test_acc:.2f}%{best_txt}; {took:.1f} s"
            if test_acc is not None
            else f"finished in {took:.1f} s"
        )
        progress.message(
            f"wrote {plan.out}/: last.safetensors, best.safetensors, metrics.json, metrics.csv, curves.png"
        )
        return result


@dataclass
class RunResult:
    """What a run returns. ``metrics`` is the content of metrics.json (``test_accuracy``,
    ``best_test_accuracy``, ``best_epoch``, ``history``, ``config``, ...)."""

    model: Any = field(repr=False)
    trainer: Any = field(repr=False)
    out: Path
    config: dict = field(repr=False)
    seed: int
    epochs: int  # planned
    interrupted: bool = False  # Ctrl-C: ``epoch`` epochs are complete and in last.safetensors
    seconds: float = 0.0

    @property
    def epoch(self) -> int:
        """Completed epochs."""
        return self.trainer.epoch

    @property
    def history(self) -> list[dict]:
        return self.trainer.history

    @property
    def best(self) -> dict | None:
        """``{"epoch", "metric", "value"}`` of the best evaluation accuracy, or None."""
        return self.trainer.best

    @property
    def metrics(self) -> dict:
        return self.trainer.metrics()

    @property
    def last_path(self) -> Path:
        return self.out / "last.safetensors"

    @property
    def best_path(self) -> Path:
        return self.out / "best.safetensors"


@dataclass
class TrainingRun:
    """The settings of a training run (``convnp train``'s options, by the same names); None means the
    model's recipe (or, resuming, the recorded run's setting).

    Args:
        model: a zoo name (default 'lenet5'; resuming: the checkpoint's).
        dataset: 'mnist', 'fashion-mnist', 'cifar10', 'mnist-sample' (default) or 'imagefolder:PATH'.
        data_dir: the folder holding mnist/, cifar10/ ... (default $CONVNP_DATA, else ~/.cache/convnp).
        epochs, batch_size, lr, optimizer, momentum, weight_decay, scheduler, augment: the recipe's
            entries (optimizer in sgd, adam, adamw, adadelta, rmsprop; scheduler in cosine, onecycle,
            step, none; augment in none, shift, flip, standard).
        seed: makes the run reproducible (default: a random seed, recorded in the checkpoints).
        val_split: hold out this fraction of the training set for the per-epoch evaluation.
        limit_train: train on a random ``limit_train`` images only.
        model_args: extra constructor arguments of the model (a dict, or 'KEY=VALUE' strings).
        init_from, freeze, backbone_lr_scale: transfer learning: start from the matching layers of a
            checkpoint, keep the layers under these name prefixes fixed, train the copied layers at
            ``backbone_lr_scale`` times the learning rate.
        out: the run folder (default runs/<model>-<dataset>, never one that holds a run).
        resume: True to continue the run in ``out`` (or runs/<model>-<dataset>), or a checkpoint
            path (its folder, or its last.safetensors).
        overwrite: start afresh in an ``out`` folder that holds a run.
        prefetch: prepare the next batch in a background thread.
        progress: 'auto', 'bar', 'lines', 'quiet' or a :class:`Progress`.
        callbacks: :class:`~convnp.train.Callback` objects for the Trainer (not recorded).

    >>> plan = TrainingRun("resnet20", dataset="cifar10", out="runs/r20").plan()   # reads and writes nothing
    >>> plan.config["lr"], plan.config["scheduler"], plan.config["augment"], plan.epochs    # resnet20's recipe
    (0.1, 'cosine', 'standard', 30)
    >>> TrainingRun(lr=-1).plan()
    Traceback (most recent call last):
    ...
    convnp.train.setup.SetupError: --lr must be a positive number, for example --lr 0.05; received -1
    """

    model: str | None = None
    dataset: str | None = None
    data_dir: str | os.PathLike | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    scheduler: str | None = None
    augment: str | None = None
    seed: int | None = None
    val_split: float | None = None
    limit_train: int | None = None
    model_args: dict | Sequence[str] | None = None
    init_from: str | os.PathLike | None = None
    freeze: Sequence[str] | str | None = None
    backbone_lr_scale: float | None = None
    out: str | os.PathLike | None = None
    resume: bool | str | os.PathLike | None = None
    overwrite: bool = False
    prefetch: bool = True
    progress: str | Progress = "auto"
    callbacks: Sequence = ()

    # ------------------------------------------------------------------------- the three steps
    def fit(self) -> RunResult:
        """Plan, build and train (see the module docstring); returns a :class:`RunResult`."""
        return self.build().fit()

    def _check(self) -> None:
        check_positive(self.lr, "--lr", "0.05")
        check_positive_int(self.epochs, "--epochs", "10")
        check_positive_int(self.batch_size, "--batch-size", "128")
        check_positive_int(self.limit_train, "--limit-train", "1000", minimum=2)  # a batch of one: no batch norm
        check_range(self.momentum, "--momentum", 0.0, 1.0, "0.9")
        if self.weight_decay is not None and not self.weight_decay >= 0:
            raise SetupError(
                f"--weight-decay must be zero or positive, for example --weight-decay 5e-4; "
                f"received {self.weight_decay:g}"
            )
        check_range(self.val_split, "--val-split", 0.0, 1.0, "0.1", low_open=True)
        if self.seed is not None and self.seed < 0:
            raise SetupError(
                f"--seed must be zero or a positive whole number, for example --seed 0; received {self.seed}"
            )
        check_range(self.backbone_lr_scale, "--backbone-lr-scale", 0.0, 1.0, "0.1", low_open=True, high_open=False)
        if self.backbone_lr_scale is not None and self.init_from is None:
            raise SetupError(
                "--backbone-lr-scale needs --init-from CKPT: it scales the learning rate of the layers "
                "copied from that checkpoint"
            )
        check_choice(self.optimizer, "--optimizer", OPTIMIZERS)
        check_choice(self.scheduler, "--scheduler", SCHEDULERS)
        check_choice(self.augment, "--augment", AUGMENTS)
        if not isinstance(self.progress, Progress):
            check_choice(self.progress, "--progress", PROGRESS_MODES)

    def _given(self) -> dict:
        """The recorded settings given (not None), as the checkpoint's config holds them."""
        given = {name: getattr(self, name) for name in RESUMED if getattr(self, name) is not None}
        if "init_from" in given:
            given["init_from"] = _path_str(given["init_from"])
        if "freeze" in given:
            given["freeze"] = [given["freeze"]] if isinstance(given["freeze"], str) else list(given["freeze"])
        return given

    def plan(self) -> RunPlan:
        """Check the settings and decide what the run is (nothing is read but a resumed checkpoint,
        nothing is written). Raises SetupError for settings that cannot work."""
        from convnp.train.checkpoint import CheckpointError, check_finite_weights, load_checkpoint

        self._check()
        out = Path(self.out) if self.out is not None else None
        given = self._given()
        ckpt = None
        resume_path = None

        # -- what run is this: a new one or the continuation of a recorded one
        if self.resume is not None and self.resume is not False:
            if isinstance(self.resume, (str, os.PathLike)):
                resume_path = Path(self.resume)
                if resume_path.is_dir():
                    resume_path = resume_path / "last.safetensors"
            else:
                folder = out or Path("runs") / (
                    f"{self.model or DEFAULT_MODEL}-{normalize_dataset_name(self.dataset or DEFAULT_DATASET)}"
                )
                resume_path = folder / "last.safetensors"
            if not resume_path.exists():
                raise SetupFileNotFoundError(
                    f"--resume: there is no checkpoint {resume_path} to continue; give the run's folder with "
                    f"--out DIR or the file with --resume PATH/last.safetensors"
                )
            try:
                ckpt = load_checkpoint(resume_path)
                check_finite_weights(ckpt, resume_path)
            except CheckpointError as exc:
                raise SetupError(one_line(exc)) from exc
            out = out or resume_path.parent
        config = dict(ckpt.get("config") or {}) if ckpt else {}
        if ckpt is not None:
            lost = [f"config.{k}" for k in _RESUME_NEEDS if config.get(k) is None]
            if lost:
                raise SetupError(
                    f"{resume_path} does not record {', '.join(lost)}, which resuming needs; it was "
                    f"damaged or not written by 'convnp train': start a new run from its weights with "
                    f"--init-from {resume_path}"
                )

        if ckpt is not None:
            model_name = ckpt["model"].get("name")
            if self.model is not None and check_model_name(self.model) != model_name:
                raise SetupError(
                    f"{resume_path} is a checkpoint of model '{model_name}', not '{self.model}'; to "
                    f"resume it leave the model name out, or train '{self.model}' in another --out folder"
                )
            dataset = (ckpt.get("data") or {}).get("dataset") or DEFAULT_DATASET
            if self.dataset is not None and self.dataset != dataset:
                raise SetupError(
                    f"{resume_path} was trained on '{dataset}', not '{self.dataset}'; resume without "
                    f"--dataset, or use --init-from to start a new run on '{self.dataset}' from its "
                    f"weights"
                )
            conflicts = [
                f"--{name.replace('_', '-')}"
                for name in RESUMED
                if name in given and name in config and given[name] != config[name]
            ]
            if self.model_args:
                conflicts.append("--model-arg")
            if conflicts:
                raise SetupError(
                    f"--resume continues the recorded run with its own settings; leave out "
                    f"{', '.join(conflicts)} (or start a new run in another --out folder)"
                )
            recipe = dict(config)
        else:
            model_name = check_model_name(self.model or DEFAULT_MODEL)
            dataset = self.dataset or DEFAULT_DATASET
            from convnp.train.recipes import recipe_for

            recipe = recipe_for(model_name, dataset)
            for name in _RECIPE_KEYS:
                if getattr(self, name) is not None:
                    recipe[name] = getattr(self, name)
            recipe["seed"] = self.seed if self.seed is not None else secrets.randbelow(2**31)
            recipe["val_split"] = self.val_split
            recipe["limit_train"] = self.limit_train
            recipe["init_from"] = given.get("init_from")
            recipe["freeze"] = given.get("freeze") or None
            recipe["backbone_lr_scale"] = self.backbone_lr_scale
            recipe["model_args"] = parse_model_args(self.model_args)
            if out is None:
                out = _fresh_out_dir(model_name, dataset)
            elif _holds_run(out) and not self.overwrite:
                raise SetupError(
                    f"{out} already holds a training run; continue it with --resume, start afresh "
                    f"there with --overwrite, or choose another --out folder"
                )
        epochs = self.epochs if self.epochs is not None else int(recipe["epochs"])
        if ckpt is not None:
            done = int(ckpt["epoch"])
            planned = int(config.get("epochs", epochs))
            if epochs != planned and recipe.get("scheduler") not in ("none", "step", None):
                raise SetupError(
                    f"--epochs {epochs}: the run was planned for {planned} epochs and its "
                    f"{recipe['scheduler']} learning-rate schedule is fixed to that; resume without "
                    f"--epochs"
                )
            if done >= epochs and _completed(out, done):
                raise SetupError(
                    f"{resume_path} has already completed all {epochs} epochs; nothing to resume "
                    f"(evaluate it with 'convnp eval {out / 'best.safetensors'}')"
                )
        recipe["epochs"] = epochs
        data_dir = _path_str(self.data_dir) if self.data_dir is not None else config.get("data_dir")
        recipe["data_dir"] = data_dir
        return RunPlan(
            model_name=model_name,
            dataset=dataset,
            data_dir=data_dir,
            out=out,
            config=recipe,
            epochs=epochs,
            seed=int(recipe["seed"]),
            checkpoint=ckpt,
            resume_path=resume_path,
        )

    def build(self, plan: RunPlan | None = None) -> BuiltRun:
        """The data, the model, the optimiser and the Trainer of the run (``plan``: default
        ``self.plan()``). Creates the ``out`` folder; writes nothing else."""
        plan = plan if plan is not None else self.plan()
        recipe, ckpt, seed, config = (
            plan.config,
            plan.checkpoint,
            plan.seed,
            dict((plan.checkpoint or {}).get("config") or {}),
        )

        # -- data
        import numpy as np

        import convnp as cn
        from convnp.data import DataLoader, stratified_split, transforms

        train_set = open_dataset(plan.dataset, plan.data_dir, "train")
        test_set = open_dataset(plan.dataset, plan.data_dir, "test")
        mean, std = train_set.mean, train_set.std
        classes = list(train_set.classes)
        eval_set, eval_name = test_set, "test"
        if recipe.get("val_split"):
            keep, held = stratified_split(train_set.labels, float(recipe["val_split"]), seed=seed)
            train_set, eval_set, eval_name = train_set.subset(keep), train_set.subset(held), "val"
        if recipe.get("limit_train") and recipe["limit_train"] < len(train_set):
            pick = np.sort(np.random.default_rng([seed, 2]).permutation(len(train_set))[: int(recipe["limit_train"])])
            train_set = train_set.subset(pick)
        _check_sizes(plan.dataset, classes, train_set, eval_set, eval_name, test_set)
        channels, image_size = train_set.num_channels, list(train_set.image_size)
        batch_size = int(recipe["batch_size"])
        loader_gen = np.random.default_rng([seed, 1])
        try:
            augment = transforms.preset(recipe["augment"], mean=mean, std=std)
        except ValueError as exc:
            raise SetupError(one_line(exc)) from exc
        prefetch = bool(self.prefetch)
        train_loader = DataLoader(
            train_set,
            batch_size,
            shuffle=True,
            generator=loader_gen,
            transform=augment,
            prefetch=prefetch,
            drop_last=len(train_set) % batch_size == 1,
        )
        eval_batch = max(batch_size, 500)
        norm = transforms.Normalize(mean, std)
        eval_loader = DataLoader(
            eval_set, eval_batch, transform=norm, generator=np.random.default_rng(0), prefetch=prefetch
        )
        test_loader = (
            DataLoader(test_set, eval_batch, transform=norm, generator=np.random.default_rng(0), prefetch=prefetch)
            if eval_name == "val"
            else None
        )

        # -- model
        cn.manual_seed(seed)
        model_args = {"num_classes": len(classes), "in_channels": channels}
        model_args.update(recipe.get("model_args") or {})
        model_args = json.loads(json.dumps(model_args))  # as the checkpoint will hold them (tuples -> lists)
        if ckpt is not None and dict(ckpt["model"].get("args") or {}) != model_args:
            raise SetupError(
                f"{plan.resume_path} was built with {ckpt['model'].get('args')}, but the data now "
                f"gives {model_args}; the data set changed since the run started"
            )
        model = build_model(plan.model_name, model_args)
        _preflight(model, plan.model_name, train_set, plan.dataset)

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
                raise SetupError("--freeze: " + one_line(exc).removeprefix("freeze: ")) from exc
            frozen_modules = frozen_prefixes_of(model, recipe["freeze"])
            if len(frozen) == sum(1 for _ in model.parameters()):
                raise SetupError(
                    f"--freeze {' '.join(recipe['freeze'])} freezes every layer of {plan.model_name}; "
                    f"leave at least the classifier trainable"
                )
        lr = float(recipe["lr"])
        groups = param_groups(model, lr, pretrained, recipe.get("backbone_lr_scale"))
        optimizer = make_optimizer(
            recipe["optimizer"],
            groups,
            lr,
            float(recipe.get("momentum") or 0.0),
            float(recipe.get("weight_decay") or 0.0),
            recipe.get("nesterov", True),
        )
        scheduler = make_scheduler(recipe["scheduler"], optimizer, plan.epochs, len(train_loader))

        # -- the trainer
        from convnp.train.trainer import Trainer

        data_meta = {
            "dataset": plan.dataset,
            "data_dir": plan.data_dir,
            "classes": classes,
            "mean": list(mean),
            "std": list(std),
            "channels": channels,
            "image_size": image_size,
        }
        recipe_record = {k: v for k, v in recipe.items() if k != "by_dataset"}
        progress = self.progress if isinstance(self.progress, Progress) else Progress(self.progress)
        trainer = Trainer(
            model,
            optimizer,
            scheduler,
            progress=progress,
            frozen_modules=frozen_modules,
            callbacks=list(self.callbacks),
            meta={"model_name": plan.model_name, "model_args": model_args, "data": data_meta, "config": recipe_record},
        )
        if ckpt is not None:
            try:
                trainer.load_checkpoint(ckpt)
            except (ValueError, RuntimeError, KeyError) as exc:
                raise SetupError(f"cannot resume from {plan.resume_path}: {one_line(exc)}") from exc
        _check_writable(plan.out)
        return BuiltRun(
            plan=plan,
            model=model,
            trainer=trainer,
            train_loader=train_loader,
            eval_loader=eval_loader,
            test_loader=test_loader,
            eval_name=eval_name,
            train_size=len(train_set),
            eval_size=len(eval_set),
            classes=classes,
            channels=channels,
            image_size=image_size,
            transfer_line=transfer_line,
            frozen_modules=frozen_modules,
        )


def fit_run(model: str | None = None, dataset: str | None = None, **settings) -> RunResult:
    """``TrainingRun(model, dataset, **settings).fit()``: a whole training run in one call (see
    :class:`TrainingRun` for the settings)."""
    return TrainingRun(model, dataset, **settings).fit()


# ----------------------------------------------------------------------------- helpers of build


def _check_sizes(name: str, classes: list, train_set, eval_set, eval_name: str, test_set) -> None:
    """SetupError for a data set a classifier cannot be trained or measured on: fewer than two classes
    (every prediction would be right), fewer than two training images (a batch of one cannot be
    normalised), an empty evaluation split (the accuracy would be 0/0)."""
    if len(classes) < 2:
        shown = f" ({classes[0]!r})" if classes else ""
        raise SetupError(
            f"dataset '{name}' has {plural(len(classes), 'class')}{shown}; a classifier needs at least "
            f"two classes (for an image folder: one folder of images per class)"
        )
    if len(train_set) < 2:
        raise SetupError(
            f"dataset '{name}' leaves {plural(len(train_set), 'training image')}; training needs at "
            f"least 2 (a batch of one cannot be normalised)"
        )
    for split, ds in ((eval_name, eval_set), ("test", test_set)):
        if len(ds) == 0:
            fix = (
                "give a larger --val-split"
                if split == "val"
                else "give the data set test images (for an image folder: a test/ folder, or class folders with "
                "enough images for its held-out share)"
            )
            raise SetupError(
                f"the {split} split of dataset '{name}' holds no image, so the training cannot be measured; {fix}"
            )


def _check_writable(out: Path) -> None:
    """Create the run folder and make sure files can be written in it, before the first epoch rather
    than after it: SetupError naming --out otherwise."""
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out) as probe:
            probe.write(b"0")
            probe.flush()
    except OSError as exc:
        raise SetupError(
            f"--out {out}: cannot write there ({exc.strerror or one_line(exc)}); choose a folder you can write to"
        ) from exc


def _completed(out: Path, done: int) -> bool:
    """Whether the run in ``out`` finished: metrics.json says complete, after ``done`` epochs."""
    try:
        metrics = json.loads((out / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(metrics, dict) and metrics.get("complete") is True and metrics.get("epochs") == done


def repair_run(out: Path, ckpt: dict, epochs: int) -> list[str]:
    """Repair what a crash between an epoch's writes left in ``out`` before a resumed run continues
    from ``ckpt`` (its last.safetensors); returns one line per repair (or note).

    The rule: last.safetensors is the truth. A best.safetensors newer than it (a crash between
    writing best and last, the order of the writes now) is left alone: the resumed epoch is trained
    again bit-identically and rewrites it. Otherwise best.safetensors is rewritten from last when last
    records its own epoch as the best and best.safetensors is missing, damaged or holds another epoch
    (a crash after last and before best: the order of convnp before this rule). When the best is an earlier
    epoch whose weights best.safetensors does not hold, they are gone: a note says so, and the next
    improvement rewrites the file. Every planned epoch done and metrics.json not complete: the
    resumed fit only runs the final evaluation and rewrites the metrics files (a note says so)."""
    from convnp.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    lines = []
    done = int(ckpt["epoch"])
    best = ckpt.get("best")
    if best:
        best_path = out / "best.safetensors"
        try:
            held = load_checkpoint(best_path)["epoch"] if best_path.exists() else None
        except CheckpointError:
            held = "damaged"
        if isinstance(held, int) and held > done:
            lines.append(
                f"  note: {best_path} holds epoch {held}, newer than last.safetensors (a crash came between "
                f"the two); the resumed epoch {done + 1} rewrites it"
            )
        elif held != best["epoch"]:
            now = "is missing" if held is None else ("is damaged" if held == "damaged" else f"holds epoch {held}")
            if best["epoch"] == done:
                save_checkpoint(best_path, ckpt)
                lines.append(
                    f"  repaired: {best_path} {now}, but the run's best is epoch {done}; rewrote it from "
                    f"last.safetensors"
                )
            else:
                lines.append(
                    f"  note: {best_path} {now}, but the run's best is epoch {best['epoch']}, whose weights "
                    f"are no longer on disk; the next better epoch rewrites it"
                )
    if done >= epochs:
        lines.append(
            f"  finishing: all {epochs} epochs are in last.safetensors but metrics.json is not complete; "
            f"running the final evaluation"
        )
    return lines


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
        raise SetupError(
            f"model '{model_name}' cannot take {dataset_name}'s {c}x{h}x{w} images: {one_line(exc)}"
        ) from exc
    finally:
        model.train(was)
    if out.shape != (x.shape[0], dataset.num_classes):
        raise SetupError(
            f"model '{model_name}' returned outputs of shape {tuple(out.shape)} for {x.shape[0]} "
            f"images; expected ({x.shape[0]}, {dataset.num_classes}) class scores"
        )


def _init_from(model, path) -> tuple[str, list[str]]:
    """Copy the matching layers of the checkpoint ``path`` into ``model``: (one-line report, copied names)."""
    from convnp.serialization import load
    from convnp.train.checkpoint import model_state_of
    from convnp.train.transfer import load_matching

    if not os.path.exists(path):
        raise SetupFileNotFoundError(
            f"--init-from: checkpoint '{path}' does not exist; give the last.safetensors or "
            f"best.safetensors of an earlier run"
        )
    try:
        obj = load(path)
    except (ValueError, OSError) as exc:
        raise SetupError(f"--init-from: '{path}' is not a readable checkpoint ({one_line(exc)})") from exc
    state = model_state_of(obj) if isinstance(obj, dict) else {}
    from convnp.train.checkpoint import nonfinite_tensors

    bad = nonfinite_tensors(state)
    if bad:
        raise SetupError(
            f"--init-from: '{path}' holds non-finite weights (NaN or infinity in {bad[0]}); the run "
            f"that wrote it diverged: start from a checkpoint of a run that did not"
        )
    report = load_matching(model, state)
    if not report.copied:
        src = obj.get("model", {}).get("name") if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else None
        from_model = f" (a checkpoint of model '{src}')" if src else ""
        raise SetupError(
            f"--init-from: '{path}'{from_model} shares no layer (same name and shape) with this model; "
            f"start from a checkpoint of the same architecture"
        )
    return report.summary(os.path.basename(path)), report.copied
