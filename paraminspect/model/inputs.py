"""``--input NAME=SHAPE`` and ``--input NAME=FILE.npy``: what the network is fed.

A shape is written ``1x3x224x224`` or ``1,3,224,224`` (positive integers). A ``.npy`` sample
is read with ``allow_pickle=False``; its shape and dtype come from the file's header, so
``--shapes-only`` never reads the data. Object arrays and dtypes MXNet cannot take are
refused with the reason.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Tuple

from paraminspect._text import did_you_mean, quote
from paraminspect.errors import OptionError
from paraminspect.model.layout import InputDesc, Shape

if TYPE_CHECKING:
    import numpy as np

OPTION = "--input"
_SHAPE_SEP = re.compile(r"\s*[x,]\s*")
_NAME = re.compile(r"^[A-Za-z_][\w.:/-]*$")


def parse_shape(text: str, what: str = "shape") -> Shape:
    """Parse ``1x3x224x224``, ``1,3,224,224`` or ``(1, 3, 224, 224)`` into a tuple.

    Args:
        text: the shape as typed.
        what: how the message calls it ("shape of input 'data'").

    Returns:
        The shape, every dimension a positive integer.

    Raises:
        OptionError: empty, not integers, or a dimension below 1.
    """
    body = text.strip().strip("()[]").strip()
    parts = [p for p in _SHAPE_SEP.split(body)] if body else []
    if not parts or any(not p.isdigit() for p in parts):
        raise OptionError(
            f"bad {what} {quote(text)}: write the dimensions as positive integers joined by "
            "'x' or ',' (e.g. 1x3x224x224)",
            OPTION,
        )
    shape = tuple(int(p) for p in parts)
    if any(d < 1 for d in shape):
        raise OptionError(f"bad {what} {quote(text)}: every dimension must be at least 1", OPTION)
    if math.prod(shape) > MAX_ELEMENTS:
        raise OptionError(
            f"bad {what} {quote(text)}: {math.prod(shape):,} elements, past MXNet's limit of "
            f"2^31 - 1 ({MAX_ELEMENTS:,}) per array; use a smaller batch or size",
            OPTION,
        )
    return shape


def parse_input(text: str) -> InputDesc:
    """Parse one ``--input NAME=SHAPE`` or ``--input NAME=FILE.npy``.

    Returns:
        An :class:`InputDesc`; for a file, ``dist='file'``, ``path`` set and the shape and
        dtype read from the ``.npy`` header (the data is not read).

    Raises:
        OptionError: no ``=``, a bad name, a bad shape, or an unusable ``.npy`` file.
    """
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        raise OptionError(
            f"bad --input {quote(text)}: write NAME=SHAPE (data=1x3x224x224) or NAME=FILE.npy",
            OPTION,
        )
    if not _NAME.match(name):
        raise OptionError(f"bad input name {quote(name)} in --input {quote(text)}", OPTION)
    if value.lower().endswith(".npy"):
        shape, dtype = read_npy_header(value, name)
        return InputDesc(name=name, shape=shape, dtype=dtype, dist="file", path=value)
    return InputDesc(name=name, shape=parse_shape(value, f"shape of input {quote(name)}"))


def parse_inputs(texts: Iterable[str]) -> Dict[str, InputDesc]:
    """Parse every ``--input``; a name given twice is an error.

    Returns:
        Input name -> :class:`InputDesc`, in the order given.
    """
    out: Dict[str, InputDesc] = {}
    for text in texts:
        desc = parse_input(text)
        if desc.name in out:
            raise OptionError(f"--input {desc.name}=... given twice; give each input once", OPTION)
        out[desc.name] = desc
    return out


MAX_ELEMENTS = 2**31 - 1  # MXNet 1.x indexes an array with 32-bit integers


def is_label_name(name: str) -> bool:
    """A loss head's label input (``softmax_label``, ``label``): integers are fine there."""
    return name.lower().endswith("label")


def _check_dtype(dtype: np.dtype, path: str, name: str) -> str:
    """The dtype the network is fed for a ``.npy`` of ``dtype``: float16 and float32 as
    they are, float64 cast to float32 (a note says so), integers only for a label input
    (as float32, MXNet's label type); anything else is refused."""
    if dtype.hasobject:
        raise OptionError(
            f"{quote(path)} (input {quote(name)}) holds Python objects (dtype {dtype}); "
            "save a numeric array, e.g. np.save(path, x.astype('float32'))",
            OPTION,
        )
    if dtype.name in ("float16", "float32"):
        return dtype.name
    if dtype.name == "float64":
        return "float32"
    if dtype.kind in "iu" and is_label_name(name):
        return "float32"
    hint = (
        "integers are only for labels; save the values as floats, e.g. np.save(path, "
        "x.astype('float32'))"
        if dtype.kind in "iu"
        else "save float16 or float32 values (float64 is cast to float32)"
    )
    raise OptionError(
        f"{quote(path)} (input {quote(name)}) has dtype {dtype.name}; an input takes float16 "
        f"or float32 values: {hint}",
        OPTION,
    )


def read_npy_header(path: str, name: str) -> Tuple[Shape, str]:
    """Shape and dtype of a ``.npy`` file from its header, without reading the data.

    Raises:
        OptionError: missing or unreadable file, not a ``.npy``, object or unusable dtype,
            a 0-d array.
    """
    import numpy as np

    file = Path(path)
    from paraminspect.fileio import special_file_kind

    kind = special_file_kind(file) or ("a folder" if file.is_dir() else None)
    if kind is not None:
        raise OptionError(
            f"input file {quote(path)} for {quote(name)} is {kind}, not a .npy file; give a "
            ".npy file saved with np.save",
            OPTION,
        )
    if not file.is_file():
        raise OptionError(
            f"input file {quote(path)} for {quote(name)} not found; give an existing .npy "
            "file or a shape (NAME=1x3x224x224)",
            OPTION,
        )
    try:
        with file.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            data_bytes = file.stat().st_size - fh.tell()
    except (ValueError, OSError, SyntaxError, TypeError) as e:
        raise OptionError(f"cannot read {quote(path)} as a .npy file: {e}", OPTION) from e
    dtype_name = _check_dtype(np.dtype(dtype), path, name)
    elements = math.prod(int(d) for d in shape)
    if elements > MAX_ELEMENTS:
        raise OptionError(
            f"{quote(path)} (input {quote(name)}) has shape {format_shape(shape)}: "
            f"{elements:,} elements, past MXNet's limit of 2^31 - 1 ({MAX_ELEMENTS:,}) per array",
            OPTION,
        )
    if elements * np.dtype(dtype).itemsize > data_bytes:
        raise OptionError(
            f"{quote(path)} (input {quote(name)}): its header says shape "
            f"{format_shape(shape)} ({elements * np.dtype(dtype).itemsize:,} bytes of "
            f"{np.dtype(dtype).name}) but the file holds {max(data_bytes, 0):,} bytes after "
            "the header (truncated?); save it again with np.save",
            OPTION,
        )
    if len(shape) == 0:
        raise OptionError(
            f"{quote(path)} (input {quote(name)}) holds a scalar; save an array "
            "with a batch dimension",
            OPTION,
        )
    return tuple(int(d) for d in shape), dtype_name


def load_npy(desc: InputDesc, expected: Optional[Shape] = None) -> np.ndarray:
    """Read the sample of a ``dist='file'`` input and check it.

    Args:
        desc: the input as :func:`parse_input` returned it.
        expected: the shape the network takes, when it has a fixed one.

    Returns:
        The array (never an object array).

    Raises:
        OptionError: unreadable, object dtype, unusable dtype, or not the expected shape.
    """
    import numpy as np

    if desc.path is None:
        raise OptionError(f"input {quote(desc.name)} has no file", OPTION)
    read_npy_header(desc.path, desc.name)  # the cheap checks first, with their messages
    try:
        array = np.load(desc.path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise OptionError(f"cannot read {quote(desc.path)}: {e}", OPTION) from e
    _check_dtype(array.dtype, desc.path, desc.name)
    if expected is not None and tuple(array.shape) != tuple(expected):
        raise OptionError(
            f"{quote(desc.path)} (input {quote(desc.name)}) has shape "
            f"{format_shape(array.shape)} but the network takes {format_shape(expected)}",
            OPTION,
        )
    return array


def input_file_notes(descs: Iterable[InputDesc]) -> Tuple[List[str], List[str]]:
    """Notes and warnings about ``.npy`` inputs: a float64 or integer file cast to float32,
    and NaN or Inf values (counted on a memory map: nothing is copied).

    Returns:
        (notes, warnings).
    """
    import numpy as np

    notes: List[str] = []
    warnings: List[str] = []
    for d in descs:
        if d.dist != "file" or d.path is None:
            continue
        array = np.load(d.path, mmap_mode="r", allow_pickle=False)
        if array.dtype != np.dtype(d.dtype):
            notes.append(f"--input {d.name}={d.path}: {array.dtype} values cast to {d.dtype}")
        if array.dtype.kind == "f":
            nan = int(np.isnan(array).sum())
            inf = int(np.isinf(array).sum())
            if nan or inf:
                warnings.append(
                    f"--input {d.name}={d.path} holds {nan:,} NaN and {inf:,} Inf of "
                    f"{array.size:,} values; the outputs and gradients will be NaN"
                )
    return notes, warnings


def check_input_names(given: Iterable[str], known: Iterable[str], source: str) -> None:
    """Refuse an input name the network does not have, with did-you-mean.

    Raises:
        OptionError: the first unknown name, with the closest known one and the full list.
    """
    known = list(known)
    for name in given:
        if name not in known:
            raise OptionError(
                f"{source} has no input {quote(name)}{did_you_mean(name, known)} "
                f"(its inputs: {', '.join(known)})",
                OPTION,
            )


def format_shape(shape: Shape) -> str:
    """``(1, 3, 224, 224)`` -> ``1x3x224x224``, the form ``--input`` takes."""
    return "x".join(str(d) for d in shape)
