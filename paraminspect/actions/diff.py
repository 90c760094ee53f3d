"""``paraminspect diff``: two parameter sets (files or built specs) compared key by key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from paraminspect._text import did_you_mean
from paraminspect.actions.inspect_file import select_keys
from paraminspect.choices import DIFF_SORT_KEYS
from paraminspect.errors import CheckpointError, OptionError
from paraminspect.model.params_file import read_params
from paraminspect.model.params_io import (
    net_arrays,
)
from paraminspect.model.selection import compile_select
from paraminspect.reports.checkpoint import (
    DiffReport,
    DiffRow,
    DiffSide,
)


def open_side(
    arg: str, seed: Optional[int], inputs: Optional[Mapping[str, Any]] = None
) -> Tuple[DiffSide, Dict[str, np.ndarray], List[str]]:
    """A parameter file, a spec (path or built-in name) built and freshly initialized, or
    any other MODEL (``-symbol.json`` with its weights, ``zoo:``, ``FILE.py:FUNC``), whose
    arrays are keyed by parameter name."""
    from paraminspect.model.sources import open_source
    from paraminspect.spec.load import builtin_names

    if _is_model(arg):
        source = open_source(arg, inputs)
        model = source.build(seed=seed, forward=False)
        arrays = {name: p.data().asnumpy() for name, p in model.params.items()}
        return DiffSide(arg, source.kind, len(arrays)), arrays, list(model.log)
    p = Path(arg)
    is_yaml = p.suffix.lower() in (".yaml", ".yml")
    if p.exists() and not is_yaml:
        pf = read_params(arg)
        return DiffSide(arg, pf.kind, len(pf.arrays)), pf.arrays, []
    if is_yaml or arg in builtin_names():
        from paraminspect.model.sources import open_source

        model = open_source(arg).build(seed=seed)
        arrays = net_arrays(model)
        return DiffSide(arg, "spec", len(arrays)), arrays, list(model.log)
    raise CheckpointError(
        f"'{arg}' not found: no such parameter file and no built-in spec of that name"
        f"{did_you_mean(arg, builtin_names())} (built-ins: {', '.join(builtin_names())})"
    )


def _is_model(arg: str) -> bool:
    """A MODEL other than a spec; a ``.json`` that is no graph is taken as the file it is
    (a params file's checks then say what it is not)."""
    from paraminspect.errors import SpecError
    from paraminspect.model.graph import read_graph
    from paraminspect.model.sources import parse_model_ref

    kind = parse_model_ref(arg)
    if kind != "symbol":
        return kind != "spec"
    try:
        read_graph(arg)
    except SpecError:
        return not Path(arg).exists()
    return True


def _by_name(arrays: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    return {
        k.split(":", 1)[1] if k.startswith(("arg:", "aux:")) else k: v for k, v in arrays.items()
    }


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


def _size(row: DiffRow) -> int:
    shape = row.shape_a if row.shape_a is not None else row.shape_b
    return math.prod(shape) if shape is not None else 0


def sort_diff_rows(rows: Sequence[DiffRow], by: str) -> Tuple[DiffRow, ...]:
    """Rows most different first: ``rel_l2``/``max_abs`` largest first, ``cosine`` smallest
    first; ``size`` largest first; ``name`` A to Z. Rows without the number (shape changed,
    on one side only) come first for the numbers: they differ most. Stable.

    Raises:
        OptionError: ``by`` is not one of :data:`paraminspect.choices.DIFF_SORT_KEYS`.
    """
    if by not in DIFF_SORT_KEYS:
        raise OptionError(
            f"unknown sort key '{by}'{did_you_mean(by, DIFF_SORT_KEYS)} "
            f"(choose from {', '.join(DIFF_SORT_KEYS)})",
            "--sort",
        )
    if by == "name":
        return tuple(sorted(rows, key=lambda r: r.key))
    if by == "size":
        return tuple(sorted(rows, key=lambda r: -_size(r)))

    def number(row: DiffRow) -> Tuple[int, float]:
        value = getattr(row, by)
        if by == "cosine" and value is None and row.status in ("equal", "changed", "dtype"):
            return (2, 0.0)  # an all-zero side: no direction to compare, after the others
        if value is None or math.isnan(value):
            return (0, 0.0)
        return (1, value if by == "cosine" else -value)

    return tuple(sorted(rows, key=number))


def diff(
    a: str,
    b: str,
    select: Optional[str] = None,
    seed: Optional[int] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    strict: bool = False,
    sort: Optional[str] = None,
    top: Optional[int] = None,
) -> DiffReport:
    """Compare two parameter files (or models' parameters) key by key.

    A side that is a model other than a spec is keyed by parameter name; a Module
    checkpoint compared with it has its ``arg:``/``aux:`` prefixes dropped, so an exported
    graph and its own params file line up. ``inputs`` (``--input``) feed the model sides.

    Args:
        a, b: parameter files, spec paths or built-in spec names.
        select: ``--select`` regex over the keys.
        seed: ``--seed`` for a spec side.
        strict: ``--exit-code``: the report's outcome is a failure when they differ.
        sort: one of :data:`paraminspect.choices.DIFF_SORT_KEYS` (None: key order).
        top: only the first N rows after ``sort``; the summary still counts every key.

    Raises:
        CheckpointError: a side cannot be read or found.
        OptionError: a ``--select`` that matches no key on either side, a bad ``--sort``
            or ``--top``.
    """
    if sort is not None:
        sort_diff_rows((), sort)
    if top is not None and top < 1:
        raise OptionError(f"--top must be 1 or more, not {top}", "--top")
    if select is not None:
        compile_select(select)  # a bad regex fails before any file is read
    sides = open_side(a, seed, inputs), open_side(b, seed, inputs)
    return compare_sides(*sides, select, strict, sort=sort, top=top)


Side = Tuple[DiffSide, Dict[str, np.ndarray], List[str]]


def compare_sides(
    side_a: Side,
    side_b: Side,
    select: Optional[str],
    strict: bool,
    sort: Optional[str] = None,
    top: Optional[int] = None,
) -> DiffReport:
    """The report for two opened sides (files, specs, or the API's Blocks and dicts)."""
    (info_a, arrays_a, log_a), (info_b, arrays_b, log_b) = side_a, side_b
    named = {"symbol", "zoo", "factory", "block"}
    if info_a.kind in named or info_b.kind in named:
        arrays_a = _by_name(arrays_a) if info_a.kind == "module" else arrays_a
        arrays_b = _by_name(arrays_b) if info_b.kind == "module" else arrays_b
    keys = list(arrays_a) + [k for k in arrays_b if k not in arrays_a]
    keys = select_keys(keys, select) if keys else []
    rows = tuple(compare(k, arrays_a.get(k), arrays_b.get(k)) for k in keys)
    notes = []
    ordered = sort_diff_rows(rows, sort) if sort is not None else rows
    shown = ordered if top is None else ordered[:top]
    if len(shown) < len(rows):
        notes.append(
            f"{len(shown)} of {len(rows)} keys shown (--top {top}); the summary counts all"
        )
    if rows and all(r.status in ("only_a", "only_b") for r in rows):
        notes.append(
            "the two sides share no key: compare files of the same kind (a spec's keys are "
            "save_parameters keys such as 0.weight)"
        )
    return DiffReport(
        info_a, info_b, rows, tuple(notes), tuple(log_a + log_b), strict, shown=shown, sort=sort
    )
