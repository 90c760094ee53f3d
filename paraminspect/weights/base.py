"""The one reader interface every weight format implements.

A reader gives the file's index first (:class:`Entry`: name, shape, dtype, bytes, where the
data is), read from headers alone and checked against the file's size before any value is
read; then each array's values in chunks read into one reused buffer, so that a checkpoint
of any size is walked in bounded memory. Nothing here imports MXNet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Tuple

import numpy as np

from paraminspect._text import quote
from paraminspect.errors import CheckpointError

# Values per chunk: 64 Ki float32 = 256 KiB, so a chunk and the scratch buffers computed
# from it stay in a core's L2 cache while every statistic of the chunk is taken.
CHUNK = 1 << 16

# How an entry's values are reached: read in chunks from the file ("stream"), held by the
# reader because the format stores them compressed or inside a message ("memory"), or loaded
# by MXNet because the encoding cannot be streamed ("fallback").
ENTRY_KINDS = ("stream", "memory", "fallback")


@dataclass(frozen=True)
class Entry:
    """One array as the file's index describes it (no value read).

    ``dtype`` is a numpy dtype name, or ``bfloat16`` (whose chunks arrive as float32);
    ``offset`` is where the values start in the file (None when they are not read from the
    file directly); ``kind`` is one of :data:`ENTRY_KINDS`.
    """

    key: str
    shape: Tuple[int, ...]
    dtype: str
    nbytes: int
    offset: Optional[int] = None
    kind: str = "stream"

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def value_dtype(dtype: str) -> np.dtype:
    """The numpy dtype the chunks of an entry of ``dtype`` arrive in (bfloat16: float32)."""
    return np.dtype(np.float32) if dtype == "bfloat16" else np.dtype(dtype)


def bfloat16_to_float32(raw: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Widen bfloat16 bit patterns (``uint16``) to float32: the high half of a float32.

    Exact for every value, NaN and Inf included (bfloat16 is a float32 cut to 16 bits).
    """
    np.left_shift(raw, 16, out=out.view(np.uint32), dtype=np.uint32)
    return out


class WeightReader:
    """An opened weight file: its index (:attr:`entries`) and each entry's values.

    Subclasses set the attributes in ``__init__`` and implement :meth:`chunks`. Use as a
    context manager (or call :meth:`close`).
    """

    path: str
    format: str  # params, npz, safetensors, onnx, memory
    file_size: int
    entries: Tuple[Entry, ...]
    named: bool = True  # keys are names (False: a plain list, keyed [0], [1], ...)
    notes: Tuple[str, ...] = ()  # what the reader had to do (a fall-back, a whole read)

    @property
    def kind(self) -> str:
        """The key layout (``gluon``, ``module``, ``list``, ``names``, ``empty``) for an
        MXNet file; the format name for the others."""
        from paraminspect.model.params_file import layout_kind

        keys = tuple(e.key for e in self.entries)
        if self.format not in ("params", "memory") and keys:
            return self.format
        return layout_kind(keys, self.named)

    @property
    def total_bytes(self) -> int:
        return sum(e.nbytes for e in self.entries)

    def entry(self, key: str) -> Entry:
        for e in self.entries:
            if e.key == key:
                return e
        raise KeyError(key)

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        """The values of ``entry`` in C order, as flat arrays of at most ``elements`` values
        of :func:`value_dtype` (native byte order).

        The arrays are views of buffers reused for the next chunk: use each one before
        asking for the next, and copy what must be kept.

        Raises:
            CheckpointError: the file changed or ended early while it was read.
        """
        raise NotImplementedError

    def read(self, entry: Entry) -> np.ndarray:
        """The whole array of ``entry`` (a new array of its shape)."""
        out = np.empty(entry.size, dtype=value_dtype(entry.dtype))
        start = 0
        for chunk in self.chunks(entry, max(CHUNK, 1 << 20)):
            out[start : start + chunk.size] = chunk
            start += chunk.size
        return out.reshape(entry.shape)

    def first_bytes(self, entry: Entry, n: int = 64) -> bytes:
        """Up to ``n`` bytes of the entry's first values (duplicate candidates share them)."""
        for chunk in self.chunks(entry, max(1, n // max(1, value_dtype(entry.dtype).itemsize))):
            return chunk.tobytes()[:n]
        return b""

    def close(self) -> None:
        """Release the file (and whatever the reader holds)."""

    def __enter__(self) -> WeightReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def stored_dtype(name: str) -> np.dtype:
    """How a file written little-endian stores values of numpy dtype ``name`` (bfloat16,
    which numpy lacks, as its raw 2-byte words)."""
    return np.dtype("<u2") if name == "bfloat16" else np.dtype(name).newbyteorder("<")


class FileChunks:
    """Reads a run of values of one dtype at an offset, chunk by chunk, into one buffer.

    Positioned reads (``os.preadv``) leave the file position alone, so chunks of two
    entries of the same file can be read in turn (``diff`` of a file with itself).
    """

    def __init__(self, f: BinaryIO, path: str, size: int) -> None:
        self.f, self.path, self.size = f, path, size
        self.fd = f.fileno()

    def read_into(self, buf: np.ndarray, offset: int) -> None:
        view = memoryview(buf).cast("B")  # type: ignore[arg-type]
        done = 0
        while done < len(view):
            if hasattr(os, "preadv"):
                got = os.preadv(self.fd, [view[done:]], offset + done)
            else:  # pragma: no cover - no preadv (macOS < 11, Windows)
                self.f.seek(offset + done)
                got = self.f.readinto(view[done:]) or 0  # type: ignore[attr-defined]
            if got <= 0:
                raise CheckpointError(
                    f"{quote(self.path)} ended at {offset + done:,} bytes while its values were "
                    f"read (it was {self.size:,} bytes when opened): was it changed meanwhile?"
                )
            done += got

    def chunks(
        self, offset: int, count: int, stored: np.dtype, elements: int, bfloat16: bool = False
    ) -> Iterator[np.ndarray]:
        """``count`` values stored as ``stored`` from ``offset``, as native ``value_dtype``
        chunks; each iteration has its own buffers (two may run at once), reused chunk
        after chunk."""
        if count <= 0:
            return
        elements = max(1, elements)
        raw = np.empty(min(count, elements), dtype=stored)
        native = stored.newbyteorder("=") if not stored.isnative else stored
        out: Optional[np.ndarray] = None
        if bfloat16:
            out = np.empty(raw.size, dtype=np.float32)
        elif native != stored:
            out = np.empty(raw.size, dtype=native)
        for start in range(0, count, elements):
            n = min(elements, count - start)
            buf = raw[:n]
            self.read_into(buf, offset + start * stored.itemsize)
            if out is None:
                yield buf
            elif bfloat16:
                yield bfloat16_to_float32(buf, out[:n])
            else:
                np.copyto(out[:n], buf)
                yield out[:n]

    def entry_chunks(self, entry: Entry, elements: int) -> Iterator[np.ndarray]:
        """The values of ``entry``, stored little-endian at its offset (:func:`stored_dtype`),
        chunk by chunk as :meth:`chunks` gives them."""
        assert entry.offset is not None
        stored = stored_dtype(entry.dtype)
        count = entry.nbytes // stored.itemsize
        bfloat16 = entry.dtype == "bfloat16"
        return self.chunks(entry.offset, count, stored, elements, bfloat16=bfloat16)


class StreamedFileReader(WeightReader):
    """A reader over one file that it indexes when opened and whose values it streams
    (npz, safetensors): subclasses call :meth:`_open` and implement :meth:`_index`."""

    f: BinaryIO
    reads: FileChunks

    def _open(self, path: str, format: str) -> None:
        """Open ``path`` and read its index; the file is closed again when that fails."""
        self.path, self.format = str(path), format
        self.f = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.file_size = os.fstat(self.f.fileno()).st_size
            self.entries = tuple(self._index())
        except BaseException:
            self.f.close()
            raise
        self.reads = FileChunks(self.f, self.path, self.file_size)

    def _index(self) -> List[Entry]:
        """Every entry of the file (``self.f`` is open), in file order."""
        raise NotImplementedError  # pragma: no cover - abstract

    def close(self) -> None:
        self.f.close()


def same_bytes(x: np.ndarray, y: np.ndarray) -> bool:
    """Two flat chunks of one dtype hold the same bytes (NaN payloads and -0.0 included).

    Compared as unsigned integers of the item size: numpy's vector loop, about as fast as
    a sum (``memoryview`` equality unpacks item by item, 200x slower)."""
    if x.dtype != y.dtype or x.size != y.size:
        return False
    as_int = np.dtype(f"u{x.dtype.itemsize}")
    return bool(np.array_equal(x.view(as_int), y.view(as_int)))


def check_range(path: str, what: str, offset: int, nbytes: int, size: int) -> None:
    """Refuse an index entry whose bytes lie outside the file (before anything is read).

    Raises:
        CheckpointError: the range starts or ends past the file's end, or is negative.
    """
    if offset < 0 or nbytes < 0 or offset + nbytes > size:
        raise CheckpointError(
            f"{quote(path)} is truncated or corrupt: {what} needs bytes {offset:,} to "
            f"{offset + nbytes:,} but the file has {size:,} (an interrupted save, download "
            "or copy?)"
        )


class MemoryReader(WeightReader):
    """Arrays already in memory (a built model's parameters, the API's dicts) behind the
    same interface: chunks are views, nothing is copied."""

    def __init__(self, arrays: Dict[str, np.ndarray], label: str = "memory") -> None:
        self.path = label
        self.format = "memory"
        self.arrays = {k: np.asarray(a) for k, a in arrays.items()}
        self.entries = tuple(
            Entry(k, tuple(int(d) for d in a.shape), a.dtype.name, int(a.nbytes), None, "memory")
            for k, a in self.arrays.items()
        )
        self.file_size = sum(e.nbytes for e in self.entries)

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        flat = self.arrays[entry.key].reshape(-1)
        elements = max(1, elements)
        for start in range(0, flat.size, elements):
            yield flat[start : start + elements]

    def read(self, entry: Entry) -> np.ndarray:
        return self.arrays[entry.key]
