"""Transfer learning, as the lectures describe it.

- :func:`load_matching`: start from another network's weights. Every parameter and buffer whose
  dotted name and shape match is copied; the rest keep their fresh initialisation (a classifier
  head trained on a different number of classes is such a layer) and are reported.
- :func:`freeze`: "freeze the early layers": ``requires_grad_(False)`` on named module subtrees,
  so they get no gradient and the optimiser never sees them (and, in a Trainer, they stay in eval
  mode, so BatchNorm's running statistics stay fixed too).
- :func:`param_groups`: "fine-tune with a low learning rate": the pretrained parameters in one
  group at ``backbone_lr_scale * lr``, the re-initialised ones at ``lr``.

>>> from convnp import nn
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> src = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5)).state_dict()
>>> report = load_matching(net, src)
>>> report.copied, report.reinitialised
(['0.weight', '0.bias'], ['2.weight', '2.bias'])
>>> freeze(net, ["0"])
['0.weight', '0.bias']
>>> [len(g["params"]) for g in param_groups(net, lr=0.1, pretrained=report.copied, backbone_lr_scale=0.1)]
[2]
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from convnp.autograd.tensor import Tensor

__all__ = ["TransferReport", "load_matching", "freeze", "frozen_prefixes_of", "trainable_parameters", "param_groups"]


@dataclass
class TransferReport:
    """What :func:`load_matching` did. ``reinitialised``: names present in both with different
    shapes (kept fresh); ``missing``: in the model only; ``unused``: in the source only."""

    copied: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)
    shapes: dict[str, tuple[tuple, tuple]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def summary(self, source: str = "the checkpoint") -> str:
        """One line, e.g. ``copied 10 of 10 tensors from x.safetensors; re-initialised fc.weight,
        fc.bias (shape (10, 84) -> (5, 84))``."""
        total = len(self.copied) + len(self.reinitialised) + len(self.missing)
        line = f"copied {len(self.copied)} of {total} tensors from {source}"
        if self.reinitialised:
            first = self.reinitialised[0]
            old, new = self.shapes[first]
            line += (
                f"; re-initialised {', '.join(self.reinitialised)} "
                f"(shape {tuple(old)} in the checkpoint, {tuple(new)} here)"
            )
        if self.missing:
            line += f"; not in the checkpoint, left as initialised: {', '.join(self.missing)}"
        return line


def load_matching(model, state_dict: dict) -> TransferReport:
    """Copy every entry of ``state_dict`` whose name and shape match one of ``model``'s parameters or
    persistent buffers (in place, keeping the model's dtype); report the rest."""
    own = model.state_dict(keep_vars=True)
    report = TransferReport()
    matched = {}
    for name, target in own.items():
        if name not in state_dict:
            report.missing.append(name)
            continue
        src = state_dict[name]
        src = src.data if isinstance(src, Tensor) else np.asarray(src)
        shape = target.data.shape if isinstance(target, Tensor) else np.shape(target)
        if tuple(src.shape) != tuple(shape):
            report.reinitialised.append(name)
            report.shapes[name] = (tuple(src.shape), tuple(shape))
            continue
        matched[name] = src
        report.copied.append(name)
    report.unused = [k for k in state_dict if k not in own]
    if matched:
        model.load_state_dict(matched, strict=False)
    return report


def _param_names(model) -> list[str]:
    return [name for name, _ in model.named_parameters()]


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def freeze(model, prefixes) -> list[str]:
    """``requires_grad_(False)`` on the parameters under each dotted prefix (a module's name such
    as ``features`` or ``layer1.0``, or a parameter's name). Returns the frozen parameter names.
    A prefix that names nothing raises ValueError with the closest names."""
    if isinstance(prefixes, str):
        prefixes = [prefixes]
    prefixes = [p.strip().rstrip(".") for p in prefixes]
    params = dict(model.named_parameters())
    frozen = []
    for prefix in prefixes:
        hits = [n for n in params if _matches(n, prefix)]
        if not hits:
            modules = [n for n, _ in model.named_modules() if n]
            close = difflib.get_close_matches(prefix, modules + list(params), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            top = sorted({n.split(".")[0] for n in params})
            raise ValueError(
                f"freeze: no layer named {prefix!r} holds parameters; the model's top-level layers "
                f"are {', '.join(top)}.{hint} Received: {prefix!r}"
            )
        for n in hits:
            params[n].requires_grad_(False)
            if n not in frozen:
                frozen.append(n)
    return frozen


def frozen_prefixes_of(model, prefixes) -> list[str]:
    """The names of the modules under the given prefixes (for keeping them in eval mode)."""
    prefixes = [p.strip().rstrip(".") for p in prefixes]
    return [name for name, _ in model.named_modules() if name and any(_matches(name, p) for p in prefixes)]


def trainable_parameters(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


def param_groups(model, lr: float, pretrained=(), backbone_lr_scale: float | None = None) -> list[dict]:
    """Optimiser param groups of the trainable parameters: with ``backbone_lr_scale``, the
    ``pretrained`` ones (by name) at ``backbone_lr_scale * lr`` and the others at ``lr``; otherwise
    one group. Empty groups are left out."""
    pretrained = set(pretrained)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if backbone_lr_scale is None:
        return [{"params": [p for _, p in named]}]
    backbone = [p for n, p in named if n in pretrained]
    head = [p for n, p in named if n not in pretrained]
    groups = []
    if backbone:
        groups.append({"params": backbone, "lr": lr * float(backbone_lr_scale), "name": "backbone"})
    if head:
        groups.append({"params": head, "lr": lr, "name": "head"})
    return groups
