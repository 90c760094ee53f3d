"""Model sources: each module turns one form of the MODEL argument into a Source.

:func:`parse_model_ref` tells the forms apart without importing MXNet and
:func:`open_source` is the one place that decides which form a MODEL argument is. Each
form's module has a ``load_*`` function returning ``(net, layout, notes)`` and a
``describe_*`` function returning the :class:`~paraminspect.model.layout.Layout` alone,
without allocating weights.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from paraminspect.model.source import Source
    from paraminspect.model.sources.spec import SpecSource

ModelRef = Union[str, None, "Source"]
ModelKind = Literal["symbol", "zoo", "factory", "spec"]

_FACTORY = re.compile(r"^(?P<file>.+\.py):(?P<func>[A-Za-z_]\w*)$")


def parse_model_ref(text: str) -> ModelKind:
    """Which form a MODEL string is.

    ``zoo:NAME[,k=v...]`` -> 'zoo'; ``FILE.py:FUNC`` (or a bare ``FILE.py``) -> 'factory';
    a name ending in ``.json`` (an exported ``-symbol.json``) -> 'symbol'; anything else ->
    'spec' (YAML).
    """
    if text.startswith("zoo:"):
        return "zoo"
    if _FACTORY.match(text) or re.search(r"\.py(:|$)", text):
        return "factory"  # a malformed FILE.py:FUNC is told how to write it there
    if text.lower().endswith(".json"):
        return "symbol"
    return "spec"


def split_factory_ref(text: str) -> tuple[str, str]:
    """``models/net.py:build`` -> ``('models/net.py', 'build')``.

    Raises:
        SpecError: not of the form FILE.py:FUNC.
    """
    m = _FACTORY.match(text)
    if not m:
        from paraminspect.errors import SpecError

        raise SpecError(
            f"bad factory reference '{text}': write FILE.py:FUNC (e.g. models/net.py:build)"
        )
    return m.group("file"), m.group("func")


def open_source(ref: ModelRef) -> Source:
    """The source a MODEL argument names (None: the built-in ``mlp``); a Source is kept.

    Raises:
        SpecError: the spec is missing, malformed or invalid.
    """
    if ref is not None and not isinstance(ref, str):
        return ref
    from paraminspect.model.sources.spec import open_spec

    return open_spec(ref)


def open_spec_source(ref: ModelRef, needs: str = "this command") -> SpecSource:
    """Like :func:`open_source`, for what only a YAML spec has (``steps:``, its initializers).

    Raises:
        OptionError: the MODEL argument is not a spec.
    """
    from paraminspect.errors import OptionError
    from paraminspect.model.sources.spec import SpecSource

    source = open_source(ref)
    if not isinstance(source, SpecSource):
        raise OptionError(f"{source.label} is a {source.kind} model; {needs} needs a YAML spec")
    return source
