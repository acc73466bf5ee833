"""A tiny network and a few hundred real digits, so that training tests run in seconds."""

from __future__ import annotations

import numpy as np

import convnp as cn
from convnp import nn
from convnp.data import DataLoader, get_dataset, transforms
from convnp.optim import SGD
from convnp.optim.lr_scheduler import OneCycleLR
from convnp.train import Trainer


class TinyNet(nn.Module):
    """conv 3x3 stride 2 -> ReLU -> max-pool 2 -> dropout -> linear: (N, C, 28, 28) -> (N, K)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 4, dropout: float = 0.25):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, width, 3, stride=2), nn.ReLU(), nn.MaxPool2d(2))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width * 6 * 6, num_classes)

    def forward(self, x):
        x = self.features(x)  # (N, C, 28, 28) -> (N, width, 6, 6)
        return self.classifier(self.dropout(x.reshape(x.shape[0], -1)))


def tinynet(num_classes: int = 10, in_channels: int = 1, **kwargs) -> TinyNet:
    return TinyNet(num_classes=num_classes, in_channels=in_channels, **kwargs)


def small_mnist(n_train: int = 320, n_test: int = 160, classes: int = 10):
    """Every k-th digit of the bundled sample (balanced), restricted to the first ``classes`` classes."""
    train, test = get_dataset("mnist-sample"), get_dataset("mnist-sample", split="test")
    out = []
    for ds, n in ((train, n_train), (test, n_test)):
        idx = np.flatnonzero(ds.labels < classes)
        idx = idx[:: max(1, len(idx) // n)][:n]
        sub = ds.subset(idx)
        sub.classes = [str(c) for c in range(classes)]
        out.append(sub)
    return out[0], out[1]


def make_trainer(
    seed: int = 0,
    epochs: int = 4,
    n_train: int = 320,
    batch_size: int = 32,
    augment: str = "shift",
    progress: str = "quiet",
    callbacks=(),
    model=None,
    lr: float = 0.1,
):
    """Everything of a run built from a seed, the way the command line builds it: (trainer, train_loader,
    test_loader). The same seed gives the same run."""
    train, test = small_mnist(n_train)
    cn.manual_seed(seed)
    model = model if model is not None else TinyNet()
    gen = np.random.default_rng([seed, 1])
    train_loader = DataLoader(
        train,
        batch_size,
        shuffle=True,
        generator=gen,
        prefetch=True,
        transform=transforms.preset(augment, mean=train.mean, std=train.std),
    )
    test_loader = DataLoader(
        test, 100, transform=transforms.Normalize(train.mean, train.std), generator=np.random.default_rng(0)
    )
    opt = SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=len(train_loader))
    meta = {
        "model_name": "tinynet",
        "model_args": {"num_classes": 10, "in_channels": 1},
        "data": {
            "dataset": "mnist-sample",
            "classes": train.classes,
            "mean": list(train.mean),
            "std": list(train.std),
            "channels": 1,
            "image_size": [28, 28],
        },
        "config": {"seed": seed, "epochs": epochs},
    }
    trainer = Trainer(model, opt, sched, progress=progress, callbacks=callbacks, meta=meta)
    return trainer, train_loader, test_loader


TIME_KEYS = {"seconds", "train_seconds", "images_per_second", "data_seconds", "data_share"}


def without_times(history):
    return [{k: v for k, v in h.items() if k not in TIME_KEYS} for h in history]


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}
