"""The user's data for ``train --data`` and ``grad --input``: NumPy files, checked once.

Accepted: ``FILE.npz`` holding arrays ``X`` and ``y`` (``train --data FILE.npz``), or a
``.npy`` of inputs with a ``.npy`` of targets (``--data X.npy --targets y.npy``,
``grad --input X.npy --targets T.npy``). Files are read with ``allow_pickle=False`` and
their first bytes are checked first, so a pickle (or an object array, which is a pickle
inside a ``.npy``) is refused and never unpickled: loading one could run any code.

Checks, each failing with one line that names the file, the problem and the fix: the
file is a ``.npy``/``.npz``; the ``.npz`` has ``X`` and ``y``; dtypes are numeric (ints,
unsigned ints or floats; not bool, complex, strings, structured or object arrays); at
least one sample; ``X`` and ``y`` have the same length; no NaN/Inf (in ``X`` after the
conversion to float32, so values too large for float32 are caught too; in regression
targets); ``X``'s shape past the batch axis matches the network's input; targets match
the loss: for ``softmax-ce`` integer class labels in ``[0, classes)`` shaped ``(N,)`` or
``(N, 1)`` (integer dtypes, or floats holding whole numbers), for ``sum`` none, for any
other loss (``l2``) the network's output shape past the batch axis (``(N,)`` is
taken as ``(N, 1)`` for a net with one output).

numpy only: the arrays are handed to MXNet by the caller.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from paraminspect._text import plural, quote
from paraminspect.errors import OptionError, ParamInspectError

PathLike = Union[str, Path]
Shape = Tuple[int, ...]

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members; an empty zip
PICKLE_PROTOCOL = b"\x80"  # pickle protocols 2-5 start with PROTO


class DataError(ParamInspectError):
    """A data file (--data, --input, --targets) cannot be read or does not fit the network."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Checked data: ``X`` as float32, the targets as the loss wants them, and a description."""

    X: np.ndarray  # float32, (N, *input features)
    y: Optional[np.ndarray]  # None for the `sum` loss; float32 regression targets or labels
    description: str  # for the report: where it came from, shapes, dtypes, classes

    @property
    def samples(self) -> int:
        return int(self.X.shape[0])


def load_data(
    data: PathLike,
    targets: Optional[PathLike] = None,
    *,
    input_shape: Optional[Shape] = None,
    output_shape: Optional[Shape] = None,
    loss: str = "l2",
    data_option: str = "--data",
    targets_option: str = "--targets",
) -> Dataset:
    """Load and check ``data`` (a ``.npz`` with ``X`` and ``y``, or a ``.npy`` of inputs)
    and ``targets`` (a ``.npy``, only with a ``.npy`` ``data``).

    Args:
        data: the ``--data`` or ``--input`` file.
        targets: the ``--targets`` file.
        input_shape: the network's input shape; every axis but the first (the batch) must
            match ``X``'s. None: not checked.
        output_shape: the network's output shape (batch first): regression targets must
            match it past the batch axis, ``softmax-ce`` takes its classes from axis 1.
        loss: ``softmax-ce`` (class labels), ``sum`` (no targets), or a regression loss.
        data_option, targets_option: the flags named in messages.

    Returns:
        The checked arrays: ``X`` float32; ``y`` float32 (labels as whole-number floats
        of shape ``(N,)``, what Gluon's loss takes), None for ``sum``.

    Raises:
        OptionError: the files given do not fit together (a ``.npz`` with ``--targets``,
            a ``.npy`` without it, targets for ``sum``).
        DataError: a file that is missing, unreadable, pickled, or holds arrays that do not
            fit the checks above.
    """
    x_label = f"{data_option} {quote(data)}"
    kind = _kind(data, data_option)
    if kind == "npz":
        if targets is not None:
            raise OptionError(
                f"{quote(data)} is a .npz that already holds y; drop {targets_option}, "
                f"or give the inputs as a .npy",
                targets_option,
            )
        x, y_raw = _read_npz(data, x_label)
        y_label = f"array 'y' of {x_label}"
        x_label = f"array 'X' of {x_label}"
    else:
        x = _read_npy(data, x_label)
        y_raw = None
        y_label = ""
        if targets is not None:
            y_label = f"{targets_option} {quote(targets)}"
            if _kind(targets, targets_option) != "npy":
                raise DataError(f"{y_label} is a .npz; give the targets as one .npy array")
            y_raw = _read_npy(targets, y_label)
    if loss == "sum":
        if y_raw is not None and kind != "npz":
            raise OptionError("the sum loss uses no targets; drop it", targets_option)
        y_raw = None  # an npz's y is simply not used by `sum`
    elif y_raw is None:
        raise OptionError(
            f"{quote(data)} holds only inputs; give {targets_option} y.npy, or a .npz "
            "with arrays X and y",
            targets_option,
        )
    X = _check_inputs(x, x_label, input_shape)
    y = None
    if y_raw is not None:
        _numeric(y_raw, y_label, "targets")
        if y_raw.ndim == 0 or len(y_raw) != len(X):
            n = "a scalar" if y_raw.ndim == 0 else plural(len(y_raw), "row")
            raise DataError(
                f"{y_label} has {n} but X has {plural(len(X), 'sample')}; give one target "
                "row per sample, in the same order"
            )
        y = (
            _labels(y_raw, y_label, output_shape)
            if loss == "softmax-ce"
            else _regression(y_raw, y_label, output_shape)
        )
    return Dataset(X, y, _describe(data, targets, x, X, y_raw, loss, output_shape))


def _kind(path: PathLike, option: str) -> str:
    p = Path(path)
    label = f"{option} {quote(path)}"
    if not p.exists():
        raise DataError(f"{label}: no such file")
    if p.is_dir():
        raise DataError(f"{label} is a folder; give a .npy or .npz file")
    try:
        with open(p, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise DataError(f"{label} cannot be read: {e.strerror}") from e
    if head == NPY_MAGIC:
        return "npy"
    if head[:4] in ZIP_MAGICS:
        return "npz"
    if head[:1] == PICKLE_PROTOCOL:
        raise DataError(
            f"{label} is a Python pickle, which paraminspect never loads (unpickling runs "
            "code); save the arrays with numpy.save or numpy.savez"
        )
    raise DataError(
        f"{label} is not a NumPy file (no .npy or .npz header); save it with numpy.save "
        "(X.npy) or numpy.savez (X and y in one .npz)"
    )


def _refuse_object(label: str) -> DataError:
    return DataError(
        f"{label} is an object array (pickled Python objects), which paraminspect never "
        "loads; save a numeric array, e.g. np.asarray(a, dtype='float32')"
    )


def _read_npy(path: PathLike, label: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise _refuse_object(label) from e
        raise DataError(f"{label} is not a readable .npy file (truncated or corrupt?): {e}") from e
    except (OSError, EOFError) as e:
        raise DataError(f"{label} is not a readable .npy file (truncated?): {e}") from e
    assert isinstance(array, np.ndarray)
    return array


def _read_npz(path: PathLike, label: str) -> Tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = sorted(archive.files)
            missing = [k for k in ("X", "y") if k not in names]
            if missing:
                have = ", ".join(names) if names else "no arrays"
                raise DataError(
                    f"{label} has no array {' or '.join(repr(k) for k in missing)}: it holds "
                    f"{have}; expected X (inputs) and y (targets), e.g. np.savez(f, X=X, y=y)"
                )
            arrays = []
            for key in ("X", "y"):
                try:
                    arrays.append(archive[key])
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise _refuse_object(f"array '{key}' of {label}") from e
                    raise DataError(f"array '{key}' of {label} cannot be read: {e}") from e
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise DataError(f"{label} is not a readable .npz file (truncated or corrupt?): {e}") from e
    return arrays[0], arrays[1]


def _numeric(a: np.ndarray, label: str, what: str) -> None:
    if a.dtype.kind not in "iuf":
        raise DataError(
            f"{label} has dtype {a.dtype}, not numbers; save the {what} as integers or "
            "floats, e.g. a.astype('float32')"
        )


def _check_inputs(x: np.ndarray, label: str, input_shape: Optional[Shape]) -> np.ndarray:
    _numeric(x, label, "inputs")
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{label} has no samples (shape {x.shape}); the first axis is samples")
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape[1:]):
        want = tuple(input_shape[1:])
        raise DataError(
            f"{label} has samples of shape {tuple(x.shape[1:])} but the network takes "
            f"{want} (X of shape (N, {', '.join(map(str, want))})); reshape X or change the "
            "network's input"
        )
    with np.errstate(over="ignore"):
        X = np.ascontiguousarray(x, dtype=np.float32)
    _finite(X, label, " (after conversion to float32)" if x.dtype != np.float32 else "")
    return X


def _finite(a: np.ndarray, label: str, after: str = "") -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        nan = int(np.count_nonzero(np.isnan(a)))
        inf = int(np.count_nonzero(bad)) - nan
        row = int(np.argwhere(bad.reshape(len(a), -1))[0][0])
        raise DataError(
            f"{label} holds {nan} NaN and {inf} Inf values{after}, first in row {row}; "
            "drop or fill those rows"
        )


def fit_targets(dataset: Dataset, output_shape: Shape, loss: str) -> Optional[np.ndarray]:
    """The dataset's targets checked against an output shape known only after the build
    (graphs, zoo:, FILE.py:FUNC): labels within the classes, l2 targets of its shape.

    Raises:
        DataError: labels past the network's classes, targets of another shape.
    """
    if dataset.y is None:
        return None
    label = f"the targets of {dataset.description.split(':')[0]}"
    if loss == "softmax-ce":
        return _labels(dataset.y, label, output_shape)
    return _regression(dataset.y, label, output_shape)


def _regression(y: np.ndarray, label: str, output_shape: Optional[Shape]) -> np.ndarray:
    if output_shape is not None and y.ndim == 1 and tuple(output_shape[1:]) == (1,):
        y = y.reshape(-1, 1)  # one number per sample for a 1-output net: what L2Loss does
    if output_shape is not None and tuple(y.shape[1:]) != tuple(output_shape[1:]):
        want = tuple(output_shape[1:])
        raise DataError(
            f"{label} has targets of shape {tuple(y.shape[1:])} but the network outputs "
            f"{want} per sample; give y of shape (N, {', '.join(map(str, want))})"
        )
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(y, dtype=np.float32)
    _finite(out, label, " (after conversion to float32)" if y.dtype != np.float32 else "")
    return out


def _labels(y: np.ndarray, label: str, output_shape: Optional[Shape]) -> np.ndarray:
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise DataError(
            f"{label} has shape {y.shape}; softmax-ce takes one class label per sample, "
            "shape (N,) or (N, 1) (one-hot rows? use y.argmax(axis=1))"
        )
    flat = y.reshape(-1)
    if flat.dtype.kind == "f":
        _finite(flat, label)
        if not np.all(flat == np.round(flat)):
            raise DataError(
                f"{label} holds fractional values; softmax-ce takes whole class numbers "
                "0, 1, ... (save them with y.astype(int))"
            )
    classes = None if output_shape is None or len(output_shape) < 2 else int(output_shape[1])
    low, high = flat.min(), flat.max()
    if low < 0 or (classes is not None and high >= classes):
        span = f"0..{classes - 1} (the network has {classes} outputs)" if classes else "0 or more"
        raise DataError(
            f"{label} holds labels {_num(low)}..{_num(high)}, but softmax-ce needs classes "
            f"{span}; renumber the labels or change the last layer's units"
        )
    return flat.astype(np.float32)


def _num(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return str(int(f)) if math.isfinite(f) and f == int(f) else f"{f:g}"


def _describe(
    data: PathLike,
    targets: Optional[PathLike],
    x: np.ndarray,
    X: np.ndarray,
    y_raw: Optional[np.ndarray],
    loss: str,
    output_shape: Optional[Shape],
) -> str:
    source = quote(data) if targets is None else f"{quote(data)} and {quote(targets)}"
    conv = "" if x.dtype == np.float32 else f" ({x.dtype} as float32)"
    text = f"{source}: X {X.shape}{conv}"
    if y_raw is None:
        return f"{text}, no targets"
    if loss == "softmax-ce":
        flat = y_raw.reshape(-1)
        present = len(np.unique(flat))
        classes = (
            f" of {output_shape[1]}" if output_shape is not None and len(output_shape) > 1 else ""
        )
        return (
            f"{text}, {len(flat):,} labels {_num(flat.min())}..{_num(flat.max())} "
            f"({present} classes present{classes})"
        )
    return f"{text}, regression targets y {y_raw.shape} {y_raw.dtype}"
