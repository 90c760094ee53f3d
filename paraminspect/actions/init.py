"""``paraminspect init``, ``set``, ``run`` and ``show --check``: change parameters as the book's
4.2.2-4.2.3 do, replay a spec's steps, and compare values with their initializer's theory.

Everything a user can get wrong (method, parameters, selection, plugin reference) is
checked before MXNet draws a single number.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple

from paraminspect.actions._prologue import apply_load, apply_save, preflight
from paraminspect.actions.session import Session, apply_steps, reinit, set_values
from paraminspect.actions.view import ViewOptions, collect_report, collect_rows
from paraminspect.choices import SET_OPS
from paraminspect.errors import InitializerError, OptionError
from paraminspect.init.catalog import (
    CATALOG,
    InitMethod,
    parse_param_pairs,
    parse_param_value,
    resolve_option,
)
from paraminspect.init.plugin import load_plugin
from paraminspect.init.theory import CheckResult, check_values
from paraminspect.model.params_io import LoadRequest, SaveRequest
from paraminspect.model.selection import select_names
from paraminspect.model.source import Source
from paraminspect.model.sources import ModelRef, open_source
from paraminspect.model.sources._common import USER_INIT
from paraminspect.model.sources.spec import SpecSource
from paraminspect.model.targets import Origin, check_applicable, origin_theory, step_label, targets
from paraminspect.reports.edit import EditReport, TraceEntry


def catalog() -> Tuple[InitMethod, ...]:
    """Every initializer ``init --method`` accepts, in catalog order."""
    return tuple(CATALOG.values())


def _where(view: ViewOptions) -> str:
    parts = []
    if view.layers:
        parts.append(f"layer {', '.join(view.layers)}")
    if view.select is not None:
        parts.append(f"select '{view.select}'")
    return " and ".join(parts) if parts else "all parameters"


def _prepare(
    spec: ModelRef,
    view: ViewOptions,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
) -> Tuple[Source, List[str], bool]:
    """The source and the selected names (``explicit``: chosen by --select/--layer), with
    the ``load`` file and the ``save`` target checked: all before MXNet is imported."""
    source = open_source(spec, inputs, load, mode)
    view.index()  # a bad --slice fails before MXNet is imported
    if isinstance(source, SpecSource):
        names, explicit = targets(source.plan, view.select, view.layers)
    else:
        explicit = view.select is not None or bool(view.layers)
        names = select_names(source.layout, view.layers, view.select)
    preflight(load, save)
    return source, names, explicit


def _start(
    source: Source,
    view: ViewOptions,
    seed: Optional[int],
    trace: bool,
    load: Optional[LoadRequest] = None,
) -> Tuple[Session, List[TraceEntry]]:
    """Build as ``show`` does, load ``--load`` (if any), then run the spec's steps (recording
    each one if tracing)."""
    model = source.build(seed=seed)
    model.log.extend(apply_load(model, load))
    session = Session.start(model)
    entries: List[TraceEntry] = []

    def record(label: str) -> None:
        if trace:
            entries.append(TraceEntry(label, tuple(collect_rows(model, view, session.origins))))

    record("after the first forward pass" + (f" and loading {load.path}" if load else ""))
    if isinstance(source, SpecSource):
        apply_steps(session, after=lambda i, step: record(step_label(i, step)))
    return session, entries


def check_parameters(session: Session, names: Sequence[str]) -> Tuple[CheckResult, ...]:
    """Compare each parameter with the theory of the initializer that last set it."""
    params = session.model.params
    init = session.model.init
    # A live Block's (or a factory's) own initialize(init) left no record of init: those
    # values cannot be checked, and comparing them with a guessed law would be wrong.
    missing = [n for n in names if n not in session.origins and init.get(n) != USER_INIT]
    if missing:
        raise OptionError(
            f"--check needs values an initializer drew, but {missing[0]} was "
            f"{session.model.init.get(missing[0], 'set otherwise')}; re-initialize first "
            "(paraminspect init MODEL --method NAME --check)",
            "--check",
        )
    out = []
    for name in names:
        values = params[name].data().asnumpy()
        if name not in session.origins:
            out.append(unknown_init_result(name, tuple(values.shape)))
            continue
        origin = session.origins[name]
        theory = origin_theory(origin, tuple(values.shape))
        out.append(check_values(name, values, origin.label, theory))
    return tuple(out)


def unknown_init_result(name: str, shape: Tuple[int, ...]) -> CheckResult:
    """A ``skip`` for a parameter whose initializer the tool cannot know (the user's own
    ``initialize(init)``: MXNet keeps no record of ``init``)."""
    return CheckResult(
        parameter=name,
        shape=shape,
        initializer=USER_INIT,
        law="unknown",
        fan_in=None,
        fan_out=None,
        items=(),
        ks_statistic=None,
        ks_pvalue=None,
        status="skip",
        note=UNKNOWN_INIT_NOTE,
    )


UNKNOWN_INIT_NOTE = (
    "not checked: the values come from your initialize(), and MXNet keeps no record of "
    "the initializer it was given"
)


def _finish(
    session: Session,
    view: ViewOptions,
    command: str,
    seed: Optional[int],
    action: Optional[str],
    entries: List[TraceEntry],
    check: bool,
    save: Optional[SaveRequest],
    notes: Sequence[str] = (),
) -> EditReport:
    model = session.model
    names = select_names(model.layout, view.layers, view.select)
    if action is not None and entries:
        entries.append(TraceEntry(action, tuple(collect_rows(model, view, session.origins))))
    checks = check_parameters(session, names) if check else None
    model.log.extend(apply_save(model, save))
    report = collect_report(
        model, view, command=command, seed=seed, notes=notes, origins=session.origins
    )
    return EditReport(report, action, tuple(entries), checks, save.path if save else None)


def init(
    spec: ModelRef,
    method: Optional[str],
    params: Sequence[str],
    view: ViewOptions,
    seed: Optional[int] = None,
    plugin: Optional[str] = None,
    check: bool = False,
    trace: bool = False,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> EditReport:
    """Build ``spec``, run its steps, then re-initialize the selection (all by default).

    Any MODEL works: a graph, zoo or factory model has no steps; ``--check`` compares with
    the initializer's theory for each conv and dense shape (fans from
    :func:`paraminspect.init.theory.fans`).

    Args:
        spec: a path or built-in name.
        method: a catalog initializer (or None with ``plugin``).
        params: ``KEY=VALUE`` strings (``--param``).
        view: the selection (what is re-initialized and shown) and display options.
        seed: ``mx.random.seed`` first; None keeps MXNet's default stream.
        plugin: ``FILE.py:ClassName`` of an ``mx.init.Initializer`` subclass (runs its code).
        check: compare the re-initialized parameters with the initializer's theory.
        trace: keep the state after the build, each spec step and this command.
        load: load this parameter file right after the build, before the spec's steps.
        save: write the parameters afterwards (atomically).

    Raises:
        OptionError: bad method, parameter, selection or plugin (before anything runs).
        OutputError, CheckpointError: a refused ``save`` target or unreadable ``load`` file
            (also before anything runs).
    """
    given = parse_param_pairs(params)
    if (method is None) == (plugin is None):
        raise OptionError(
            "give exactly one of --method NAME and --plugin FILE.py:ClassName "
            "(see `paraminspect init --list`)",
            "--method",
        )
    source, names, explicit = _prepare(spec, view, inputs, mode, load, save)
    plugin_init: Any = None
    if method is not None:
        method, resolved = resolve_option(method, given, "--method", "--param")
        try:
            if isinstance(source, SpecSource):
                check_applicable(method, source.loaded, source.plan, names, explicit)
            else:
                check_net_applicable(method, source.layout, names, explicit)
        except InitializerError as e:
            raise OptionError(str(e), "--select" if explicit else "--method") from None
        origin = Origin.of(method, resolved)
    else:
        assert plugin is not None
        kwargs = {k: parse_param_value(v) for k, v in given.items()}
        plugin_init = load_plugin(plugin, kwargs)
        args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        origin = Origin("plugin", kwargs, f"{plugin}({args})")
    session, entries = _start(source, view, seed, trace, load)
    model = session.model
    if plugin_init is not None:
        model.initializers.append(plugin_init)  # its .log lines, if any, reach stderr
        initializer = plugin_init
    else:
        initializer = model.new_initializer(origin.method, origin.params)
    reinit(session, initializer, origin, names, explicit)
    action = f"init {origin.label} on {_where(view)}"
    return _finish(session, view, "init", seed, action, entries, check, save)


def set_(
    spec: ModelRef,
    op: str,
    value: float,
    view: ViewOptions,
    seed: Optional[int] = None,
    check: bool = False,
    trace: bool = False,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> EditReport:
    """Build ``spec``, run its steps, then ``set_data`` on the selection (the book's In[13]).

    Raises:
        OptionError: no selection, a bad selection or a non-finite value.
    """
    if op not in SET_OPS:  # pragma: no cover - click restricts it
        raise OptionError(f"unknown operation '{op}'", "--add")
    if view.select is None and not view.layers:
        raise OptionError(
            "say which parameters to change, e.g. --select dense0_weight (set never "
            "changes every parameter implicitly)",
            "--select",
        )
    source, names, _ = _prepare(spec, view, inputs, mode, load, save)
    session, entries = _start(source, view, seed, trace, load)
    set_values(session, op, value, names)
    action = f"set {op} {value:g} on {_where(view)}"
    return _finish(session, view, "set", seed, action, entries, check, save)


def run(
    spec: ModelRef,
    view: ViewOptions,
    seed: Optional[int] = None,
    check: bool = False,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> EditReport:
    """Build ``spec`` (and ``load``), replay its steps, keeping the shown parameters after
    each one; ``save`` writes the final state. A model other than a spec has no steps."""
    source, _, _ = _prepare(spec, view, inputs, mode, load, save)
    session, entries = _start(source, view, seed, trace=True, load=load)
    notes = []
    if not isinstance(source, SpecSource):
        notes.append("a model other than a YAML spec has no steps: only the build is shown")
    elif not source.loaded.spec.steps:
        notes.append("the spec has no steps: only the build is shown")
    if check and load is not None:
        notes.append(LOADED_CHECK_NOTE)
    return _finish(session, view, "run", seed, None, entries, check, save, notes)


LOADED_CHECK_NOTE = (
    "--check compares the loaded values with the spec's initializers: weights that moved "
    "since initialization (a trained checkpoint) fail"
)


def show_check(
    spec: ModelRef,
    view: ViewOptions,
    seed: Optional[int] = None,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
) -> EditReport:
    """``show --check``: the spec's own initializers (and its init steps) against theory;
    values moved afterwards (a set step, or a loaded checkpoint that was trained) fail.
    Other models are checked against the laws their build used (see ``Session.start``)."""
    source, _, _ = _prepare(spec, view, inputs, mode, load, save)
    session, _ = _start(source, view, seed, trace=False, load=load)
    notes = [LOADED_CHECK_NOTE] if load is not None else []
    return _finish(session, view, "show", seed, None, [], True, save, notes)


def check_net_applicable(method: str, layout: Any, names: Sequence[str], explicit: bool) -> None:
    """Refuse a fan-based initializer on a 1-D parameter chosen explicitly (a graph or Block).

    Raises:
        InitializerError: naming the parameter and what to select instead.
    """
    if not explicit or method not in ("xavier", "msraprelu"):
        return
    flat = [n for n in names if len(layout.param(n).shape) < 2]
    if flat:
        raise InitializerError(
            f"{method} needs a weight of 2 or more dimensions (it computes fans), but "
            f"{flat[0]} has shape {layout.param(flat[0]).shape}; select weights only, e.g. "
            "--select '.*weight'"
        )
