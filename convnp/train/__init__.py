"""convnp.train: the training loop, metrics, checkpoints, progress display, plots and transfer learning.

What ``convnp train`` does, as one call (recipe defaults, resume policy, data, model, outputs; see
:mod:`convnp.train.run`)::

    from convnp.train import TrainingRun
    result = TrainingRun("lenet5", dataset="mnist-sample", epochs=2, seed=0, out="runs/quick").fit()
    result.metrics["test_accuracy"], result.best_path, result.model

The pieces it is built from, usable from a notebook::

    import convnp as cn
    from convnp.data import get_dataset, DataLoader, transforms
    from convnp.models import get_model
    from convnp.train import Trainer

    train, test = get_dataset("mnist-sample"), get_dataset("mnist-sample", split="test")
    norm = dict(mean=train.mean, std=train.std)
    train_loader = DataLoader(train, 128, shuffle=True, prefetch=True, transform=transforms.preset("shift", **norm))
    test_loader = DataLoader(test, 1000, transform=transforms.Normalize(**norm))
    model = get_model("lenet5")
    opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    history = Trainer(model, opt).fit(train_loader, test_loader, epochs=5)
"""

from convnp.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    make_checkpoint,
    model_state_of,
    restore_rng,
    save_checkpoint,
)
from convnp.train.metrics import MetricAccumulator, accuracy, confusion_matrix, per_class_accuracy, topk_correct
from convnp.train.progress import Progress, format_epoch_line
from convnp.train.run import BuiltRun, RunPlan, RunResult, TrainingRun, fit_run
from convnp.train.setup import SetupError, SetupFileNotFoundError
from convnp.train.trainer import Callback, Trainer, TrainingError, evaluate
from convnp.train.transfer import TransferReport, freeze, load_matching, param_groups, trainable_parameters

__all__ = [
    "TrainingRun",
    "RunPlan",
    "BuiltRun",
    "RunResult",
    "fit_run",
    "SetupError",
    "SetupFileNotFoundError",
    "Trainer",
    "Callback",
    "TrainingError",
    "evaluate",
    "accuracy",
    "topk_correct",
    "confusion_matrix",
    "per_class_accuracy",
    "MetricAccumulator",
    "CheckpointError",
    "make_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "restore_rng",
    "model_state_of",
    "Progress",
    "format_epoch_line",
    "TransferReport",
    "load_matching",
    "freeze",
    "param_groups",
    "trainable_parameters",
]
