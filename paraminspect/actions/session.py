"""Change a built network's parameters the way the book does: re-initialize and set_data.

Everything here acts on a :class:`~paraminspect.model.build.Model` after the first forward
pass and keeps two things right for the reports: ``Model.init`` (the table's init column)
and the :class:`~paraminspect.model.targets.Origin` of every parameter (what ``--check``
compares with). MXNet is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence

from paraminspect.errors import BuildError
from paraminspect.model.build import Model
from paraminspect.model.targets import Origin, own_initializers, spec_origins, targets


@dataclass
class Session:
    """A model plus, per parameter, the initializer that produced its current values."""

    model: Model
    origins: Dict[str, Origin] = field(default_factory=dict)
    own: Dict[str, Optional[Origin]] = field(default_factory=dict)

    @classmethod
    def start(cls, model: Model) -> Session:
        if model.source.kind != "spec":
            drawn = {n: origin_from_text(t) for n, t in model.init.items()}
            origins = {n: o for n, o in drawn.items() if o is not None}
            return cls(model, origins, net_own_initializers(model))
        return cls(
            model,
            spec_origins(model.loaded, model.plan),
            own_initializers(model.loaded, model.plan),
        )


# What Gluon's Initializer gives a parameter by its name's suffix in ``net.initialize(init)``
# (``_init_bias``, ``_init_gamma``, ...): only ``*weight`` (and unknown names) get ``init``.
_BY_SUFFIX = (
    ("bias", "zero"),
    ("beta", "zero"),
    ("gamma", "one"),
    ("running_mean", "zero"),
    ("moving_mean", "zero"),
    ("running_var", "one"),
    ("moving_var", "one"),
)


_ALIASES = {"zeros": "zero", "ones": "one"}


def origin_from_text(text: str) -> Optional[Origin]:
    """The Origin of a Layout's init text (``uniform(scale=0.07)``, ``zeros``); None for
    values that no initializer drew (``loaded``) or a text it cannot read."""
    import re

    m = re.fullmatch(r"([a-z_]+)(?:\((.*)\))?", text.strip())
    if m is None or text == "loaded":
        return None
    params: Dict[str, Any] = {}
    for part in filter(None, (m.group(2) or "").split(",")):
        key, _, value = part.strip().partition("=")
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    return Origin.of(_ALIASES.get(m.group(1), m.group(1)), params)


def net_own_initializers(model: Model) -> Dict[str, Optional[Origin]]:
    """For a graph or Block: the law a net-wide ``initialize(init)`` does not apply, by name."""
    out: Dict[str, Optional[Origin]] = {}
    for name in model.params:
        own = next((law for suffix, law in _BY_SUFFIX if name.endswith(suffix)), None)
        out[name] = Origin.of(own, {}) if own is not None else None
    return out


def _mxnet_failure(what: str, e: Exception) -> BuildError:
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    return BuildError(f"{what} failed: {first}")


def reinit(
    session: Session,
    initializer: Any,
    origin: Origin,
    names: Sequence[str],
    explicit: bool,
) -> None:
    """Re-initialize with ``force_reinit=True``, as the book's In[9]-In[12] do.

    Args:
        session: the model and its origins.
        initializer: an ``mx.init.Initializer`` (built by ``Model.new_initializer`` or a plugin).
        origin: what ``initializer`` is, for the init column and ``--check``.
        names: the selected parameters (all of them when not ``explicit``).
        explicit: True: ``param.initialize(init=...)`` on each of ``names`` in
            ``collect_params`` order; False: ``net.initialize(init)``, where parameters
            with their own initializer (biases' ``zeros``) keep it.

    Raises:
        BuildError: MXNet or the initializer raised.
    """
    import mxnet as mx

    model = session.model
    params = model.params
    try:
        if explicit:
            for name in names:
                params[name].initialize(init=initializer, force_reinit=True)
        else:
            model.net.initialize(initializer, force_reinit=True)
    except (mx.base.MXNetError, ValueError, TypeError, IndexError, ArithmeticError) as e:
        raise _mxnet_failure(f"initializing with {origin.label}", e) from e
    finally:
        model.drain_log()
    for name in names:
        now = origin if explicit else (session.own[name] or origin)
        session.origins[name] = now
        model.init[name] = now.label


def set_values(session: Session, op: str, value: float, names: Sequence[str]) -> None:
    """``param.set_data(...)`` with ``data + value``, ``data * value`` or ``value`` (In[13])."""
    from mxnet import nd

    model = session.model
    params = model.params
    for name in names:
        p = params[name]
        data = p.data()
        if op == "add":
            new = data + value
            change = f"{value:+g}"
        elif op == "scale":
            new = data * value
            change = f"*{value:g}"
        else:
            new = nd.full(data.shape, value, dtype=data.dtype)
            change = f"filled with {value:g}"
        p.set_data(new)
        model.init[name] = f"{model.init.get(name, '?')}, then {change}"


def apply_steps(session: Session, after: Optional[Callable[[int, Any], None]] = None) -> None:
    """Run the spec's ``steps:`` in order; ``after(i, step)`` is called after each one."""
    model = session.model
    for i, step in enumerate(model.loaded.spec.steps):
        select, layers = step.target
        names, explicit = targets(model.plan, select, layers)
        if step.init is not None:
            init = model.new_initializer(step.init.method, step.init.params)
            reinit(session, init, Origin.of(step.init.method, step.init.params), names, explicit)
        else:
            assert step.edit is not None
            set_values(session, step.edit.op, step.edit.value, names)
        if after is not None:
            after(i, step)
