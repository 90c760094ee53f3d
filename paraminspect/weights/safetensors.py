"""``.safetensors`` files, read directly: an 8-byte header length, a JSON header, the data.

No torch and no safetensors package: the header gives each tensor's dtype, shape and byte
range, which are checked against each other and against the file's size before any value
is read; bfloat16 is widened to float32 by shifting its bits.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Dict, Iterator, List

import numpy as np

from paraminspect._text import quote
from paraminspect.errors import CheckpointError
from paraminspect.weights.base import CHUNK, Entry, StreamedFileReader, check_range

# safetensors dtype -> (numpy dtype as stored, name shown)
DTYPES: Dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}

MAX_HEADER = 100 << 20  # the format's own limit on the JSON header


def looks_like_safetensors(head: bytes) -> bool:
    """The first bytes are a plausible header length followed by a JSON object."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= MAX_HEADER and head[8:9] == b"{"


class SafetensorsReader(StreamedFileReader):
    """A ``.safetensors`` file (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self._open(path, "safetensors")

    def _corrupt(self, what: str) -> CheckpointError:
        return CheckpointError(f"{quote(self.path)} is not a valid safetensors file: {what}")

    def _index(self) -> List[Entry]:
        head = self.f.read(8)
        if len(head) < 8:
            raise self._corrupt(f"it has {len(head)} bytes, fewer than the 8-byte header length")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or n > self.file_size - 8:
            raise self._corrupt(
                f"its header declares {n:,} bytes but the file has {self.file_size:,} "
                "(truncated, or not a safetensors file)"
            )
        try:
            header = json.loads(self.f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise self._corrupt(f"its header is not JSON ({e})") from e
        if not isinstance(header, dict):
            raise self._corrupt("its header is not a JSON object")
        start, data_size = 8 + n, self.file_size - 8 - n
        entries = []
        for key, info in header.items():
            if key == "__metadata__":
                continue
            entries.append(self._entry(key, info, start, data_size))
        entries.sort(key=lambda e: e.offset or 0)  # file order, as the writer laid them out
        return entries

    def _entry(self, key: str, info: Any, start: int, data_size: int) -> Entry:
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            shape = tuple(int(d) for d in shape)
            begin, end = int(begin), int(end)
        except (KeyError, TypeError, ValueError) as e:
            raise self._corrupt(f"tensor '{key}' has a malformed entry ({info!r:.80})") from e
        if dtype not in DTYPES:
            raise CheckpointError(
                f"{quote(self.path)}: tensor '{key}' has dtype {dtype}, which this tool does not "
                f"read (it reads {', '.join(DTYPES)})"
            )
        if any(d < 0 for d in shape):
            raise self._corrupt(f"tensor '{key}' has shape {shape}")
        itemsize = np.dtype(DTYPES[dtype]).itemsize
        count = 1
        for d in shape:
            count *= d
        if end < begin or end - begin != count * itemsize:
            raise self._corrupt(
                f"tensor '{key}' ({dtype}, shape {shape}) needs {count * itemsize:,} bytes but "
                f"its data_offsets [{begin:,}, {end:,}] give {end - begin:,}"
            )
        check_range(self.path, f"tensor '{key}'", start + begin, end - begin, self.file_size)
        if end > data_size:  # pragma: no cover - check_range already refused it
            raise self._corrupt(f"tensor '{key}' ends past the data")
        name = "bfloat16" if dtype == "BF16" else np.dtype(DTYPES[dtype]).name
        return Entry(key, shape, name, end - begin, start + begin, "stream")

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        return self.reads.entry_chunks(entry, elements)
