"""paraminspect: look inside the parameters of MXNet Gluon networks.

``import paraminspect as pi`` gives the Python API (see :mod:`paraminspect.api`):
:func:`show`, :func:`summary`, :func:`grad`, :func:`inspect`, :func:`diff`, :func:`load`,
:func:`watch`, :func:`export` and :func:`compare`, each returning the report the CLI
renders. Importing the package is
cheap: MXNet, click and rich are imported only when a function needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ParamInspectError",
    "__version__",
    "compare",
    "diff",
    "export",
    "grad",
    "inspect",
    "load",
    "show",
    "summary",
    "watch",
]

_API = frozenset(
    {"compare", "diff", "export", "grad", "inspect", "load", "show", "summary", "watch"}
)

if TYPE_CHECKING:
    from paraminspect.api import compare, diff, export, grad, inspect, load, show, summary, watch
    from paraminspect.errors import ParamInspectError


def __getattr__(name: str) -> Any:
    # PEP 562: the API module (and with it the core) is imported at first use only.
    if name in _API:
        from paraminspect import api

        return getattr(api, name)
    if name == "ParamInspectError":
        from paraminspect.errors import ParamInspectError

        return ParamInspectError
    raise AttributeError(f"module 'paraminspect' has no attribute '{name}'")


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
