"""``paraminspect inspect``: a parameter file's arrays, read without running code."""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from paraminspect._text import did_you_mean
from paraminspect.choices import (
    FAIL_ON,
    GROUP_BY,
    MIN_ABS_GAMMA,
    MIN_RUNNING_VAR,
    OVERVIEW_LARGEST,
    SCALE_FACTOR,
)
from paraminspect.diagnose.findings import Thresholds
from paraminspect.diagnose.graph import uses_from_symbol
from paraminspect.diagnose.kinds import ParamUse, classify
from paraminspect.diagnose.measures import ArrayStats
from paraminspect.diagnose.ordering import check_sort_key, sort_keys
from paraminspect.diagnose.scan import Progress
from paraminspect.diagnose.triage import triage_reader
from paraminspect.errors import CheckpointError, OptionError
from paraminspect.model.fixgamma import fixed_gamma_note
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
    LayerGroup,
)
from paraminspect.reports.params import ArrayView
from paraminspect.weights import WeightReader, open_weights


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


def read_symbol_uses(path: str) -> Dict[str, ParamUse]:
    """``--symbol GRAPH``: parameter name -> the op that uses it, from an exported graph.

    Raises:
        SpecError: the file cannot be read or is not an MXNet graph.
        CheckpointError: a graph node that the usage walk cannot read.
    """
    from paraminspect.model.graph import read_graph

    graph = read_graph(path)  # the one reader and checker of -symbol.json files
    try:
        return uses_from_symbol(json.loads(graph.text))
    except (KeyError, IndexError, TypeError) as e:
        raise CheckpointError(f"--symbol {path}: malformed graph node ({e!r})") from e


def _check_choice(value: Optional[str], allowed: Sequence[str], option: str) -> None:
    if value is not None and value not in allowed:
        raise OptionError(
            f"unknown value '{value}'{did_you_mean(value, allowed)} "
            f"(choose from {', '.join(allowed)})",
            option,
        )


def _group_number(members: Sequence[ArrayStats], by: str) -> float:
    """A layer's number for ``--sort``: total size, combined l2, largest abs_max / std."""
    if by == "size":
        return float(sum(st.size for st in members))
    if by == "l2":
        return math.sqrt(sum(st.l2 * st.l2 for st in members))
    return max(float(getattr(st, by)) for st in members)


def _order(
    keys: List[str],
    measured: Mapping[str, ArrayStats],
    layers: Mapping[str, str],
    sort: Optional[str],
    top: Optional[int],
    group: Optional[str],
) -> Tuple[List[str], Tuple[LayerGroup, ...]]:
    """The shown keys: sorted (``--sort``), grouped (``--group``), cut to ``--top``."""
    ordered = list(sort_keys([measured[k] for k in keys], sort)) if sort else list(keys)
    if group is None:
        return (ordered if top is None else ordered[:top]), ()
    members: Dict[str, List[str]] = {}
    for key in ordered:
        members.setdefault(layers[key], []).append(key)
    names = list(members)
    if sort == "name":
        names.sort()
    elif sort is not None:
        by = sort

        def number(name: str) -> Tuple[bool, float]:
            value = _group_number([measured[k] for k in members[name]], by)
            return (math.isnan(value), -value if not math.isnan(value) else 0.0)

        names.sort(key=number)
    if top is not None:
        names = names[:top]
    groups = tuple(
        LayerGroup(
            name,
            tuple(members[name]),
            sum(measured[k].size for k in members[name]),
            sum(measured[k].nbytes for k in members[name]),
        )
        for name in names
    )
    return [k for g in groups for k in g.keys], groups


def inspect_file(
    path: str,
    select: Optional[str] = None,
    values: bool = False,
    slice_: Optional[str] = None,
    stats: bool = False,
    hist: bool = False,
    bins: int = 16,
    sort: Optional[str] = None,
    top: Optional[int] = None,
    group: Optional[str] = None,
    symbol: Optional[str] = None,
    fail_on: Optional[str] = None,
    min_running_var: float = MIN_RUNNING_VAR,
    min_abs_gamma: float = MIN_ABS_GAMMA,
    scale_factor: float = SCALE_FACTOR,
    index_only: bool = False,
    progress: Optional[Progress] = None,
) -> InspectReport:
    """Every array in a weight file (``.params``, ``.npz``, ``.safetensors``, ``.onnx``): key,
    shape, dtype, size, bytes, duplicates, an overview and the findings of
    :func:`paraminspect.diagnose.triage.triage_reader`, from one streamed pass per array.

    Args:
        path: the parameter file.
        select: ``--select`` regex over the keys (the overview and findings cover them all).
        values, slice_, stats, hist, bins: what to show per array.
        sort: one of :data:`paraminspect.choices.SORT_KEYS` (None: file order).
        top: keep the first N rows (or N layers with ``group``).
        group: ``layer`` to group the rows by layer.
        symbol: an exported ``-symbol.json``: kinds and layers from the graph's ops.
        fail_on: ``findings`` to make any finding the report's failure.
        index_only: ``--index``: the index alone, no value read (no statistics, no
            findings; ``--fail-on`` is refused).
        progress: told the bytes to read and each chunk read (a progress bar).
        min_running_var, min_abs_gamma, scale_factor: the findings' thresholds (see
            :class:`paraminspect.diagnose.findings.Thresholds`).

    Raises:
        CheckpointError: the file (or ``symbol``) cannot be read (see
            :func:`paraminspect.model.params_file.check_file`).
        OptionError: a bad ``--select``, ``--slice``, ``--sort``, ``--top``, ``--group``,
            ``--fail-on`` or threshold (before the file is read).
        SpecError: ``symbol`` is not a usable graph.

    With ``symbol`` (a ``-symbol.json``), each array lists the op nodes that read it (node,
    op type, slot), and a note counts the arrays no node reads and the parameters the
    file lacks.
    """
    if sort is not None:
        check_sort_key(sort)
    if top is not None and top < 1:
        raise OptionError(f"--top must be 1 or more, not {top}", "--top")
    _check_choice(group, GROUP_BY, "--group")
    _check_choice(fail_on, FAIL_ON, "--fail-on")
    thresholds = Thresholds(
        min_running_var=min_running_var, min_abs_gamma=min_abs_gamma, scale_factor=scale_factor
    )
    index = parse_slice(slice_) if slice_ is not None else None
    readers = None
    if symbol is not None:
        from paraminspect.model.readers import graph_readers

        readers = graph_readers(symbol)
    uses = read_symbol_uses(symbol) if symbol is not None else None
    with open_weights(path) as reader:
        if index_only:
            return _index_report(reader, select, sort, top, group, fail_on, readers, symbol)
        keys = select_keys([e.key for e in reader.entries], select) if reader.entries else []
        found = triage_reader(
            reader, thresholds, uses=uses, largest=OVERVIEW_LARGEST, progress=progress
        )
        measured = {st.key: st for st in found.rows}
        dups = {key: group[0] for group in found.duplicates for key in group[1:]}
        layers = {e.key: found.kinds[e.key].layer for e in reader.entries}
        shown, groups = _order(keys, measured, layers, sort, top, group)
        rows = []
        for key in shown:
            entry = reader.entry(key)
            view = drawn = None
            if values or hist:
                a = reader.read(entry)
                label = key + (f"[{format_index(index)}]" if index is not None else "")
                part = apply_slice(a, index, key) if index is not None else a
                if values:
                    view = ArrayView(label, part)
                if hist:
                    from paraminspect.actions.view import histogram

                    why = "a parameter file does not say which initializer drew its values"
                    drawn = histogram(part, bins, "values", label, note=why)
            rows.append(
                InspectRow(
                    key=key,
                    shape=entry.shape,
                    dtype=entry.dtype,
                    size=entry.size,
                    bytes=entry.nbytes,
                    same_as=dups.get(key),
                    constant=measured[key].constant,
                    data=view,
                    stats=found.scans[key].moments.tensor_stats() if stats else None,
                    hist=drawn,
                    read_by=_read_by(readers, key),
                    kind=found.kinds[key].kind,
                    layer=layers[key],
                    measured=measured[key],
                )
            )
        totals = FileTotals(
            arrays=len(reader.entries),
            values=sum(e.size for e in reader.entries),
            bytes=sum(e.nbytes for e in reader.entries),
            duplicates=len(dups),
            unique_values=sum(e.size for e in reader.entries if e.key not in dups),
        )
        notes = reader.notes + _inspect_notes(reader.kind, dups, measured)
        if readers is not None:
            notes += _symbol_notes(reader, readers, symbol or "")
            notes += fixed_gamma_note([e.key for e in reader.entries if found.kinds[e.key].ignored])
        return InspectReport(
            path,
            reader.file_size,
            reader.kind,
            tuple(rows),
            totals,
            notes,
            overview=found.overview,
            findings=found.findings,
            groups=groups,
            sort=sort,
            top=top,
            symbol=symbol,
            fail_on=fail_on,
        )


def _read_by(readers: Optional[Dict[str, Any]], key: str) -> Optional[Tuple[str, ...]]:
    if readers is None:
        return None
    return tuple(r.describe() for r in readers.get(_strip_role(key), ()))


INDEX_NOTE = (
    "--index: names, shapes, dtypes and bytes from the file's index alone; no value was "
    "read, so there are no statistics, no findings and no check for arrays saved twice"
)


def _index_report(
    reader: WeightReader,
    select: Optional[str],
    sort: Optional[str],
    top: Optional[int],
    group: Optional[str],
    fail_on: Optional[str],
    readers: Optional[Dict[str, Any]],
    symbol: Optional[str],
) -> InspectReport:
    """``inspect --index``: the rows the index gives, in file order (or by size/name)."""
    if fail_on is not None:
        raise OptionError(
            "--fail-on needs the values (findings come from them): drop --index", "--fail-on"
        )
    if sort is not None and sort not in ("size", "name"):
        raise OptionError(
            f"--sort {sort} needs the values: with --index sort by size or name", "--sort"
        )
    if group is not None:
        raise OptionError("--group is not available with --index", "--group")
    keys = select_keys([e.key for e in reader.entries], select) if reader.entries else []
    entries = [reader.entry(k) for k in keys]
    if sort == "size":
        entries.sort(key=lambda e: -e.size)
    elif sort == "name":
        entries.sort(key=lambda e: e.key)
    if top is not None:
        entries = entries[:top]
    rows = tuple(
        InspectRow(
            key=e.key,
            shape=e.shape,
            dtype=e.dtype,
            size=e.size,
            bytes=e.nbytes,
            read_by=_read_by(readers, e.key),
            kind=classify(e.key).kind,
            layer=classify(e.key).layer,
        )
        for e in entries
    )
    totals = FileTotals(
        arrays=len(reader.entries),
        values=sum(e.size for e in reader.entries),
        bytes=sum(e.nbytes for e in reader.entries),
        duplicates=0,
        unique_values=sum(e.size for e in reader.entries),
    )
    notes = (INDEX_NOTE, *reader.notes)
    if readers is not None:
        notes += _symbol_notes(reader, readers, symbol or "")
    return InspectReport(
        reader.path,
        reader.file_size,
        reader.kind,
        rows,
        totals,
        notes,
        sort=sort,
        top=top,
        symbol=symbol,
        index=True,
    )


def _symbol_notes(reader: WeightReader, readers: Dict[str, Any], symbol: str) -> Tuple[str, ...]:
    names = {_strip_role(e.key) for e in reader.entries}
    unread = sorted(names - set(readers))
    notes = [f"read by: the op nodes of {symbol} that take each array as an input"]
    if unread:
        shown = ", ".join(unread[:5]) + (
            f", ... ({len(unread) - 5} more)" if len(unread) > 5 else ""
        )
        notes.append(f"{len(unread)} arrays are read by no node of the graph: {shown}")
    return tuple(notes)


def _inspect_notes(
    kind: str, dups: Dict[str, str], measured: Mapping[str, ArrayStats]
) -> Tuple[str, ...]:
    notes = []
    real = [k for k in dups if not measured[k].constant]
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
    if kind == "module":
        notes.append(
            "arg: arrays are trained parameters, aux: arrays are auxiliary states "
            "(batch-norm running statistics)"
        )
    return tuple(notes)
