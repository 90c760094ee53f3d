"""``paraminspect inspect`` and ``diff``, and the ``--load``/``--save`` steps of net commands."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from paraminspect._text import did_you_mean
from paraminspect.errors import CheckpointError, OptionError
from paraminspect.fileio import check_target
from paraminspect.model.params_file import ParamFile, check_file, read_params
from paraminspect.model.params_io import (
    LoadRequest,
    SaveRequest,
    load_params,
    net_arrays,
    save_params,
)
from paraminspect.model.selection import apply_slice, compile_select, format_index, parse_slice
from paraminspect.reports.checkpoint import (
    DiffReport,
    DiffRow,
    DiffSide,
    FileTotals,
    InspectReport,
    InspectRow,
)
from paraminspect.reports.params import ArrayView
from paraminspect.stats import tensor_stats

# --------------------------------------------------------------------------- --load / --save


def preflight(load: Optional[LoadRequest], save: Optional[SaveRequest]) -> None:
    """Refuse a ``--save`` target or a ``--load`` file before anything expensive runs.

    Checks what can be known up front: the save folder exists and is writable, the target
    is not a folder and does not exist (unless ``--force``); the file to load exists and its
    structure (headers, never the values) is an MXNet parameter file. Keys and shapes are
    matched later, against the built net.

    Raises:
        OutputError: the save target is refused (see :func:`paraminspect.fileio.check_target`).
        CheckpointError: the load file is missing, empty, truncated or not a parameter file.
    """
    if save is not None:
        check_target(save.path, save.force)
    if load is not None:
        check_file(load.path)


def apply_load(model: Any, request: Optional[LoadRequest]) -> List[str]:
    """Load ``request.path`` into ``model`` (if asked); returns lines for the log."""
    if request is None:
        return []
    result = load_params(model, request.path, request.allow_missing, request.ignore_extra)
    return [result.message]


def apply_save(model: Any, request: Optional[SaveRequest]) -> List[str]:
    """Save ``model``'s parameters to ``request.path`` (if asked); returns lines for the log."""
    if request is None:
        return []
    return [save_params(model, request.path, request.force).message]


# --------------------------------------------------------------------------- selection


def _strip_role(key: str) -> str:
    return key[4:] if key.startswith(("arg:", "aux:")) else key


def select_keys(keys: List[str], select: Optional[str]) -> List[str]:
    """Keys that ``re.match`` ``select`` (with or without an ``arg:``/``aux:`` prefix).

    Raises:
        OptionError: a bad regex, or one that matches no key.
    """
    if select is None:
        return list(keys)
    pattern = compile_select(select)
    kept = [k for k in keys if pattern.match(k) or pattern.match(_strip_role(k))]
    if not kept:
        sample = ", ".join(keys[:6]) + (f", ... ({len(keys) - 6} more)" if len(keys) > 6 else "")
        raise OptionError(
            f"no key matches '{select}'{did_you_mean(select, keys)} (keys: {sample or 'none'})",
            "--select",
        )
    return kept


# --------------------------------------------------------------------------- inspect


def find_duplicates(arrays: Dict[str, np.ndarray]) -> Dict[str, str]:
    """Key -> the first earlier key whose array has the same shape, dtype and bytes."""
    first: Dict[Tuple[Any, ...], str] = {}
    out: Dict[str, str] = {}
    for key, a in arrays.items():
        digest = hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).digest()
        sig = (a.shape, a.dtype.str, digest)
        if sig in first:
            # a digest collision is not a proof: confirm byte for byte
            if np.ascontiguousarray(arrays[first[sig]]).tobytes() == a.tobytes():
                out[key] = first[sig]
        else:
            first[sig] = key
    return out


def _is_constant(a: np.ndarray) -> bool:
    flat = a.reshape(-1)
    return flat.size > 0 and bool(np.all(flat == flat[0]))


def inspect_file(
    path: str,
    select: Optional[str] = None,
    values: bool = False,
    slice_: Optional[str] = None,
    stats: bool = False,
    hist: bool = False,
    bins: int = 16,
) -> InspectReport:
    """Every array in an ``mx.nd.save`` file: key, shape, dtype, size, bytes, duplicates.

    Raises:
        CheckpointError: the file cannot be read (see
            :func:`paraminspect.model.params_file.check_file`).
        OptionError: a bad ``--select`` or ``--slice``.
    """
    index = parse_slice(slice_) if slice_ is not None else None
    pf = read_params(path)
    keys = select_keys(list(pf.arrays), select) if pf.arrays else []
    dups = find_duplicates(pf.arrays)
    rows = []
    for key in keys:
        a = pf.arrays[key]
        view = None
        if values:
            label = key + (f"[{format_index(index)}]" if index is not None else "")
            view = ArrayView(label, apply_slice(a, index, key) if index is not None else a)
        same = dups.get(key)
        drawn = None
        if hist:
            from paraminspect.view import histogram

            shown = apply_slice(a, index, key) if index is not None else a
            label = key + (f"[{format_index(index)}]" if index is not None else "")
            why = "a parameter file does not say which initializer drew its values"
            drawn = histogram(shown, bins, "values", label, note=why)
        rows.append(
            InspectRow(
                key=key,
                shape=tuple(a.shape),
                dtype=a.dtype.name,
                size=int(a.size),
                bytes=int(a.nbytes),
                same_as=same,
                constant=same is not None and _is_constant(a),
                data=view,
                stats=tensor_stats(a) if stats else None,
                hist=drawn,
            )
        )
    totals = FileTotals(
        arrays=len(pf.arrays),
        values=sum(int(a.size) for a in pf.arrays.values()),
        bytes=sum(int(a.nbytes) for a in pf.arrays.values()),
        duplicates=len(dups),
        unique_values=sum(int(a.size) for k, a in pf.arrays.items() if k not in dups),
    )
    return InspectReport(path, pf.size, pf.kind, tuple(rows), totals, _inspect_notes(pf, dups))


def _inspect_notes(pf: ParamFile, dups: Dict[str, str]) -> Tuple[str, ...]:
    notes = []
    real = [k for k in dups if not _is_constant(pf.arrays[k])]
    if real:
        notes.append(
            f"{len(real)} array{'s are' if len(real) > 1 else ' is'} saved twice "
            "(same shape, dtype and bytes as an earlier key): shared parameters written by "
            "save_parameters without deduplicate=True"
        )
    if len(real) < len(dups):
        notes.append(
            "constant arrays (all zeros, all ones, ...) marked 'same as' may be equal by "
            "coincidence rather than shared"
        )
    if pf.kind == "module":
        notes.append(
            "arg: arrays are trained parameters, aux: arrays are auxiliary states "
            "(batch-norm running statistics)"
        )
    return tuple(notes)


# --------------------------------------------------------------------------- diff


def _open_side(arg: str, seed: Optional[int]) -> Tuple[DiffSide, Dict[str, np.ndarray], List[str]]:
    """A parameter file, or a spec (path or built-in name) built and freshly initialized."""
    from paraminspect.spec.load import builtin_names

    p = Path(arg)
    is_yaml = p.suffix.lower() in (".yaml", ".yml")
    if p.exists() and not is_yaml:
        pf = read_params(arg)
        return DiffSide(arg, pf.kind, len(pf.arrays)), pf.arrays, []
    if is_yaml or arg in builtin_names():
        from paraminspect.model.build import build_model
        from paraminspect.spec.load import load_spec

        model = build_model(load_spec(arg), seed=seed)
        arrays = net_arrays(model)
        return DiffSide(arg, "spec", len(arrays)), arrays, list(model.log)
    raise CheckpointError(
        f"'{arg}' not found: no such parameter file and no built-in spec of that name"
        f"{did_you_mean(arg, builtin_names())} (built-ins: {', '.join(builtin_names())})"
    )


def compare(key: str, a: Optional[np.ndarray], b: Optional[np.ndarray]) -> DiffRow:
    """One :class:`DiffRow`; the metrics are computed in float64 over the whole arrays."""
    if a is None or b is None:
        present = a if a is not None else b
        assert present is not None
        shape, dtype = tuple(present.shape), present.dtype.name
        if a is not None:
            return DiffRow(key, "only_a", shape, None, dtype, None)
        return DiffRow(key, "only_b", None, shape, None, dtype)
    sa, sb = tuple(a.shape), tuple(b.shape)
    da, db = a.dtype.name, b.dtype.name
    if sa != sb:
        return DiffRow(key, "shape", sa, sb, da, db)
    if da == db and a.tobytes() == b.tobytes():
        return DiffRow(key, "equal", sa, sb, da, db, 0.0, 0.0, _cosine(a, b))
    x = a.astype(np.float64).reshape(-1)
    y = b.astype(np.float64).reshape(-1)
    d = x - y
    max_abs = float(np.max(np.abs(d))) if d.size else 0.0
    norm_d = math.sqrt(float(np.dot(d, d)))
    norm_a = math.sqrt(float(np.dot(x, x)))
    # relative to A; when A is all zeros, any change is infinitely large
    rel = norm_d / norm_a if norm_a > 0 else (0.0 if norm_d == 0 else math.inf)
    return DiffRow(
        key, "changed" if da == db else "dtype", sa, sb, da, db, max_abs, rel, _cosine(a, b)
    )


def _cosine(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    x = a.astype(np.float64).reshape(-1)
    y = b.astype(np.float64).reshape(-1)
    na, nb = math.sqrt(float(np.dot(x, x))), math.sqrt(float(np.dot(y, y)))
    if na == 0 or nb == 0 or not (math.isfinite(na) and math.isfinite(nb)):
        return None
    return float(np.dot(x, y)) / (na * nb)


def diff(a: str, b: str, select: Optional[str] = None, seed: Optional[int] = None) -> DiffReport:
    """Compare two parameter files (or specs' fresh parameters) key by key.

    Raises:
        CheckpointError: a side cannot be read or found.
        OptionError: a ``--select`` that matches no key on either side.
    """
    if select is not None:
        compile_select(select)  # a bad regex fails before any file is read
    side_a, arrays_a, log_a = _open_side(a, seed)
    side_b, arrays_b, log_b = _open_side(b, seed)
    keys = list(arrays_a) + [k for k in arrays_b if k not in arrays_a]
    keys = select_keys(keys, select) if keys else []
    rows = tuple(compare(k, arrays_a.get(k), arrays_b.get(k)) for k in keys)
    notes = []
    if rows and all(r.status in ("only_a", "only_b") for r in rows):
        notes.append(
            "the two sides share no key: compare files of the same kind (a spec's keys are "
            "save_parameters keys such as 0.weight)"
        )
    return DiffReport(side_a, side_b, rows, tuple(notes), tuple(log_a + log_b))
