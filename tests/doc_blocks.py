"""Check (or rewrite) every README/docs code block that shows ``$ paraminspect ...`` output.

A block is a fenced block whose lines starting with ``$ `` are commands; the lines after a
command, up to the next one, are what it printed (stdout and stderr, as a terminal shows
them). The commands of one block run in order in one fresh temporary folder, so a block can
save a file and diff it. A line ``...`` in the expected output stands for any lines; timing
lines (``speed:``, ``0:00:01``, ``in 1.2 s``) are left out of the comparison. A block right
after ``<!-- output not checked: WHY -->`` is skipped (it needs a file a clone lacks).

``python -m tests.doc_blocks --update FILE...`` rewrites the blocks from real runs (an
``...`` line is kept, and so is what it stood for: the output before it is re-run in full).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Tuple

WIDTH = 100  # the documented outputs are rendered at this terminal width
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```\n", re.M | re.S)
SKIP = "<!-- output not checked"
TIMING = re.compile(r"speed:|\d+:\d\d:\d\d|\b\d+(\.\d+)? ?(s|ms)\b(?! \()|steps_per_second")


def blocks(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, body) of every fenced block that runs ``$ paraminspect``."""
    out = []
    for m in FENCE.finditer(text):
        body = m.group(1)
        if not re.search(r"^\$ paraminspect ", body, re.M):
            continue
        before = text[: m.start()].rstrip().splitlines()[-1:] or [""]
        if before[0].startswith(SKIP):
            continue
        out.append((m.start(1), m.end(1), body))
    return out


def commands(body: str) -> List[Tuple[str, List[str]]]:
    """(command, expected lines) pairs of a block."""
    pairs: List[Tuple[str, List[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
    return pairs


def run(command: str, cwd: str) -> List[str]:
    """What ``command`` prints in a terminal of :data:`WIDTH` columns (no colours)."""
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, COLUMNS=str(WIDTH), NO_COLOR="1", PYTHONUNBUFFERED="1")
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    return proc.stdout.rstrip("\n").splitlines()


def _comparable(lines: List[str]) -> List[str]:
    return [line.rstrip() for line in lines if not TIMING.search(line)]


def matches(expected: List[str], actual: List[str]) -> bool:
    """``expected`` (with ``...`` wildcards) against ``actual``, timing lines left out."""
    exp, act = _comparable(expected), _comparable(actual)
    pattern = "".join(
        "(?:.*\n)*?" if line.strip() == "..." else re.escape(line) + "\n" for line in exp
    )
    return re.fullmatch(pattern, "".join(x + "\n" for x in act)) is not None


def check_file(path: Path) -> List[str]:
    """A message for every command whose documented output differs from a real run."""
    problems = []
    for _, _, body in blocks(path.read_text(encoding="utf-8")):
        with tempfile.TemporaryDirectory() as cwd:
            for command, expected in commands(body):
                actual = run(command, cwd)
                if not matches(expected, actual):
                    problems.append(
                        f"{path.name}: $ {command}\n--- documented\n"
                        + "\n".join(expected)
                        + "\n--- real run\n"
                        + "\n".join(actual)
                    )
    return problems


def update_file(path: Path) -> None:
    """Rewrite each checked block's outputs from real runs (keeping ``...`` elisions)."""
    text = path.read_text(encoding="utf-8")
    for start, end, body in reversed(blocks(text)):
        new = []
        with tempfile.TemporaryDirectory() as cwd:
            for command, expected in commands(body):
                actual = run(command, cwd)
                if any(line.strip() == "..." for line in expected) and not matches(
                    expected, actual
                ):
                    head = (
                        [x for x in expected[: expected.index("...")]] if "..." in expected else []
                    )
                    tail_n = len(expected) - expected.index("...") - 1 if "..." in expected else 0
                    shown = actual[: len(head)] + ["..."] + (actual[-tail_n:] if tail_n else [])
                    actual = shown
                elif any(line.strip() == "..." for line in expected):
                    actual = expected
                new += [f"$ {command}", *actual]
        text = text[:start] + "\n".join(new) + "\n" + text[end:]
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "--update":
        for name in sys.argv[2:]:
            update_file(Path(name))
    else:
        found = [p for name in sys.argv[1:] for p in check_file(Path(name))]
        print("\n\n".join(found) or "all documented outputs match")
        sys.exit(1 if found else 0)
