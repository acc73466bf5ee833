"""``convnp eval CHECKPOINT``: accuracy, top-5, per-class accuracy and the confusion matrix of a trained network.

    convnp eval runs/lenet5-mnist/best.safetensors                  # on the data set it was trained on
    convnp eval runs/lenet5-mnist/best.safetensors --dataset mnist --data-dir ../shared/data --out eval/

The checkpoint alone says which model to build, which classes it predicts and how to normalise
the images. With ``--out``: confusion.png and eval.json there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from convnp.cli.common import CLIError, checkpoint_and_data


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a checkpoint: accuracy, top-5, per-class, confusion matrix",
        description="Evaluate a trained network on a data set's test split (by default "
        "the data set it was trained on).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors file written by 'convnp train'")
    p.add_argument("--dataset", default=None, metavar="NAME", help="default: the one recorded in the checkpoint")
    p.add_argument("--data-dir", default=None, metavar="DIR")
    p.add_argument("--split", default="test", choices=("test", "train"))
    p.add_argument("--batch-size", type=int, default=500, metavar="B")
    p.add_argument("--out", default=None, metavar="DIR", help="write confusion.png and eval.json here")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)
    return p


def _check_compatible(ckpt: dict, path, dataset, name: str) -> None:
    data = ckpt.get("data") or {}
    classes = list(data.get("classes") or [])
    shape = (data.get("channels"), *(data.get("image_size") or (None, None)))
    have = (dataset.num_channels, *dataset.image_size)
    if len(classes) != dataset.num_classes or tuple(shape) != tuple(have):
        trained = data.get("dataset") or "its training data"
        raise CLIError(
            f"'{path}' was trained on {trained}: {len(classes)} classes of {shape[0]}x{shape[1]}x{shape[2]} "
            f"images, but {name} has {dataset.num_classes} classes of {have[0]}x{have[1]}x{have[2]} images; "
            f"evaluate it on a data set like the one it was trained on"
        )


def _fmt_table(confusion: np.ndarray, classes: list[str]) -> list[str]:
    k = confusion.shape[0]
    labels = [c[:8] for c in classes]
    width = max(max(len(str(int(confusion.max()))), 1), max(len(lbl) for lbl in labels)) + 1
    head = " " * (max(len(lbl) for lbl in labels) + 2) + "".join(f"{lbl:>{width}}" for lbl in labels)
    rows = [head]
    for i in range(k):
        rows.append(
            f"{labels[i]:>{max(len(lbl) for lbl in labels)}}  " + "".join(f"{int(v):>{width}}" for v in confusion[i])
        )
    return rows


def run(args) -> int:
    from convnp.cli.common import check_positive_int

    check_positive_int(args.batch_size, "--batch-size", "500")
    ckpt, model, data, name, dataset = checkpoint_and_data(args)
    if len(dataset) == 0:
        raise CLIError(
            f"the {args.split} split of {name} holds no image; there is nothing to evaluate "
            f"(give a data set with {args.split} images, or another --split)"
        )
    _check_compatible(ckpt, args.checkpoint, dataset, name)
    classes = list(data.get("classes") or dataset.classes)

    from convnp.data import DataLoader, transforms
    from convnp.train.metrics import per_class_accuracy
    from convnp.train.trainer import evaluate

    norm = transforms.Normalize(data.get("mean") or dataset.mean, data.get("std") or dataset.std)
    loader = DataLoader(dataset, args.batch_size, transform=norm, generator=np.random.default_rng(0), prefetch=True)
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing outputs are reported in one note below
        result = evaluate(model, loader, topk=5, confusion=True, num_classes=len(classes))
    cm = result["confusion"]
    if cm is None:  # every image's outputs were non-finite
        cm = np.zeros((len(classes), len(classes)), dtype=np.int64)
    if result["nonfinite"]:
        print(
            f"note: the network's outputs are NaN or infinite for {result['nonfinite']:,} of {result['n']:,} "
            f"images; they count as wrong and are left out of the per-class table and the confusion matrix",
            file=sys.stderr,
        )
    per_class = per_class_accuracy(cm)
    report = {
        "checkpoint": str(args.checkpoint),
        "model": ckpt["model"].get("name"),
        "epoch": ckpt.get("epoch"),
        "dataset": name,
        "split": args.split,
        "n": result["n"],
        "nonfinite": result["nonfinite"],
        "loss": result["loss"],
        "accuracy": result["accuracy"],
        "top5": result["top5"],
        "per_class": {c: (None if np.isnan(a) else float(a)) for c, a in zip(classes, per_class)},
        "class_counts": {c: int(n) for c, n in zip(classes, cm.sum(axis=1))},
        "confusion": cm.tolist(),
        "classes": classes,
    }
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CLIError(f"--out: cannot create folder '{out}': {exc.strerror}") from exc
        from convnp.train.files import write_json
        from convnp.train.plots import plot_confusion_matrix

        plot_confusion_matrix(
            cm,
            classes,
            out / "confusion.png",
            title=f"{report['model']} on {name} {args.split} (accuracy {100 * result['accuracy']:.2f}%)",
        )
        write_json(out / "eval.json", report)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    p = print
    p(
        f"{report['model']} ({args.checkpoint}, epoch {ckpt.get('epoch')}) on {name} {args.split}: "
        f"{result['n']:,} images"
    )
    p(f"accuracy {100 * result['accuracy']:.2f}%   top-5 {100 * result['top5']:.2f}%   loss {result['loss']:.4f}")
    p("")
    p("per-class accuracy:")
    counts = cm.sum(axis=1)
    w = max(5, max(len(c) for c in classes))
    p(f"  {'class':<{w}}  {'accuracy':>8}  {'images':>7}  most confused with")
    for i, c in enumerate(classes):
        row = cm[i].copy()
        row[i] = 0
        j = int(row.argmax())
        confused = f"{classes[j]} ({int(row[j])})" if row[j] > 0 else "-"
        acc = "     n/a" if np.isnan(per_class[i]) else f"{100 * per_class[i]:7.2f}%"
        p(f"  {c:<{w}}  {acc:>8}  {int(counts[i]):>7,}  {confused}")
    p("")
    if len(classes) <= 30:
        p("confusion matrix (rows: true class, columns: predicted class):")
        for line in _fmt_table(cm, classes):
            p("  " + line)
    else:
        p(f"confusion matrix: {len(classes)} classes, too many to print; use --out DIR for the picture")
    if args.out:
        p("")
        p(f"wrote {Path(args.out) / 'confusion.png'} and {Path(args.out) / 'eval.json'}")
    sys.stdout.flush()
    return 0
