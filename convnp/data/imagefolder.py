"""Image-folder data sets: a class-per-folder tree of image files, or a .zip of one.

Layouts (classes are the sorted folder names, shared by both splits)::

    root/train/<class>/<image>   root/test/<class>/<image>      (or val/ in place of test/)
    root/<class>/<image>                                         (no split: test = val_split of it)

A zip may wrap this in one top-level folder. Files directly under root/ or root/train/ (README,
licence) are ignored, as are hidden files and __MACOSX/; every file inside a class folder must be
an image Pillow can read.

The images are decoded once with Pillow (in a thread pool on machines with more than two cores:
Pillow releases the GIL while it decodes), to RGB, or to L when every image is greyscale; images whose size differs from the
target (``image_size``, default the most common size) are resized (bilinear). The arrays go to
an .npz cache (no pickle) in ``cache_dir`` (default ``<user cache>/imagefolder``), keyed by the
source path, its size and modification time (for a folder: of every file), and the options that
change the arrays, so the next run loads them at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np

from convnp.data.dataset import ArrayDataset, channel_stats, stratified_split
from convnp.data.download import _Progress, user_cache_dir

CACHE_VERSION = 2  # 2: 16-bit greyscale images are scaled to 0..255, no longer clipped
SPLIT_NAMES = {"train": ("train",), "test": ("test", "val", "valid", "validation")}
_ALL_SPLIT_DIRS = {d for names in SPLIT_NAMES.values() for d in names}
GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
WIDE_GREY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}  # 16-bit greyscale (PNG, TIFF) opens as one of these
# Images larger than this many pixels are refused before they are decoded (an image file of a few
# kilobytes can claim 30000x30000 pixels). Adjustable: convnp.data.imagefolder.MAX_IMAGE_PIXELS = ...
MAX_IMAGE_PIXELS = 50_000_000
# An image file (in a folder, or a zip member once decompressed) larger than this is refused before it is
# read: a 1 MB zip can hold a 1 GiB member. Adjustable: convnp.data.imagefolder.MAX_IMAGE_FILE_BYTES = ...
MAX_IMAGE_FILE_BYTES = 64 << 20


# ----------------------------------------------------------------------------- sources


class _Source:
    """A folder or a zip file, seen as relative POSIX paths of files."""

    def __init__(self, path: Path):
        self.path = path
        self.is_zip = path.is_file()
        self._zip: zipfile.ZipFile | None = None
        if self.is_zip:
            if not zipfile.is_zipfile(path):
                raise ValueError(
                    f"imagefolder: {path} is a file but not a zip archive; give a folder of class "
                    f"folders or a .zip of one. Received: {path}"
                )
            self._files = None  # listed on demand: the cache key needs only stat
        elif path.is_dir():
            self._files = []
            self._dirs = []
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                rel = Path(dirpath).relative_to(path)
                self._files += [(rel / f).as_posix() for f in filenames]
                self._dirs += [(rel / d).as_posix() for d in dirnames]
        else:
            raise FileNotFoundError(f"imagefolder: no such folder or zip file: {path}")

    def files(self) -> list[str]:
        if self._files is None:
            with self._open_zip() if self._zip is None else contextlib.nullcontext(self._zip) as z:
                infos = z.infolist()
                self._files = [i.filename for i in infos if not i.is_dir()]
                self._dirs = [i.filename.rstrip("/") for i in infos if i.is_dir()]
        return self._files

    def dirs(self) -> list[str]:
        """The folders (relative POSIX paths), empty ones included (a zip lists those it records)."""
        self.files()
        return self._dirs

    def fingerprint(self) -> str:
        """Identity of the content: path + size + mtime (for a folder, of every file)."""
        h = hashlib.sha256(str(self.path.resolve()).encode())
        if self.is_zip:
            st = self.path.stat()
            h.update(f"|{st.st_size}|{st.st_mtime_ns}".encode())
        else:
            for rel in sorted(self._files):
                st = (self.path / rel).stat()
                h.update(f"|{rel}|{st.st_size}|{st.st_mtime_ns}".encode())
            for rel in sorted(self._dirs):  # an empty class folder changes the data set
                h.update(f"|{rel}/".encode())
        return h.hexdigest()

    def _too_big(self, name: str, size: int) -> ValueError:
        return ValueError(
            f"imagefolder: {name} is {size:,} bytes{' once decompressed' if self.is_zip else ''}, "
            f"more than the {MAX_IMAGE_FILE_BYTES:,} convnp reads for one image "
            f"(convnp.data.imagefolder.MAX_IMAGE_FILE_BYTES); remove it or give a smaller image"
        )

    def read(self, rel: str) -> bytes:
        """The bytes of one file; safe from several threads (ZipFile serialises its seeks and reads).
        A file larger than MAX_IMAGE_FILE_BYTES, a damaged or encrypted zip member: ValueError."""
        if not self.is_zip:
            path = self.path / rel
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):  # a device or a pipe in a class folder
                raise ValueError(
                    f"imagefolder: {path} is not a regular file (it is a device or a pipe); every file "
                    f"inside a class folder must be an image: remove it"
                )
            size = st.st_size
            if size > MAX_IMAGE_FILE_BYTES:
                raise self._too_big(str(path), size)
            return path.read_bytes()
        name = f"{self.path}:{rel}"
        info = self._zip.getinfo(rel)
        if info.file_size > MAX_IMAGE_FILE_BYTES:  # zipfile stops reading at file_size, so this bounds it
            raise self._too_big(name, info.file_size)
        if info.flag_bits & 0x1:
            raise ValueError(
                f"imagefolder: {name} is encrypted; convnp reads zip archives without passwords: "
                f"give an archive whose members are not encrypted"
            )
        try:
            return self._zip.read(rel)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, zlib.error) as exc:
            raise ValueError(
                f"imagefolder: cannot read {name} ({type(exc).__name__}: {exc}); the zip archive "
                f"is damaged: download or create it again"
            ) from None

    def _open_zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ValueError(
                f"imagefolder: {self.path} is a damaged zip archive ({type(exc).__name__}: {exc}); "
                f"download or create it again"
            ) from None

    def __enter__(self):
        if self.is_zip:
            self._zip = self._open_zip()  # the central directory is parsed once
        return self

    def __exit__(self, *exc):
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def _visible(parts: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [p for p in parts if p and not any(c.startswith(".") or c == "__MACOSX" for c in p)]


def _layout(files: list[str], source: Path, dirs: list[str] = ()) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """{split: [(relpath, class), ...]} and the sorted class names, from the relative paths. A class
    folder (of ``dirs``) that holds no file is an error, as in torchvision's ImageFolder."""
    parts = _visible([PurePosixPath(f).parts for f in files])
    prefix: tuple[str, ...] = ()
    # Strip wrapping folders ("cifar10/train/cat/1.jpg" -> "train/cat/1.jpg").
    while (
        parts
        and all(len(p) >= 3 for p in parts)
        and len({p[0] for p in parts}) == 1
        and parts[0][0].lower() not in _ALL_SPLIT_DIRS
    ):
        prefix += (parts[0][0],)
        parts = [p[1:] for p in parts]
    out: dict[str, list[tuple[str, str]]] = {}
    folders = [d[len(prefix) :] for d in _visible([PurePosixPath(d).parts for d in dirs]) if d[: len(prefix)] == prefix]
    class_dirs: dict[str, list[tuple[str, ...]]] = {}  # split -> its class folders (relative to the split)
    if any(len(p) >= 3 and p[0].lower() in _ALL_SPLIT_DIRS for p in parts):
        groups: dict[str, list[tuple[str, str]]] = {}  # split folder -> [(relpath, class)]
        for p in parts:
            if len(p) >= 3 and p[0].lower() in _ALL_SPLIT_DIRS:  # root/README, root/train/LICENSE: ignored
                groups.setdefault(p[0], []).append(("/".join(prefix + p), p[1]))
        for split, names in SPLIT_NAMES.items():  # train; test, else val, valid, ...
            found = [d for name in names for d in sorted(groups) if d.lower() == name]
            if found:
                out[split] = groups[found[0]]
                class_dirs[split] = [(found[0], d[1]) for d in folders if len(d) == 2 and d[0] == found[0]]
    else:
        out["train"] = [("/".join(prefix + p), p[0]) for p in parts if len(p) >= 2]
        class_dirs["train"] = [d for d in folders if len(d) == 1]
    empty = sorted(
        "/".join(prefix + d)
        for split, ds in class_dirs.items()
        for d in ds
        if d[-1] not in {c for _, c in out.get(split, [])}
    )
    if empty:
        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        raise ValueError(
            f"imagefolder: the class folder{'s' if len(empty) > 1 else ''} {shown} of {source} "
            f"hold{'' if len(empty) > 1 else 's'} no image; every class folder needs at least one "
            f"(put images in it or remove it)"
        )
    out = {s: sorted(v, key=lambda e: (e[1], e[0])) for s, v in out.items() if v}
    if "train" not in out:
        raise ValueError(
            f"imagefolder: found no class folders in {source}; expected train/<class>/<image> "
            f"(and test/<class>/<image>) or <class>/<image>. Received: {len(files)} files, "
            f"top-level entries {sorted({p[0] for p in parts})[:10]}"
        )
    classes = sorted({c for _, c in out["train"]})
    unknown = sorted({c for _, c in out.get("test", [])} - set(classes))
    if unknown:
        raise ValueError(
            f"imagefolder: the test split of {source} has classes that train lacks: {unknown}. "
            f"Both splits must use the same class folders. Received: train classes {classes}"
        )
    return out, classes


# ----------------------------------------------------------------------------- decoding


def to_8bit(im):
    """A 16-bit greyscale Pillow image (mode I;16*, or I holding 16-bit values) as an 8-bit one (mode L),
    scaled: value / 257, rounded (0 -> 0, 65535 -> 255), as Pillow scales 8-bit to 16-bit the other
    way. (Pillow's own ``convert("L")`` clips instead: every value above 255 would become 255.)
    Values of a mode I image outside 0..65535 are clipped to it first. Other images are returned as
    they are. (H, W) 16-bit -> (H, W) uint8."""
    if im.mode not in WIDE_GREY_MODES:
        return im
    from PIL import Image

    wide = np.asarray(im).astype(np.float64)  # (H, W), any byte order
    return Image.fromarray(np.rint(np.clip(wide, 0, 65535) / 257.0).astype(np.uint8), mode="L")


def check_image_size(im, name: str) -> None:
    """ValueError when the image claims more than MAX_IMAGE_PIXELS pixels (checked before decoding)."""
    w, h = im.size
    if w * h > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{name} is {w}x{h} pixels, more than the {MAX_IMAGE_PIXELS:,} convnp decodes "
            f"(convnp.data.imagefolder.MAX_IMAGE_PIXELS); give a smaller image"
        )


def _decode_image(data: bytes, name: str) -> np.ndarray:
    """Pillow decode: (H, W) uint8 for greyscale images, (H, W, 3) uint8 for everything else."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            check_image_size(im, f"imagefolder: {name}")
            if im.mode in WIDE_GREY_MODES:
                im = to_8bit(im)
            elif im.mode in GREY_MODES:
                im = im.convert("L") if im.mode != "L" else im
            elif im.mode != "RGB":
                im = im.convert("RGB")
            return np.asarray(im, dtype=np.uint8)
    except ValueError as exc:
        if str(exc).startswith("imagefolder: "):  # check_image_size's
            raise
        raise _undecodable(name, data, exc) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _undecodable(name, data, exc) from exc


def _undecodable(name: str, data: bytes, exc: BaseException) -> ValueError:
    head = data[:16]
    return ValueError(
        f"imagefolder: could not decode {name} as an image ({type(exc).__name__}: {exc}). Every "
        f"file inside a class folder must be an image: remove or replace this one. "
        f"Received: a {len(data)}-byte file starting with {head!r}"
    )


def _resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    h, w = size
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.Resampling.BILINEAR), dtype=np.uint8)


def _default_workers() -> int:
    """Decoding threads: Pillow releases the GIL only inside the decoder, and for small images
    (CIFAR's 32x32) the Python around it dominates, so two cores gain nothing from threads
    (measured: 8.1 s serial, 11.6 s with 2 threads for the 60,000 CIFAR-10 JPEGs); more cores do."""
    cpus = os.cpu_count() or 1
    return 1 if cpus <= 2 else min(4, cpus)


def _decode_all(source: _Source, items: list[str], workers: int, progress: bool, desc: str) -> list[np.ndarray]:
    chunk = max(8, min(256, -(-len(items) // max(1, 4 * workers))))  # >= 4 chunks per worker
    bar = _Progress(len(items), desc, unit="img", enabled=progress and len(items) >= 2000)

    def work(lo: int) -> list[np.ndarray]:
        out = [
            _decode_image(source.read(rel), f"{source.path}:{rel}" if source.is_zip else str(source.path / rel))
            for rel in items[lo : lo + chunk]
        ]
        bar.update(len(out))
        return out

    starts = range(0, len(items), chunk)
    try:
        if workers <= 1 or len(starts) <= 1:
            results = [work(lo) for lo in starts]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="convnp-decode") as pool:
                results = list(pool.map(work, starts))
    finally:
        bar.close()
    return [a for part in results for a in part]


def _target_size(arrays: list[np.ndarray], names: list[str], image_size, resize: bool) -> tuple[int, int]:
    sizes = Counter(a.shape[:2] for a in arrays)
    if image_size is not None and image_size != "most_common":
        if isinstance(image_size, int) and not isinstance(image_size, bool):
            image_size = (image_size, image_size)
        if not (
            isinstance(image_size, (tuple, list))
            and len(image_size) == 2
            and all(isinstance(v, int) and v > 0 for v in image_size)
        ):
            raise ValueError(
                f"imagefolder: image_size must be 'most_common', an int or (height, width). "
                f"Received: image_size={image_size!r}"
            )
        return tuple(image_size)
    target = sizes.most_common(1)[0][0]
    if not resize and len(sizes) > 1:
        odd = [(n, a.shape[:2]) for n, a in zip(names, arrays) if a.shape[:2] != target][:5]
        shown = ", ".join(f"{n} is {h}x{w}" for n, (h, w) in odd)
        raise ValueError(
            f"imagefolder: the images have different sizes ({len(sizes)} sizes; most are "
            f"{target[0]}x{target[1]}) and resize=False. Pass resize=True (to the most common size) "
            f"or image_size=(height, width). Received: {shown}"
        )
    return target


def _build(source: _Source, layout, classes, image_size, resize, workers, progress) -> dict[str, np.ndarray]:
    splits = list(layout)
    rels = [rel for s in splits for rel, _ in layout[s]]
    arrays = _decode_all(source, rels, workers, progress, f"decoding {len(rels)} images of {source.path.name}")
    target = _target_size(arrays, rels, image_size, resize)
    odd = [k for k, a in enumerate(arrays) if a.shape[:2] != target]
    if odd:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for k, a in zip(odd, pool.map(lambda k: _resize(arrays[k], target), odd)):
                arrays[k] = a
    grey = all(a.ndim == 2 for a in arrays)
    if not grey:
        arrays = [np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a for a in arrays]  # L -> RGB
    out: dict[str, np.ndarray] = {"classes": np.array(classes, dtype=str)}
    index = {c: k for k, c in enumerate(classes)}
    start = 0
    for s in splits:
        n = len(layout[s])
        stack = np.stack(arrays[start : start + n]) if n else np.zeros((0, *target, 1 if grey else 3), np.uint8)
        stack = stack[..., None] if grey else stack  # (N, H, W) -> (N, H, W, 1)
        out[f"{s}_images"] = np.ascontiguousarray(stack.transpose(0, 3, 1, 2))  # (N, H, W, C) -> (N, C, H, W)
        out[f"{s}_labels"] = np.array([index[c] for _, c in layout[s]], dtype=np.int64)
        start += n
    out["has_test"] = np.array("test" in layout)
    mean, std = channel_stats(out["train_images"])
    out["mean"], out["std"] = np.array(mean), np.array(std)
    return out


# ----------------------------------------------------------------------------- cache


def _cache_file(source: _Source, cache_dir, image_size, resize) -> Path:
    key = hashlib.sha256(f"{source.fingerprint()}|{image_size!r}|{resize}|v{CACHE_VERSION}".encode()).hexdigest()
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in source.path.name)[:60]
    return Path(cache_dir) / "imagefolder" / f"{stem}-{key[:20]}.npz"


def _save_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_cache(path: Path, splits) -> dict[str, np.ndarray] | None:
    """The cached arrays (only the images and labels of ``splits``), or None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            keep = [k for k in z.files if not k.endswith(("_images", "_labels")) or k.split("_")[0] in splits]
            return {k: z[k] for k in keep}
    except Exception as exc:  # a damaged cache is rebuilt, never trusted
        warnings.warn(f"imagefolder: ignoring unreadable cache {path} ({exc}); decoding again", stacklevel=3)
        return None


def load_image_arrays(
    path,
    image_size="most_common",
    resize: bool = True,
    cache_dir=None,
    use_cache: bool = True,
    num_workers: int | None = None,
    progress: bool = True,
    splits=("train", "test"),
) -> dict[str, np.ndarray]:
    """Decode (or load from the cache) every split of an image folder / zip.

    Returns {'classes', 'has_test', 'mean', 'std', 'train_images', 'train_labels', 'test_images',
    'test_labels'} with images (N, C, H, W) uint8, labels (N,) int64 and mean/std over the train
    images; test_* only when the source has a test (or val) folder. From the cache only the
    images and labels of ``splits`` are read.
    """
    source = _Source(Path(path).expanduser())
    cache = _cache_file(source, cache_dir if cache_dir is not None else user_cache_dir(), image_size, resize)
    if use_cache:
        cached = _load_cache(cache, splits)
        if cached is not None:
            return cached
    workers = num_workers if num_workers is not None else _default_workers()
    with source:
        layout, classes = _layout(source.files(), source.path, source.dirs())
        arrays = _build(source, layout, classes, image_size, resize, workers, progress)
    if use_cache:
        try:
            _save_cache(cache, arrays)
        except OSError as exc:
            warnings.warn(
                f"imagefolder: could not write the cache {cache} ({exc}); the next run decodes again", stacklevel=2
            )
    return arrays


def load_image_folder(
    path,
    split: str = "train",
    image_size="most_common",
    resize: bool = True,
    val_split: float = 0.1,
    seed: int = 0,
    cache_dir=None,
    use_cache: bool = True,
    num_workers: int | None = None,
    progress: bool = True,
) -> ArrayDataset:
    """An ArrayDataset of one split of an image folder or zip (see the module docstring).

    Args:
        path: a folder or a .zip file.
        split: 'train' or 'test'. Without a test/ (or val/) folder, 'test' is a stratified
            ``val_split`` fraction of train drawn with ``seed``, and 'train' the rest.
        image_size: 'most_common' (default), an int or (height, width): the size every image gets.
        resize: resize images of another size (bilinear); False makes differing sizes an error.
        cache_dir: where the decoded arrays are cached (default $CONVNP_CACHE or ~/.cache/convnp).
        use_cache: read and write the cache.
        num_workers: decoding threads (default 1 on two cores or fewer, else up to 4).
        progress: a progress bar on stderr while decoding 2,000 images or more.

    ``mean``/``std`` are those of the train folder's images (value/255 per channel).

    >>> ds = load_image_folder("cifar10-jpg.zip", split="test")       # doctest: +SKIP
    >>> ds.images.shape, ds.classes[:3]                               # doctest: +SKIP
    ((10000, 3, 32, 32), ['airplane', 'automobile', 'bird'])
    """
    if split not in ("train", "test"):
        raise ValueError(f"imagefolder: split must be 'train' or 'test'. Received: split={split!r}")
    arrays = load_image_arrays(path, image_size, resize, cache_dir, use_cache, num_workers, progress, splits=(split,))
    if split == "test" and not bool(arrays["has_test"]) and "train_images" not in arrays:  # held out from train
        arrays = load_image_arrays(
            path, image_size, resize, cache_dir, use_cache, num_workers, progress, splits=("train",)
        )
    classes = [str(c) for c in arrays["classes"]]
    mean, std = tuple(arrays["mean"].tolist()), tuple(arrays["std"].tolist())
    name = f"imagefolder:{path}"
    if bool(arrays["has_test"]):
        return ArrayDataset(
            arrays[f"{split}_images"], arrays[f"{split}_labels"], classes, mean, std, name=name, split=split
        )
    images, labels = arrays["train_images"], arrays["train_labels"]
    keep, held = stratified_split(labels, val_split, seed)
    idx = keep if split == "train" else held
    return ArrayDataset(images[idx], labels[idx], classes, mean, std, name=name, split=split)
