"""MXNet ``.params`` files (``mx.nd.save``, ``save_parameters``, Module checkpoints), streamed.

The index comes from :func:`paraminspect.model.params_file.check_file` (the one parser of
the layout, which refuses truncated files and lying headers before any value is read); the
values of dense arrays are read straight from the file in chunks, without MXNet. Encodings
that cannot be streamed (arrays saved before MXNet 1.0's V2 layout, sparse arrays) are
loaded whole by ``mx.nd.load``, with a note saying what that costs.
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Tuple

import numpy as np

from paraminspect._text import human_bytes, quote
from paraminspect.model.params_file import FileLayout, check_file, read_params
from paraminspect.weights.base import CHUNK, Entry, FileChunks, WeightReader, bfloat16_to_float32

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
        streamable = bool(layout.headers) and all(h.stype == 0 for h in layout.headers)
        if streamable or layout.count == 0:
            self.entries = tuple(
                Entry(
                    key,
                    h.shape if h.shape else (0,),
                    h.dtype if h.dtype != "none" else "float32",
                    h.data_bytes,
                    h.data_offset,
                    "stream",
                )
                for key, h in zip(self._names(layout), layout.headers)
            )
            self.f = open(self.path, "rb")  # noqa: SIM115 - closed by close()
            self.reads = FileChunks(self.f, self.path, self.file_size)
            return
        self._fall_back(layout)

    @staticmethod
    def _names(layout: FileLayout) -> Tuple[str, ...]:
        """The saved names, or ``[0]``, ``[1]``, ... for a plain list (as ``read_params``)."""
        return layout.keys if layout.named else tuple(f"[{i}]" for i in range(layout.count))

    def _fall_back(self, layout: FileLayout) -> None:
        why = (
            "sparse arrays"
            if layout.headers and any(h.stype != 0 for h in layout.headers)
            else "a legacy layout (saved before MXNet 1.0)"
        )
        pf = read_params(self.path)
        self.named = pf.named
        self.arrays = {}
        entries = []
        for key, a in pf.arrays.items():
            dtype = a.dtype.name
            if a.dtype.names == ("bfloat16",):  # how asnumpy() gives MXNet's bfloat16
                dtype = "bfloat16"
                a = bfloat16_to_float32(a["bfloat16"], np.empty(a.shape, np.float32))
            self.arrays[key] = a
            stored = a.size * 2 if dtype == "bfloat16" else int(a.nbytes)
            entries.append(Entry(key, tuple(a.shape), dtype, stored, None, "fallback"))
        self.entries = tuple(entries)
        held = sum(int(a.nbytes) for a in self.arrays.values())
        self.notes = (
            f"{quote(self.path)} holds {why}, which cannot be streamed: it was loaded whole "
            f"with mx.nd.load (about {human_bytes(held + MXNET_OVERHEAD)} of memory: the "
            f"arrays, as dense numpy, and MXNet itself)",
        )

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        if self.arrays is not None:
            flat = self.arrays[entry.key].reshape(-1)
            for start in range(0, flat.size, max(1, elements)):
                yield flat[start : start + elements]
            return
        yield from self.reads.entry_chunks(entry, elements)

    def read(self, entry: Entry) -> np.ndarray:
        if self.arrays is not None:
            return self.arrays[entry.key]
        return super().read(entry)

    def close(self) -> None:
        f = getattr(self, "f", None)
        if f is not None:
            f.close()
