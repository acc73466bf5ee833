"""``convnp predict CHECKPOINT IMAGE...``: the top-k classes of each image, with probabilities.

    convnp predict runs/lenet5-mnist/best.safetensors digit.png another.jpg --top 5
    convnp predict runs/lenet5-mnist/best.safetensors digit.png --json

Each image is converted as the network's training data was: to grey (one channel) or RGB (three),
resized to the training size (bilinear, stretching if the aspect ratio differs), scaled to [0, 1]
(16-bit greyscale images from 0..65535)
and normalised with the training set's mean and std recorded in the checkpoint. Transparent
pixels are composited on white, as an image viewer shows them.

MNIST digits are light strokes on a black background. A dark digit drawn on white paper must be
inverted to look like them: pass ``--invert``. convnp never inverts on its own; when an image is
mostly light but the training images were mostly dark it prints a note suggesting ``--invert``.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from convnp.cli.common import CLIError, check_positive_int, model_from_checkpoint, one_line, open_checkpoint


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict",
        help="classify image files with a trained network (top-k with probabilities)",
        description="Classify PNG/JPEG images with a checkpoint written by 'convnp train'. "
        "MNIST-style models expect a light digit on a dark background: pass "
        "--invert for a dark digit on white.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    p.add_argument("--top", type=int, default=5, metavar="K", help="how many classes to show per image (default 5)")
    p.add_argument("--invert", action="store_true", help="invert the images (dark-on-light -> light-on-dark)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)
    return p


def load_images(paths: list[str], channels: int, size: tuple[int, int], invert: bool = False) -> np.ndarray:
    """(N, C, H, W) float32 in [0, 1]: each file decoded with Pillow, converted to grey/RGB and resized.
    A file that is missing or not an image raises CLIError naming it."""
    from PIL import Image, UnidentifiedImageError

    from convnp.data.imagefolder import check_image_size, to_8bit

    h, w = size
    out = np.empty((len(paths), channels, h, w), dtype=np.float32)
    for i, path in enumerate(paths):  # one decode per file: Pillow works file by file
        if not os.path.exists(path):
            raise CLIError(f"image '{path}' does not exist")
        if os.path.isdir(path):
            raise CLIError(f"'{path}' is a directory; give image files (PNG or JPEG)")
        if not os.path.isfile(path):  # a device or a pipe: no end to read to, or a reader blocked
            raise CLIError(f"'{path}' is not a regular file (it is a device or a pipe); give image files (PNG or JPEG)")
        try:
            with Image.open(path) as img:
                try:
                    check_image_size(img, f"image '{path}'")
                except ValueError as exc:
                    raise CLIError(str(exc)) from None
                img.load()
                img = to_8bit(img)  # 16-bit grey: scaled to 0..255, not clipped
                if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                    img = img.convert("RGBA")
                    bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
                    img = Image.alpha_composite(bg, img)
                img = img.convert("L" if channels == 1 else "RGB")
                if img.size != (w, h):
                    img = img.resize((w, h), Image.Resampling.BILINEAR)
                arr = np.asarray(img, dtype=np.float32) / 255.0
        except UnidentifiedImageError:
            raise CLIError(f"'{path}' is not an image that Pillow can read; give PNG or JPEG files") from None
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise CLIError(
                f"'{path}' is a damaged or unsupported image ({one_line(exc)}); give PNG or JPEG files"
            ) from None
        out[i] = arr[None] if channels == 1 else arr.transpose(2, 0, 1)  # (H, W[, 3]) -> (C, H, W)
    if invert:
        out = 1.0 - out
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """p = exp(z - max z) / sum exp(z - max z), row by row. (N, K) -> (N, K)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def run(args) -> int:
    import sys

    check_positive_int(args.top, "--top", "5")
    ckpt = open_checkpoint(args.checkpoint)
    data = ckpt.get("data") or {}
    classes = list(data.get("classes") or [])
    channels = int(data.get("channels") or 0)
    size = tuple(data.get("image_size") or ())
    if not classes or channels not in (1, 3) or len(size) != 2:
        raise CLIError(
            f"'{args.checkpoint}' does not record its classes, channels and image size; it was not "
            f"written by 'convnp train'"
        )
    model = model_from_checkpoint(ckpt, args.checkpoint)
    x = load_images(args.images, channels, size, invert=args.invert)  # (N, C, H, W) in [0, 1]
    mean = np.asarray(data.get("mean") or [0.0] * channels, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(data.get("std") or [1.0] * channels, dtype=np.float32).reshape(1, -1, 1, 1)
    if not args.invert and not args.json and float(np.mean(mean)) < 0.4:
        light = [p for p, m in zip(args.images, x.mean(axis=(1, 2, 3))) if m > 0.5]
        for p in light:
            print(
                f"note: '{p}' is mostly light, but {data.get('dataset', 'the training data')} images are light "
                f"on a dark background; if it is a dark drawing on white, pass --invert",
                file=sys.stderr,
            )
    from convnp.autograd.grad_mode import no_grad
    from convnp.autograd.tensor import Tensor

    with no_grad():
        logits = model(Tensor((x - mean) / std)).data  # (N, K)
    probs = softmax(logits.astype(np.float64))
    k = min(args.top, len(classes))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # (N, k) best first
    results = [
        {
            "image": path,
            "predictions": [
                {"class": classes[j], "index": int(j), "probability": float(probs[n, j])} for j in order[n]
            ],
        }
        for n, path in enumerate(args.images)
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    width = max(len(c) for c in classes)
    for r in results:
        best = r["predictions"][0]
        print(f"{r['image']}: {best['class']} ({100 * best['probability']:.1f}%)")
        for rank, pred in enumerate(r["predictions"], 1):
            bar = "#" * int(round(30 * pred["probability"]))
            print(f"  {rank}. {pred['class']:<{width}}  {100 * pred['probability']:6.2f}%  {bar}")
    return 0
