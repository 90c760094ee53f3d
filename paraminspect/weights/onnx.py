"""The initializers of an ``.onnx`` model (the weights an exporter wrote), through the onnx
package, imported only here.

A model file is one protobuf message, so its initializers' bytes are in memory once the
file is parsed (a note says so for large files); initializers stored as external data are
streamed from their files in chunks like the other formats. Byte counts are checked
against shapes, and external ranges against their files, before any value is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from paraminspect._text import human_bytes, quote
from paraminspect.errors import CheckpointError
from paraminspect.weights.base import (
    CHUNK,
    Entry,
    FileChunks,
    WeightReader,
    bfloat16_to_float32,
    check_range,
    stored_dtype,
)

INSTALL_HINT = "pip install '.[onnx]'"
BFLOAT16 = 16  # onnx.TensorProto.BFLOAT16
NOTE_ABOVE = 100 << 20  # parsing holds the file: say so above this size


def import_onnx() -> Any:
    """The onnx module, or a one-line error naming the install line.

    Raises:
        CheckpointError: onnx is not installed.
    """
    try:
        import onnx
    except ImportError as e:
        raise CheckpointError(
            f"reading .onnx files needs the onnx package, which is not installed: {INSTALL_HINT}"
            " (in a clone of paraminspect)"
        ) from e
    return onnx


class OnnxReader(WeightReader):
    """An ONNX model's initializers (see the module docstring)."""

    def __init__(self, path: str) -> None:
        onnx = import_onnx()
        from google.protobuf.message import DecodeError

        self.path = str(path)
        self.format = "onnx"
        self.file_size = os.path.getsize(self.path)
        try:
            self.model = onnx.load(self.path, load_external_data=False)
        except (DecodeError, ValueError, OSError, RuntimeError) as e:
            raise CheckpointError(
                f"{quote(self.path)} is not a readable ONNX model ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else 'cannot parse'}): truncated or corrupt?"
            ) from e
        self.tensors: Dict[str, Any] = {}
        self.held: Dict[str, np.ndarray] = {}
        self.external: Dict[str, FileChunks] = {}
        self.files: List[Any] = []
        try:
            self.entries = tuple(self._entry(t) for t in self.model.graph.initializer)
        except BaseException:
            self.close()
            raise
        inline = sum(e.nbytes for e in self.entries if e.kind == "memory")
        if inline > NOTE_ABOVE:
            self.notes = (
                f"{quote(self.path)} is one protobuf message: parsing it holds its "
                f"{human_bytes(inline)} of initializers in memory (external data is streamed)",
            )

    def _entry(self, t: Any) -> Entry:
        onnx = import_onnx()
        from onnx import external_data_helper, helper, numpy_helper

        shape = tuple(int(d) for d in t.dims)
        try:
            if t.data_type == BFLOAT16:
                dtype: Any = "bfloat16"
            else:
                dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        except (KeyError, ValueError) as e:
            raise CheckpointError(
                f"{quote(self.path)}: initializer '{t.name}' has ONNX data type {t.data_type}, "
                "which this tool does not read"
            ) from e
        name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
        if name == "object":
            raise CheckpointError(
                f"{quote(self.path)}: initializer '{t.name}' holds strings, not numbers"
            )
        stored = stored_dtype(name)
        count = 1
        for d in shape:
            count *= d
        nbytes = count * stored.itemsize
        what = f"initializer '{t.name}' (shape {shape}, {name})"
        if external_data_helper.uses_external_data(t):
            info = external_data_helper.ExternalDataInfo(t)
            return self._external(t.name, shape, name, nbytes, info, what)
        self.tensors[t.name] = t
        if t.raw_data:
            if len(t.raw_data) != nbytes:
                raise CheckpointError(
                    f"{quote(self.path)} is corrupt: {what} needs {nbytes:,} bytes but holds "
                    f"{len(t.raw_data):,}"
                )
        else:
            try:
                array = numpy_helper.to_array(t)
            except (ValueError, TypeError, onnx.onnx_cpp2py_export.checker.ValidationError) as e:
                raise CheckpointError(f"{quote(self.path)}: {what} cannot be read: {e}") from e
            if array.size != count:
                raise CheckpointError(
                    f"{quote(self.path)} is corrupt: {what} holds {array.size:,} values"
                )
            self.held[t.name] = np.ascontiguousarray(array.reshape(-1))
        return Entry(t.name, shape, name, nbytes, None, "memory")

    def _external(
        self,
        key: str,
        shape: Tuple[int, ...],
        name: str,
        nbytes: int,
        info: Any,
        what: str,
    ) -> Entry:
        folder = Path(self.path).resolve().parent
        target = (folder / info.location).resolve()
        if folder not in target.parents:
            raise CheckpointError(
                f"{quote(self.path)}: {what} points outside the model's folder "
                f"({info.location!r}); refused"
            )
        if not target.is_file():
            raise CheckpointError(
                f"{quote(self.path)}: {what} is stored in {quote(target)}, which does not exist"
            )
        offset = int(info.offset or 0)
        length = int(info.length) if info.length else nbytes
        if length != nbytes:
            raise CheckpointError(
                f"{quote(self.path)} is corrupt: {what} needs {nbytes:,} bytes but its external "
                f"length is {length:,}"
            )
        f = open(target, "rb")  # noqa: SIM115 - closed by close()
        self.files.append(f)
        size = os.fstat(f.fileno()).st_size
        check_range(str(target), what, offset, nbytes, size)
        self.external[key] = FileChunks(f, str(target), size)
        return Entry(key, shape, name, nbytes, offset, "stream")

    def chunks(self, entry: Entry, elements: int = CHUNK) -> Iterator[np.ndarray]:
        elements = max(1, elements)
        if entry.key in self.external:
            yield from self.external[entry.key].entry_chunks(entry, elements)
            return
        flat: Optional[np.ndarray] = self.held.get(entry.key)
        if flat is None:
            raw = self.tensors[entry.key].raw_data
            flat = np.frombuffer(raw, dtype=stored_dtype(entry.dtype))
        if entry.dtype == "bfloat16" and flat.dtype != np.float32:
            out = np.empty(min(elements, flat.size), np.float32)
            for start in range(0, flat.size, elements):
                part = flat[start : start + elements]
                yield bfloat16_to_float32(part, out[: part.size])
            return
        if not flat.dtype.isnative:
            flat = flat.astype(flat.dtype.newbyteorder("="))
        for start in range(0, flat.size, elements):
            yield flat[start : start + elements]

    def close(self) -> None:
        for f in self.files:
            f.close()
        self.files = []
