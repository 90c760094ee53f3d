"""Shared test helpers: run the CLI in-process or in a fresh process, and golden files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from click.testing import CliRunner
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SHARED_DATA = ROOT.parent / "shared" / "data"


def needs_shared_data(*names: str) -> str:
    """The skip reason of a test that reads the real MobileFaceNet files: which files,
    where they are looked for, and where that folder comes from."""
    return (
        f"needs {', '.join(names)} in ../shared/data ({SHARED_DATA}): the real MobileFaceNet "
        "model, kept beside the clone, never in it (see docs/development.md, 'Test data')"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/* from the current output",
    )


@pytest.fixture
def cli():
    """Run ``paraminspect ARGS`` in-process; returns click's Result."""
    from paraminspect.cli import cli as root

    runner = CliRunner()

    def run(*args: str, input: str | None = None, columns: int | None = None):
        # without ``columns``: output that is not a terminal, as wide as COLUMNS says (else 80)
        env = {"COLUMNS": str(columns)} if columns else None
        return runner.invoke(root, list(args), input=input, catch_exceptions=False, env=env)

    return run


def run_fresh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the CLI in a new process: MXNet's default random stream starts from scratch there,
    which is what the book's printed numbers need."""
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "paraminspect", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def output_without_mxnet(*argvs: List[str]) -> str:
    """Run ``main(args)`` for each argument list in one new interpreter, each exiting 0, and
    assert that none of them imported MXNet (``--help`` and ``check`` must stay fast);
    returns what they printed."""
    code = (
        "import sys\n"
        "from paraminspect.cli import main\n"
        f"for args in {list(argvs)!r}:\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (args, e.code)\n"
        "print('mxnet' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *printed, imported = out.stdout.strip().splitlines()
    assert imported == "False"
    return "\n".join(printed)


# The statistics every stats object carries in the JSON, in their order.
STATS_KEYS = ["mean", "std", "min", "max", "abs_max", "l2", "zeros", "nan", "inf"]


def floats_after(text: str, label: str, count: int) -> List[float]:
    """The first ``count`` numbers printed after the line that starts with ``label``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    numbers: List[float] = []
    for line in lines[start + 1 :]:
        for tok in line.replace("[", " ").replace("]", " ").split():
            if tok == "...":
                continue
            numbers.append(float(tok))
            if len(numbers) == count:
                return numbers
    return numbers


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden(name, text)`` compares with tests/golden/NAME (``--update-golden`` rewrites)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden file {path} missing; run pytest --update-golden")
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8")

    return check


def render_to_text(print_fn, *args) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None, highlight=False)
    print_fn(console, *args)
    return console.file.getvalue()  # type: ignore[attr-defined]


def run_in_pty(args: List[str], cols: int, colour: bool = False) -> tuple[int, str]:
    """(exit code, all it wrote) of ``python -m paraminspect ARGS`` in a pseudo-terminal of
    ``cols`` columns that is its stdin, stdout and stderr, as a user's terminal is (TERM
    xterm, 40 lines; NO_COLOR unless ``colour``). A child silent for 2 minutes is killed."""
    import pty
    import select
    import signal

    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.environ.update(COLUMNS=str(cols), LINES="40", TERM="xterm")
        if colour:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = "1"
        os.execv(sys.executable, [sys.executable, "-m", "paraminspect", *args])
    out = b""
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 120)
            if not ready:
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", errors="replace")
