"""Data sets by name: ``get_dataset('mnist', split='test')``.

Names:
- ``mnist``, ``fashion-mnist``: the four IDX files in ``<data-dir>/mnist/`` (``fashion-mnist/``);
- ``cifar10``: the python batches in ``<data-dir>/cifar10/cifar-10-batches-py/``;
- ``mnist-sample``: 10,000 training and 2,000 test digits of MNIST shipped inside convnp (offline);
- ``imagefolder:PATH``: a class-per-folder tree or a .zip of one (see convnp.data.imagefolder).

``<data-dir>`` is the ``data_dir`` argument, else ``$CONVNP_DATA``, else the user cache folder
(~/.cache/convnp). Missing MNIST / Fashion-MNIST / CIFAR-10 files are downloaded (``download=True``)
and verified (convnp.data.download).
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from convnp.data.cifar import load_cifar10
from convnp.data.dataset import ArrayDataset
from convnp.data.download import DEFAULT_TIMEOUT, default_data_dir, ensure_dataset
from convnp.data.imagefolder import load_image_folder
from convnp.data.mnist import load_mnist

DATASETS = ("mnist", "fashion-mnist", "cifar10", "mnist-sample", "imagefolder:PATH")
_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar_10": "cifar10",
    "mnist_sample": "mnist-sample",
}
_DOWNLOAD_OPTIONS = {"mirror", "timeout", "progress"}
_IMAGEFOLDER_OPTIONS = {
    "image_size",
    "resize",
    "val_split",
    "seed",
    "cache_dir",
    "use_cache",
    "num_workers",
    "progress",
}


def list_datasets() -> list[str]:
    return list(DATASETS)


def sample_dir() -> Path:
    """The folder of the bundled MNIST sample (convnp/data/sample)."""
    return Path(str(resources.files("convnp.data") / "sample"))


def load_mnist_sample(split: str = "train") -> ArrayDataset:
    """The bundled sample of MNIST: 10,000 training and 2,000 test digits, balanced by class
    (see convnp/data/sample/README.md). Needs no network and no data folder."""
    folder = sample_dir()
    ds = load_mnist(folder, split, variant="mnist")
    ds.name = "mnist-sample"
    return ds


def _check_options(name: str, options: dict, allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(
            f"get_dataset: unexpected option(s) {', '.join(unknown)} for {name!r}; it accepts "
            f"{', '.join(sorted(allowed)) or 'no options'}. Received: {', '.join(unknown)}"
        )


def get_dataset(name: str, data_dir=None, split: str = "train", download: bool = True, **options) -> ArrayDataset:
    """Load a data set by name (see the module docstring) as an ArrayDataset of uint8 NCHW images.

    Args:
        name: 'mnist', 'fashion-mnist', 'cifar10', 'mnist-sample' or 'imagefolder:PATH'.
        data_dir: the folder holding mnist/, fashion-mnist/, cifar10/ (default $CONVNP_DATA, else
            ~/.cache/convnp).
        split: 'train' or 'test'.
        download: fetch missing files from the public mirrors.
        options: for downloads ``mirror`` (base URL, also $CONVNP_MIRROR), ``timeout`` (seconds),
            ``progress``; for image folders those of :func:`load_image_folder` (``image_size``,
            ``resize``, ``val_split``, ``seed``, ``cache_dir``, ``use_cache``, ``num_workers``, ``progress``).

    >>> ds = get_dataset("mnist-sample", split="test")
    >>> len(ds), ds.classes[:3], ds.num_channels, ds.image_size
    (2000, ['0', '1', '2'], 1, (28, 28))
    """
    if not isinstance(name, str):
        raise TypeError(f"get_dataset: name must be a string such as 'mnist'. Received: {type(name).__name__}")
    if split not in ("train", "test"):
        raise ValueError(f"get_dataset: split must be 'train' or 'test'. Received: split={split!r}")
    if name.startswith("imagefolder:"):
        path = name[len("imagefolder:") :]
        if not path:
            raise ValueError(
                "get_dataset: 'imagefolder:' needs a path, e.g. 'imagefolder:/data/cifar10-jpg.zip'. "
                f"Received: name={name!r}"
            )
        _check_options(name, options, _IMAGEFOLDER_OPTIONS)
        return load_image_folder(path, split=split, **options)
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "mnist-sample":
        _check_options(name, options, set())
        return load_mnist_sample(split)
    if key in ("mnist", "fashion-mnist", "cifar10"):
        _check_options(name, options, _DOWNLOAD_OPTIONS)
        root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        folder = ensure_dataset(
            key,
            root,
            download=download,
            mirror=options.get("mirror"),
            timeout=options.get("timeout", DEFAULT_TIMEOUT),
            progress=options.get("progress", True),
        )
        if key == "cifar10":
            return load_cifar10(folder, split)
        return load_mnist(folder, split, variant=key)
    known = [d.split(":")[0] for d in DATASETS] + list(_ALIASES)
    close = difflib.get_close_matches(name.lower(), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"get_dataset: unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.{hint} Received: name={name!r}"
    )
