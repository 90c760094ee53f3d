"""``train --log``: one JSON object per record, each line flushed and synced as written."""

from __future__ import annotations

import json
import os

from paraminspect.render.train import record_json
from paraminspect.reports.train import TrainRecord


class JsonlLog:
    """``--log FILE.jsonl``: one JSON object per line, flushed and fsync'd as it is written,
    so a run killed part-way leaves every finished line intact."""

    def __init__(self, path: str) -> None:
        from paraminspect.errors import OptionError

        self.path = path
        self.lines = 0
        try:
            self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise OptionError(f"cannot write {path}: {e.strerror}", "--log") from None

    def write(self, record: TrainRecord) -> None:
        # One write() per line: a kill between lines never leaves half a record behind.
        self.file.write(json.dumps(record_json(record), allow_nan=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.lines += 1

    def close(self, failed: bool = False) -> None:
        """Close; a run that failed before logging anything leaves no empty file behind."""
        self.file.close()
        if failed and self.lines == 0:
            os.unlink(self.path)
