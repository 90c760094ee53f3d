"""Big checkpoints (issue 24): inspect --stats and diff of a 1.6 GB Module checkpoint against
one chunked numpy.sum pass over the same bytes and against raw mx.nd.load + numpy, each a
fresh process, alternating; then (--huge) a 20 GB sparse checkpoint, inspected and diffed.

The files are written here without MXNet, in the mx.nd.save layout (V2 arrays, arg: keys):
24 float32 weights of 4096x4096 and their 4096 biases; the copy differs in one weight.
Targets: inspect --stats <= 4x the pass, diff <= 8x, each < 300 MB peak RSS.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import compare, machine, raw, run_once, tool

V2_MAGIC = 0xF993FAC9


def _header(shape: Tuple[int, ...]) -> bytes:
    out = struct.pack("<Ii", V2_MAGIC, 0) + struct.pack("<i", len(shape))
    out += struct.pack(f"<{len(shape)}q", *shape)
    return out + struct.pack("<iii", 1, 0, 0)  # cpu(0), float32


def layout(layers: int, width: int) -> List[Tuple[str, Tuple[int, ...]]]:
    out: List[Tuple[str, Tuple[int, ...]]] = []
    for i in range(layers):
        out += [(f"arg:fc{i}_weight", (width, width)), (f"arg:fc{i}_bias", (width,))]
    return out


def write_params(
    path: Path,
    arrays: List[Tuple[str, Tuple[int, ...]]],
    seed: int,
    changed: Optional[str],
    sparse: bool = False,
) -> None:
    """mx.nd.save layout, written array by array (bounded memory). ``sparse``: only the first
    values of each array are written, the rest left as holes (zeros on read)."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQ", 0x112, 0, len(arrays)))
        for key, shape in arrays:
            f.write(_header(shape))
            n = int(np.prod(shape))
            if sparse:
                head = rng.standard_normal(min(n, 16)).astype(np.float32)
                f.write(head.tobytes())
                f.seek(4 * (n - head.size), os.SEEK_CUR)
                continue
            for start in range(0, n, 1 << 22):
                part = (rng.standard_normal(min(1 << 22, n - start)) * 0.02).astype(np.float32)
                if key == changed:
                    part *= 1.01
                f.write(part.tobytes())
        f.write(struct.pack("<Q", len(arrays)))
        for key, _ in arrays:
            f.write(struct.pack("<Q", len(key)) + key.encode())
        f.truncate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the files (default: temp)")
    parser.add_argument("--huge", action="store_true", help="also a 20 GB sparse checkpoint")
    parser.add_argument("--skip-big", action="store_true", help="only the 20 GB part")
    args = parser.parse_args()
    print(machine(), flush=True)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench_ckpt_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_big:
            big_file(folder, args.repeats)
        if args.huge:
            huge_file(folder)
    finally:
        if args.dir is None:
            for p in folder.glob("*.params"):
                p.unlink()
            folder.rmdir()


def big_file(folder: Path, repeats: int) -> None:
    arrays = layout(24, 4096)
    a, b = folder / "big-0000.params", folder / "big2-0000.params"
    if not a.exists():
        write_params(a, arrays, 0, None)
    if not b.exists():
        write_params(b, arrays, 0, "arg:fc7_weight")
    print(f"{a.name}: {a.stat().st_size / 2**30:.2f} GiB, {len(arrays)} arrays", flush=True)
    sum_pass = raw("raw_sum_pass.py", str(a))
    nd_load = raw("raw_ndload_stats.py", str(a))
    inspect = tool("inspect", str(a), "--stats", "--format", "json")
    diff = tool("diff", str(a), str(b), "--format", "json")
    compare("numpy.sum pass vs mx.nd.load + numpy", sum_pass, nd_load, repeats)
    compare("inspect --stats vs numpy.sum pass", inspect, sum_pass, repeats, target="<= 4x")
    compare("inspect --stats vs mx.nd.load + numpy", inspect, nd_load, repeats)
    compare("diff vs numpy.sum pass (one file)", diff, sum_pass, repeats, target="<= 8x")
    both = raw("raw_sum_pass.py", str(a), str(b))
    compare("diff vs numpy.sum pass (both files)", diff, both, repeats)


def huge_file(folder: Path) -> None:
    arrays = layout(320, 4096)
    h1, h2 = folder / "huge-0000.params", folder / "huge2-0000.params"
    write_params(h1, arrays, 1, None, sparse=True)
    write_params(h2, arrays, 2, None, sparse=True)
    size = h1.stat().st_size / 2**30
    print(f"{h1.name}: {size:.1f} GiB (sparse), {len(arrays)} arrays", flush=True)
    try:
        for label, cmd in (
            ("inspect --index (20 GB)", tool("inspect", str(h1), "--index", "--format", "json")),
            ("inspect --stats (20 GB)", tool("inspect", str(h1), "--stats", "--format", "json")),
            ("diff (2 x 20 GB)", tool("diff", str(h1), str(h2), "--format", "json")),
        ):
            wall, rss = run_once(cmd)
            print(f"{label:38s} {wall:8.2f} s {rss / 2**20:7.0f} MiB peak RSS (target < 300 MB)")
    finally:
        h1.unlink()
        h2.unlink()


if __name__ == "__main__":
    main()
