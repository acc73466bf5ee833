"""python -m benchmarks: convnp against PyTorch on this CPU, side by side, as a markdown table.

    python -m benchmarks                      # every workload (a few minutes)
    python -m benchmarks --quick              # the rows marked quick
    python -m benchmarks --only depthwise k1  # rows whose "section name" contains any of these
    python -m benchmarks --engine reference   # convnp's lecture tier everywhere (default: auto)
    python -m benchmarks --engine shifted     # one convolution kernel wherever it applies, auto elsewhere
    python -m benchmarks --coretype default   # keep OpenBLAS's own kernel choice
    python -m benchmarks --stat min           # fastest sample per side (a machine busy with other work)
    python -m benchmarks --output benchmarks/RESULTS.md

Sections: conv2d forward and forward+backward (ms, GFLOP/s, share of the SGEMM peak); pooling,
batch_norm, linear, relu, cross_entropy forward+backward; training steps of lenet5, resnet20 and a
VGG-11-BN CIFAR net against PyTorch twins carrying the same weights (benchmarks/twins.py), in
images/s; batch-1 inference latency (µs); peak RSS of a resnet20 training step, each library in a
subprocess of its own (benchmarks/memory.py).

Both libraries run with 2 threads (torch.set_num_threads, OPENBLAS_NUM_THREADS). OpenBLAS picks
its kernels when NumPy is loaded; on a CPU with AVX-512 the default ``--coretype auto`` sets
OPENBLAS_CORETYPE=SkylakeX (its AVX-512 kernels) before NumPy is imported, unless the variable
is already set. The SGEMM peak in the table is measured in the same run with the same kernels, at
the start and again at the end; the table uses the larger (the less disturbed) of the two.
"""

from __future__ import annotations

import argparse
import os
import sys


def _cpu_has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f" in f.read()
    except OSError:
        return False


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", metavar="TEXT", help="run rows whose section or name contains TEXT")
    p.add_argument("--quick", action="store_true", help="only the rows marked quick, fewer repeats")
    p.add_argument("--repeats", type=int, default=None, help="timed samples per side (default 7, quick 5)")
    p.add_argument(
        "--min-time",
        type=float,
        default=0.05,
        help="seconds each timed sample lasts at least (several calls averaged; 0: one call)",
    )
    p.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    p.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="per side, the median (default) or the fastest of the interleaved samples; "
        "prefer min on a machine busy with other work",
    )
    p.add_argument(
        "--engine",
        default="auto",
        help="convnp's engine: 'auto' (default), 'reference' (the lecture tier for every family) or "
        "a convolution kernel's name (shifted, blocked, ...: that kernel for convolutions)",
    )
    p.add_argument(
        "--coretype",
        default="auto",
        help="OPENBLAS_CORETYPE: 'auto' (SkylakeX when the CPU has AVX-512), 'default' (leave "
        "OpenBLAS's choice) or a name such as Haswell or SkylakeX",
    )
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument(
        "--profile",
        action="store_true",
        help="profile convnp's side of the selected rows (cProfile, one worker thread and a "
        "one-thread BLAS, so that every call is seen) instead of timing them",
    )
    p.add_argument("--output", metavar="FILE", help="also write the table to FILE")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if "numpy" not in sys.modules:  # OpenBLAS reads these once, when NumPy loads it
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
        if args.coretype == "auto":
            if "OPENBLAS_CORETYPE" not in os.environ and _cpu_has_avx512():
                os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
        elif args.coretype != "default":
            os.environ["OPENBLAS_CORETYPE"] = args.coretype

    from benchmarks.workloads import REGISTRY, select

    if args.list:
        for w in REGISTRY:
            print(f"{w.section}: {w.name}{'  (quick)' if w.quick else ''}")
        return 0

    import numpy as np
    import torch

    import convnp as cn
    from benchmarks.harness import compare, latency_table, markdown_table, memory_table, sgemm_peak, throughput_table
    from convnp.arraymath.parallel import blas_info, set_num_workers

    os.environ["CONVNP_BENCH_THREADS"] = str(args.threads)  # read by the memory rows' subprocesses
    torch.set_num_threads(args.threads)
    set_num_workers(args.threads)  # convnp's own worker threads (outside BLAS)
    if args.engine in ("auto", "reference"):
        cn.set_engine(args.engine)
    else:
        cn.set_engine("auto", conv=args.engine)
    repeats = args.repeats or (5 if args.quick else 7)
    chosen = select(args.only, args.quick)
    if not chosen:
        print("no workload matches", args.only, file=sys.stderr)
        return 1

    if args.profile:
        return _profile(chosen)

    peak = sgemm_peak()
    info = blas_info()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (
        f"NumPy {np.__version__} ({info}), PyTorch {torch.__version__}, {args.threads} threads, "
        f"{os.cpu_count()} CPUs visible, convnp engine {args.engine!r}, {args.stat} of {repeats} interleaved "
        f"samples; SGEMM peak at start {peak:.0f} GFLOP/s; load average at start {load:.2f}"
    )
    print(header, flush=True)

    sections: dict[str, list] = {}
    kinds: dict[str, str] = {}
    for w in chosen:
        kinds[w.section] = w.kind
        if w.kind == "memory":
            r = w.setup()
            sections.setdefault(w.section, []).append(r)
            print(
                f"  {w.section}: {w.name}: peak {r.ours['peak'] / 2**20:.0f} MiB vs {r.theirs['peak'] / 2**20:.0f} "
                f"MiB, increase ratio {r.ratio:.2f}x",
                file=sys.stderr,
                flush=True,
            )
            continue
        pair = w.setup()
        r = compare(
            w.name,
            pair.ours,
            pair.theirs,
            flops=pair.flops,
            repeats=repeats,
            stat=args.stat,
            min_time=args.min_time,
            batch=pair.batch,
        )
        sections.setdefault(w.section, []).append(r)
        print(
            f"  {w.section}: {w.name}: {r.ours * 1e3:.2f} ms vs {r.theirs * 1e3:.2f} ms ({r.ratio:.2f}x)",
            file=sys.stderr,
            flush=True,
        )
        del pair

    peak_end = sgemm_peak()
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = header.replace(
        f"SGEMM peak at start {peak:.0f} GFLOP/s",
        f"SGEMM peak {max(peak, peak_end):.0f} GFLOP/s (start {peak:.0f}, end {peak_end:.0f})",
    )
    header += f", at end {load_end:.2f}"
    peak = max(peak, peak_end)
    print(f"SGEMM peak at end {peak_end:.0f} GFLOP/s; load average at end {load_end:.2f}", flush=True)
    tables = {
        "time": lambda rs: markdown_table(rs, peak),
        "throughput": throughput_table,
        "latency": latency_table,
        "memory": memory_table,
    }
    out = []
    for section, results in sections.items():
        ratios = sorted(r.ratio for r in results)
        median = float(np.median(ratios))
        out.append(f"\n### {section}\n")
        out.append(tables[kinds[section]](results))
        if kinds[section] == "memory":
            continue
        what = "time " if kinds[section] == "throughput" else ""
        out.append(f"\nmedian {what}convnp / PyTorch: {median:.2f}x, worst {ratios[-1]:.2f}x")
    text = "\n".join(out)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(f"{header}\n{text}\n")
    return 0


def _profile(chosen) -> int:
    """Where convnp's time goes: cProfile of each selected row, run serially (one core)."""
    import cProfile
    import pstats

    from convnp.arraymath import parallel

    parallel.set_num_workers(1)
    for w in chosen:
        pair = w.setup()
        pair.ours()  # warm-up: workspaces, caches
        prof = cProfile.Profile()
        with parallel.blas_threads(1):
            prof.enable()
            for _ in range(5):
                pair.ours()
            prof.disable()
        print(f"\n## {w.section}: {w.name} (5 calls, one thread)\n")
        pstats.Stats(prof).sort_stats("tottime").print_stats(14)
    return 0


if __name__ == "__main__":
    sys.exit(main())
