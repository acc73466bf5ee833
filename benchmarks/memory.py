"""Peak memory (RSS) of training steps, each library in a fresh subprocess of its own.

    python -m benchmarks.memory --side convnp --model resnet20 --batch 128 --steps 3
    python -m benchmarks.memory --side torch  --model resnet20 --batch 128 --steps 3

Each prints one JSON line: ``baseline`` = peak RSS (VmHWM, bytes) after the imports, the model,
the optimizer and the batch exist; ``peak`` = the same mark after ``steps`` training steps
(forward, cross-entropy, backward, SGD with momentum). VmHWM is the process's high-water mark, so
peak - baseline is what the steps themselves needed at most. A separate process per side keeps
one library's allocations (and its allocator's cached pages) out of the other's numbers; the
torch side never imports convnp and the convnp side never imports torch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from benchmarks.workloads import INPUT_SHAPES as INPUTS  # noqa: E402  (numpy only; no torch, no convnp)


def _maxrss() -> int:
    """Peak resident set size of this process so far, in bytes.

    Linux's VmHWM (/proc/self/status) is the high-water mark of this process's own address space.
    getrusage's ru_maxrss is the same mark but survives fork + exec, so a child started by a big
    parent (the benchmark process, with PyTorch and all the workloads loaded) would inherit the
    parent's peak; it is the fallback where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _train_steps(model, opt, cross_entropy, x, y, steps: int) -> dict:
    """``steps`` training steps, and the peak RSS before and after them."""
    base = _maxrss()
    for _ in range(steps):
        opt.zero_grad()
        cross_entropy(model(x), y).backward()
        opt.step()
    return {"baseline": base, "peak": _maxrss()}


def _run_convnp(model_name: str, batch: int, steps: int, threads: int) -> dict:
    import numpy as np

    import convnp as cn
    import convnp.nn.functional as F
    from convnp.arraymath.parallel import set_num_workers

    set_num_workers(threads)
    from benchmarks.workloads import convnp_model

    model = convnp_model(model_name).train()
    opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    r = np.random.default_rng(0)
    x = cn.tensor(r.standard_normal((batch,) + INPUTS[model_name], dtype=np.float32))
    y = cn.tensor(r.integers(0, 10, batch))
    return _train_steps(model, opt, F.cross_entropy, x, y, steps)


def _run_torch(model_name: str, batch: int, steps: int, threads: int) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from benchmarks import twins

    torch.set_num_threads(threads)
    model = twins.twin(model_name).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    r = np.random.default_rng(0)
    x = torch.from_numpy(r.standard_normal((batch,) + INPUTS[model_name], dtype=np.float32))
    y = torch.from_numpy(r.integers(0, 10, batch))
    return _train_steps(model, opt, F.cross_entropy, x, y, steps)


def measure_side(side: str, model: str = "resnet20", batch: int = 128, steps: int = 3, threads: int = 2) -> dict:
    """Run one side in a fresh ``python -m benchmarks.memory`` (inheriting the BLAS environment)."""
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        "--side",
        side,
        "--model",
        model,
        "--batch",
        str(batch),
        "--steps",
        str(steps),
        "--threads",
        str(threads),
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--side", choices=("convnp", "torch"), required=True)
    p.add_argument("--model", choices=sorted(INPUTS), default="resnet20")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    run = _run_convnp if a.side == "convnp" else _run_torch
    print(json.dumps(run(a.model, a.batch, a.steps, a.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
