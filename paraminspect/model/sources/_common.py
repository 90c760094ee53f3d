"""Helpers the sources share: input normalization and initializer descriptions."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional, Union

from paraminspect.model.layout import InputDesc, Shape

InputsArg = Optional[Mapping[str, Union[InputDesc, Shape]]]
DEFAULT_INIT = "uniform(scale=0.07)"  # what Gluon's initialize() uses without an argument
USER_INIT = "your initialize()"  # a live Block's values: MXNet keeps no record of the init


def normalize_inputs(inputs: InputsArg) -> Dict[str, InputDesc]:
    """Accept shapes or InputDescs; return InputDescs, in the order given."""
    out: Dict[str, InputDesc] = {}
    for name, value in (inputs or {}).items():
        out[name] = value if isinstance(value, InputDesc) else InputDesc(name, tuple(value))
    return out


def init_text(init: Any, default: str = DEFAULT_INIT) -> str:
    """How an initializer reads in a table.

    ``None`` -> the default; ``'zeros'`` -> ``zero``; an Initializer or its JSON
    (``'["Constant", {"value": 0.25}]'``) -> ``constant(value=0.25)``. MXNet's aliases
    ``zeros``/``ones`` read as the catalog's ``zero``/``one``, the names a spec's table
    uses, so a spec and the same Block spell them alike.
    """
    if init is None:
        return default
    if hasattr(init, "dumps"):
        init = init.dumps()
    if isinstance(init, str) and init.startswith("["):
        try:
            name, kwargs = json.loads(init)
        except (ValueError, TypeError):
            return init
        args = ", ".join(f"{k}={v}" for k, v in (kwargs or {}).items())
        method = _canonical(str(name))
        return f"{method}({args})" if args else method
    return _canonical(str(init))


def _canonical(method: str) -> str:
    method = method.lower()
    return {"zeros": "zero", "ones": "one"}.get(method, method)
