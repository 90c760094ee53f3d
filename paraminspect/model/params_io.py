"""Save a built net's parameters and load a parameter file into it, with clear mismatches."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from paraminspect._text import plural, quote
from paraminspect.errors import CheckpointError
from paraminspect.fileio import check_target as check_target
from paraminspect.fileio import save_ndarrays
from paraminspect.model.dtypes import stored_dtypes
from paraminspect.model.params_file import read_params


def structural_params(net: Any) -> Dict[str, Any]:
    """The net's parameters keyed as ``save_parameters`` keys them (``0.weight``, ...).

    A shared parameter appears under every layer that uses it (``deduplicate=False``).
    """
    return dict(net._collect_params_with_prefix())


def net_arrays(model: Any) -> Dict[str, np.ndarray]:
    """The values ``save_parameters`` would write, as numpy (raises on deferred params)."""
    missing = [k for k, p in structural_params(model.net).items() if not _has_data(p)]
    if missing:
        raise CheckpointError(
            f"parameters {', '.join(missing)} have no values yet (deferred initialization); "
            "run without --before-forward"
        )
    return {k: p.data().asnumpy() for k, p in structural_params(model.net).items()}


def _has_data(param: Any) -> bool:
    return getattr(param, "_data", None) is not None


@dataclass(frozen=True)
class SaveRequest:
    """``--save PATH [--force]``."""

    path: str
    force: bool = False


@dataclass(frozen=True)
class LoadRequest:
    """``--load PATH [--allow-missing] [--ignore-extra]``."""

    path: str
    allow_missing: bool = False
    ignore_extra: bool = False


@dataclass(frozen=True)
class SaveResult:
    path: str
    arrays: int
    values: int
    size: int

    @property
    def message(self) -> str:
        return (
            f"saved {plural(self.arrays, 'array')} ({self.values:,} values) to {self.path} "
            f"({self.size:,} bytes)"
        )


@dataclass(frozen=True)
class LoadResult:
    path: str
    loaded: Tuple[str, ...]  # parameter names that got values from the file
    missing: Tuple[str, ...] = ()  # kept their values (--allow-missing)
    ignored: Tuple[str, ...] = ()  # file keys nobody used (--ignore-extra)
    notes: Tuple[str, ...] = field(default=())

    @property
    def message(self) -> str:
        msg = f"loaded {plural(len(self.loaded), 'parameter')} from {self.path}"
        if self.missing:
            msg += f"; kept {len(self.missing)} missing ({', '.join(self.missing)})"
        if self.ignored:
            msg += f"; ignored {len(self.ignored)} extra ({', '.join(self.ignored)})"
        return "; ".join((msg, *self.notes))


def _save_keys(net: Any) -> Dict[str, Any]:
    """Key -> Parameter as the file is written: ``save_parameters``' structural keys for a
    Block; for an exported graph (a SymbolBlock), the names with ``arg:``/``aux:`` as
    ``HybridBlock.export`` writes them (save_parameters would strip the parameters' common
    prefix: ``half_dense0_weight`` became ``0_weight``, a key the graph does not know)."""
    import mxnet as mx

    if isinstance(net, mx.gluon.SymbolBlock):
        aux = set(net._cached_graph[1].list_auxiliary_states())
        return {("aux:" if n in aux else "arg:") + n: p for n, p in net.collect_params().items()}
    return structural_params(net)


def save_params(model: Any, path: str, force: bool = False) -> SaveResult:
    """The parameters as ``model.net.save_parameters(path)`` writes them (an exported
    graph's as ``export`` does), atomically (see :func:`atomic_write`); each array in the
    dtype it was stored in (a float16 file computed in float32 is saved as float16).

    Raises:
        CheckpointError: a parameter has no values yet, or the file cannot be written.
    """

    params = _save_keys(model.net)
    deferred = [k for k, p in params.items() if not _has_data(p)]
    if deferred:
        raise CheckpointError(
            f"cannot save {quote(path)}: {', '.join(deferred)} have no values yet "
            "(deferred initialization); run without --before-forward"
        )
    stored = stored_dtypes(model.layout, model.params)

    arrays = {
        k: p.data().astype(stored[p.name]) if p.name in stored else p.data()
        for k, p in params.items()
    }
    size = save_ndarrays(arrays, path, force)
    values = sum(math.prod(p.data().shape) for p in params.values())
    return SaveResult(str(path), len(params), values, size)


def _short_list(items: List[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _shape_fits(want: Tuple[int, ...], got: Tuple[int, ...]) -> bool:
    """A net shape with 0 (deferred input width) accepts any size there, as MXNet does."""
    return len(want) == len(got) and all(w in (0, g) for w, g in zip(want, got))


def load_params(
    model: Any, path: str, allow_missing: bool = False, ignore_extra: bool = False
) -> LoadResult:
    """Load a parameter file into ``model.net``, like ``net.load_parameters``.

    Keys may be structural (``0.weight``, from ``save_parameters``, shared parameters under
    one or all of their layers) or parameter names (``dense0_weight``, optionally with
    Module-style ``arg:``/``aux:`` prefixes). Every problem is found before anything is
    changed and reported in one error.

    Raises:
        CheckpointError: unreadable file; missing keys (unless ``allow_missing``), extra keys
            (unless ``ignore_extra``), shape or dtype mismatches (always), or a shared
            parameter stored twice with different values.
    """
    import mxnet as mx

    pf = read_params(path)
    if not pf.named and pf.arrays:
        raise CheckpointError(
            f"cannot load {quote(path)}: it holds a plain list of arrays without names, "
            "so they cannot be matched to parameters"
        )
    arrays = dict(pf.arrays)
    if arrays and all(k.startswith(("arg:", "aux:")) for k in arrays):
        arrays = {k[4:]: v for k, v in arrays.items()}
    if any("." in k for k in arrays) or not arrays:
        # keys as save_parameters writes them: each parameter under every layer using it
        by_param: Dict[int, List[str]] = {}
        params: Dict[int, Any] = {}
        for key, p in structural_params(model.net).items():
            by_param.setdefault(id(p), []).append(key)
            params[id(p)] = p
        groups = [(params[i], keys) for i, keys in by_param.items()]
    else:
        groups = [(p, [name]) for name, p in model.params.items()]

    known = {k for _, keys in groups for k in keys}
    missing = [keys[0] for _, keys in groups if not any(k in arrays for k in keys)]
    extra = [k for k in arrays if k not in known]
    mismatched: List[str] = []
    casts: Dict[Tuple[str, str], List[str]] = {}
    conflicts: List[str] = []
    plan: List[Tuple[Any, str]] = []
    for p, keys in groups:
        present = [k for k in keys if k in arrays]
        if not present:
            continue
        for k in present:
            a = arrays[k]
            want = tuple(p.shape)
            if not _shape_fits(want, a.shape):
                mismatched.append(f"{k}: file {tuple(a.shape)} vs net {want}")
            elif np.dtype(p.dtype) != a.dtype:
                into = np.dtype(p.dtype)
                widening = a.dtype.kind == into.kind == "f" and a.dtype.itemsize < into.itemsize
                if widening:  # float16 values into a float32 net are exact: cast, with a note
                    casts.setdefault((a.dtype.name, np.dtype(p.dtype).name), []).append(k)
                else:
                    mismatched.append(f"{k}: file {a.dtype.name} vs net {np.dtype(p.dtype).name}")
        first = arrays[present[0]]
        for k in present[1:]:
            other = arrays[k]
            if other.shape == first.shape and other.tobytes() != first.tobytes():
                conflicts.append(f"{present[0]} and {k}")
        plan.append((p, present[0]))

    problems = []
    if missing and not allow_missing:
        problems.append(f"missing {len(missing)} ({_short_list(missing)})")
    if extra and not ignore_extra:
        problems.append(f"extra {len(extra)} ({_short_list(extra)})")
    if mismatched:
        problems.append(f"{len(mismatched)} mismatched ({_short_list(mismatched, 4)})")
    if conflicts:
        problems.append(
            f"shared parameter stored with different values under {_short_list(conflicts, 4)}"
        )
    if problems:
        hints = []
        if missing and not allow_missing:
            hints.append("--allow-missing keeps initialized values for missing keys")
        if extra and not ignore_extra:
            hints.append("--ignore-extra skips extra keys")
        raise CheckpointError(
            f"cannot load {quote(path)} into {model.source.label}: "
            + "; ".join(problems)
            + (f" ({'; '.join(hints)})" if hints else "")
        )

    for p, key in plan:
        p._load_init(mx.nd.array(arrays[key], dtype=np.dtype(p.dtype)), None)
    label = Path(path).name
    loaded = tuple(p.name for p, _ in plan)
    for name in loaded:
        model.init[name] = f"loaded({label})"
    notes = tuple(
        f"{plural(len(keys), 'array')} cast from {got} to {want} (the net's dtype) as "
        f"{'it was' if len(keys) == 1 else 'they were'} loaded"
        + f"; every {got} value is exact in {want}"
        for (got, want), keys in casts.items()
    )
    return LoadResult(str(path), loaded, tuple(missing), tuple(extra), notes)
