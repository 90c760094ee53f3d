"""Check (or rewrite) every README/docs code block that shows ``$ paraminspect ...`` output.

A block is a fenced block (at any indent) whose lines starting with ``$ `` are commands; the
lines after a command, up to the next one, are what it printed (stdout and stderr, as a
terminal shows them). The commands of one block run in order in one fresh temporary folder,
``WORK`` in ``TMP/WORK``, beside a link ``TMP/shared`` to the ``shared`` folder beside the
clone, so ``../shared/data/...`` means what it means from the clone's root. A line ``...``
in the expected output stands for any lines; timing lines (``speed:``, ``0:00:01``,
``in 1.2 s``) are left out of the comparison.

HTML comments right above a block (one a line, invisible on a rendered page) say what it
needs; nothing is ever left unchecked because it is awkward:

- ``<!-- needs: PATH|MODULE ... -->``: files (relative to the clone's root, so
  ``../shared/data/NAME``) and Python modules (an extra: ``onnxruntime``, ``matplotlib``)
  the block runs on. Where one is missing the block is skipped with that reason; where all
  are there it is checked.
- ``<!-- setup: COMMAND -->``: a shell command run first in the block's folder (its output
  not shown), with the clone on ``PYTHONPATH`` (``python -m tests.model.kinds ...``).
- ``<!-- varies: REGEX -->``: text that differs between machines or runs (the free memory);
  it is masked in both the documented and the real output, and the doc says what varies.

``python -m tests.doc_blocks --update FILE...`` rewrites the blocks from real runs (an
``...`` line is kept, and so is what it stood for: the output before it is re-run in full).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

WIDTH = 100  # the documented outputs are rendered at this terminal width
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FENCE = re.compile(r"^( *)```[a-z]*\n(.*?)^\1```\n", re.M | re.S)
MARK = re.compile(r"^ *<!-- (needs|setup|varies): (.*?) -->$")
TIMING = re.compile(r"speed:|\d+:\d\d:\d\d|\b\d+(\.\d+)? ?(s|ms)\b(?! \()|steps_per_second")
# what each Python module a block may need comes with
EXTRAS = {"onnx": "onnx", "onnxruntime": "onnx", "matplotlib": "plot"}


@dataclass
class Block:
    """One checked block: where it is, its commands, and what its comments say."""

    path: Path
    line: int  # of the opening fence, 1-based
    start: int  # offsets of the body in the file's text
    end: int
    indent: str
    body: str  # without the indent
    needs: List[str] = field(default_factory=list)
    setup: List[str] = field(default_factory=list)
    varies: List[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def missing(self) -> Optional[str]:
        """Why this block cannot run here (a file or an extra it needs), or None."""
        for need in self.needs:
            if "/" in need:
                if not (ROOT / need).is_file():
                    return f"needs {need} (see docs/development.md, 'Test data')"
            elif importlib.util.find_spec(need) is None:
                extra = EXTRAS.get(need)
                how = f"pip install '.[{extra}]'" if extra else f"pip install {need}"
                return f"needs the Python module {need} ({how})"
        return None


def find_blocks(path: Path) -> List[Block]:
    """Every fenced block of ``path`` that runs ``$ paraminspect``, with its comments."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        indent = m.group(1)
        body = "".join(
            line[len(indent) :] if line.startswith(indent) else line
            for line in m.group(2).splitlines(keepends=True)
        )
        if not re.search(r"^\$ paraminspect ", body, re.M):
            continue
        block = Block(path, text.count("\n", 0, m.start()) + 1, m.start(2), m.end(2), indent, body)
        for line in reversed(text[: m.start()].rstrip("\n").splitlines()):
            mark = MARK.match(line)
            if not mark:
                break
            kind, value = mark.groups()
            if kind == "needs":
                block.needs[:0] = value.split()
            else:
                getattr(block, kind).insert(0, value)
        out.append(block)
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


def _env(setup: bool = False) -> dict:
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, COLUMNS=str(WIDTH), NO_COLOR="1", PYTHONUNBUFFERED="1")
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("FORCE_COLOR", None)
    if setup:
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run(command: str, cwd: str) -> List[str]:
    """What ``command`` prints in a terminal of :data:`WIDTH` columns (no colours)."""
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    return proc.stdout.rstrip("\n").splitlines()


class Folder:
    """The block's folder: ``TMP/work`` beside a link ``TMP/shared`` (see the module doc)."""

    def __init__(self, block: Block) -> None:
        self.block = block
        self._tmp = tempfile.TemporaryDirectory()
        self.cwd = os.path.join(self._tmp.name, "work")

    def __enter__(self) -> str:
        os.mkdir(self.cwd)
        if SHARED.is_dir():
            os.symlink(SHARED, os.path.join(self._tmp.name, "shared"))
        for command in self.block.setup:
            proc = subprocess.run(
                ["bash", "-c", command],
                cwd=self.cwd,
                env=_env(setup=True),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=600,
            )
            if proc.returncode:
                raise RuntimeError(f"{self.block.name}: setup `{command}` failed:\n{proc.stdout}")
        return self.cwd

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def _comparable(lines: List[str], varies: List[str]) -> List[str]:
    out = []
    for line in lines:
        if TIMING.search(line):
            continue
        for pattern in varies:
            line = re.sub(pattern, "<varies>", line)
        out.append(line.rstrip())
    return out


def matches(expected: List[str], actual: List[str], varies: Optional[List[str]] = None) -> bool:
    """``expected`` (with ``...`` wildcards) against ``actual``, timing lines left out and
    the ``varies`` patterns masked."""
    exp, act = _comparable(expected, varies or []), _comparable(actual, varies or [])
    pattern = "".join(
        "(?:.*\n)*?" if line.strip() == "..." else re.escape(line) + "\n" for line in exp
    )
    return re.fullmatch(pattern, "".join(x + "\n" for x in act)) is not None


def check_block(block: Block) -> List[str]:
    """A message for every command whose documented output differs from a real run."""
    problems = []
    with Folder(block) as cwd:
        for command, expected in commands(block.body):
            actual = run(command, cwd)
            if not matches(expected, actual, block.varies):
                problems.append(
                    f"{block.name}: $ {command}\n--- documented\n"
                    + "\n".join(expected)
                    + "\n--- real run\n"
                    + "\n".join(actual)
                )
    return problems


def check_file(path: Path) -> List[str]:
    """:func:`check_block` of every block of ``path`` that can run here."""
    return [p for b in find_blocks(path) if b.missing() is None for p in check_block(b)]


def _rerun(block: Block) -> str:
    new = []
    with Folder(block) as cwd:
        for command, expected in commands(block.body):
            actual = run(command, cwd)
            if "..." in (line.strip() for line in expected):
                if matches(expected, actual, block.varies):
                    actual = expected
                else:
                    at = [line.strip() for line in expected].index("...")
                    tail_n = len(expected) - at - 1
                    actual = actual[:at] + ["..."] + (actual[-tail_n:] if tail_n else [])
            elif matches(expected, actual, block.varies):
                actual = expected  # keep what only differs where it varies
            new += [f"$ {command}", *actual]
    return "".join(f"{block.indent}{line}\n" if line else "\n" for line in new)


def update_file(path: Path) -> None:
    """Rewrite each block that can run here from real runs (keeping ``...`` elisions)."""
    text = path.read_text(encoding="utf-8")
    for block in reversed(find_blocks(path)):
        if block.missing() is None:
            text = text[: block.start] + _rerun(block) + text[block.end :]
    path.write_text(text, encoding="utf-8")


def doc_files() -> Iterator[Path]:
    """README.md, README.zh-CN.md and every docs/*.md."""
    yield ROOT / "README.md"
    yield ROOT / "README.zh-CN.md"
    yield from sorted((ROOT / "docs").glob("*.md"))


if __name__ == "__main__":
    if sys.argv[1] == "--update":
        for name in sys.argv[2:]:
            update_file(Path(name).resolve())
    else:
        found = [p for name in sys.argv[1:] for p in check_file(Path(name).resolve())]
        print("\n\n".join(found) or "all documented outputs match")
        sys.exit(1 if found else 0)
