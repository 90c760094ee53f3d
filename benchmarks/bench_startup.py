"""Start-up: `paraminspect --help` and `check` against `python -c 'import mxnet'`.

Target (issue 6): both at most 0.15x the time of `import mxnet` (they never import it).
"""

from __future__ import annotations

import argparse

from _harness import PY, compare, machine, tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(machine())
    baseline = [PY, "-c", "import mxnet"]
    compare("paraminspect --help", tool("--help"), baseline, args.repeats, target="<= 0.15x")
    compare(
        "paraminspect check configs/mlp.yaml",
        tool("check", "configs/mlp.yaml"),
        baseline,
        args.repeats,
        target="<= 0.15x",
    )
    compare(
        "show huge.yaml (10e9 params, plan only)",
        tool("show", "benchmarks/specs/huge.yaml"),
        baseline,
        args.repeats,
        target="~1x time, < 400 MiB",
    )


if __name__ == "__main__":
    main()
