"""Make convnp/data/sample/: the bundled MNIST sample behind get_dataset('mnist-sample').

A real subset of the official MNIST files, balanced by class and chosen reproducibly:

- train: 1,000 images of each digit drawn from the 60,000 training images (10,000 in all),
- test:    200 images of each digit drawn from the 10,000 test images (2,000 in all),

each class drawn without replacement by a NumPy Generator seeded with SEED (train) and SEED + 1
(test), kept in their original order. Written as gzip-compressed IDX files (no name, mtime 0,
level 9: the same source gives the same bytes with the same zlib), with a README crediting the
licence and listing the files' SHA-256.

    python scripts/make_mnist_sample.py --source ../shared/data/mnist --out convnp/data/sample
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convnp.data.mnist import find_idx_file, read_idx_images, read_idx_labels, write_idx  # noqa: E402

SEED = 20_100_808  # any fixed number; changing it changes the sample
PER_CLASS = {"train": 1000, "test": 200}
SOURCE_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

README = """\
# MNIST sample bundled with convnp

`get_dataset("mnist-sample")` reads these files. They are a real subset of the MNIST database of
handwritten digits, in its original IDX format (gzip-compressed):

| file | content |
| --- | --- |
| train-images-idx3-ubyte.gz | {n_train:,} training images, 28x28 uint8 ({train_pc:,} of each digit) |
| train-labels-idx1-ubyte.gz | their labels |
| t10k-images-idx3-ubyte.gz  | {n_test:,} test images, 28x28 uint8 ({test_pc:,} of each digit) |
| t10k-labels-idx1-ubyte.gz  | their labels |

The training images come from MNIST's 60,000 training images and the test images from its
10,000 test images: for each digit, {train_pc:,} (respectively {test_pc:,}) images drawn without
replacement by `numpy.random.default_rng({seed})` (test: `default_rng({seed_test})`), kept in their
original order. `scripts/make_mnist_sample.py` makes them from the official files (the same IDX
content every time; with the same zlib, the same .gz bytes).

SHA-256:
{sha}

## Licence and credit

MNIST is the work of Yann LeCun and Corinna Cortes (with Christopher J.C. Burges),
http://yann.lecun.com/exdb/mnist/, and is made available under the terms of the
Creative Commons Attribution-Share Alike 3.0 licence
(https://creativecommons.org/licenses/by-sa/3.0/). This subset is distributed under the same
licence; the only change is the selection of images described above.
"""


def balanced_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` samples of every class, drawn without replacement.

    A seeded permutation, stably sorted by label, puts each class in random order; the first
    ``per_class`` of each class are kept (no loop over classes).
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    if counts.min() < per_class:
        raise ValueError(f"make_mnist_sample: a class has only {counts.min()} samples, fewer than {per_class}")
    perm = np.random.default_rng(seed).permutation(labels.shape[0])
    grouped = perm[np.argsort(labels[perm], kind="stable")]
    rank = np.arange(labels.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.sort(grouped[rank < per_class])


def select(source: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices into the official split, images, labels) of the sample's split."""
    img_stem, lab_stem = SOURCE_STEMS[split]
    images = read_idx_images(find_idx_file(source, img_stem))
    labels = read_idx_labels(find_idx_file(source, lab_stem))
    idx = balanced_indices(labels, PER_CLASS[split], SEED + (split == "test"))
    return idx, images[idx], labels[idx]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "mnist",
        help="folder with the four official MNIST IDX files (plain or .gz)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "convnp" / "data" / "sample")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    names = []
    for split in ("train", "test"):
        _, images, labels = select(args.source, split)
        img_stem, lab_stem = SOURCE_STEMS[split]
        write_idx(args.out / f"{img_stem}.gz", images)
        write_idx(args.out / f"{lab_stem}.gz", labels)
        names += [f"{img_stem}.gz", f"{lab_stem}.gz"]
    sha = "\n".join(f"- {n} {hashlib.sha256((args.out / n).read_bytes()).hexdigest()}" for n in names)
    (args.out / "README.md").write_text(
        README.format(
            n_train=10 * PER_CLASS["train"],
            n_test=10 * PER_CLASS["test"],
            train_pc=PER_CLASS["train"],
            test_pc=PER_CLASS["test"],
            seed=SEED,
            seed_test=SEED + 1,
            sha=sha,
        )
    )
    total = sum((args.out / n).stat().st_size for n in names + ["README.md"])
    print(f"wrote {', '.join(names)} and README.md to {args.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
