"""Model sources: each module turns one form of the MODEL argument into a Source.

:func:`open_source` is the one place that decides which form a MODEL argument is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from paraminspect.model.source import Source
    from paraminspect.model.sources.spec import SpecSource

ModelRef = Union[str, None, "Source"]


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
