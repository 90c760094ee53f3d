"""Big MLP (8 x Dense(4096), input [64, 4096], 134M parameters): `paraminspect grad --stats`
(statistics of every weight and every gradient) against raw init + forward + backward.

Both sides: the default Uniform init, X ~ U(0, 1) of shape [64, 4096], loss = the sum of the
outputs (`grad`'s default `--loss sum`, no targets), one recorded forward pass and backward.
Targets (issue 6): at most 1.10x the raw wall time and 1.15x its peak RSS.
Skips with a message if the `grad` command does not exist.
"""

from __future__ import annotations

import argparse

from _harness import command_exists, compare, machine, raw, tool

SPEC = "benchmarks/specs/big_mlp.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    # The same statistics of every weight, after init + forward only.
    compare(
        "show --stats (big MLP, forward only)",
        tool("show", SPEC, "--stats"),
        raw("raw_grad.py", "forward"),
        args.repeats,
        target="<= 1.10x time, <= 1.15x rss",
    )
    if not command_exists("grad"):
        print("SKIP grad --stats: this checkout has no `paraminspect grad` command yet")
        return
    compare(
        "grad --stats (big MLP)",
        tool("grad", SPEC, "--stats"),
        raw("raw_grad.py"),
        args.repeats,
        target="<= 1.10x time, <= 1.15x rss",
    )


if __name__ == "__main__":
    main()
