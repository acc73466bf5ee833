"""Weights on disk: ``save(obj, path)`` and ``load(path)`` in the safetensors format, without pickle.

``obj`` is a state dict or a checkpoint: nested dicts (any of str / int / float / bool / None keys),
lists and tuples of NumPy arrays, tensors, NumPy scalars, and plain numbers, strings, bools and
None -- a ``Module.state_dict()``, an ``Optimizer.state_dict()`` (int keys), a scheduler's state,
``{"epoch": 3, "model": ..., "optimizer": ...}``.

The file is an ordinary safetensors file:

- every array becomes a safetensors tensor, named by its key path joined with dots
  (``model.features.0.weight``, ``optimizer.state.0.exp_avg``); a plain state dict's tensors are
  therefore named exactly by its keys, and ``safetensors.numpy.load_file(path)`` reads it back as
  that state dict;
- everything else, and the nesting, is a JSON tree in the header's metadata (key
  ``convnp.structure``) whose leaves point at the tensors by name, so ``load`` rebuilds the same
  object: dict key types and order, tuples versus lists, OrderedDict, non-finite floats, NumPy
  scalars, every array's dtype and shape (0-d included). Tensors come back as NumPy arrays.

Writes are atomic: the bytes go to a temporary file in the destination's directory, are flushed
and fsync'ed, and the temporary file then replaces the destination (``os.replace``), so a crash
mid-save leaves the previous file intact.

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> save({"epoch": 3, "state": {0: {"step": np.array(3.0, np.float32)}}}, path)
>>> load(path)
{'epoch': 3, 'state': {0: {'step': array(3., dtype=float32)}}}
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections import OrderedDict

import numpy as np

from convnp.autograd.tensor import Tensor

__all__ = ["save", "load"]

STRUCTURE_KEY = "convnp.structure"
VERSION_KEY = "convnp.format_version"
FORMAT_VERSION = 1
_CHUNK = 1 << 26  # write 64 MiB at a time
# ``load`` reads the whole file into memory: a larger file (a sparse file can claim terabytes) is
# refused before it is read. Adjustable: convnp.serialization.MAX_LOAD_BYTES = ...
MAX_LOAD_BYTES = 16 << 30

_SUPPORTED_DTYPES = {
    np.dtype(t)
    for t in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
    )
}


# --------------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------------
def save(obj, path) -> None:
    """Write ``obj`` (a state dict, checkpoint, ... see the module docstring) to ``path`` atomically.

    >>> # cn.save(model.state_dict(), "model.safetensors")
    """
    path = _fspath(path, "save")
    import safetensors.numpy

    tensors: dict[str, np.ndarray] = {}
    structure = _encode(obj, [], tensors, "")
    metadata = {
        VERSION_KEY: str(FORMAT_VERSION),
        STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"), allow_nan=False),
    }
    data = safetensors.numpy.save(tensors, metadata=metadata)
    atomic_write(path, data)


def _fspath(path, fn: str) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(f"{fn}: path must be a str or os.PathLike. Received: {type(path).__name__}") from None


def _unique_name(parts: list[str], tensors: dict) -> str:
    name = ".".join(parts) if parts else "tensor"
    if name not in tensors:
        return name
    k = 2
    while f"{name}#{k}" in tensors:
        k += 1
    return f"{name}#{k}"


def _store_array(array: np.ndarray, parts: list[str], tensors: dict, where: str) -> str:
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    if array.dtype not in _SUPPORTED_DTYPES:
        raise TypeError(
            f"save: arrays of dtype {array.dtype} cannot be stored in safetensors "
            f"(at {where or 'the top'}). "
            f"Supported: {sorted(str(d) for d in _SUPPORTED_DTYPES)}"
        )
    name = _unique_name(parts, tensors)
    tensors[name] = array if array.flags.c_contiguous else array.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
    return name


def _encode(obj, parts: list[str], tensors: dict, where: str):
    """JSON for ``obj``; arrays go into ``tensors``. Tagged objects: {"tensor": name},
    {"scalar": name}, {"float": "inf"}, {"tuple": [...]}, {"dict": [[key, value], ...]}, {"odict": ...}."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        return {"tensor": _store_array(obj, parts, tensors, where)}
    if isinstance(obj, np.generic):  # before float: np.float64 is a float
        return {"scalar": _store_array(np.asarray(obj), parts, tensors, where)}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not (key is None or isinstance(key, (str, bool, int, float))):
                raise TypeError(
                    f"save: dict keys must be str, int, float, bool or None; found a key of type "
                    f"{type(key).__name__} at {where or 'the top'}. Received: key={key!r}"
                )
            sub = f"{where}[{key!r}]"
            items.append([_encode(key, [], {}, sub), _encode(value, parts + [str(key)], tensors, sub)])
        return {"odict" if isinstance(obj, OrderedDict) else "dict": items}
    if isinstance(obj, (list, tuple)):
        values = [_encode(v, parts + [str(i)], tensors, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"tuple": values} if isinstance(obj, tuple) else values
    raise TypeError(
        f"save: cannot store a value of type {type(obj).__name__} at {where or 'the top'}; expected "
        f"dicts, lists, tuples, NumPy arrays, tensors, numbers, strings, bools or None. "
        f"Received: {type(obj).__name__}"
    )


def _write_all(f, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        f.write(view[start : start + _CHUNK])


def _naming(exc: OSError, op: str, path: str) -> OSError:
    """The same kind of OSError, its message naming the file (a full disk says which write failed)."""
    return type(exc)(exc.errno, f"{op}: cannot write '{path}': {exc.strerror or exc}")


def atomic_write(path, data: bytes, op: str = "save") -> None:
    """Write ``data`` so that ``path`` holds either its old content or all of the new: a temporary
    file in the same directory, flush + fsync, then os.replace over ``path``. A crash midway leaves
    the previous file intact and no temporary file behind."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: cannot write '{path}': the directory '{directory}' does not exist")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise _naming(exc, op, path) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            _write_all(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.errno is not None:
            raise _naming(exc, op, path) from exc
        raise
    try:  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# --------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------
def load(path, map_location=None, *, weights_only=True):
    """Read a file written by ``save`` (or any safetensors file) back into the saved object.

    A file without convnp's structure (written by another tool) loads as a dict of its tensors,
    in the order of their data. A missing file raises FileNotFoundError; a truncated or
    non-safetensors file raises ValueError; both name the file.

    ``map_location`` and ``weights_only`` are accepted so that ``torch.load(path, map_location="cpu",
    weights_only=True)`` reads the same in convnp: the one device is the CPU, so ``map_location`` may
    be None, ``"cpu"`` or ``cn.device("cpu")`` (anything else is a ValueError); and convnp never
    unpickles (the format is safetensors plus JSON), so it only ever loads weights: ``weights_only=True``
    (or None, PyTorch's default, meaning True); ``weights_only=False`` is refused with a ValueError.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> save({"w": np.ones(2)}, path)
    >>> load(path, map_location="cpu", weights_only=True)
    {'w': array([1., 1.])}
    """
    from convnp.autograd.tensor import device as _device

    if not (
        map_location is None
        or isinstance(map_location, _device)
        or (isinstance(map_location, str) and map_location == "cpu")
    ):
        raise ValueError(
            "load: convnp computes on the CPU only, so map_location must be None, 'cpu' or "
            "cn.device('cpu') (a dict or function of devices is not supported). "
            f"Received: map_location={map_location!r}"
        )
    if weights_only is False:
        raise ValueError(
            "load: weights_only=False asks for unpickling arbitrary objects, which convnp never does "
            "(its files are safetensors with a JSON structure, read safely); drop the argument or pass "
            "weights_only=True. Received: weights_only=False"
        )
    if weights_only is not True and weights_only is not None:
        raise ValueError(
            f"load: weights_only must be True (or None, meaning True). Received: weights_only={weights_only!r}"
        )
    path = _fspath(path, "load")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")
    import stat

    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):  # /dev/zero, a FIFO, a directory: no end to read to
        raise ValueError(f"load: '{path}' is not a regular file (it is a device, a pipe or a directory)")
    if st.st_size > MAX_LOAD_BYTES:
        raise ValueError(
            f"load: '{path}' is {st.st_size:,} bytes, more than the {MAX_LOAD_BYTES:,} convnp loads "
            f"(convnp.serialization.MAX_LOAD_BYTES)"
        )
    with open(path, "rb") as f:
        data = f.read()
    header = _read_header(path, data)

    import safetensors.numpy

    try:
        arrays = safetensors.numpy.load(data)
    except Exception as ex:  # safetensors' own SafetensorError
        raise ValueError(f"load: '{path}' is not a valid safetensors file: {ex}") from None
    arrays = {k: (v if v.flags.writeable else v.copy()) for k, v in arrays.items()}

    metadata = header.get("__metadata__") or {}
    if STRUCTURE_KEY not in metadata:
        names = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
        return {k: arrays[k] for k in names}
    try:
        version = int(metadata.get(VERSION_KEY, FORMAT_VERSION))
    except ValueError:
        version = -1
    if version != FORMAT_VERSION:
        raise ValueError(
            f"load: '{path}' was written in convnp format version {metadata.get(VERSION_KEY)!r}; "
            f"this convnp reads version {FORMAT_VERSION}"
        )
    try:
        structure = json.loads(metadata[STRUCTURE_KEY])
        return _decode(structure, arrays)
    except RecursionError:
        raise ValueError(
            f"load: '{path}' has a corrupt convnp structure in its metadata: it is nested too deeply"
        ) from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as ex:
        raise ValueError(f"load: '{path}' has a corrupt convnp structure in its metadata: {ex}") from None


def _read_header(path: str, data: bytes) -> dict:
    """Check the safetensors layout (8-byte header length, JSON header, data length) by hand, so
    that a truncated file and a file of another format get messages that say so."""
    size = len(data)
    if size < 8:
        raise ValueError(
            f"load: '{path}' is not a safetensors file (or is truncated): it holds {size} bytes, "
            f"fewer than the 8-byte header length"
        )
    n = int.from_bytes(data[:8], "little")
    looks_like_json = data[8:9] == b"{"
    if n > size - 8:
        if looks_like_json and n < 100_000_000:
            raise ValueError(
                f"load: '{path}' is truncated: its header needs {n} bytes but the file holds only "
                f"{size - 8} after the length"
            )
        raise ValueError(
            f"load: '{path}' is not a safetensors file (its first 8 bytes {data[:8]!r} are not a "
            f"plausible header length)"
        )
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        end = 0
        for key, info in header.items():
            if key != "__metadata__":
                end = max(end, int(info["data_offsets"][1]))
    except RecursionError:
        raise ValueError(f"load: '{path}' is not a safetensors file (its header is JSON nested too deeply)") from None
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, IndexError) as ex:
        raise ValueError(f"load: '{path}' is not a safetensors file (its header is not valid: {ex})") from None
    if 8 + n + end > size:
        raise ValueError(
            f"load: '{path}' is truncated: its header describes {end} bytes of tensor data but the "
            f"file holds only {size - 8 - n}"
        )
    return header


def _decode(node, arrays: dict):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, value),) = node.items()
        if tag == "tensor":
            return arrays[value]
        if tag == "scalar":
            return arrays[value][()]
        if tag == "float":
            return float(value)
        if tag == "tuple":
            return tuple(_decode(v, arrays) for v in value)
        if tag in ("dict", "odict"):
            pairs = [(_decode(k, arrays), _decode(v, arrays)) for k, v in value]
            return OrderedDict(pairs) if tag == "odict" else dict(pairs)
    raise ValueError(f"unknown structure entry {node!r}")
