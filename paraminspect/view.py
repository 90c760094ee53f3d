"""Turn a built :class:`~paraminspect.build.Model` into a :class:`ParamReport`.

This is the one place that reads parameters out of MXNet for display: which ones
(``--layer``/``--select``), which part (``--slice``), and which statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from paraminspect.build import Model
from paraminspect.report import (
    ArrayView,
    LayerInfo,
    ModelInfo,
    ParamReport,
    ParamRow,
    SharedGroup,
    Totals,
)
from paraminspect.selection import Index, apply_slice, format_index, parse_slice, select_names
from paraminspect.stats import TensorStats, ndarray_stats

DEFERRED_NOTE = (
    "not initialized yet: its input width is learned at the first forward pass "
    "(deferred initialization); run without --before-forward to see values"
)


@dataclass(frozen=True)
class ViewOptions:
    """What to show of each selected parameter (the shared display flags)."""

    layers: Tuple[str, ...] = ()
    select: Optional[str] = None
    values: bool = False
    grad: bool = False
    slice: Optional[str] = None
    stats: bool = False
    grad_stats: bool = False

    def index(self) -> Optional[Index]:
        return parse_slice(self.slice) if self.slice is not None else None


def param_ndarray(param: Any, which: str) -> Tuple[Any, str]:
    """``param.data()`` or ``param.grad()`` as the NDArray itself, or ``(None, why not)``."""
    from mxnet.gluon.parameter import DeferredInitializationError

    if which == "grad" and param.grad_req == "null":
        return None, "no gradient: grad_req is 'null' (not trained by backpropagation)"
    try:
        return (param.data() if which == "data" else param.grad()), ""
    except DeferredInitializationError:
        return None, DEFERRED_NOTE


def param_array(param: Any, which: str) -> Tuple[Optional[np.ndarray], str]:
    """``param.data()`` or ``param.grad()`` as numpy, or ``(None, why not)``."""
    nd, note = param_ndarray(param, which)
    return (None, note) if nd is None else (nd.asnumpy(), "")


def param_stats(param: Any, which: str) -> Optional[TensorStats]:
    """Statistics of ``data()``/``grad()`` read in place (no copy), None if it does not exist."""
    nd, _ = param_ndarray(param, which)
    return None if nd is None else ndarray_stats(nd)


def _view(
    name: str, array: Optional[np.ndarray], note: str, index: Optional[Index], suffix: str = ""
) -> ArrayView:
    label = name + suffix + (f"[{format_index(index)}]" if index is not None else "")
    if array is None:
        return ArrayView(label, None, note)
    return ArrayView(label, apply_slice(array, index, name) if index is not None else array)


def model_info(model: Model, seed: Optional[int]) -> ModelInfo:
    plan = model.plan
    return ModelInfo(
        name=plan.name,
        source=model.loaded.source,
        input_shape=plan.input_shape,
        layers=tuple(
            LayerInfo(x.index, x.name, x.type, x.activation, x.shares_with) for x in plan.layers
        ),
        forward=model.forward_done,
        seed=seed,
    )


def totals(model: Model) -> Totals:
    """Counts from the live parameters (a deferred ``(256, 0)`` weight counts 0)."""
    params = model.params
    sizes = {name: math.prod(p.shape) for name, p in params.items()}
    total = sum(sizes[p.name] for layer in model.plan.layers for p in layer.params)
    unique = sum(sizes.values())
    frozen = sum(s for name, s in sizes.items() if params[name].grad_req == "null")
    nbytes = sum(sizes[n] * np.dtype(params[n].dtype).itemsize for n in sizes)
    return Totals(total, unique, unique - frozen, frozen, nbytes)


def sharing(model: Model) -> Tuple[SharedGroup, ...]:
    return tuple(
        SharedGroup(name, layers) for name, layers in model.plan.users.items() if len(layers) > 1
    )


def collect_rows(model: Model, view: ViewOptions) -> List[ParamRow]:
    """One :class:`ParamRow` per selected parameter, with the arrays and stats asked for."""
    names = select_names(model.plan, view.layers, view.select)
    index = view.index()
    params = model.params
    users = model.plan.users
    owners = {p.name: p.owner for p in model.plan.unique_params}
    rows = []
    for name in names:
        p = params[name]
        data = grad = None
        stats = grad_stats = None
        # Values are copied out (they are printed); statistics read MXNet's buffer in place.
        if view.values:
            arr, note = param_array(p, "data")
            data = _view(name, arr, note, index)
        if view.stats:
            stats = param_stats(p, "data")
        if view.grad:
            arr, note = param_array(p, "grad")
            grad = _view(name, arr, note, index, suffix=".grad")
        if view.grad_stats:
            grad_stats = param_stats(p, "grad")
        rows.append(
            ParamRow(
                name=name,
                shape=tuple(p.shape),
                dtype=np.dtype(p.dtype).name,
                size=math.prod(p.shape),
                grad_req=p.grad_req,
                init=model.init.get(name, "?"),
                owner=owners[name],
                layers=users[name],
                data=data,
                grad=grad,
                stats=stats,
                grad_stats=grad_stats,
            )
        )
    return rows


def numeric_warnings(rows: Sequence[ParamRow]) -> Tuple[str, ...]:
    """One line per parameter whose values or gradient hold NaN or Inf."""
    out = []
    for row in rows:
        for what, stats in (("values", row.stats), ("gradient", row.grad_stats)):
            if stats is not None and (stats.nan or stats.inf):
                out.append(
                    f"{row.name} {what}: {stats.nan:,} NaN and {stats.inf:,} Inf of "
                    f"{stats.size:,} entries"
                )
    return tuple(out)


def collect_report(
    model: Model,
    view: ViewOptions,
    command: str = "show",
    seed: Optional[int] = None,
    notes: Sequence[str] = (),
) -> ParamReport:
    """Everything ``show`` prints, as data."""
    rows = collect_rows(model, view)
    all_notes = list(notes)
    if not model.forward_done:
        all_notes.append(
            "state after initialize() and before the first forward pass: "
            "a 0 in a shape is an input width MXNet learns from X (deferred "
            "initialization), so those weights have no values yet"
        )
    return ParamReport(
        warnings=numeric_warnings(rows),
        command=command,
        model=model_info(model, seed),
        parameters=tuple(rows),
        totals=totals(model),
        sharing=sharing(model),
        notes=tuple(all_notes),
        log=tuple(model.log),
    )


def plan_report(
    loaded: Any, plan: Any, view: ViewOptions, reason: str, command: str = "show"
) -> ParamReport:
    """The parameter table of a spec from its plan alone: names, shapes, sizes, bytes.

    Nothing is imported from MXNet and nothing is allocated, so this works for specs far
    larger than memory. ``reason`` says why no network was built (it becomes a note).
    """
    from paraminspect.plan import BYTES_PER_VALUE

    names = select_names(plan, view.layers, view.select)
    by_name = {p.name: p for p in plan.unique_params}
    users = plan.users
    rows = [
        ParamRow(
            name=name,
            shape=by_name[name].shape,
            dtype="float32",
            size=by_name[name].size,
            grad_req=by_name[name].grad_req,
            init=by_name[name].init,
            owner=by_name[name].owner,
            layers=users[name],
        )
        for name in names
    ]
    unique = plan.unique_count
    frozen = sum(p.size for p in plan.unique_params if p.grad_req == "null")
    return ParamReport(
        command=command,
        model=ModelInfo(
            name=plan.name,
            source=loaded.source,
            input_shape=plan.input_shape,
            layers=tuple(
                LayerInfo(x.index, x.name, x.type, x.activation, x.shares_with) for x in plan.layers
            ),
            forward=False,
            seed=None,
        ),
        parameters=tuple(rows),
        totals=Totals(plan.total_params, unique, unique - frozen, frozen, unique * BYTES_PER_VALUE),
        sharing=tuple(
            SharedGroup(name, layers) for name, layers in users.items() if len(layers) > 1
        ),
        notes=(
            f"no network was built and no forward pass was run: {reason}",
            "shapes are the ones after the first forward pass, worked out from the spec; "
            "initializers are the ones the spec asks for (nothing was drawn)",
        ),
    )
