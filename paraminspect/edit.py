"""Change a built network's parameters the way the book does: re-initialize and set_data.

Everything here acts on a :class:`~paraminspect.model.build.Model` after the first forward pass
and keeps two things right for the reports: ``Model.init`` (the table's init column) and
the :class:`~paraminspect.model.targets.Origin` of every parameter (what ``--check`` compares with).
MXNet is imported inside the functions.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from paraminspect._text import did_you_mean
from paraminspect.errors import BuildError, OptionError
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
        return cls(
            model,
            spec_origins(model.loaded, model.plan),
            own_initializers(model.loaded, model.plan),
        )


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


def load_plugin(ref: str, kwargs: Mapping[str, Any]) -> Any:
    """Import ``FILE.py:ClassName`` and instantiate that ``mx.init.Initializer`` subclass.

    This runs the file's code, which is why only the command line may ask for it.

    Raises:
        OptionError: the reference is malformed, the file or class is missing, the class is
            not an Initializer, or creating it failed.
    """
    import mxnet as mx

    if ":" not in ref:
        raise OptionError(f"'{ref}' is not FILE.py:ClassName (e.g. my_inits.py:MyInit)", "--plugin")
    file, _, cls_name = ref.rpartition(":")
    path = Path(file)
    if path.suffix != ".py":
        raise OptionError(f"'{file}' is not a .py file (expected FILE.py:ClassName)", "--plugin")
    if not path.is_file():
        raise OptionError(f"file '{file}' not found", "--plugin")
    module_name = f"paraminspect_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always load
        raise OptionError(f"cannot import '{file}'", "--plugin")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise OptionError(f"importing '{file}' failed: {type(e).__name__}: {e}", "--plugin") from e
    found = [
        n
        for n, obj in vars(module).items()
        if isinstance(obj, type)
        and issubclass(obj, mx.init.Initializer)
        and obj.__module__ == module_name
    ]
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise OptionError(
            f"'{file}' has no class '{cls_name}'{did_you_mean(cls_name, found)} "
            f"(initializers in it: {', '.join(found) or 'none'})",
            "--plugin",
        )
    if not (isinstance(cls, type) and issubclass(cls, mx.init.Initializer)):
        raise OptionError(
            f"'{cls_name}' in '{file}' is not a subclass of mxnet.init.Initializer", "--plugin"
        )
    try:
        return cls(**kwargs)
    except Exception as e:
        raise OptionError(
            f"creating {cls_name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
            f"failed: {type(e).__name__}: {e}",
            "--plugin",
        ) from e


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
