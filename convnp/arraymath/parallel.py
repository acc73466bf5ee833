"""Machine-level helpers for the fast paths: BLAS threads, reusable workspaces, a small worker pool.

Three facts of a CPU that decide how fast NumPy code runs, and what this module does about them:

- NumPy's bundled OpenBLAS runs a matrix product on every core, but NumPy's copies and
  elementwise loops run on one. Splitting a batch in halves and running each half's whole
  pipeline (copies *and* a one-thread GEMM) in its own Python thread keeps both cores busy
  (NumPy and ctypes release the GIL while they work). :func:`parallel_map` does that, and
  :func:`blas_threads` makes OpenBLAS single-threaded inside the workers.
- A freshly allocated large buffer costs a page fault per 4 KiB page (about 1 µs each) the first
  time it is written, and glibc hands freed blocks above its mmap threshold back to the OS, so a
  50 MB scratch buffer allocated per call is faulted in again on every call.
  :func:`workspace` keeps scratch buffers alive, keyed by (name, shape, dtype, thread).
- OpenBLAS chooses its kernels (AVX2 "Haswell", AVX-512 "SkylakeX", ...) once, when NumPy loads
  it; ``OPENBLAS_CORETYPE`` set before ``import numpy`` overrides the choice. :func:`blas_info`
  reports what was chosen.

Everything degrades gracefully: without NumPy's bundled OpenBLAS (a NumPy built on MKL or
Accelerate) thread control is a no-op and the workers simply share the BLAS.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# ============================================================================================
# NumPy's own OpenBLAS, through ctypes (no new dependency)
# ============================================================================================


def _load_openblas():
    """The OpenBLAS that NumPy itself loaded (its wheel bundles one in numpy.libs), or None."""
    here = os.path.dirname(np.__file__)
    for pattern in (
        "../numpy.libs/libscipy_openblas*.so*",
        "../numpy.libs/libopenblas*.so*",
        ".dylibs/libscipy_openblas*.dylib",
    ):
        for path in sorted(glob.glob(os.path.join(here, pattern))):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


_LIB = _load_openblas()


def _symbol(*names):
    for name in names:
        fn = getattr(_LIB, name, None) if _LIB is not None else None
        if fn is not None:
            return fn
    return None


_get_threads = _symbol("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads")
_set_threads = _symbol("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")
_set_threads_local = _symbol("openblas_set_num_threads_local")
_corename = _symbol("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename")
if _corename is not None:
    _corename.restype = ctypes.c_char_p


def _gemm_symbol(prefix):
    """(function, int type) of cblas_?gemm with explicit strides and beta, or (None, None)."""
    for name, itype in (
        (f"scipy_cblas_{prefix}gemm64_", ctypes.c_int64),
        (f"cblas_{prefix}gemm64_", ctypes.c_int64),
        (f"cblas_{prefix}gemm", ctypes.c_int),
    ):
        fn = _symbol(name)
        if fn is not None:
            real = ctypes.c_float if prefix == "s" else ctypes.c_double
            e, i, p = ctypes.c_int, itype, ctypes.c_void_p
            fn.argtypes = [e, e, e, i, i, i, real, p, i, p, i, real, p, i]
            fn.restype = None
            return fn
    return None


_GEMM = {np.dtype(np.float32): _gemm_symbol("s"), np.dtype(np.float64): _gemm_symbol("d")}
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def has_strided_gemm(dtype) -> bool:
    """Whether :func:`gemm` reaches BLAS directly (with leading dimensions and beta) for this dtype."""
    return _GEMM.get(np.dtype(dtype)) is not None


def gemm(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, *, trans_a: bool = False, trans_b: bool = False, beta: float = 0.0
) -> None:
    """c = op(a) @ op(b) + beta * c in place, op(m) = m.T when asked; one BLAS call, no copies.

    a, b and c are 2-D views whose last axis is contiguous (rows may be any distance apart, the
    BLAS "leading dimension"): the shifted windows of an image are such views. ``beta=1``
    accumulates into c, as BLAS's sgemm does, which NumPy's matmul cannot.
    """
    fn = _GEMM.get(c.dtype)
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    if fn is None or m == 0 or n == 0 or k == 0:
        prod = np.matmul(a.T if trans_a else a, b.T if trans_b else b)
        if beta == 0.0:
            c[...] = prod
        else:
            c += prod
        return
    size = c.itemsize
    lds = []
    for arr in (a, b, c):
        ld = arr.strides[0] // size if arr.shape[0] > 1 else arr.shape[1]
        if (
            arr.dtype != c.dtype
            or (arr.shape[1] > 1 and arr.strides[1] != size)
            or (arr.shape[0] > 1 and (arr.strides[0] % size or ld < arr.shape[1]))
        ):
            raise ValueError(
                f"gemm: expected 2-D views of one dtype ({c.dtype}) with a contiguous last axis and "
                f"rows at least a row apart. Received: shape {arr.shape}, strides {arr.strides}, "
                f"dtype {arr.dtype}"
            )
        lds.append(max(ld, 1))
    fn(
        _ROW_MAJOR,
        _TRANS if trans_a else _NO_TRANS,
        _TRANS if trans_b else _NO_TRANS,
        m,
        n,
        k,
        1.0,
        a.ctypes.data,
        lds[0],
        b.ctypes.data,
        lds[1],
        beta,
        c.ctypes.data,
        lds[2],
    )


def blas_info() -> str:
    """'OpenBLAS SkylakeX, 2 threads', or what can be said without a bundled OpenBLAS."""
    if _corename is None or _get_threads is None:
        return "BLAS: not NumPy's bundled OpenBLAS"
    return f"OpenBLAS {_corename().decode()}, {_get_threads()} threads"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@contextlib.contextmanager
def blas_threads(n: int):
    """Run the block with OpenBLAS limited to ``n`` threads in the calling thread."""
    if _set_threads_local is not None:
        previous = _set_threads_local(n)
        try:
            yield
        finally:
            _set_threads_local(previous)
    else:
        yield


SMALL_PRODUCT_FLOPS = 5e7  # below this, a matrix product in the calling thread runs on one BLAS thread


def blas_threads_for(flops: float):
    """One BLAS thread for work under :data:`SMALL_PRODUCT_FLOPS` (about half a millisecond on one
    core), the BLAS as it is for more.

    OpenBLAS splits even a small product over every core, and each split waits for the slowest
    thread: on a busy machine one descheduled thread stalls the product. Measured on a shared
    2-core machine, in one process with the two settings alternating: resnet20 batch-1 latency
    median 11.7 -> 6.7 ms (minimum 5.3 -> 4.9 ms); LeNet-5 latency and training step unchanged.
    """
    if flops < SMALL_PRODUCT_FLOPS:
        return blas_threads(1)
    return contextlib.nullcontext()


# ============================================================================================
# Workspaces that survive between calls
# ============================================================================================

_WORKSPACES: dict = {}
_WORKSPACE_LIMIT = 256 * 2**20  # bytes kept alive at most; older buffers are dropped first
_workspace_lock = threading.Lock()


def workspace(name: str, shape, dtype, zero: bool = False) -> np.ndarray:
    """A scratch array reused across calls (one per calling thread), keyed by name, shape and dtype.

    ``zero=True`` returns a buffer that was zeroed when it was made; the caller promises to leave
    the parts it relies on being zero untouched (the border of a padded image, say), so that it
    is not zeroed again on every call. The contents are otherwise undefined.
    """
    key = (name, tuple(shape), np.dtype(dtype).str, zero, threading.get_ident())
    buf = _WORKSPACES.get(key)
    if buf is None:
        buf = np.zeros(shape, dtype) if zero else np.empty(shape, dtype)
        with _workspace_lock:
            _WORKSPACES[key] = buf
            total = sum(b.nbytes for b in _WORKSPACES.values())
            for old in list(_WORKSPACES):
                if total <= _WORKSPACE_LIMIT or old == key:
                    continue
                total -= _WORKSPACES.pop(old).nbytes
    return buf


def clear_workspaces() -> None:
    """Free every cached scratch buffer."""
    with _workspace_lock:
        _WORKSPACES.clear()


# ============================================================================================
# Both cores outside BLAS
# ============================================================================================

_POOL: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


_WORKERS = {"n": None}


def set_num_workers(n: int | None) -> None:
    """How many threads the fast paths split work over; None (the default): the usable cores, at most 8."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_num_workers: expected a positive int or None. Received: {n!r}")
    _WORKERS["n"] = n


def workers() -> int:
    """How many threads the fast paths split work over (see :func:`set_num_workers`)."""
    if _WORKERS["n"] is not None:
        return _WORKERS["n"]
    if _WORKERS.get("default") is None:  # the usable cores, asked once (a system call)
        _WORKERS["default"] = max(1, min(8, cpu_count()))
    return _WORKERS["default"]


def batch_slices(arr: np.ndarray, min_size: int = 1 << 16) -> list[slice]:
    """The first axis of ``arr`` cut into one slice per worker thread, for :func:`parallel_map`;
    a single slice (no threads) for an array under ``min_size`` elements, where handing work to a
    thread would cost more than it saves."""
    n, nw = (arr.shape[0] if arr.ndim else 1), workers()
    if arr.size < min_size or nw == 1 or n <= 1:
        return [slice(None)]
    step = -(-n // min(nw, n))
    return [slice(i, i + step) for i in range(0, n, step)]


def work_runs(n: int, item_bytes: int, piece_bytes: int, share_above: int) -> list[list[tuple[int, int]]]:
    """range(n) cut into pieces of about ``piece_bytes`` (``item_bytes`` per item), dealt out in
    contiguous runs, one run per worker thread, each run a list of (start, stop) pieces, for
    :func:`parallel_map`. A single run (the calling thread) when all n items take at most
    ``share_above`` bytes: waking a worker costs more than such work (about 0.1 ms).

    A piece goes through every step of its job while its buffers are still in the caches; a
    pass over a whole activation per step would run at memory speed instead.
    """
    per = max(1, min(n, piece_bytes // max(1, item_bytes)))
    nw = min(workers(), n) if n * item_bytes > share_above else 1
    bounds = [round(i * n / nw) for i in range(nw + 1)]  # every run the same number of items, up to one piece
    return [[(a, min(hi, a + per)) for a in range(lo, hi, per)] for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def parallel_map(fn, items) -> list:
    """[fn(item) for item in items], the items spread over worker threads, each with a one-thread BLAS.

    Use it for work that releases the GIL (NumPy copies, ufuncs on large arrays, matrix products).
    With one item, or one core, everything runs in the calling thread with the BLAS as it is.
    The caller's ``np.errstate`` applies in the workers as well.
    """
    items = list(items)
    if len(items) <= 1 or workers() == 1:
        return [fn(item) for item in items]
    global _POOL
    with _pool_lock:
        if _POOL is None or _POOL._max_workers < workers():
            _POOL = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="convnp")
    err = np.geterr()  # the caller's np.errstate holds in the workers too

    def run(item):
        with blas_threads(1), np.errstate(**err):
            return fn(item)

    if _set_threads_local is None and _set_threads is not None and _get_threads is not None:
        # an older OpenBLAS: no per-thread setting, so one thread for everyone while the workers run
        previous = _get_threads()
        _set_threads(1)
        try:
            return list(_POOL.map(run, items))
        finally:
            _set_threads(previous)
    return list(_POOL.map(run, items))
