"""Model sources: each module turns one form of the MODEL argument into a Source.

:func:`parse_model_ref` tells the forms apart without importing MXNet and
:func:`open_source` is the one place that decides which form a MODEL argument is. Each
form's module has a ``load_*`` function returning ``(net, layout, notes)`` and a
``describe_*`` function returning the :class:`~paraminspect.model.layout.Layout` alone,
without allocating weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

from paraminspect.model.sources.refs import ModelKind, parse_model_ref, split_factory_ref

if TYPE_CHECKING:
    from paraminspect.model.params_io import LoadRequest
    from paraminspect.model.source import Source
    from paraminspect.model.sources.spec import SpecSource

ModelRef = Union[str, None, "Source", Any]  # Any: a live Gluon Block

__all__ = ["ModelKind", "ModelRef", "open_source", "open_spec_source", "parse_model_ref"]
__all__ += ["split_factory_ref"]


def is_block(obj: Any) -> bool:
    """A Gluon Block, told without importing MXNet (nothing else has both methods)."""
    return hasattr(obj, "collect_params") and hasattr(obj, "register_forward_hook")


def open_source(
    ref: ModelRef,
    inputs: Optional[Mapping[str, Any]] = None,
    load: Optional[LoadRequest] = None,
    mode: Optional[str] = None,
) -> Source:
    """The source a MODEL argument names (None: the built-in ``mlp``); a Source is kept.

    Args:
        ref: a spec path or built-in name, ``PATH-symbol.json``, ``zoo:NAME[,k=v]``,
            ``FILE.py:FUNC``, a live Gluon Block, or a Source.
        inputs: input name -> InputDesc (``--input``), shape, or (for a Block) array.
        load: ``--load`` for an exported graph (its weights); other sources load later.
        mode: ``'train'`` or ``'predict'`` for the forward passes; None: Gluon's default.

    Raises:
        SpecError: the spec or reference is missing, malformed or invalid.
        OptionError: inputs the source does not take.
    """
    from paraminspect.model.sources._common import normalize_inputs

    if is_block(ref):
        from paraminspect.model.sources.net import BlockSource, block_inputs

        label = f"block:{getattr(ref, 'name', type(ref).__name__)}"
        descs, arrays = block_inputs(inputs, label)
        return BlockSource(label, descs, mode, block=ref, arrays=arrays)
    if ref is not None and not isinstance(ref, str):
        return ref
    kind = "spec" if ref is None else parse_model_ref(ref)
    if kind == "spec":
        from paraminspect.errors import OptionError
        from paraminspect.model.sources.spec import open_spec

        for flag, given in (("--input", inputs), ("--mode", mode)):
            if given:
                raise OptionError(
                    f"{flag} applies to exported graphs, zoo: and FILE.py:FUNC models; a "
                    "YAML spec's input and passes come from the spec (edit its input:)",
                    flag,
                )
        return open_spec(ref)
    assert ref is not None
    from paraminspect.model.sources import net

    descs = normalize_inputs(inputs)
    if kind == "symbol":
        return net.SymbolSource(ref, descs, mode, load=load)
    if kind == "zoo":
        from paraminspect.model.sources.zoo import parse_zoo_ref

        parse_zoo_ref(ref)  # a bad name or option fails here, before MXNet is imported
        return net.ZooSource(ref, descs, mode)
    return net.FactorySource(ref, descs, mode)


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
