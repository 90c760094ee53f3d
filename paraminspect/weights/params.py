"""MXNet ``.params`` files (``mx.nd.save``, ``save_parameters``, Module checkpoints), streamed.

The index comes from :func:`paraminspect.model.params_file.check_file` (the one parser of
the layout, which refuses truncated files and lying headers before any value is read); the
values of dense arrays are read straight from the file in chunks, without MXNet. Encodings
that cannot be streamed (arrays saved before MXNet 1.0's V2 layout, sparse arrays) are
indexed from their headers too, and loaded whole by ``mx.nd.load`` when a value is first
asked for, with a note saying what that costs.
"""

from __future__ import annotations

import math
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

from paraminspect._text import human_bytes, quote
from paraminspect.errors import CheckpointError
from paraminspect.model.params_file import (
    LEGACY_STYPE,
    ArrayHeader,
    FileLayout,
    check_file,
    read_params,
)
from paraminspect.weights.base import (
    CHUNK,
    Entry,
    FileChunks,
    WeightReader,
    bfloat16_to_float32,
    stored_dtype,
    value_dtype,
)

# MXNet's own import and buffers: what a fall-back costs before any array is read.
MXNET_OVERHEAD = 190 << 20


class ParamsReader(WeightReader):
    """An ``mx.nd.save`` file: index from its headers, values streamed (see module doc)."""

    def __init__(self, path: str, layout: Optional[FileLayout] = None) -> None:
        self.path = str(path)
        self.format = "params"
        layout = layout if layout is not None else check_file(self.path)
        self.layout = layout
        self.file_size = layout.size
        self.named = layout.named
        self.arrays: Optional[Dict[str, np.ndarray]] = None
        self.why = _why_not_streamed(layout)
        names = self._names(layout)
        if self.why is None:
            self.entries = tuple(
                Entry(key, _shape(h), _dtype(h), h.data_bytes, h.data_offset, "stream")
                for key, h in zip(names, layout.headers)
            )
            self.f = open(self.path, "rb")  # noqa: SIM115 - closed by close()
            self.reads = FileChunks(self.f, self.path, self.file_size)
            return
        # The index still comes from the headers (``inspect --index`` reads no value);
        # mx.nd.load runs at the first value asked for.
        self.entries = tuple(
            Entry(key, _shape(h), _dtype(h), _dense_bytes(h), None, "fallback")
            for key, h in zip(names, layout.headers)
        )
        self.notes = (self._note(loaded=False),)

    @staticmethod
    def _names(layout: FileLayout) -> Tuple[str, ...]:
        """The saved names, or ``[0]``, ``[1]``, ... for a plain list (as ``read_params``)."""
        return layout.keys if layout.named else tuple(f"[{i}]" for i in range(layout.count))

    def _note(self, loaded: bool) -> str:
        held = sum(e.size * value_dtype(e.dtype).itemsize for e in self.entries)
        cost = (
            f"about {human_bytes(held + MXNET_OVERHEAD)} of memory: the arrays, as dense "
            "numpy, and MXNet itself"
        )
        done = "it was loaded whole" if loaded else "reading its values loads it whole"
        return (
            f"{quote(self.path)} holds {self.why}, which cannot be streamed: {done} with "
            f"mx.nd.load ({cost})"
        )

    def _loaded(self) -> Dict[str, np.ndarray]:
        """Every array of a file that cannot be streamed, by ``mx.nd.load`` (once)."""
        if self.arrays is not None:
            return self.arrays
        arrays = {}
        for key, a in read_params(self.path).arrays.items():
            if a.dtype.names == ("bfloat16",):  # how asnumpy() gives MXNet's bfloat16
                a = bfloat16_to_float32(a["bfloat16"], np.empty(a.shape, np.float32))
            arrays[key] = a
        for e in self.entries:
            got = arrays.get(e.key)
            if got is None or (e.size and tuple(got.shape) != e.shape):
                what = "no such key" if got is None else f"shape {tuple(got.shape)}"
                raise CheckpointError(
                    f"mx.nd.load read {quote(self.path)} otherwise than its headers say: "
                    f"'{e.key}' has {what}, not shape {e.shape}"
                )
        self.arrays = arrays
        self.notes = (self._note(loaded=True),)
        return arrays

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        if self.why is not None:
            flat = self._loaded()[entry.key].reshape(-1)
            for start in range(0, flat.size, max(1, elements)):
                yield flat[start : start + elements]
            return
        yield from self.reads.entry_chunks(entry, elements)

    def read(self, entry: Entry) -> np.ndarray:
        if self.why is not None:
            return self._loaded()[entry.key]
        return super().read(entry)

    def close(self) -> None:
        self.arrays = None
        f = getattr(self, "f", None)
        if f is not None:
            f.close()


def _why_not_streamed(layout: FileLayout) -> Optional[str]:
    """Why ``layout``'s values cannot be read from the file in chunks, or None."""
    if any(h.stype == LEGACY_STYPE for h in layout.headers):
        return "a legacy layout (saved before MXNet 1.0)"
    if any(h.stype != 0 for h in layout.headers):
        return "sparse arrays"
    return None


def _shape(h: ArrayHeader) -> Tuple[int, ...]:
    # a V2 array without a shape is an empty NDArray; a legacy 0-d one is a scalar
    return h.shape if h.shape or h.stype == LEGACY_STYPE else (0,)


def _dtype(h: ArrayHeader) -> str:
    return h.dtype if h.dtype != "none" else "float32"


def _dense_bytes(h: ArrayHeader) -> int:
    """The bytes of the array's values as stored, zeros included (a sparse array's header
    gives only the bytes of its non-zero part)."""
    return math.prod(_shape(h)) * stored_dtype(_dtype(h)).itemsize
