"""Statistics over every weight and gradient of the big MLP (134M parameters, 2 x 512 MiB)
against one numpy.sum pass over the same bytes, in one process, alternating.

Target (issue 24): at most 2x the numpy.sum pass (issue 6 asked 5x). Also shows the naive
way (asnumpy() copies, then float64 numpy reductions over the whole array), as the
foundation did it.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import machine

from paraminspect.stats import host_view, ndarray_stats


def naive_stats(a: np.ndarray) -> tuple:
    """The foundation's tensor_stats: masks and a full float64 copy of every array."""
    a = a.reshape(-1)
    finite = np.isfinite(a)
    n_nan = int(np.count_nonzero(np.isnan(a)))
    zeros = int(a.size - np.count_nonzero(a))
    x = (a[finite] if n_nan or a.size != np.count_nonzero(finite) else a).astype(np.float64)
    total, sumsq = float(np.sum(x)), float(np.dot(x, x))
    return total / x.size, math.sqrt(sumsq), float(np.min(x)), float(np.max(x)), zeros


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(machine())
    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.Sequential()
    for i in range(8):
        net.add(nn.Dense(4096, activation="relu" if i < 7 else None))
    net.initialize()
    x = mx.nd.random.uniform(shape=(64, 4096))
    with mx.autograd.record():
        loss = net(x).sum()
    loss.backward()
    arrays = [a for p in net.collect_params().values() for a in (p.data(), p.grad())]
    for a in arrays:
        a.wait_to_read()
    n_bytes = sum(a.size * 4 for a in arrays)
    views = [host_view(a) for a in arrays]

    cases: Dict[str, Callable[[], object]] = {
        "numpy.sum pass": lambda: [np.sum(v) for v in views],
        "paraminspect ndarray_stats": lambda: [ndarray_stats(a) for a in arrays],
        "naive asnumpy + float64": lambda: [naive_stats(a.asnumpy()) for a in arrays],
    }
    times: Dict[str, List[float]] = {k: [] for k in cases}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["numpy.sum pass"])
    print(f"{len(arrays)} arrays, {n_bytes / 2**20:,.0f} MiB of float32")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(
            f"{name:30s} median {med * 1e3:8.1f} ms  min {min(ts) * 1e3:8.1f} ms  "
            f"x{med / base:.2f} of numpy.sum"
            + ("  (target <= 2x)" if "paraminspect" in name else "")
        )


if __name__ == "__main__":
    main()
