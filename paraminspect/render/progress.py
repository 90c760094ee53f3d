"""``train``'s live output: a progress bar on stderr and tables as records arrive."""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.text import Text

from paraminspect.choices import PROGRESS_DELAY
from paraminspect.render.jsonl import JsonlLog
from paraminspect.render.train import record_table, shared_step_table
from paraminspect.reports.train import TrainRecord


class TrainPrinter:
    """Progress bar on stderr; tables (``--format table``) on stdout as records arrive;
    warnings on stderr; records to the ``--log`` file."""

    def __init__(self, out: Console, err: Console, fmt: str, log: Optional[JsonlLog]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.out, self.err, self.fmt, self.log = out, err, fmt, log
        self.shared_focus = False
        self.progress = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.task: Optional[Any] = None

    def __enter__(self) -> TrainPrinter:
        # The bar starts at the first step, so a run refused before training (a bad --data
        # file) leaves nothing, not even an empty line, before its error.
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self.progress.live.is_started:  # stopping a bar never shown prints a blank line
            self.progress.stop()
        if self.log is not None:
            self.log.close(failed=exc_type is not None)

    def on_step(self, step: int, total: int, loss: float) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("train", total=total, loss="-")
        self.progress.update(self.task, completed=step, loss=f"{loss:.4g}")

    def on_event(self, event: Any) -> None:
        """Named trouble (diagnose.trouble.Event), on stderr at the step it starts."""
        self.progress.console.print(Text(f"warning: {event}", style="bold yellow"))

    def on_record(self, record: TrainRecord) -> None:
        if self.log is not None and self.log.error is None and not self.log.write(record):
            self.progress.console.print(Text(f"warning: --log: {self.log.error}", style="yellow"))
        for w in record.warnings:
            self.progress.console.print(Text(f"warning: {w}", style="yellow"))
        if self.fmt == "table":
            # stdout and stderr share the terminal: take the bar off its line first, or the
            # table's first line would be glued to it; it comes back on a fresh line below
            live = self.progress.live.is_started
            if live:
                self.progress.stop()
            self.out.print(record_table(record, self.shared_focus))
            if record.shared:
                self.out.print(shared_step_table(record))
            self.out.file.flush()
            if live:
                self.progress.start()


class ByteProgress:
    """``inspect``/``diff`` reading files: a bar of bytes read out of the total on stderr,
    shown only once the work has lasted ``delay`` seconds (quick runs print nothing)."""

    def __init__(self, err: Console, label: str, delay: float = PROGRESS_DELAY) -> None:
        import time

        self.err, self.label, self.delay = err, label, delay
        self.clock = time.monotonic
        self.started = self.clock()
        self.total = 0
        self.done = 0
        self.progress: Any = None
        self.task: Any = None

    def start(self, total: int) -> None:
        """Add ``total`` bytes to the work (each file read calls it once)."""
        self.total += int(total)
        if self.progress is not None:
            self.progress.update(self.task, total=self.total)

    def advance(self, n: int) -> None:
        self.done += int(n)
        if self.progress is None:
            if self.clock() - self.started < self.delay:
                return
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn(self.label),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=self.err,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=max(self.total, self.done))
        self.progress.update(self.task, completed=self.done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
