"""A live Block's positional inputs from Python (the API), checked and named for its source.

``pi.show(net, X)`` passes inputs the way ``net(X)`` takes them; :class:`BlockSource`
takes them by name (as ``--input NAME=...`` does). :func:`named_inputs` counts them
against the Block's ``forward`` (or ``hybrid_forward``) signature and names them: one
input is ``data``, as a factory's or a graph's is, several take the signature's names.
A deferred net given no inputs is refused naming its first layer that needs a shape.
"""

from __future__ import annotations

import inspect as pyinspect
from typing import Any, Dict, List, Optional, Sequence, Tuple

from paraminspect.errors import OptionError


def input_count(net: Any) -> Tuple[int, Optional[int], List[str]]:
    """How many inputs ``net`` takes: (required, at most or None, their names)."""
    from mxnet.gluon import HybridBlock

    hybrid = (
        isinstance(net, HybridBlock) and type(net).hybrid_forward is not HybridBlock.hybrid_forward
    )
    fn = net.hybrid_forward if hybrid else net.forward
    params = list(pyinspect.signature(fn).parameters.values())
    if hybrid:
        params = params[1:]  # F
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if hybrid:  # the parameters hybrid_forward receives as keyword arguments
        positional = [p for p in positional if p.name not in net._reg_params]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    return len(required), None if varargs else len(positional), [p.name for p in positional]


def _first_deferred(net: Any) -> Optional[str]:
    """The message for the first layer whose parameters wait for a shape, if any."""
    from paraminspect.model.sources.block import walk_blocks

    for node in walk_blocks(net):
        for short, p in node.block._reg_params.items():
            if p.shape is None or 0 in tuple(p.shape):
                where = f" at {node.path}" if node.path else ""
                return (
                    f"{node.block.name} ({type(node.block).__name__}{where}) needs an input "
                    f"shape: its {short} is {tuple(p.shape or ())} until the first forward "
                    "pass (deferred initialization); give inputs, e.g. pi.show(net, (2, 20))"
                )
    return None


def named_inputs(net: Any, inputs: Sequence[Any], what: str) -> Dict[str, Any]:
    """``{name: value}`` for :func:`~paraminspect.model.sources.open_source`.

    Args:
        net: the Gluon Block.
        inputs: NDArrays, numpy arrays or shape tuples, in ``net(...)``'s order.
        what: the calling function, for messages (``pi.show``).

    Raises:
        OptionError: no inputs (naming the first deferred layer, if any), or the wrong
            number of them.
    """
    required, most, names = input_count(net)
    if not inputs:
        raise OptionError(
            _first_deferred(net)
            or f"{what} needs the inputs {net.name} runs on: NDArrays, numpy arrays or shapes "
            "to draw from, e.g. pi.show(net, (2, 20))"
        )
    if len(inputs) < required or (most is not None and len(inputs) > most):
        takes = f"{required}" if most == required else f"{required} to {most or 'any'}"
        raise OptionError(
            f"{net.name} takes {takes} input{'s' if most != 1 else ''} "
            f"({', '.join(names[:required]) or 'none'}), got {len(inputs)}"
        )
    if len(inputs) == 1:
        return {"data": inputs[0]}
    keys = names[: len(inputs)] + [f"data{i}" for i in range(len(names), len(inputs))]
    return dict(zip(keys, inputs))
