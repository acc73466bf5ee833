"""Timing: convnp and PyTorch on the same inputs in one process, interleaved, median of repeats.

Interleaving (ours, theirs, ours, theirs, ...) means a drift of the machine's speed hits both
sides alike, so the ratio is trustworthy even when the absolute times wander.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Result:
    name: str
    ours: float  # median seconds per call
    theirs: float
    flops: float | None = None  # floating-point operations per call, when meaningful
    unit: str = "s"
    batch: int | None = None  # images per call (training steps: images/s = batch / seconds)

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs


def _once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def compare(name, ours, theirs, *, flops=None, repeats=7, warmup=2, min_time=0.05, stat="median", batch=None) -> Result:
    """Median time of ``ours()`` and ``theirs()``, run alternately after warm-up (A B, B A, ...).

    Each sample runs the function enough times to last about ``min_time`` seconds. ``stat="min"``
    takes the fastest sample of each instead: on a machine shared with other work the minimum is
    the least disturbed estimate (a multi-threaded library that synchronises its threads often,
    as oneDNN does, loses far more to a busy neighbour than one that does not, so medians taken
    under load flatter the latter).
    """
    for _ in range(warmup):
        ours()
        theirs()
    n_ours = max(1, int(min_time / max(_once(ours), 1e-6)))
    n_theirs = max(1, int(min_time / max(_once(theirs), 1e-6)))
    a, b = [], []

    def sample(fn, n, into):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        into.append((time.perf_counter() - t0) / n)

    for i in range(repeats):
        # which side goes first alternates: the side that follows the other pays for its threads
        # still spinning (PyTorch's OpenMP workers, OpenBLAS's) at the start of its sample
        if i % 2 == 0:
            sample(ours, n_ours, a)
            sample(theirs, n_theirs, b)
        else:
            sample(theirs, n_theirs, b)
            sample(ours, n_ours, a)
    pick = min if stat == "min" else statistics.median
    return Result(name, pick(a), pick(b), flops, batch=batch)


def sgemm_peak(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of NumPy's float32 matrix product on large square matrices (the BLAS peak)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = min(_once(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def format_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def markdown_table(results: list[Result], peak_gflops: float) -> str:
    rows = [
        "| workload | convnp ms | PyTorch ms | convnp GFLOP/s | PyTorch GFLOP/s | convnp % of SGEMM peak | convnp / PyTorch |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.flops:
            g_ours, g_theirs = r.flops / r.ours / 1e9, r.flops / r.theirs / 1e9
            gf = f"{g_ours:.0f} | {g_theirs:.0f} | {100 * g_ours / peak_gflops:.0f}%"
        else:
            gf = "- | - | -"
        rows.append(f"| {r.name} | {format_ms(r.ours)} | {format_ms(r.theirs)} | {gf} | {r.ratio:.2f}x |")
    return "\n".join(rows)


def throughput_table(results: list[Result]) -> str:
    """Training steps: milliseconds a step and images/s (batch / time) both sides, and both ratios."""
    rows = [
        "| workload | convnp ms/step | PyTorch ms/step | convnp images/s | PyTorch images/s "
        "| images/s convnp / PyTorch | time convnp / PyTorch |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ips_ours, ips_theirs = r.batch / r.ours, r.batch / r.theirs
        rows.append(
            f"| {r.name} | {format_ms(r.ours)} | {format_ms(r.theirs)} | {ips_ours:,.0f} | "
            f"{ips_theirs:,.0f} | {ips_ours / ips_theirs:.2f} | {r.ratio:.2f}x |"
        )
    return "\n".join(rows)


def latency_table(results: list[Result]) -> str:
    """Inference latency: median microseconds a call both sides, and the ratio."""
    rows = ["| workload | convnp µs | PyTorch µs | convnp / PyTorch |", "|---|---:|---:|---:|"]
    for r in results:
        rows.append(f"| {r.name} | {r.ours * 1e6:,.0f} | {r.theirs * 1e6:,.0f} | {r.ratio:.2f}x |")
    return "\n".join(rows)


@dataclass
class MemoryResult:
    """Peak resident memory (ru_maxrss, bytes) of each side, measured in a subprocess of its own."""

    name: str
    ours: dict  # {"baseline": bytes after imports + model + inputs, "peak": bytes after the steps}
    theirs: dict

    @property
    def ratio(self) -> float:
        """Increase over the baseline, convnp / PyTorch (what training itself costs)."""
        return (self.ours["peak"] - self.ours["baseline"]) / max(self.theirs["peak"] - self.theirs["baseline"], 1)

    @property
    def peak_ratio(self) -> float:
        return self.ours["peak"] / self.theirs["peak"]


def memory_table(results: list[MemoryResult]) -> str:
    mib = 2.0**20
    rows = [
        "| workload | convnp peak MiB | PyTorch peak MiB | convnp increase MiB | PyTorch increase MiB "
        "| peak convnp / PyTorch | increase convnp / PyTorch |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        inc_o = (r.ours["peak"] - r.ours["baseline"]) / mib
        inc_t = (r.theirs["peak"] - r.theirs["baseline"]) / mib
        rows.append(
            f"| {r.name} | {r.ours['peak'] / mib:.0f} | {r.theirs['peak'] / mib:.0f} | {inc_o:.0f} | "
            f"{inc_t:.0f} | {r.peak_ratio:.2f}x | {r.ratio:.2f}x |"
        )
    return "\n".join(rows)
