"""Training: `paraminspect train` against a hand-written hybridized gluon.Trainer loop on
the same net, data size, batch size, epochs and optimizer (benchmarks/raw/raw_train.py).

Target (issue 6): at least 0.9x the steps per second of the raw loop with the per-epoch
table on. Both sides run the same number of steps, so the steps-per-second ratio is the
inverse of the wall-time ratio. Skips with a message while `train` does not exist or does
not take the flags used here.
"""

from __future__ import annotations

import argparse
import subprocess

from _harness import ROOT, command_exists, compare, env, machine, raw, tool

SPEC = "benchmarks/specs/train_mlp.yaml"
FLAGS = ("--samples", "--batch-size", "--epochs", "--lr", "--loss", "--optimizer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()
    print(machine())
    if not command_exists("train"):
        print("SKIP train: this checkout has no `paraminspect train` command yet")
        return
    help_text = subprocess.run(
        tool("train", "--help"), env=env(), cwd=ROOT, capture_output=True, text=True
    ).stdout
    missing = [f for f in FLAGS if f not in help_text]
    if missing:
        print(f"SKIP train: `paraminspect train` has no {', '.join(missing)}; adapt FLAGS")
        return
    sizes = [str(args.samples), str(args.batch_size), str(args.epochs), str(args.lr)]
    res = compare(
        f"train {args.epochs} epochs x {args.samples // args.batch_size} steps",
        tool(
            "train",
            SPEC,
            "--samples",
            sizes[0],
            "--batch-size",
            sizes[1],
            "--epochs",
            sizes[2],
            "--lr",
            sizes[3],
            "--loss",
            "l2",
            "--optimizer",
            "sgd",
            "--seed",
            "0",
        ),
        raw("raw_train.py", *sizes),
        args.repeats,
        target=">= 0.9x steps/s",
    )
    print(f"steps/s ratio (ours / raw): {1 / res['time_ratio']:.2f}")


if __name__ == "__main__":
    main()
