"""Checkpoint triage (issue 16) in process: mobilefacenet, and 512 MiB of synthetic weights,
against one numpy.sum pass over the same bytes, alternating.

Targets: mobilefacenet (1M values) well under 0.1 s; the large set within a small multiple
of the numpy.sum pass (triage reads every value a few times: stats, NaN/zero checks, and a
hash for arrays that share a shape).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paraminspect.diagnose.triage import triage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobilefacenet-0000.params"


def synthetic() -> Dict[str, np.ndarray]:
    """8 dense weights of 4096 x 4096 float32 (64 MiB each), two of them identical."""
    rng = np.random.default_rng(0)
    arrays = {}
    for i in range(8):
        arrays[f"dense{i}_weight"] = rng.standard_normal((4096, 4096), dtype=np.float32)
        arrays[f"dense{i}_bias"] = rng.standard_normal(4096, dtype=np.float32)
    arrays["dense7_weight"] = arrays["dense6_weight"].copy()
    return arrays


def time_cases(cases: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, float]:
    times: Dict[str, List[float]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def report(label: str, arrays: Dict[str, np.ndarray], repeats: int) -> None:
    n_bytes = sum(a.nbytes for a in arrays.values())
    cases: Dict[str, Callable[[], object]] = {
        "triage": lambda: triage(arrays),
        "numpy.sum": lambda: [a.sum() for a in arrays.values()],
    }
    medians = time_cases(cases, repeats)
    print(f"{label}: {len(arrays)} arrays, {n_bytes / 2**20:,.1f} MiB")
    for name, t in medians.items():
        print(f"  {name:10s} {t * 1000:9.1f} ms  ({n_bytes / t / 2**30:5.2f} GiB/s)")
    print(f"  ratio      {medians['triage'] / medians['numpy.sum']:9.1f}x")
    findings = triage(arrays).findings
    print(f"  findings   {len(findings)}")
    for f in findings:
        print(f"    {f.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if DATA.exists():
        from paraminspect.checkpoint import read_params

        report("mobilefacenet", read_params(str(DATA)).arrays, args.repeats)
    else:
        print(f"(no {DATA}: mobilefacenet skipped)")
    report("synthetic", synthetic(), max(3, args.repeats // 2))


if __name__ == "__main__":
    main()
