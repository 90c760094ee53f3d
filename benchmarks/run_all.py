"""Run every benchmark in turn (each also runs on its own): python benchmarks/run_all.py"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in (
    "bench_startup",
    "bench_show",
    "bench_stats",
    "bench_grad",
    "bench_train",
    "bench_models",
    "bench_watch",
):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / f"{script}.py"), *sys.argv[1:]], check=True)
