"""Models nobody here wrote (issue 14), against raw scripts in the same run.

- ``grad --stats`` on MobileFaceNet (``../shared/data``), ``--input data=8x3x112x112``,
  against raw ``SymbolBlock.imports`` + forward + backward with no statistics.
  Targets: at most 1.10x the wall time and 1.15x the peak RSS.
- ``summary zoo:resnet152_v1 --shapes-only`` against ``python -c 'import mxnet'``.
  Targets: at most 1.5x the time, under 400 MB peak RSS.

Skips the MobileFaceNet case with a message when the files are absent.
"""

from __future__ import annotations

import argparse

from _harness import ROOT, compare, machine, raw, tool

DATA = ROOT.parent / "shared" / "data"
SYMBOL = DATA / "mobilefacenet-symbol.json"
PARAMS = DATA / "mobilefacenet-0000.params"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    if SYMBOL.is_file() and PARAMS.is_file():
        compare(
            "grad --stats (MobileFaceNet, batch 8)",
            tool("grad", str(SYMBOL), "--input", "data=8x3x112x112", "--stats"),
            raw("raw_symbol_grad.py", str(SYMBOL), str(PARAMS), "8"),
            args.repeats,
            target="<= 1.10x time, <= 1.15x rss",
        )
    else:
        print(f"SKIP MobileFaceNet: {SYMBOL} or {PARAMS} not found")
    res = compare(
        "summary zoo:resnet152_v1 --shapes-only",
        tool("summary", "zoo:resnet152_v1", "--shapes-only"),
        raw("raw_import.py"),
        args.repeats,
        target="<= 1.5x time, < 400 MB rss",
    )
    print(f"  peak RSS {res['ours_rss'] / 1e6:.0f} MB (target < 400 MB)")


if __name__ == "__main__":
    main()
