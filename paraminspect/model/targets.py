"""Which parameters an init or set reaches, and whether an initializer suits them (no MXNet).

MXNet's rules, mirrored statically from the plan:

- re-initializing *all* parameters is ``net.initialize(init, force_reinit=True)``: a
  parameter with an initializer of its own (a Dense bias's ``zeros``, a batch-norm
  ``gamma``'s ``ones``, a per-layer ``init:`` in the spec) is re-drawn with its own, every
  other one (the weights) gets ``init``. That is why the book's biases stay 0.
- re-initializing a *selection* is ``param.initialize(init=init, force_reinit=True)`` for
  each selected parameter in ``collect_params`` order: ``init`` wins over the parameter's
  own, so Xavier on a 1-D bias fails, and is refused here before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from paraminspect.errors import InitializerError, OptionError
from paraminspect.init.catalog import CATALOG, describe, resolve_params
from paraminspect.model.selection import select_names

# The plan and the spec loader (pydantic, PyYAML) are only needed for a spec; a graph's
# grad/show imports this module for Origin and must not pay for them.
if TYPE_CHECKING:
    from paraminspect.model.plan import NetPlan
    from paraminspect.spec.load import LoadedSpec

MXNET_DEFAULT = ("uniform", {"scale": 0.07})  # Block.initialize() without an initializer


@dataclass(frozen=True)
class Origin:
    """The initializer that produced a parameter's current values (for ``--check``)."""

    method: str  # a catalog name, or "plugin" (no theory)
    params: Dict[str, Any]
    label: str  # for tables: normal(sigma=0.01), plugin:file.py:Class, ...

    @classmethod
    def of(cls, method: str, params: Dict[str, Any]) -> Origin:
        return cls(method, dict(params), describe(method, params))


def own_initializers(loaded: LoadedSpec, plan: NetPlan) -> Dict[str, Optional[Origin]]:
    """Each parameter's own initializer (Gluon's ``Parameter.init``), None for the weights
    that take the net-wide one."""
    from paraminspect.model.plan import LAYER_DEFAULT_INIT

    out: Dict[str, Optional[Origin]] = {}
    for p in plan.unique_params:
        layer = plan.layers[p.owner].spec
        inits = layer.init or {}
        if p.short in inits:
            out[p.name] = Origin.of(inits[p.short].method, inits[p.short].params)
        elif p.short in LAYER_DEFAULT_INIT:
            _, params = resolve_params(LAYER_DEFAULT_INIT[p.short], {})
            out[p.name] = Origin.of(LAYER_DEFAULT_INIT[p.short], params)
        else:
            out[p.name] = None
    return out


def spec_origins(loaded: LoadedSpec, plan: NetPlan) -> Dict[str, Origin]:
    """The initializer each parameter gets from the spec itself (MXNet's default included)."""
    net = loaded.spec.init
    default = Origin.of(net.method, net.params) if net is not None else Origin.of(*MXNET_DEFAULT)
    return {name: own or default for name, own in own_initializers(loaded, plan).items()}


def targets(
    plan: NetPlan, select: Optional[str] = None, layers: Sequence[str] = ()
) -> Tuple[List[str], bool]:
    """Parameter names an init/set acts on, and whether they were chosen explicitly.

    Raises:
        OptionError: a bad ``--layer``/``--select`` or one that matches nothing.
    """
    explicit = select is not None or bool(layers)
    return select_names(plan, layers, select), explicit


def check_applicable(
    method: str, loaded: LoadedSpec, plan: NetPlan, names: Sequence[str], explicit: bool
) -> None:
    """Refuse an initializer MXNet would reject on the parameters it would reach.

    Raises:
        InitializerError: e.g. Xavier on a 1-D bias that was selected explicitly.
    """
    entry = CATALOG[method]
    if not entry.weight_only:
        return
    shapes = {p.name: p.shape for p in plan.unique_params}
    own = own_initializers(loaded, plan)
    # Re-initializing all: only parameters without their own initializer get `method`.
    reached = list(names) if explicit else [n for n in names if own[n] is None]
    need = 4 if method == "bilinear" else 2
    for name in reached:
        shape = shapes[name]
        if len(shape) < need:
            what = "a 4-D (deconvolution) weight" if need == 4 else "at least 2 dimensions"
            hint = (
                "no layer a spec builds has one"
                if need == 4
                else "select weights only, e.g. --select '.*weight'"
            )
            why = "" if need == 4 else " (fan_in, fan_out)"
            raise InitializerError(
                f"{method} needs {what}{why} but {name} has shape {shape}; {hint}"
            )


def check_step_targets(loaded: LoadedSpec, plan: NetPlan) -> None:
    """Check what every ``steps:`` entry selects against the plan, with the step's line.

    Raises:
        SpecError: a layer or regex that matches nothing, or an initializer that cannot
            apply to what it selects.
    """
    for i, step in enumerate(loaded.spec.steps):
        kind = step.kind
        select, layers = step.target
        try:
            names, explicit = targets(plan, select, layers)
        except OptionError as e:
            key = "layer" if e.option == "--layer" else "select"
            raise loaded.error(("steps", i, kind, key), str(e)) from None
        if step.init is not None:
            try:
                check_applicable(step.init.method, loaded, plan, names, explicit)
            except InitializerError as e:
                raise loaded.error(("steps", i, kind, "method"), str(e)) from None


def step_label(index: int, step: Any) -> str:
    """``step 1: init normal(sigma=0.01) on all parameters`` for headings."""
    select, layers = step.target
    where = []
    if layers:
        where.append(f"layer {', '.join(layers)}")
    if select is not None:
        where.append(f"select '{select}'")
    on = " and ".join(where) if where else "all parameters"
    if step.init is not None:
        return f"step {index + 1}: init {step.init.describe()} on {on}"
    edit = step.edit
    return f"step {index + 1}: set {edit.op} {edit.value:g} on {on}"


def origin_theory(origin: Origin, shape: Tuple[int, ...]) -> Any:
    """The :class:`~paraminspect.init.theory.Theory` that ``origin`` promises for ``shape``.

    The one place that maps "the initializer that set a parameter" to its law: ``--check``
    compares values with it and ``--hist`` draws its expected counts.
    """
    from paraminspect.init.theory import Theory, theory_for

    if origin.method in CATALOG:
        return theory_for(origin.method, origin.params, shape)
    return Theory("none", origin.label, reason="no theory for a plugin initializer")
