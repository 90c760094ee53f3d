"""The bar of bytes read (issue 24 item 4) in a real terminal: ``inspect`` and ``diff`` run
under a pseudo-terminal of 80 columns. The bar is drawn on stderr when stderr is a terminal,
no line of it is wider than the terminal, it is gone when the command ends, and the output is
the same as in a pipe; in a pipe, or with ``--format json``, it is never drawn.

``PARAMINSPECT_PROGRESS_DELAY=0`` makes the bar show at the first chunk instead of after a
second of reading, so that the tests depend on no timing and stay fast on small files.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import threading
from typing import Dict, List, Tuple

import mxnet as mx
import numpy as np
import pytest

from tests.test_progress_pty import screen

pytest.importorskip("pty")  # POSIX only, as os.openpty
COLS = 80
BAR = "━"  # rich's bar
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# rich's DownloadColumn at the end: every byte of the total read ("8.4/8.4 MB")
DONE = re.compile(r"(\d[\d.,]*)/\1 (?:bytes|kB|MB|GB)")


def _env(delay: str = "0") -> Dict[str, str]:
    env = dict(os.environ, COLUMNS=str(COLS), LINES="40", TERM="xterm")
    env.pop("NO_COLOR", None)
    env["PARAMINSPECT_PROGRESS_DELAY"] = delay
    return env


def _pump(stream, into: List[bytes]) -> None:
    into.append(stream.read())


def run(args: List[str], out_tty: bool, err_tty: bool, delay: str = "0") -> Tuple[str, str, str]:
    """Run ``paraminspect ARGS`` with stdout and/or stderr on a pseudo-terminal of 80
    columns and the other on a pipe; returns (what the terminal got, stdout pipe, stderr
    pipe), the terminal's bytes as written (cursor moves and all)."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLS, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "paraminspect", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if out_tty else subprocess.PIPE,
        stderr=slave if err_tty else subprocess.PIPE,
        env=_env(delay),
    )
    os.close(slave)
    piped: Dict[str, List[bytes]] = {"out": [], "err": []}
    pumps = [
        threading.Thread(target=_pump, args=(stream, piped[name]))
        for name, stream in (("out", proc.stdout), ("err", proc.stderr))
        if stream is not None
    ]
    for t in pumps:
        t.start()
    tty = b""
    while True:
        ready, _, _ = select.select([master], [], [], 300)
        if not ready:  # a hung child fails the test instead of hanging the suite
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child exited and closed the terminal
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    code = proc.wait(timeout=300)
    for t in pumps:
        t.join(timeout=60)
    text = tty.decode("utf-8", errors="replace")
    out = b"".join(piped["out"]).decode()
    err = b"".join(piped["err"]).decode()
    assert code == 0, (text[-2000:], out[-2000:], err[-2000:])
    return text, out, err


def raw_lines(tty: str) -> List[str]:
    """Every stretch the terminal was sent between line feeds and carriage returns, with
    the escape sequences removed: each is what one line of the screen showed at a time."""
    return [part for part in re.split(r"[\r\n]", CSI.sub("", tty))]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two .params files of 6 MB (several chunks per array) that differ in one array."""
    folder = tmp_path_factory.mktemp("bar")
    rng = np.random.default_rng(3)
    a = {f"layer{i}_weight": rng.standard_normal((512, 1024)).astype(np.float32) for i in range(3)}
    b = dict(a, layer1_weight=a["layer1_weight"] + 0.5)
    mx.nd.save(str(folder / "a.params"), {k: mx.nd.array(v) for k, v in a.items()})
    mx.nd.save(str(folder / "b.params"), {k: mx.nd.array(v) for k, v in b.items()})
    return folder, a, b


CASES = {
    "inspect": lambda d: ["inspect", str(d / "a.params"), "--stats"],
    "diff": lambda d: ["diff", str(d / "a.params"), str(d / "b.params")],
}


@pytest.mark.parametrize("command", list(CASES))
def test_the_bar_shows_on_a_terminal_and_leaves_the_output_as_in_a_pipe(files, command):
    folder, _, _ = files
    args = CASES[command](folder)
    label = "reading" if command == "inspect" else "comparing"
    # stdout in a pipe, stderr on the terminal: the bar goes to stderr, the data is untouched
    tty, piped, _ = run(args, out_tty=False, err_tty=True)
    assert any(BAR in line for line in raw_lines(tty))
    assert BAR not in piped and label not in piped and "\x1b" not in piped
    # both streams on the terminal
    tty, _, _ = run(args, out_tty=True, err_tty=True)
    drawn = [line for line in raw_lines(tty) if BAR in line]
    assert drawn and all(line.startswith(label) for line in drawn), drawn
    assert DONE.search(drawn[-1]), drawn[-1]  # the last frame: all of the total read
    assert all(len(line) <= COLS for line in raw_lines(tty)), max(raw_lines(tty), key=len)
    shown = screen(tty, COLS)
    assert not [line for line in shown if BAR in line or line.startswith(label)]  # gone
    while shown and not shown[-1]:
        shown.pop()
    assert shown == [line.rstrip() for line in piped.splitlines()]


@pytest.mark.parametrize("command", list(CASES))
def test_no_bar_with_stderr_in_a_pipe_or_with_json(files, command):
    folder, a, b = files
    args = CASES[command](folder)
    tty, _, err = run(args, out_tty=True, err_tty=False)  # the terminal has stdout only
    assert BAR not in tty and BAR not in err and "\x1b" not in err
    if command == "inspect":  # the variable reaches the bar: inf never draws it
        tty, _, _ = run(args, out_tty=True, err_tty=True, delay="inf")
        assert BAR not in tty
    tty, _, _ = run([*args, "--format", "json"], out_tty=True, err_tty=True)
    assert BAR not in tty
    data = json.loads(tty)  # nothing but the JSON reached the terminal
    if command == "inspect":
        w = a["layer0_weight"].astype(np.float64)
        row = next(r for r in data["arrays"] if r["key"] == "layer0_weight")
        assert row["stats"]["mean"] == pytest.approx(w.mean(), rel=1e-6, abs=1e-9)
        assert row["stats"]["l2"] == pytest.approx(np.sqrt((w * w).sum()), rel=1e-6)
    else:
        x = a["layer1_weight"].astype(np.float64).ravel()
        y = b["layer1_weight"].astype(np.float64).ravel()
        row = next(r for r in data["keys"] if r["key"] == "layer1_weight")
        assert row["max_abs"] == pytest.approx(np.abs(x - y).max(), rel=1e-6)
        assert row["rel_l2"] == pytest.approx(np.linalg.norm(x - y) / np.linalg.norm(x), rel=1e-6)
        assert data["counts"]["changed"] == 1 and data["counts"]["equal"] == 2


def test_a_bad_delay_is_a_usage_error(cli, monkeypatch, tmp_path):
    path = tmp_path / "w.npz"
    np.savez(str(path), w=np.ones(4, np.float32))
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("PARAMINSPECT_PROGRESS_DELAY", bad)
        r = cli("inspect", str(path))
        assert r.exit_code == 2, r.output
        assert (
            "PARAMINSPECT_PROGRESS_DELAY must be a number of seconds, 0 or more (0 shows the "
            f"progress bar at once), not '{bad}': fix or unset it"
        ) in " ".join(r.output.split())
    for good in ("0", "2.5", "inf", " "):
        monkeypatch.setenv("PARAMINSPECT_PROGRESS_DELAY", good)
        assert cli("inspect", str(path)).exit_code == 0


def test_unset_the_delay_is_a_second(monkeypatch):
    from paraminspect.cli.base import progress_delay

    monkeypatch.delenv("PARAMINSPECT_PROGRESS_DELAY", raising=False)
    assert progress_delay() == 1.0
    monkeypatch.setenv("PARAMINSPECT_PROGRESS_DELAY", "0.25")
    assert progress_delay() == 0.25
