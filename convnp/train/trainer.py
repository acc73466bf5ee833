"""The training loop: ``Trainer(model, optimizer, scheduler, loss_fn).fit(train_loader, val_loader, epochs)``.

One epoch is::

    model.train()
    for x, y in train_loader:                   # (B, C, H, W) float32, (B,) int64
        loss = loss_fn(model(x), y)             # mean cross-entropy of the batch
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        scheduler.step()                        # if it is a per-batch schedule (OneCycleLR)
    evaluate(model, val_loader)                 # eval mode, no gradients: loss, top-1, top-5
    scheduler.step()                            # if it is a per-epoch schedule (cosine, step, plateau)

and then, with an ``out_dir``: ``last.safetensors`` (and ``best.safetensors`` when the evaluation
accuracy improved), ``metrics.json``, ``metrics.csv`` and ``curves.png``, each written atomically.
Each epoch appends a dict to ``trainer.history``::

    {"epoch", "lr", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "test_top5",
     "seconds", "train_seconds", "images_per_second", "data_seconds", "data_share"}

``lr`` is the learning rate at the start of the epoch (of the last param group, the head's);
``seconds`` covers training and evaluation, ``train_seconds`` training alone, and
``images_per_second`` = training images / ``train_seconds``.
``data_share`` = time spent waiting for the next batch / training time of the epoch: the share
of the epoch the data pipeline cost (near 0 when prefetching keeps up).

Ctrl-C (KeyboardInterrupt) during an epoch discards that half epoch: the model, optimiser and
scheduler go back to the end of the last completed epoch, which is (or is made) the content of
``last.safetensors``; ``fit`` returns the history so far with ``trainer.interrupted = True``.

>>> import numpy as np, convnp as cn
>>> from convnp import nn
>>> from convnp.data import ArrayDataset, DataLoader
>>> cn.manual_seed(0)  # doctest: +ELLIPSIS
Generator(PCG64) at 0x...
>>> ds = ArrayDataset(np.random.default_rng(0).integers(0, 255, (64, 1, 8, 8), dtype=np.uint8), np.arange(64) % 2)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
>>> trainer = Trainer(model, cn.optim.SGD(model.parameters(), lr=0.1), progress="quiet")
>>> history = trainer.fit(DataLoader(ds, batch_size=16, shuffle=True), DataLoader(ds, batch_size=64), epochs=2)
>>> [sorted(history[0])[:4], len(history)]
[['data_seconds', 'data_share', 'epoch', 'images_per_second'], 2]
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from convnp.autograd.grad_mode import no_grad
from convnp.autograd.tensor import Tensor
from convnp.nn.loss import CrossEntropyLoss
from convnp.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from convnp.train.checkpoint import load_checkpoint, make_checkpoint, restore_rng, save_checkpoint
from convnp.train.files import write_csv, write_json
from convnp.train.metrics import MetricAccumulator
from convnp.train.progress import Progress

__all__ = ["Trainer", "Callback", "evaluate", "TrainingError", "fit_summary"]


class TrainingError(RuntimeError):
    """Training cannot go on (the loss became NaN or infinite). The message says what to change."""


class Callback:
    """Hooks called by :meth:`Trainer.fit`; override any. ``logs`` of ``on_batch_end`` holds
    ``batch``, ``loss`` and ``size``; ``on_epoch_end`` gets the history entry."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None: ...
    def on_batch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None: ...
    def on_epoch_end(self, trainer: Trainer, epoch: int, entry: dict) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def evaluate(
    model,
    loader,
    loss_fn: Callable | None = None,
    topk: int = 5,
    confusion: bool = False,
    num_classes: int | None = None,
) -> dict:
    """Loss, top-1 and top-k accuracy (and the confusion matrix) of ``model`` over ``loader``, in
    eval mode without recording gradients. The model's training mode is restored afterwards.

    Returns ``{"loss", "accuracy", "top5" (key named after topk), "n", "confusion" (or None),
    "nonfinite" (images whose outputs hold NaN or infinity: counted wrong, not in the confusion), "seconds"}``.
    """
    loss_fn = loss_fn if loss_fn is not None else CrossEntropyLoss()
    was_training = model.training
    model.eval()
    acc = MetricAccumulator(num_classes=num_classes, topk=(1, topk), confusion=confusion)
    start = time.perf_counter()
    try:
        with no_grad():
            for x, y in loader:
                logits = model(_as_tensor(x))
                loss = loss_fn(logits, y)
                acc.update(float(loss.data), logits.data, y)
    finally:
        model.train(was_training)
    return {
        "loss": acc.loss,
        "accuracy": acc.accuracy(1),
        f"top{topk}": acc.accuracy(topk),
        "n": acc.n,
        "confusion": acc.confusion,
        "nonfinite": acc.nonfinite,
        "seconds": time.perf_counter() - start,
    }


def _loader_generator(loader) -> np.random.Generator | None:
    gen = getattr(loader, "generator", None)
    return gen if isinstance(gen, np.random.Generator) else None


def _current_lr(optimizer) -> float:
    return float(optimizer.param_groups[-1]["lr"])


def _data_name(loader) -> str:
    """``the training data set 'mnist' (split 'train')`` or ``the training data``: the data set behind a loader."""
    ds = getattr(loader, "dataset", None)
    for _ in range(4):  # through wrappers (a subset, a transformed view) to the one with a name or path
        if ds is None:
            break
        name = getattr(ds, "name", None) or getattr(ds, "path", None) or getattr(ds, "root", None)
        if isinstance(name, (str, os.PathLike)) and str(name):
            split = getattr(ds, "split", None)
            split = f" (split '{split}')" if isinstance(split, str) and split else ""
            return f"the training data set '{name}'{split}"
        ds = getattr(ds, "dataset", None)
    return "the training data"


def _check_finite_batch(x, loader, epoch: int, batch: int) -> None:
    """TrainingError naming the data when the input batch itself holds NaN or infinity (a non-finite loss
    that no learning rate can fix)."""
    data = x.data if isinstance(x, Tensor) else x
    try:
        data = np.asarray(data)
    except Exception:  # noqa: BLE001 - not an array: nothing to say about it
        return
    if data.dtype.kind not in "fc" or not data.size:
        return
    finite = np.isfinite(data.reshape(data.shape[0], -1)).all(axis=1) if data.ndim else np.isfinite(data)
    if np.all(finite):
        return
    bad = int(np.size(finite) - np.count_nonzero(finite))
    total = int(np.size(finite))
    raise TrainingError(
        f"{_data_name(loader)} holds non-finite values (NaN or infinity): {bad} of the {total} images of "
        f"batch {batch} of epoch {epoch} do, so the training loss became NaN; the learning rate is not the "
        f"cause. Expected finite pixel values: remove or fix those images"
    )


def fit_summary(history: list[dict], eval_name: str = "test") -> dict:
    """``best`` epoch and value of the evaluation accuracy in a history."""
    key = f"{eval_name}_accuracy"
    values = [(h[key], h["epoch"]) for h in history if h.get(key) is not None]
    if not values:
        return {}
    value, epoch = max(values, key=lambda t: (t[0], -t[1]))
    return {"epoch": epoch, "metric": key, "value": value}


class Trainer:
    """Trains a classifier and keeps its history.

    Args:
        model: a Module returning logits of shape (N, num_classes).
        optimizer: a convnp.optim optimiser over the model's trainable parameters.
        scheduler: an lr scheduler or None. OneCycleLR is stepped after every batch, others after
            every epoch (ReduceLROnPlateau with the evaluation loss); ``scheduler_interval``
            ('batch' or 'epoch') overrides the choice.
        loss_fn: default CrossEntropyLoss().
        callbacks: :class:`Callback` objects.
        progress: a :class:`Progress`, or its mode: 'auto', 'bar', 'lines', 'quiet'.
        topk: the k of the second accuracy reported (5).
        frozen_modules: names of modules kept in eval mode while training (frozen subtrees).
        meta: what checkpoints record besides the state: ``model_name``, ``model_args``, ``data``
            (dataset name, classes, mean, std, channels, image_size) and ``config`` (options).
        plot_every: redraw curves.png after an epoch only when this many seconds have passed since
            it was last drawn (drawing costs about a second); it is always drawn at the end of ``fit``
            and on Ctrl-C. metrics.json and metrics.csv are written after every epoch.
    """

    def __init__(
        self,
        model,
        optimizer,
        scheduler=None,
        loss_fn: Callable | None = None,
        *,
        scheduler_interval: str | None = None,
        callbacks: Sequence[Callback] = (),
        progress: Progress | str = "auto",
        topk: int = 5,
        frozen_modules: Sequence[str] = (),
        meta: dict | None = None,
        plot_every: float = 60.0,
    ):
        if scheduler_interval not in (None, "batch", "epoch"):
            raise ValueError(
                f"Trainer: scheduler_interval must be 'batch', 'epoch' or None (chosen by the "
                f"scheduler's type). Received: scheduler_interval={scheduler_interval!r}"
            )
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.loss_fn = loss_fn if loss_fn is not None else CrossEntropyLoss()
        self.scheduler_interval = scheduler_interval or ("batch" if isinstance(scheduler, OneCycleLR) else "epoch")
        self.callbacks = list(callbacks)
        self.progress = progress if isinstance(progress, Progress) else Progress(progress)
        self.topk = int(topk)
        self.frozen_modules = list(frozen_modules)
        self.meta = dict(meta or {})
        self.plot_every = float(plot_every)
        self.aux_weight = 0.3
        self._last_plot = -math.inf
        self.epoch = 0  # completed epochs
        self.history: list[dict] = []
        self.best: dict | None = None
        self.interrupted = False
        self.out_dir: Path | None = None
        self._pending_loader_state = None
        self._snapshot: dict | None = None
        self._saved_epoch = -1

    # --- checkpoints --------------------------------------------------------------------------
    def checkpoint(self, loader_generator: np.random.Generator | None = None) -> dict:
        """The state after the last completed epoch, as a checkpoint dict (copies)."""
        meta = self.meta
        return make_checkpoint(
            self.model,
            self.optimizer,
            self.scheduler,
            epoch=self.epoch,
            model_name=meta.get("model_name"),
            model_args=meta.get("model_args"),
            data=meta.get("data"),
            config=meta.get("config"),
            history=self.history,
            best=self.best,
            loader_generator=loader_generator,
        )

    def load_checkpoint(self, checkpoint) -> dict:
        """Continue from a checkpoint (a path or a dict from :func:`load_checkpoint`): the model's
        weights, optimiser and scheduler state, epoch, history, best, and the random generators
        (the global one now, the training loader's at the start of :meth:`fit`)."""
        ckpt = load_checkpoint(checkpoint) if isinstance(checkpoint, (str, os.PathLike)) else checkpoint
        self.model.load_state_dict(ckpt["model"]["state"])
        if self.optimizer is not None and ckpt.get("optimizer") is not None:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.epoch = int(ckpt["epoch"])
        self.history = [dict(h) for h in ckpt.get("history") or []]
        self.best = dict(ckpt["best"]) if ckpt.get("best") else None
        restore_rng(ckpt)
        self._pending_loader_state = (ckpt.get("rng") or {}).get("loader")
        self._snapshot = ckpt
        self._saved_epoch = self.epoch
        return ckpt

    def _restore_snapshot(self) -> None:
        """Back to the end of the last completed epoch (after an interrupted epoch)."""
        snap = self._snapshot
        if snap is None:
            return
        self.model.load_state_dict(snap["model"]["state"])
        if self.optimizer is not None and snap.get("optimizer") is not None:
            self.optimizer.load_state_dict(snap["optimizer"])
        if self.scheduler is not None and snap.get("scheduler") is not None:
            self.scheduler.load_state_dict(snap["scheduler"])
        restore_rng(snap)
        self._pending_loader_state = (snap.get("rng") or {}).get("loader")  # applied by the next fit

    # --- the loop -----------------------------------------------------------------------------
    def _set_train_mode(self) -> None:
        self.model.train()
        for name in self.frozen_modules:
            self.model.get_submodule(name).eval()

    def _forward_loss(self, x, y):
        """Logits and loss of a training batch. A model that returns a tuple in training mode (GoogLeNet's
        (logits, aux2, aux1)) is trained on loss(logits) + aux_weight * sum(loss(aux)) (Szegedy et al.
        2015 weight the auxiliary classifiers by 0.3); the accuracy is that of the main logits."""
        out = self.model(_as_tensor(x))
        if isinstance(out, tuple):
            logits, aux = out[0], [a for a in out[1:] if a is not None]
            loss = self.loss_fn(logits, y)
            for a in aux:
                loss = loss + self.loss_fn(a, y) * self.aux_weight
            return logits, loss
        return out, self.loss_fn(out, y)

    def _train_epoch(self, loader, epoch: int, epochs: int) -> dict:
        self._set_train_mode()
        acc = MetricAccumulator(topk=(1,))
        n_images = len(loader.dataset) if hasattr(loader, "dataset") else 0
        if getattr(loader, "drop_last", False):
            n_images = len(loader) * loader.batch_size
        self.progress.epoch_start(epoch, epochs, n_images)
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch)
        wait = 0.0
        start = time.perf_counter()
        it = iter(loader)
        batch = 0
        try:
            while True:
                t = time.perf_counter()
                try:
                    x, y = next(it)
                except StopIteration:
                    break
                wait += time.perf_counter() - t  # the data pipeline's share
                logits, loss = self._forward_loss(x, y)
                loss_value = float(loss.data)
                if not math.isfinite(loss_value):
                    _check_finite_batch(x, loader, epoch, batch + 1)  # bad data is not the learning rate's fault
                    raise TrainingError(
                        f"the training loss became {loss_value} at epoch {epoch}, batch {batch + 1}: the learning "
                        f"rate ({_current_lr(self.optimizer):.4g}) is too high for this model; lower it "
                        f"(for example --lr {_current_lr(self.optimizer) / 10:.3g})"
                    )
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                if self.scheduler is not None and self.scheduler_interval == "batch":
                    self.scheduler.step()
                acc.update(loss_value, logits.data, y)
                batch += 1
                self.progress.batch(len(y), acc.loss, acc.accuracy(1))
                for cb in self.callbacks:
                    cb.on_batch_end(self, epoch, {"batch": batch, "loss": loss_value, "size": len(y)})
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # stops a prefetch thread
        seconds = time.perf_counter() - start
        return {
            "train_loss": acc.loss,
            "train_accuracy": acc.accuracy(1),
            "train_seconds": seconds,
            "images_per_second": acc.n / seconds if seconds > 0 else float("nan"),
            "data_seconds": wait,
            "data_share": wait / seconds if seconds > 0 else float("nan"),
            "n_train": acc.n,
        }

    def fit(
        self,
        train_loader,
        val_loader=None,
        epochs: int = 10,
        out_dir=None,
        *,
        eval_name: str = "test",
        test_loader=None,
    ) -> list[dict]:
        """Train until ``epochs`` epochs are completed in all (a resumed trainer continues from
        ``self.epoch``). Evaluates on ``val_loader`` after every epoch (history keys
        ``{eval_name}_loss``, ``_accuracy``, ``_top5``); best = highest evaluation accuracy.
        With ``out_dir``, writes the checkpoints and metrics files there. ``test_loader`` (when the
        per-epoch evaluation is a validation split) is evaluated at the end, with the final and the
        best weights, for metrics.json's ``test_accuracy`` and ``best_test_accuracy``.
        Returns the history (a list of per-epoch dicts)."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"Trainer.fit: epochs must be a positive int. Received: epochs={epochs!r}")
        self.eval_name = eval_name
        self.interrupted = False
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        loader_gen = _loader_generator(train_loader)
        if self._pending_loader_state is not None and loader_gen is not None:
            loader_gen.bit_generator.state = self._pending_loader_state
        self._pending_loader_state = None
        if self._snapshot is None:
            self._snapshot = self.checkpoint(loader_gen)
        self._fit_start = time.perf_counter()
        self._last_plot = self._fit_start  # first drawing after plot_every seconds, or at the end
        for cb in self.callbacks:
            cb.on_fit_start(self)
        try:
            while self.epoch < epochs:
                epoch = self.epoch + 1
                lr = _current_lr(self.optimizer)
                epoch_start = time.perf_counter()
                entry = {"epoch": epoch, "lr": lr}
                entry.update(self._train_epoch(train_loader, epoch, epochs))
                self._check_finite_weights(epoch)
                if val_loader is not None:
                    ev = evaluate(self.model, val_loader, self.loss_fn, topk=self.topk)
                    entry[f"{eval_name}_loss"] = ev["loss"]
                    entry[f"{eval_name}_accuracy"] = ev["accuracy"]
                    entry[f"{eval_name}_top{self.topk}"] = ev[f"top{self.topk}"]
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    if isinstance(self.scheduler, ReduceLROnPlateau):
                        self.scheduler.step(entry.get(f"{eval_name}_loss", entry["train_loss"]))
                    else:
                        self.scheduler.step()
                entry["seconds"] = time.perf_counter() - epoch_start
                entry = {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in entry.items()}
                # -- the epoch is complete: from here on it is kept
                self.history.append(entry)
                self.epoch = epoch
                improved = False
                if val_loader is not None:
                    value = entry[f"{eval_name}_accuracy"]
                    if self.best is None or value > self.best["value"]:
                        self.best = {"epoch": epoch, "metric": f"{eval_name}_accuracy", "value": value}
                        improved = True
                self._snapshot = self.checkpoint(loader_gen)
                self._write_epoch_outputs(improved)
                self.progress.epoch_end(entry, epochs, eval_name)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, entry)
        except KeyboardInterrupt:
            self.progress.close()
            self.interrupted = True
            self._restore_snapshot()
            if self.out_dir is not None and self._snapshot is not None and self.epoch > 0:
                if self._saved_epoch != self.epoch:
                    save_checkpoint(self.out_dir / "last.safetensors", self._snapshot)
                    self._saved_epoch = self.epoch
                self.write_metrics(plot=True)
            return self.history
        finally:
            self.progress.close()
        self.final = self._final_evaluation(test_loader, eval_name)
        if self.out_dir is not None:
            self.write_metrics(plot=True)
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.history

    def _check_finite_weights(self, epoch: int) -> None:
        """TrainingError when the epoch left NaN or infinity in the weights (the last step can diverge
        after a finite loss was seen): the epoch is not kept, so last.safetensors and best.safetensors
        keep the previous, finite epoch (a NaN network would also score 100%: every comparison is false)."""
        from convnp.train.checkpoint import nonfinite_tensors

        bad = nonfinite_tensors(self.model.state_dict())
        if bad:
            lr = _current_lr(self.optimizer)
            raise TrainingError(
                f"the weights became non-finite (NaN or infinity in {bad[0]}) during epoch {epoch}: the learning "
                f"rate ({lr:.4g}) is too high for this model; lower it (for example --lr {lr / 10:.3g})"
            )

    def _final_evaluation(self, test_loader, eval_name: str) -> dict:
        """test_accuracy of the final model and best_test_accuracy (of the best-by-evaluation weights)."""
        if test_loader is None:
            if eval_name == "test" and self.history:
                return {
                    "test_accuracy": self.history[-1].get("test_accuracy"),
                    "best_test_accuracy": self.best["value"] if self.best else None,
                }
            return {}
        final = evaluate(self.model, test_loader, self.loss_fn, topk=self.topk)
        result = {
            "test_accuracy": final["accuracy"],
            f"test_top{self.topk}": final[f"top{self.topk}"],
            "test_loss": final["loss"],
            "best_test_accuracy": final["accuracy"],
        }
        if (
            self.out_dir is not None
            and self.best is not None
            and self.best["epoch"] != self.epoch
            and (self.out_dir / "best.safetensors").exists()
        ):
            current = self.model.state_dict()
            try:
                self.model.load_state_dict(load_checkpoint(self.out_dir / "best.safetensors")["model"]["state"])
                result["best_test_accuracy"] = evaluate(self.model, test_loader, self.loss_fn, topk=self.topk)[
                    "accuracy"
                ]
            finally:
                self.model.load_state_dict(current)
        return result

    # --- files --------------------------------------------------------------------------------
    def _write_epoch_outputs(self, improved: bool) -> None:
        if self.out_dir is None:
            return
        # best before last: a crash between the two leaves last.safetensors one epoch behind, and resuming
        # from it redoes that epoch bit-identically (rewriting the same best); see run.repair_run
        if improved:
            save_checkpoint(self.out_dir / "best.safetensors", self._snapshot)
        save_checkpoint(self.out_dir / "last.safetensors", self._snapshot)
        self._saved_epoch = self.epoch
        self.write_metrics()

    def metrics(self) -> dict:
        """The content of metrics.json."""
        data = self.meta.get("data") or {}
        eval_name = getattr(self, "eval_name", "test")
        final = getattr(self, "final", None) or {}
        out = {"model": self.meta.get("model_name"), "dataset": data.get("dataset")}
        if final:
            out["test_accuracy"] = final.get("test_accuracy")
            out["best_test_accuracy"] = final.get("best_test_accuracy")
        elif eval_name == "test" and self.history:  # during training: the latest epoch so far
            out["test_accuracy"] = self.history[-1].get("test_accuracy")
            out["best_test_accuracy"] = self.best["value"] if self.best else None
        else:
            out["test_accuracy"] = None
            out["best_test_accuracy"] = None
        out["best_epoch"] = self.best["epoch"] if self.best else None
        out["epochs"] = self.epoch
        out["complete"] = bool(final)
        out["history"] = self.history
        out["seconds"] = float(sum(h.get("seconds", 0.0) for h in self.history))
        if self.meta.get("config"):
            out["config"] = self.meta["config"]
        return out

    def write_metrics(self, plot: bool | None = None) -> None:
        """metrics.json, metrics.csv and (when ``plot``, or by default when ``plot_every`` seconds have
        passed since the last drawing) curves.png in ``out_dir``, each atomically."""
        if self.out_dir is None:
            return
        write_json(self.out_dir / "metrics.json", self.metrics())
        write_csv(self.out_dir / "metrics.csv", self.history)
        if plot is None:
            plot = time.perf_counter() - self._last_plot >= self.plot_every
        if self.history and plot:
            self._last_plot = time.perf_counter()
            from convnp.train.plots import plot_curves

            name = self.meta.get("model_name") or type(self.model).__name__
            dataset = (self.meta.get("data") or {}).get("dataset")
            plot_curves(
                self.history,
                self.out_dir / "curves.png",
                title=f"{name} on {dataset}" if dataset else name,
                eval_name=getattr(self, "eval_name", "test"),
            )
