"""Collect a :class:`~paraminspect.reports.params.ParamReport` from a built model: rows,
values, statistics, histograms, totals and the sharing map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from paraminspect.choices import DEFAULT_BINS
from paraminspect.model.dtypes import stored_dtypes
from paraminspect.model.fixgamma import shown_note
from paraminspect.model.layout import LayerDesc, Layout
from paraminspect.model.model import Model
from paraminspect.model.selection import Index, apply_slice, format_index, parse_slice, select_names
from paraminspect.model.source import Source
from paraminspect.model.targets import Origin, origin_theory, spec_origins
from paraminspect.reports.params import (
    ArrayView,
    Histogram,
    LayerInfo,
    ModelInfo,
    ParamReport,
    ParamRow,
    SharedGroup,
    Totals,
)
from paraminspect.stats import TensorStats, ndarray_l2, ndarray_stats

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
    hist: bool = False
    bins: int = DEFAULT_BINS
    hist_grad: bool = False  # histogram the gradient even without --grad (the grad command)

    @property
    def hist_of(self) -> str:
        """``grad`` when --hist draws gradients (with --grad, or in ``grad``), else ``data``."""
        return "grad" if self.grad or self.hist_grad else "data"

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
    """The header, from the model's layout (the same for every source)."""
    return layout_info(model.layout, model.source, model.forward_done, seed)


def layout_info(layout: Layout, source: Source, forward: bool, seed: Optional[int]) -> ModelInfo:
    """A :class:`ModelInfo` from a static layout (every source has one)."""
    return ModelInfo(
        name=layout.name,
        source=source.label,
        input_shape=layout.inputs[0].shape if layout.inputs else (),
        layers=tuple(
            LayerInfo(x.index, x.name, x.type, x.activation, layer_shares_with(layout, x), x.path)
            for x in layout.layers
        ),
        forward=forward,
        seed=seed,
        kind=source.kind,
    )


def totals(model: Model) -> Totals:
    """Counts from the live parameters (a deferred ``(256, 0)`` weight counts 0).

    ``total`` counts each use: a parameter once for every layer that reads it (a parameter
    no listed layer reads, once).
    """
    params = model.params
    sizes = {name: math.prod(_shape(p)) for name, p in params.items()}
    users = model.layout.users
    total = sum(sizes[name] * max(len(users.get(name, ())), 1) for name in sizes)
    unique = sum(sizes.values())
    frozen = sum(s for name, s in sizes.items() if params[name].grad_req == "null")
    stored = stored_dtypes(model.layout, params)
    nbytes = sum(sizes[n] * np.dtype(stored.get(n, params[n].dtype)).itemsize for n in sizes)
    return Totals(total, unique, unique - frozen, frozen, nbytes)


def _shape(param: Any) -> Tuple[int, ...]:
    """A parameter's shape; a SymbolBlock's stays None, so its data's (MXNet notes)."""
    if param.shape is not None:
        return tuple(param.shape)
    return tuple(param.data().shape) if param._data is not None else ()


def sharing(model: Model) -> Tuple[SharedGroup, ...]:
    return tuple(
        SharedGroup(name, layers) for name, layers in model.layout.users.items() if len(layers) > 1
    )


def histogram(
    values: np.ndarray,
    bins: int,
    of: str = "values",
    label: str = "",
    theory: Any = None,
    pattern: Optional[np.ndarray] = None,
    law: Optional[str] = None,
    note: str = "",
) -> Histogram:
    """``numpy.histogram`` of the finite ``values``, with the counts a law predicts.

    The range is the values' own, widened to a bounded law's support (so a uniform law's
    bins start and end at its bounds). All values equal (a point mass) gives one bin,
    numpy's ``[v - 0.5, v + 0.5]``.

    Args:
        values: the array (any shape; NaN/Inf are counted apart in ``nonfinite``).
        bins: the number of bins (>= 1).
        of: ``values`` or ``grad``, for the heading.
        label: what the histogram is of (``dense0_weight[0]``).
        theory: a :class:`~paraminspect.init.theory.Theory` giving expected counts, or None.
        pattern: an exact law's values for the same entries (constant, lstmbias): the
            expected counts are their histogram.
        law: the law's description for the heading; ``note``: why there is none.
    """
    from paraminspect.init.theory import expected_counts

    x = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = x[np.isfinite(x)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if theory is not None and theory.low is not None and theory.high is not None:
        lo, hi = min(lo, theory.low), max(hi, theory.high)
    counts, edges = np.histogram(finite, bins=1 if lo == hi else bins, range=(lo, hi))
    expected: Optional[np.ndarray] = None
    if pattern is not None:
        expected = np.histogram(np.asarray(pattern, dtype=np.float64), bins=edges)[0]
    elif theory is not None:
        expected = expected_counts(theory, int(finite.size), edges)
    if expected is None and law is not None and not note:
        note = f"no expected counts for {law}"
        law = None
    return Histogram(
        of=of,
        label=label,
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in counts),
        expected=None if expected is None else tuple(float(e) for e in expected),
        law=law if expected is not None else None,
        note=note,
        nonfinite=int(x.size - finite.size),
    )


def param_histogram(
    model: Model,
    name: str,
    view: ViewOptions,
    origin: Optional[Origin],
) -> Tuple[Optional[Histogram], str]:
    """The ``--hist`` of one parameter (its values, or its gradient), or ``(None, why not)``.

    The expected counts come from ``origin`` (the initializer that drew the values, as for
    ``--check``) only while the values are still the ones it drew: ``Model.init`` still
    names it, not a later ``set`` or ``--load``.
    """
    which = view.hist_of
    arr, why = param_array(model.params[name], which)
    if arr is None:
        return None, why
    index = view.index()
    shown = apply_slice(arr, index, name) if index is not None else arr
    label = (
        name
        + (".grad" if which == "grad" else "")
        + (f"[{format_index(index)}]" if index is not None else "")
    )
    of = "grad" if which == "grad" else "values"
    now = model.init.get(name, "?")
    if which == "grad":
        note = "gradients follow no initializer law"
        return histogram(shown, view.bins, of, label, note=note), ""
    if origin is None or now != origin.label:
        return histogram(shown, view.bins, of, label, note=f"no law for values set by {now}"), ""
    theory = origin_theory(origin, tuple(arr.shape))
    law = f"{theory.law}, the law of {origin.label}"
    if theory.kind == "none":
        return histogram(shown, view.bins, of, label, note=f"{origin.label}: {theory.reason}"), ""
    pattern = None
    if theory.kind == "exact":
        full = np.broadcast_to(theory.exact, arr.shape)
        pattern = apply_slice(full, index, name) if index is not None else full
    if theory.kind == "orthogonal":
        note = f"{law}: a matrix property, not a law for single values"
        return histogram(shown, view.bins, of, label, note=note), ""
    return histogram(shown, view.bins, of, label, theory, pattern, law), ""


def collect_rows(
    model: Model, view: ViewOptions, origins: Optional[Mapping[str, Origin]] = None
) -> List[ParamRow]:
    """One :class:`ParamRow` per selected parameter, with the arrays and stats asked for.

    ``origins`` (the initializer behind each parameter's values, as an edit session keeps
    them) gives ``--hist`` its expected law; by default, the spec's own initializers.
    """
    layout = model.layout
    names = select_names(layout, view.layers, view.select)
    if view.hist and origins is None:
        origins = spec_origins(model.loaded, model.plan) if model.source.kind == "spec" else {}
    index = view.index()
    params = model.params
    stored = stored_dtypes(layout, params)  # float16 files computed in float32
    users = layout.users
    owners = {name: (u[0] if u else 0) for name, u in users.items()}
    # Statistics first, in the order MXNet finishes the arrays when its passes are still
    # running (grad queues them): every weight (the passes only read them), then the
    # gradients from the last layer back (the order backward writes them). Reading one
    # then overlaps with MXNet computing the rest.
    value_stats = {n: param_stats(params[n], "data") for n in names} if view.stats else {}
    grad_stats_of = (
        {n: param_stats(params[n], "grad") for n in reversed(names)} if view.grad_stats else {}
    )
    rows = []
    for name in names:
        p = params[name]
        data = grad = None
        # Values are copied out (they are printed); statistics read MXNet's buffer in place.
        if view.values:
            arr, note = param_array(p, "data")
            data = _view(name, arr, note, index)
        if view.grad:
            arr, note = param_array(p, "grad")
            grad = _view(name, arr, note, index, suffix=".grad")
        stats, grad_stats = value_stats.get(name), grad_stats_of.get(name)
        hist, hist_note = None, ""
        if view.hist:
            assert origins is not None
            hist, hist_note = param_histogram(model, name, view, origins.get(name))
        rows.append(
            ParamRow(
                name=name,
                shape=_shape(p),
                dtype=stored.get(name, np.dtype(p.dtype).name),
                size=math.prod(_shape(p)),
                grad_req=p.grad_req,
                init=model.init.get(name, "?"),
                owner=owners[name],
                layers=users[name],
                data=data,
                grad=grad,
                stats=stats,
                grad_stats=grad_stats,
                hist=hist,
                hist_note=hist_note,
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
    origins: Optional[Mapping[str, Origin]] = None,
) -> ParamReport:
    """Everything ``show`` prints, as data (``origins``: see :func:`collect_rows`)."""
    rows = collect_rows(model, view, origins)
    all_notes = list(notes) + list(shown_note(model.layout.fixed_gammas, [r.name for r in rows]))
    if not model.forward_done:
        deferred = any(p._data is None for p in model.params.values())
        all_notes.append(
            "state after initialize() and before the first forward pass: "
            + (
                "a 0 in a shape is an input width MXNet learns from X (deferred "
                "initialization), so those weights have no values yet"
                if deferred
                else "every shape is already known (given, loaded, or found by a forward "
                "pass the net ran before this tool got it): nothing is deferred, so every "
                "weight has its values"
            )
        )
    return ParamReport(
        warnings=tuple(model.warnings) + numeric_warnings(rows),
        command=command,
        model=model_info(model, seed),
        parameters=tuple(rows),
        totals=totals(model),
        sharing=sharing(model),
        notes=tuple(all_notes),
        log=tuple(model.log),
    )


def plan_report(
    source: Source, view: ViewOptions, reason: str, command: str = "show"
) -> ParamReport:
    """The parameter table of a network from its layout alone: names, shapes, sizes, bytes.

    Nothing is imported from MXNet and nothing is allocated, so this works for networks far
    larger than memory. ``reason`` says why no network was built (it becomes a note).
    """
    layout = source.layout
    names = select_names(layout, view.layers, view.select)
    by_name = {p.name: p for p in layout.params}
    rows = [
        ParamRow(
            name=name,
            shape=by_name[name].shape,
            dtype=by_name[name].dtype,
            size=by_name[name].size,
            grad_req=by_name[name].grad_req,
            init=by_name[name].init,
            owner=by_name[name].users[0] if by_name[name].users else -1,
            layers=by_name[name].users,
        )
        for name in names
    ]
    unique, trainable = layout.unique_count, layout.trainable_count
    info = layout_info(layout, source, False, None)
    return ParamReport(
        command=command,
        model=info,
        parameters=tuple(rows),
        totals=Totals(
            layout.total_params, unique, trainable, unique - trainable, layout.param_bytes
        ),
        sharing=tuple(SharedGroup(p.name, p.users) for p in layout.params if len(p.users) > 1),
        notes=(
            *layout.notes,
            f"no network was built and no forward pass was run: {reason}",
            "shapes are the ones after the first forward pass, worked out from the spec; "
            "initializers are the ones the spec asks for (nothing was drawn)"
            if source.kind == "spec"
            else "shapes come from MXNet's symbolic shape inference; initializers are the "
            "ones a build would use (nothing was drawn or read)",
        ),
    )


def layer_shares_with(layout: Layout, layer: LayerDesc) -> Optional[int]:
    """The layer whose parameters ``layer`` uses, when every one of them belongs to another."""
    owners = {layout.param(name).users[0] for name in layer.params}
    if len(owners) == 1 and layer.params and next(iter(owners)) != layer.index:
        return next(iter(owners))
    return None


def weight_norms(model: Model, base: ParamReport) -> Dict[str, float]:
    """``||w||`` of every shown parameter, for ``||g||/||w||``.

    Read in place (no asnumpy, no float64 copy of the weights); with --stats the statistics
    already hold it (the same chunked sum) unless NaN/Inf were left out there.
    """
    params = model.params
    return {
        row.name: (
            row.stats.l2
            if row.stats is not None and row.stats.nan == 0 and row.stats.inf == 0
            else ndarray_l2(params[row.name].data())
        )
        for row in base.parameters
    }
