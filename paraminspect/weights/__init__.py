"""Weight files of every format behind one reader interface (:mod:`.base`).

:func:`open_weights` picks the reader from the file's first bytes (and ``.onnx`` from its
name): MXNet ``.params`` (``mx.nd.save``), numpy ``.npz``, ``.safetensors`` and ONNX
models' initializers. ``inspect``, ``diff`` and ``compare`` read files only through it.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Dict

import numpy as np

from paraminspect.weights.base import CHUNK, Entry, MemoryReader, WeightReader, value_dtype

__all__ = [
    "CHUNK",
    "FORMATS",
    "Entry",
    "MemoryReader",
    "WeightReader",
    "detect_format",
    "memory_reader",
    "open_weights",
    "value_dtype",
]

FORMATS = ("params", "npz", "safetensors", "onnx")


def detect_format(path: str) -> str:
    """The format of ``path`` (one of :data:`FORMATS`) from its first bytes or, for ONNX
    (a protobuf has no magic), its ``.onnx`` name; ``params`` when nothing else fits, so
    that the params reader's checks say what the file is not.

    Raises:
        CheckpointError: ``path`` is missing, a folder or not a regular file.
    """
    from paraminspect.model.params_file import LIST_MAGIC, open_for_reading
    from paraminspect.weights.safetensors import looks_like_safetensors

    f, size = open_for_reading(path)
    with f:
        head = f.read(64)
    if len(head) >= 8 and struct.unpack("<Q", head[:8])[0] == LIST_MAGIC:
        return "params"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if looks_like_safetensors(head):
        return "safetensors"
    if Path(path).suffix.lower() == ".onnx" and size > 0:
        return "onnx"
    return "params"


def open_weights(path: str) -> WeightReader:
    """Open a weight file of any of :data:`FORMATS`: its index is read and checked, no value.

    Raises:
        CheckpointError: missing, unreadable, not a weight file, truncated, or a header
            that cannot be right (offsets past the end, sizes that do not add up).
    """
    fmt = detect_format(path)
    if fmt == "npz":
        from paraminspect.weights.npz import NpzReader

        return NpzReader(path)
    if fmt == "safetensors":
        from paraminspect.weights.safetensors import SafetensorsReader

        return SafetensorsReader(path)
    if fmt == "onnx":
        from paraminspect.weights.onnx import OnnxReader

        return OnnxReader(path)
    from paraminspect.weights.params import ParamsReader

    return ParamsReader(path)


def memory_reader(arrays: Dict[str, np.ndarray], label: str = "memory") -> MemoryReader:
    """Arrays in memory behind the reader interface (views, no copies)."""
    return MemoryReader(arrays, label)
