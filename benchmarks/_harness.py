"""Run paraminspect and a raw-MXNet script alternately; report median wall time and peak RSS.

Each measurement is one fresh process; its peak RSS comes from ``os.wait4`` (the kernel's
``ru_maxrss`` for that child), its wall time from ``time.perf_counter`` around it, both taken
by a small launcher process (see ``_LAUNCH``): Linux keeps ``ru_maxrss`` across ``execve``,
so a child's figure never falls below the RSS of the process that forked it, and the
launcher keeps that floor at a few MB whatever the benchmark script holds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PY = sys.executable


def env() -> Dict[str, str]:
    """This checkout's paraminspect first on the path; colours and width fixed.

    Bytecode is written and used, as in an installed copy (pip compiles it at install):
    a PYTHONDONTWRITEBYTECODE in the caller's environment would make every run of the
    tool recompile its modules while MXNet's installed ones never are.
    """
    path = os.environ.get("PYTHONPATH")
    out = dict(
        os.environ,
        PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""),
        NO_COLOR="1",
        COLUMNS="200",
    )
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def tool(*args: str) -> List[str]:
    return [PY, "-m", "paraminspect", *args]


def raw(script: str, *args: str) -> List[str]:
    return [PY, str(HERE / "raw" / script), *args]


# Started through this launcher, a command's peak RSS is its own: Linux starts a child's
# ru_maxrss at its parent's RSS at fork and keeps it across execve, so a command forked from
# this process would never measure below what this process holds (bench_checkpoints has
# written 1.5 GB of files by then: 116 MiB, which every figure showed). The launcher is a
# fresh `python -S` of a few MB; it times the command itself, so its own start-up is in
# neither side's figure.
_LAUNCH = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\n@run %r %d\\n" % (time.perf_counter() - start, usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_once(cmd: Sequence[str]) -> Tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one run; fails loudly on a non-zero exit."""
    proc = subprocess.run(
        [PY, "-S", "-c", _LAUNCH, *cmd],
        env=env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    err, _, last = proc.stderr.decode().rstrip("\n").rpartition("\n@run ")
    if proc.returncode != 0 or not last:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err or last}")
    wall, rss = last.split()
    return float(wall), int(rss) * 1024


def run_output(cmd: Sequence[str]) -> str:
    """stdout of one run; fails loudly on a non-zero exit."""
    proc = subprocess.run(list(cmd), env=env(), cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def command_exists(name: str) -> bool:
    """True if ``paraminspect NAME --help`` works (grad and train are being written)."""
    out = subprocess.run(tool(name, "--help"), env=env(), cwd=ROOT, capture_output=True)
    return out.returncode == 0


def compare(
    label: str,
    ours: Sequence[str],
    baseline: Sequence[str],
    repeats: int = 5,
    warmup: int = 1,
    target: Optional[str] = None,
) -> Dict[str, float]:
    """Alternate ``ours`` and ``baseline`` ``repeats`` times; print and return the medians."""
    for _ in range(warmup):  # page cache, .pyc files
        run_once(ours)
        run_once(baseline)
    t_ours: List[float] = []
    t_base: List[float] = []
    m_ours: List[int] = []
    m_base: List[int] = []
    for i in range(repeats):
        # alternate the order too, so a slow neighbour hurts both sides alike
        pair = ((ours, t_ours, m_ours), (baseline, t_base, m_base))
        for cmd, times, mems in pair if i % 2 == 0 else pair[::-1]:
            wall, rss = run_once(cmd)
            times.append(wall)
            mems.append(rss)
    res = {
        "ours_s": statistics.median(t_ours),
        "base_s": statistics.median(t_base),
        "ours_rss": statistics.median(m_ours),
        "base_rss": statistics.median(m_base),
    }
    res["time_ratio"] = res["ours_s"] / res["base_s"]
    res["rss_ratio"] = res["ours_rss"] / res["base_rss"]
    print(
        f"{label:38s} ours {res['ours_s']:7.3f} s {res['ours_rss'] / 2**20:7.0f} MiB | "
        f"raw {res['base_s']:7.3f} s {res['base_rss'] / 2**20:7.0f} MiB | "
        f"time x{res['time_ratio']:.2f}  rss x{res['rss_ratio']:.2f}"
        + (f"  (target {target})" if target else ""),
        flush=True,
    )
    return res


def machine() -> str:
    import platform

    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load:.2f} at start"
    )
