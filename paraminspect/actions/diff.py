"""``paraminspect diff``: two parameter sets (weight files of any format, or built models)
compared key by key, both read chunk by chunk side by side."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Pattern, Sequence, Tuple, Union

import numpy as np

from paraminspect._text import did_you_mean
from paraminspect.actions.inspect_file import select_keys
from paraminspect.choices import DIFF_SORT_KEYS
from paraminspect.diagnose.scan import Progress
from paraminspect.errors import CheckpointError, OptionError
from paraminspect.model.params_io import net_arrays, structural_params
from paraminspect.model.selection import compile_select
from paraminspect.reports.checkpoint import (
    DiffReport,
    DiffRow,
    DiffSide,
)
from paraminspect.weights import open_weights
from paraminspect.weights.base import CHUNK, Entry, MemoryReader, WeightReader, same_bytes
from paraminspect.weights.match import match_keys, matching_note, parse_maps


class Side(NamedTuple):
    """One opened side: what it is, its arrays (a reader, or a dict in memory), log lines,
    and for a MODEL its ``save_parameters`` key -> parameter name map."""

    info: DiffSide
    arrays: Union[WeightReader, Dict[str, np.ndarray]]
    log: List[str]
    structure: Optional[Dict[str, str]] = None


def open_side(arg: str, seed: Optional[int], inputs: Optional[Mapping[str, Any]] = None) -> Side:
    """A weight file of any format (opened, its index read: values are streamed later), a
    spec (path or built-in name) built and freshly initialized, or any other MODEL
    (``-symbol.json`` with its weights, ``zoo:``, ``FILE.py:FUNC``), whose arrays are keyed
    by parameter name."""
    from paraminspect.model.sources import open_source
    from paraminspect.spec.load import builtin_names

    if _is_model(arg):
        source = open_source(arg, inputs)
        model = source.build(seed=seed, forward=False)
        arrays = {name: p.data().asnumpy() for name, p in model.params.items()}
        info = DiffSide(arg, source.kind, len(arrays))
        return Side(info, arrays, list(model.log), model_structure(model))
    p = Path(arg)
    is_yaml = p.suffix.lower() in (".yaml", ".yml")
    if p.exists() and not is_yaml:
        reader = open_weights(arg)
        return Side(DiffSide(arg, reader.kind, len(reader.entries)), reader, list(reader.notes))
    if is_yaml or arg in builtin_names():
        model = open_source(arg).build(seed=seed)
        arrays = net_arrays(model)
        return Side(
            DiffSide(arg, "spec", len(arrays)), arrays, list(model.log), model_structure(model)
        )
    raise CheckpointError(
        f"'{arg}' not found: no such parameter file and no built-in spec of that name"
        f"{did_you_mean(arg, builtin_names())} (built-ins: {', '.join(builtin_names())})"
    )


def model_structure(model: Any) -> Dict[str, str]:
    """``save_parameters`` key -> parameter name, for a built MODEL."""
    return {k: p.name for k, p in structural_params(model.net).items()}


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


def compare_entries(
    key: str,
    reader_a: WeightReader,
    a: Optional[Entry],
    reader_b: WeightReader,
    b: Optional[Entry],
    progress: Optional[Progress] = None,
    key_b: Optional[str] = None,
) -> DiffRow:
    """One :class:`DiffRow`, both arrays read side by side chunk by chunk (one pass: max_abs,
    rel_l2 and cosine; float32 chunks reduced pairwise in float32, combined in float64)."""
    if a is None or b is None:
        present = a if a is not None else b
        assert present is not None
        if a is not None:
            return DiffRow(key, "only_a", present.shape, None, present.dtype, None)
        return DiffRow(key, "only_b", None, present.shape, None, present.dtype, key_b=key_b)
    if a.shape != b.shape:
        return DiffRow(key, "shape", a.shape, b.shape, a.dtype, b.dtype, key_b=key_b)
    acc = DiffPass(same_dtype=a.dtype == b.dtype)
    per = max(1, a.nbytes // max(1, a.size)) + max(1, b.nbytes // max(1, b.size))
    for x, y in zip(reader_a.chunks(a, CHUNK), reader_b.chunks(b, CHUNK)):
        acc.add(x, y)
        if progress is not None:
            progress.advance(x.size * per)
    status = "equal" if acc.equal else ("changed" if a.dtype == b.dtype else "dtype")
    max_abs, rel, cosine = acc.result()
    return DiffRow(key, status, a.shape, b.shape, a.dtype, b.dtype, max_abs, rel, cosine, key_b)


class DiffPass:
    """Running max |a - b|, sum (a - b)^2, sum a^2, sum b^2 and sum ab over chunk pairs."""

    def __init__(self, same_dtype: bool) -> None:
        self.same_dtype = same_dtype
        self.equal = same_dtype
        self.max_abs = 0.0
        self.dd = self.aa = self.bb = self.ab = 0.0
        self.scratch: Dict[str, np.ndarray] = {}

    def _buffer(self, name: str, dtype: np.dtype, n: int) -> np.ndarray:
        buf = self.scratch.get(name)
        if buf is None or buf.dtype != dtype or buf.size < n:
            buf = np.empty(max(n, CHUNK), dtype)
            self.scratch[name] = buf
        return buf[:n]

    def _sumsq(self, x: np.ndarray, work: np.dtype) -> float:
        sq = self._buffer("sq", work, x.size)
        np.multiply(x, x, out=sq)
        return float(np.add.reduce(sq))

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        work = np.dtype(np.float32) if x.dtype == y.dtype == np.float32 else np.dtype(np.float64)
        if x.dtype == y.dtype == np.float16:
            work = np.dtype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.same_dtype and same_bytes(x, y):
                if x.dtype != work:
                    wide = self._buffer("x", work, x.size)
                    np.copyto(wide, x, casting="unsafe")
                    x = wide
                s = self._sumsq(x, work)
                if math.isinf(s) and work != np.float64:
                    s = self._sumsq(x.astype(np.float64), np.dtype(np.float64))
                self.aa += s
                self.bb += s
                self.ab += s
                return
            self.equal = False
            if x.dtype != work:
                wide = self._buffer("x", work, x.size)
                np.copyto(wide, x, casting="unsafe")
                x = wide
            if y.dtype != work:
                wide = self._buffer("y", work, y.size)
                np.copyto(wide, y, casting="unsafe")
                y = wide
            parts = self._chunk(x, y, work)
            if work != np.float64 and not all(math.isfinite(v) for v in parts):
                # an overflow in float32 (or a real Inf/NaN): the chunk again in float64
                parts = self._chunk(
                    x.astype(np.float64), y.astype(np.float64), np.dtype(np.float64)
                )
        m, dd, aa, bb, ab = parts
        self.max_abs = m if math.isnan(m) or m > self.max_abs else self.max_abs
        self.dd += dd
        self.aa += aa
        self.bb += bb
        self.ab += ab

    def _chunk(self, x: np.ndarray, y: np.ndarray, work: np.dtype) -> Tuple[float, ...]:
        d = self._buffer("d", work, x.size)
        np.subtract(x, y, out=d)
        np.abs(d, out=d)
        m = float(np.maximum.reduce(d)) if d.size else 0.0
        np.multiply(d, d, out=d)
        dd = float(np.add.reduce(d))
        np.multiply(x, y, out=d)
        ab = float(np.add.reduce(d))
        return m, dd, self._sumsq(x, work), self._sumsq(y, work), ab

    def result(self) -> Tuple[float, float, Optional[float]]:
        """(max_abs, rel_l2 = ||a-b|| / ||a||, cosine or None when a side is all zeros)."""
        if self.equal:
            self.max_abs, self.dd = 0.0, 0.0
        norm_d, norm_a, norm_b = (math.sqrt(v) for v in (self.dd, self.aa, self.bb))
        # relative to A; when A is all zeros, any change is infinitely large
        rel = norm_d / norm_a if norm_a > 0 else (0.0 if norm_d == 0 else math.inf)
        if math.isnan(self.dd):
            rel = math.nan
        cosine = None
        if norm_a > 0 and norm_b > 0 and math.isfinite(norm_a) and math.isfinite(norm_b):
            # float32 chunk sums are good to ~1e-7: keep rounding from leaving [-1, 1]
            cosine = max(-1.0, min(1.0, self.ab / (norm_a * norm_b)))
        return self.max_abs, rel, cosine


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
    maps: Sequence[str] = (),
    model: Optional[str] = None,
    progress: Optional[Progress] = None,
) -> DiffReport:
    """Compare two weight files (or models' parameters) key by key, streaming both.

    Keys are paired as :func:`paraminspect.weights.match.match_keys` says (the same key,
    ``--map``, ``arg:``/``aux:`` dropped, ``save_parameters`` keys read through a MODEL's
    structure) and the report says how. ``inputs`` (``--input``) feed the model sides.

    Args:
        a, b: weight files (.params, .npz, .safetensors, .onnx), spec paths or built-in
            spec names, or other MODELs.
        select: ``--select`` regex over the keys.
        seed: ``--seed`` for a spec side.
        strict: ``--exit-code``: the report's outcome is a failure when they differ.
        sort: one of :data:`paraminspect.choices.DIFF_SORT_KEYS` (None: key order).
        top: only the first N rows after ``sort``; the summary still counts every key.
        maps: ``--map OLD=NEW`` rules renaming A's keys.
        model: ``--model MODEL``: read ``save_parameters`` keys (``0.weight``) on either
            side as this MODEL's parameter names.
        progress: told the bytes to read and each chunk read (a progress bar).

    Raises:
        CheckpointError: a side cannot be read or found.
        OptionError: a ``--select`` that matches no key on either side, a bad ``--sort``,
            ``--top`` or ``--map``.
    """
    if sort is not None:
        sort_diff_rows((), sort)
    if top is not None and top < 1:
        raise OptionError(f"--top must be 1 or more, not {top}", "--top")
    if select is not None:
        compile_select(select)  # a bad regex fails before any file is read
    rules = parse_maps(maps)
    structure = None
    if model is not None:
        from paraminspect.model.sources import open_source

        structure = model_structure(open_source(model, inputs).build(seed=seed, forward=False))
    side_a = open_side(a, seed, inputs)
    try:
        side_b = open_side(b, seed, inputs)
        try:
            return compare_sides(
                side_a, side_b, select, strict, sort, top, rules, structure, progress
            )
        finally:
            _close(side_b)
    finally:
        _close(side_a)


def _close(side: Any) -> None:
    if isinstance(side[1], WeightReader):
        side[1].close()


def _reader(arrays: Union[WeightReader, Dict[str, np.ndarray]], label: str) -> WeightReader:
    return arrays if isinstance(arrays, WeightReader) else MemoryReader(arrays, label)


def compare_sides(
    side_a: Any,
    side_b: Any,
    select: Optional[str],
    strict: bool,
    sort: Optional[str] = None,
    top: Optional[int] = None,
    maps: Sequence[Tuple[Pattern[str], str]] = (),
    structure: Optional[Dict[str, str]] = None,
    progress: Optional[Progress] = None,
) -> DiffReport:
    """The report for two opened sides (:class:`Side`, or the API's ``(info, arrays, log)``
    for Blocks and dicts)."""
    info_a, info_b = side_a[0], side_b[0]
    reader_a, reader_b = _reader(side_a[1], "A"), _reader(side_b[1], "B")
    log_a, log_b = list(side_a[2]), list(side_b[2])
    if structure is None:
        structure = (side_a[3] if len(side_a) > 3 else None) or (
            side_b[3] if len(side_b) > 3 else None
        )
    entries_a = {e.key: e for e in reader_a.entries}
    entries_b = {e.key: e for e in reader_b.entries}
    pairs = match_keys(list(entries_a), list(entries_b), maps, structure)
    named = [p.a if p.a is not None else str(p.b) for p in pairs]
    keys = select_keys(named, select) if named else []
    wanted = set(keys)
    chosen = [p for p in pairs if (p.a if p.a is not None else p.b) in wanted]
    if progress is not None:
        total = sum(entries_a[p.a].nbytes for p in chosen if p.a is not None and p.b is not None)
        total += sum(entries_b[p.b].nbytes for p in chosen if p.a is not None and p.b is not None)
        progress.start(total)
    rows = tuple(
        compare_entries(
            p.a if p.a is not None else str(p.b),
            reader_a,
            entries_a.get(p.a) if p.a is not None else None,
            reader_b,
            entries_b.get(p.b) if p.b is not None else None,
            progress,
            key_b=p.b if p.b is not None and p.b != p.a else None,
        )
        for p in chosen
    )
    notes = []
    how = matching_note(chosen)
    if how is not None:
        notes.append(how)
    ordered = sort_diff_rows(rows, sort) if sort is not None else rows
    shown = ordered if top is None else ordered[:top]
    if len(shown) < len(rows):
        notes.append(
            f"{len(shown)} of {len(rows)} keys shown (--top {top}); the summary counts all"
        )
    if rows and all(r.status in ("only_a", "only_b") for r in rows):
        notes.append(
            "the two sides share no key: compare files of the same model, or pair the keys "
            "with --map OLD=NEW (a regex over A's keys), or --model MODEL for save_parameters "
            "keys such as 0.weight"
        )
    return DiffReport(
        info_a, info_b, rows, tuple(notes), tuple(log_a + log_b), strict, shown=shown, sort=sort
    )
