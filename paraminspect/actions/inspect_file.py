"""``paraminspect inspect``: a parameter file's arrays, read without running code."""

from __future__ import annotations

import hashlib
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from paraminspect.errors import OptionError
from paraminspect.model.params_file import ParamFile, read_params
from paraminspect.model.selection import (
    apply_slice,
    compile_select,
    format_index,
    no_match_hint,
    parse_slice,
)
from paraminspect.reports.checkpoint import (
    FileTotals,
    InspectReport,
    InspectRow,
)
from paraminspect.reports.params import ArrayView
from paraminspect.stats import tensor_stats


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
            f"no key matches '{select}'{no_match_hint(select, pattern, keys)} "
            f"(keys: {sample or 'none'})",
            "--select",
        )
    return kept


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
            from paraminspect.actions.view import histogram

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
