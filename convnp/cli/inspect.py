"""``convnp inspect CHECKPOINT``: look inside a trained network, as one offline report.html.

    convnp inspect runs/lenet5-mnist/best.safetensors
    convnp inspect runs/lenet5-mnist/best.safetensors --dataset mnist --data-dir ../shared/data --out inspect/
    convnp inspect runs/vgg11-cifar10/best.safetensors --layers features.0 features.3 --k 9 --limit 2000

Writes DIR/report.html (one self-contained file: images embedded, no network needed) and a PNG per
figure: filters, feature maps, the top-k patches of every channel over the data set's test split
with their deconvnet projections, saliency, guided backprop, Grad-CAM, top-5 predictions, the
confusion matrix and the most confused pairs, the model summary and, when metrics.json lies
beside the checkpoint, the training curves. The checkpoint says which model to build, its classes,
its normalisation and the data set it was trained on (the default of --dataset).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from convnp.cli.common import CLIError, check_positive_int, checkpoint_and_data, one_line

__all__ = ["add_parser", "run"]

_EXAMPLES = (
    "examples:\n"
    "  convnp inspect runs/lenet5-mnist/best.safetensors\n"
    "  convnp inspect runs/lenet5-mnist/best.safetensors --dataset mnist --data-dir ../shared/data "
    "--out inspect/\n"
    "  convnp inspect runs/vgg11-cifar10/best.safetensors --layers features.0 features.3 --limit 2000"
)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "inspect",
        help="look inside a trained network: filters, feature maps, top-k patches, saliency, "
        "Grad-CAM ... as one offline report.html",
        description="Write report.html (self-contained, works offline) and a PNG per figure for a checkpoint "
        "written by 'convnp train'.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EXAMPLES,
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors file written by 'convnp train'")
    p.add_argument("--dataset", default=None, metavar="NAME", help="default: the one recorded in the checkpoint")
    p.add_argument("--data-dir", default=None, metavar="DIR")
    p.add_argument("--split", default="test", choices=("test", "train"), help="which split to search (default test)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: inspect/ beside the checkpoint)")
    p.add_argument(
        "--layers",
        nargs="+",
        default=None,
        metavar="LAYER",
        help="layers to show and search top-k patches for, by dotted name (default: the first conv "
        "layers; top-k patches for the first two)",
    )
    p.add_argument("--k", type=int, default=9, metavar="K", help="patches per channel (default 9)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use only the first N images of the split")
    p.add_argument("--batch-size", type=int, default=500, metavar="B")
    p.add_argument("--no-deconv", action="store_true", help="skip the deconvnet projections beside the patches")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    check_positive_int(args.k, "--k", "9")
    check_positive_int(args.limit, "--limit", "2000")
    check_positive_int(args.batch_size, "--batch-size", "500")
    t0 = time.perf_counter()
    ckpt, model, data, name, dataset = checkpoint_and_data(args)
    channels = data.get("channels")
    size = tuple(data.get("image_size") or ())
    have = (dataset.num_channels, *dataset.image_size)
    if channels and size and (channels, *size) != have:
        raise CLIError(
            f"'{args.checkpoint}' was trained on {channels}x{size[0]}x{size[1]} images but {name} has "
            f"{have[0]}x{have[1]}x{have[2]} images; inspect it on a data set like the one it was trained on"
        )
    classes = list(data.get("classes") or dataset.classes)
    if len(classes) != dataset.num_classes:
        raise CLIError(
            f"'{args.checkpoint}' predicts {len(classes)} classes but {name} has {dataset.num_classes}; "
            f"inspect it on a data set like the one it was trained on"
        )
    mean = data.get("mean") or list(dataset.mean)
    std = data.get("std") or list(dataset.std)

    from convnp.data import DataLoader, transforms
    from convnp.inspect import report

    loader = DataLoader(
        dataset,
        args.batch_size,
        transform=transforms.Normalize(mean, std),
        generator=np.random.default_rng(0),
        prefetch=True,
    )
    out = Path(args.out) if args.out else Path(args.checkpoint).resolve().parent / "inspect"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out: cannot create folder '{out}': {exc.strerror}") from exc
    metrics = Path(args.checkpoint).resolve().parent / "metrics.json"
    n = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    model_name = ckpt["model"].get("name")
    print(
        f"convnp inspect: {model_name} ({args.checkpoint}, epoch {ckpt.get('epoch')}) on {name} {args.split}: "
        f"{n:,} images -> {out}",
        flush=True,
    )
    info = {
        "model": model_name,
        "checkpoint": str(args.checkpoint),
        "epoch": ckpt.get("epoch"),
        "data set": f"{name} ({args.split} split, {n:,} images)",
        "classes": ", ".join(classes[:20]) + (" ..." if len(classes) > 20 else ""),
    }
    try:
        result = report(
            model,
            loader,
            out,
            layers=args.layers,
            k=args.k,
            classes=classes,
            mean=mean,
            std=std,
            metrics=metrics if metrics.exists() else None,
            limit=args.limit,
            deconv=not args.no_deconv,
            info=info,
            title=f"{model_name} on {name}: what the network has learned",
            log=lambda msg: print(f"  {msg}", flush=True),
        )
    except KeyError as exc:  # an unknown --layers name
        raise CLIError(f"--layers: {one_line(exc.args[0] if exc.args else exc)}") from exc
    except ValueError as exc:  # e.g. a --layers name that gives no feature maps
        msg = one_line(exc)
        if args.layers and msg.startswith(("top_patches:", "report:", "inspect:")):
            raise CLIError(f"--layers: {msg}") from exc
        raise
    took = time.perf_counter() - t0
    acc = f", accuracy {100 * result.accuracy:.2f}%" if result.accuracy is not None else ""
    print(f"wrote {result.html} and {len(result.pngs)} PNGs in {took:.1f} s{acc}")
    sys.stdout.flush()
    return 0
