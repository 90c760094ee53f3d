"""The bar of bytes read (issue 24 item 4): drawn only after its delay, on stderr, and never
when the output is not a terminal or is JSON."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from paraminspect.render.progress import ByteProgress


def test_the_bar_waits_for_its_delay_then_counts_bytes_of_the_total():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, color_system=None)
    now = [0.0]
    bar = ByteProgress(console, "reading", delay=1.0)
    bar.clock = lambda: now[0]
    bar.started = 0.0
    bar.start(2_000_000)
    bar.advance(500_000)
    assert bar.progress is None  # under a second: nothing drawn
    now[0] = 1.5
    bar.advance(500_000)
    assert bar.progress is not None
    task = bar.progress.tasks[0]
    assert (task.completed, task.total) == (1_000_000, 2_000_000)
    bar.close()
    assert "reading" in out.getvalue()


def test_no_bar_in_a_pipe_or_with_json(cli, tmp_path, monkeypatch):
    import paraminspect.render.progress as progress

    made = []
    real = progress.ByteProgress.__init__

    def spy(self, *args, **kwargs):
        made.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(progress.ByteProgress, "__init__", spy)
    path = tmp_path / "w.npz"
    np.savez(str(path), w=np.ones(10, np.float32))
    for args in ((), ("--format", "json")):
        assert cli("inspect", str(path), *args).exit_code == 0
        assert cli("diff", str(path), str(path), *args).exit_code == 0
    assert made == []  # CliRunner's streams are not terminals
