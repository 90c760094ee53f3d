"""numpy ``.npz`` archives: stored (uncompressed) members streamed from the file, compressed
ones (``savez_compressed``) read whole, with a note.

The index reads the zip directory and each member's ``.npy`` header; a header whose shape
and dtype do not fill the member exactly, or a member past the file's end, is refused
before any value is read. Pickled (object) arrays are never loaded.
"""

from __future__ import annotations

import struct
import zipfile
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from paraminspect._text import human_bytes, plural, quote
from paraminspect.errors import CheckpointError
from paraminspect.weights.base import CHUNK, Entry, StreamedFileReader, check_range


class NpzReader(StreamedFileReader):
    """A ``.npz`` file (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.held: Dict[str, np.ndarray] = {}
        self.stored: Dict[str, np.dtype] = {}
        self._open(path, "npz")
        if self.held:
            held = sum(int(a.nbytes) for a in self.held.values())
            self.notes = (
                f"{plural(len(self.held), 'array')} of {quote(self.path)} "
                f"{'is' if len(self.held) == 1 else 'are'} compressed (savez_compressed) or in "
                f"Fortran order and {'was' if len(self.held) == 1 else 'were'} read whole "
                f"({human_bytes(held)} in memory); np.savez files are streamed",
            )

    def _corrupt(self, member: str, what: str) -> CheckpointError:
        return CheckpointError(f"{quote(self.path)}: member '{member}' is corrupt: {what}")

    def _index(self) -> List[Entry]:
        try:
            self.zf = zipfile.ZipFile(self.f)
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise CheckpointError(
                f"{quote(self.path)} is not a readable .npz archive ({e}): truncated or corrupt?"
            ) from e
        entries = []
        for info in self.zf.infolist():
            if info.is_dir():
                continue
            if not info.filename.endswith(".npy"):
                raise CheckpointError(
                    f"{quote(self.path)} is a zip archive but not a numpy .npz: member "
                    f"'{info.filename}' is not a .npy array (a PyTorch checkpoint? its pickles "
                    "are never loaded here)"
                )
            key = info.filename[:-4]
            if info.compress_type == zipfile.ZIP_STORED:
                entry = self._stored_entry(key, info)
            else:
                entry = self._held_entry(key, info)
            entries.append(entry)
        return entries

    def _header(self, member: str, read: Reader) -> Tuple[Tuple[int, ...], bool, np.dtype]:
        try:
            version = np.lib.format.read_magic(read)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(read)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(read)
        except (ValueError, OSError, EOFError, struct.error) as e:
            raise self._corrupt(member, f"not a .npy array ({e})") from e
        if dtype.hasobject:
            raise CheckpointError(
                f"{quote(self.path)}: member '{member}' holds Python objects (a pickle), which "
                "are never loaded here: pickles can run code"
            )
        return tuple(int(d) for d in shape), bool(fortran), dtype

    def _stored_entry(self, key: str, info: zipfile.ZipInfo) -> Entry:
        check_range(self.path, f"member '{key}'", info.header_offset, 30, self.file_size)
        self.f.seek(info.header_offset)
        local = self.f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise self._corrupt(key, "its local header is missing")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        check_range(self.path, f"member '{key}'", start, info.file_size, self.file_size)
        self.f.seek(start)
        shape, fortran, dtype = self._header(key, Reader(self.f, start + info.file_size))
        data = self.f.tell()
        count = 1
        for d in shape:
            count *= d
        if data - start + count * dtype.itemsize != info.file_size:
            raise self._corrupt(
                key,
                f"its header says shape {shape} of {dtype} ({count * dtype.itemsize:,} bytes) "
                f"but the member holds {info.file_size - (data - start):,} bytes of data",
            )
        if fortran and len(shape) > 1:
            return self._held_entry(key, info)
        self.stored[key] = dtype
        return Entry(key, shape, dtype.name, count * dtype.itemsize, data, "stream")

    def _held_entry(self, key: str, info: zipfile.ZipInfo) -> Entry:
        try:
            with self.zf.open(info) as member:
                self._header(key, Reader(member, None))
            with self.zf.open(info) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise self._corrupt(key, str(e)) from e
        self.held[key] = np.ascontiguousarray(array)
        return Entry(key, tuple(array.shape), array.dtype.name, int(array.nbytes), None, "memory")

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        if entry.key in self.held:
            flat = self.held[entry.key].reshape(-1)
            for start in range(0, flat.size, max(1, elements)):
                yield flat[start : start + elements]
            return
        assert entry.offset is not None
        stored = self.stored[entry.key]
        yield from self.reads.chunks(entry.offset, entry.size, stored, elements)

    def read(self, entry: Entry) -> np.ndarray:
        if entry.key in self.held:
            return self.held[entry.key]
        return super().read(entry)

    def close(self) -> None:
        self.zf.close()
        super().close()


class Reader:
    """A file-like view that refuses to read past ``end`` (a member's last byte)."""

    def __init__(self, f: object, end: Optional[int]) -> None:
        self.f, self.end = f, end

    def read(self, n: int = -1) -> bytes:
        f = self.f
        if self.end is not None:
            left = self.end - f.tell()  # type: ignore[attr-defined]
            n = left if n < 0 else min(n, left)
        return f.read(n)  # type: ignore[attr-defined]
