"""``train --log``: one JSON object per record, each line flushed and synced as written."""

from __future__ import annotations

import json
from typing import Optional

from paraminspect.fileio import Inputs, LineLog
from paraminspect.render.train import record_json
from paraminspect.reports.train import TrainRecord


class JsonlLog:
    """``--log FILE.jsonl``: one JSON object per line, synced as it is written, so a run
    killed part-way leaves every finished line intact (see :class:`~paraminspect.fileio.LineLog`:
    the file replaces FILE at the first record; a write error stops logging)."""

    def __init__(self, path: str, inputs: Inputs = ()) -> None:
        self._file = LineLog(path, "--log", inputs)
        self.path = path

    @property
    def lines(self) -> int:
        return self._file.lines

    @property
    def error(self) -> Optional[str]:
        """Why logging stopped (a write error), or None."""
        return self._file.error

    def write(self, record: TrainRecord) -> bool:
        """Append one record; False when logging has stopped (see :attr:`error`)."""
        return self._file.write_line(json.dumps(record_json(record), allow_nan=False))

    def close(self, failed: bool = False) -> None:
        """Close; a run that ended before its first record leaves FILE as it was."""
        self._file.close()
