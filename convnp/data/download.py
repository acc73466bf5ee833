"""Fetch the published data files, verify them, and tell the user what to do without network.

Every file comes from a list of public mirrors (or ``$CONVNP_MIRROR`` / ``mirror=``, a base URL
the file names are appended to) and is checked against its published checksum before it is
kept. A download is written to a temporary file in the destination folder and renamed into
place only after the checksum matches; a partial or corrupt file is deleted and reported::

    checksum mismatch for train-labels-idx1-ubyte.gz from http://...: expected MD5 d53e...,
    got 0f1e...; the file was deleted

Checksums (MD5, as published):
- MNIST: of the .gz files as served by the torchvision mirror (ossci-datasets), and of the
  uncompressed IDX files (LeCun's database; these survive re-compression, so a mirror that
  re-gzipped the files is accepted when the content is identical).
- Fashion-MNIST: of the .gz files (zalandoresearch/fashion-mnist README).
- CIFAR-10: of cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from convnp.data.cifar import CIFAR10_FILES, CIFAR10_FOLDER
from convnp.data.mnist import missing_idx_files

DEFAULT_TIMEOUT = 5.0  # seconds to connect / between bytes: fail at once without network


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str  # of the file as published
    md5_uncompressed: str | None = None  # of its gunzipped content, when published


@dataclass(frozen=True)
class Resource:
    name: str
    subdir: str  # <data-dir>/<subdir>/
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    homepage: str
    archive: bool = False  # a tar.gz to unpack into <data-dir>/<subdir>/


RESOURCES = {
    "mnist": Resource(
        name="mnist",
        subdir="mnist",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=(
            RemoteFile(
                "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"
            ),
            RemoteFile(
                "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"
            ),
            RemoteFile(
                "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"
            ),
            RemoteFile(
                "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"
            ),
        ),
        homepage="http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": Resource(
        name="fashion-mnist",
        subdir="fashion-mnist",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=(
            RemoteFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            RemoteFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            RemoteFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        ),
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    ),
    "cifar10": Resource(
        name="cifar10",
        subdir="cifar10",
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=(RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        archive=True,
    ),
}


class DownloadError(RuntimeError):
    """A data file could not be fetched (no network, mirror down, bad checksum)."""


class ChecksumError(DownloadError):
    """A downloaded file did not match its published checksum (it has been deleted)."""


# ----------------------------------------------------------------------------- folders


def user_cache_dir() -> Path:
    """convnp's cache folder: $CONVNP_CACHE, else the platform's user cache dir + /convnp
    (~/.cache/convnp on Linux, honouring $XDG_CACHE_HOME; ~/Library/Caches/convnp on macOS;
    %LOCALAPPDATA%/convnp/Cache on Windows)."""
    env = os.environ.get("CONVNP_CACHE")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "convnp" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "convnp"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "convnp"


def default_data_dir() -> Path:
    """Where data sets live unless ``data_dir`` is given: $CONVNP_DATA, else :func:`user_cache_dir`."""
    env = os.environ.get("CONVNP_DATA")
    return Path(env).expanduser() if env else user_cache_dir()


def dataset_folder(name: str, data_dir) -> Path:
    """The folder the loader reads: <data-dir>/mnist, .../fashion-mnist, .../cifar10/cifar-10-batches-py."""
    res = RESOURCES[name]
    folder = Path(data_dir) / res.subdir
    return folder / CIFAR10_FOLDER if name == "cifar10" else folder


def missing_files(name: str, data_dir) -> list[str]:
    folder = dataset_folder(name, data_dir)
    if name == "cifar10":
        return [f for f in CIFAR10_FILES if not (folder / f).is_file()]
    return missing_idx_files(folder)


def manual_instructions(name: str, data_dir) -> str:
    res = RESOURCES[name]
    target = Path(data_dir) / res.subdir
    if res.archive:
        what = (
            f"download {res.files[0].name} from {res.homepage} (MD5 {res.files[0].md5}) and unpack it into "
            f"{target}/ so that {dataset_folder(name, data_dir) / 'data_batch_1'} exists"
        )
    else:
        what = (
            f"copy the files {', '.join(f.name for f in res.files)} (gzip-compressed or not) into {target}/ "
            f"(published at {res.mirrors[0]})"
        )
    hint = " For a quick offline run use get_dataset('mnist-sample')." if name == "mnist" else ""
    return (
        f"Without network, {what}; or pass data_dir= (or set $CONVNP_DATA to) a folder whose {res.subdir}/ "
        f"subfolder holds them; or set $CONVNP_MIRROR to a mirror you can reach.{hint}"
    )


# ----------------------------------------------------------------------------- progress


class _Progress:
    """tqdm on stderr when installed; otherwise a plain percentage line on an interactive stderr."""

    def __init__(self, total: int | None, desc: str, unit: str = "B", enabled: bool = True):
        self.total, self.desc, self.unit, self.done = total, desc, unit, 0
        self.bar = None
        self.enabled = enabled
        self._last = 0.0
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            unit_divisor=1024 if unit == "B" else 1000,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and sys.stderr.isatty() and time.monotonic() - self._last > 0.2:
            self._last = time.monotonic()
            pct = f"{100 * self.done / self.total:5.1f}%" if self.total else f"{self.done}"
            sys.stderr.write(f"\r{self.desc}: {pct}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and sys.stderr.isatty():
            sys.stderr.write("\r" + " " * (len(self.desc) + 10) + "\r")
            sys.stderr.flush()


# ----------------------------------------------------------------------------- download


def _md5(path: Path, gunzip: bool = False) -> str | None:
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with gzip.open(path, "rb") if gunzip else open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError, ValueError):
        return None
    return digest.hexdigest()


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def download_file(url: str, dest, remote: RemoteFile, timeout: float = DEFAULT_TIMEOUT, progress: bool = True) -> Path:
    """Fetch ``url`` to ``dest`` if its MD5 matches ``remote``; nothing is left behind otherwise.

    The bytes go to a temporary file beside ``dest``, renamed to ``dest`` after verification.
    Raises ChecksumError (mismatch, incomplete transfer) or DownloadError (no connection, HTTP error).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        request = urllib.request.Request(url, headers={"User-Agent": "convnp"})
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = _Progress(total, f"downloading {dest.name}", enabled=progress)
                received = 0
                try:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
                finally:
                    bar.close()
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise DownloadError(f"{url}: {reason}") from exc
        if total is not None and received != total:
            raise ChecksumError(
                f"incomplete download of {dest.name} from {url}: got {received} of {total} bytes; the file was deleted"
            )
        got = digest.hexdigest()
        ok = got == remote.md5
        got_unc = None
        if not ok and remote.md5_uncompressed:
            got_unc = _md5(tmp, gunzip=True)
            ok = got_unc == remote.md5_uncompressed
        if not ok:
            expected = f"MD5 {remote.md5}" + (
                f" (or {remote.md5_uncompressed} of the uncompressed data)" if remote.md5_uncompressed else ""
            )
            gotten = got + (f" ({got_unc or 'not gzip'} uncompressed)" if remote.md5_uncompressed else "")
            raise ChecksumError(
                f"checksum mismatch for {dest.name} from {url}: expected {expected}, got {gotten}; the file was deleted"
            )
        os.replace(tmp, dest)
        return dest
    except BaseException:
        _unlink(tmp)
        raise


def _mirrors(res: Resource, mirror: str | None) -> tuple[str, ...]:
    base = mirror or os.environ.get("CONVNP_MIRROR")
    return (base,) if base else res.mirrors


def _fetch(res: Resource, remote: RemoteFile, dest: Path, mirror, timeout, progress, data_dir) -> None:
    errors: list[DownloadError] = []
    for base in _mirrors(res, mirror):
        url = base.rstrip("/") + "/" + remote.name
        try:
            download_file(url, dest, remote, timeout=timeout, progress=progress)
            return
        except DownloadError as exc:
            errors.append(exc)
    tried = "; ".join(str(e) for e in errors)
    if any(isinstance(e, ChecksumError) for e in errors):
        raise ChecksumError(
            f"get_dataset('{res.name}'): {tried}. Try again later or another mirror "
            f"($CONVNP_MIRROR). {manual_instructions(res.name, data_dir)}"
        )
    raise DownloadError(
        f"get_dataset('{res.name}'): the data files are missing from {Path(data_dir) / res.subdir} "
        f"and could not be downloaded (no network?): {tried}. {manual_instructions(res.name, data_dir)}"
    )


def _unpack_cifar(archive: Path, target: Path) -> None:
    """Unpack cifar-10-python.tar.gz (its one folder cifar-10-batches-py) into ``target``, atomically."""
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                tar.extractall(staging, filter="data")
            except TypeError:  # Python without extraction filters
                tar.extractall(staging)
        unpacked = staging / CIFAR10_FOLDER
        if not unpacked.is_dir():
            raise DownloadError(f"get_dataset('cifar10'): {archive.name} has no {CIFAR10_FOLDER}/ folder")
        final = target / CIFAR10_FOLDER
        if final.exists():
            shutil.rmtree(final)
        os.replace(unpacked, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _files_directly_in(name: str, data_dir: Path) -> Path | None:
    """``data_dir`` itself when it is the dataset's own folder (get_dataset('mnist', data_dir='.../mnist'))."""
    if name == "cifar10":
        for folder in (data_dir / CIFAR10_FOLDER, data_dir):
            if all((folder / f).is_file() for f in CIFAR10_FILES):
                return folder
        return None
    return data_dir if data_dir.is_dir() and not missing_idx_files(data_dir) else None


def ensure_dataset(
    name: str,
    data_dir,
    download: bool = True,
    mirror: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
) -> Path:
    """Make sure the files of ``name`` ('mnist', 'fashion-mnist', 'cifar10') are under ``data_dir``,
    downloading what is missing when ``download``; returns the folder the loader reads.

    The files are looked for in ``<data_dir>/<subdir>/`` (mnist/, fashion-mnist/,
    cifar10/cifar-10-batches-py/), else directly in ``data_dir`` (when it is that folder itself);
    downloads go to ``<data_dir>/<subdir>/``."""
    res = RESOURCES[name]
    data_dir = Path(data_dir)
    missing = missing_files(name, data_dir)
    if not missing:
        return dataset_folder(name, data_dir)
    direct = _files_directly_in(name, data_dir)
    if direct is not None:
        return direct
    if not download:
        raise FileNotFoundError(
            f"get_dataset('{name}'): {', '.join(missing)} not found in "
            f"{dataset_folder(name, data_dir)} and download=False. "
            f"{manual_instructions(name, data_dir)}"
        )
    target = data_dir / res.subdir
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"get_dataset('{name}'): cannot create {target} to download into ({exc}). Pass a "
            f"writable data_dir= or set $CONVNP_DATA."
        ) from exc
    if res.archive:
        remote = res.files[0]
        archive = target / remote.name
        _fetch(res, remote, archive, mirror, timeout, progress, data_dir)
        try:
            _unpack_cifar(archive, target)
        finally:
            _unlink(archive)
    else:
        wanted = set(missing)
        for remote in res.files:
            if remote.name in wanted:
                _fetch(res, remote, target / remote.name, mirror, timeout, progress, data_dir)
    still = missing_files(name, data_dir)
    if still:
        raise DownloadError(
            f"get_dataset('{name}'): after downloading, {', '.join(still)} are still missing from "
            f"{dataset_folder(name, data_dir)}. {manual_instructions(name, data_dir)}"
        )
    return dataset_folder(name, data_dir)
