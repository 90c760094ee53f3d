"""Issue 21 item 6: a closed stdout ends the run quietly; a stdout that cannot encode a
character gets a replacement (real processes: the streams are the point)."""

from __future__ import annotations

import os
import subprocess
import sys


def _env(**extra: str) -> dict:
    return dict(os.environ, COLUMNS="120", NO_COLOR="1", **extra)


def test_a_closed_stdout_ends_quietly_with_sigpipe_status(tmp_path):
    for args in (["models"], ["show", "--format", "json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first line is written
        proc = subprocess.run(
            [sys.executable, "-m", "paraminspect", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=_env(),
            timeout=300,
        )
        os.close(write_end)
        assert proc.returncode in (0, 141), (args, proc.returncode)
        assert proc.stderr == b"", (args, proc.stderr)


def test_head_on_a_long_listing_ends_quietly(tmp_path):
    proc = subprocess.run(
        f"'{sys.executable}' -m paraminspect models | head -1; echo ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    first, status = proc.stdout.splitlines()
    assert first.startswith("zoo:") and status in ("0", "141")
    assert proc.stderr == ""


def test_an_ascii_stdout_gets_a_replacement_for_the_delta(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "paraminspect", "train", "--epochs", "1", "--samples", "32"],
        capture_output=True,
        env=_env(PYTHONIOENCODING="ascii"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"||?w||/||w||" in proc.stdout  # the table's ||Δw||/||w|| header
    assert b"internal error" not in proc.stderr
