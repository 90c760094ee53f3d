"""``paraminspect show`` and ``check``: build the net as the book does and report on it."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.view import ViewOptions, collect_report, plan_report
from paraminspect.errors import OptionError, ResourceError
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.sources import ModelRef, open_source
from paraminspect.model.sources.spec import SpecSource
from paraminspect.reports.params import ParamReport


def show(
    spec: ModelRef,
    view: ViewOptions,
    seed: Optional[int] = None,
    before_forward: bool = False,
    shapes_only: bool = False,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> ParamReport:
    """Build ``spec``, initialize it, draw X, run one forward pass, and report parameters.

    Every source takes this one path. A net too large for memory gets the table of its
    layout instead (nothing allocated), as with ``shapes_only``, unless values or
    statistics were asked for: those need the arrays, so the command refuses. A spec's
    ``steps:`` run after the first forward pass.

    Args:
        spec: a MODEL argument (a spec path or built-in name; None: ``mlp``) or a source.
        view: which parameters and what of them to show.
        seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
        before_forward: stop after ``initialize()`` (the book's exercise 2).
        shapes_only: never import MXNet; names, shapes and sizes from the spec alone.
        load: load this parameter file into the net after building it (``--load``), before
            the spec's steps.
        save: write the parameters shown to this file (``--save``), atomically.
        inputs: ``--input`` name -> InputDesc (shape or .npy), for sources other than specs.
        mode: ``--mode train|predict`` for the forward pass.

    Raises:
        OptionError: ``shapes_only`` with ``--values``/``--grad``/``--stats``/``--save``/
            ``--load``.
        ResourceError: values or statistics of a network that cannot fit in memory.
    """
    source = open_source(spec, inputs, load, mode)
    view.index()  # a bad --slice fails before MXNet is imported
    wants_arrays = view.values or view.grad or view.stats or view.grad_stats or view.hist
    if shapes_only and wants_arrays:
        raise OptionError(
            "--shapes-only allocates nothing, so there are no values, gradients or "
            "statistics to show; drop --values/--grad/--stats/--hist or --shapes-only",
            "--shapes-only",
        )
    if shapes_only and (load is not None or save is not None):
        raise OptionError(
            "--shapes-only allocates nothing, so there are no parameters to load or save; "
            "drop --load/--save or --shapes-only",
            "--shapes-only",
        )
    wants_arrays = wants_arrays or load is not None or save is not None
    preflight(load, save)  # an existing target or a broken file: refused before building
    if shapes_only:
        return plan_report(source, view, "--shapes-only asks for the table alone")
    try:
        model = source.build(seed=seed, forward=not before_forward, before_forward=before_forward)
    except ResourceError as e:
        if wants_arrays:  # values and statistics need the arrays: the refusal says why
            raise
        return plan_report(source, view, str(e))
    model.log.extend(apply_load(model, load))
    notes = []
    origins = None  # the spec's own initializers, unless steps re-drew some
    steps = source.loaded.spec.steps if isinstance(source, SpecSource) else None
    if steps and before_forward:
        notes.append("the spec's steps were not applied: they run after the first forward pass")
    elif steps:
        from paraminspect.actions.session import Session, apply_steps

        session = Session.start(model)
        apply_steps(session)  # steps: run after the first forward pass
        origins = session.origins
    model.log.extend(apply_save(model, save))
    return collect_report(model, view, command="show", seed=seed, notes=notes, origins=origins)
