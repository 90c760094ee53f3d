"""A live Gluon Block and its inputs as a model source, for the Python API.

A minimal stand-in until the block source of the sources work (``feat/models``) and
layout-based actions land: it gives the actions that read ``model.plan`` (the parameter
table, gradients, the training watcher) a plan-shaped view of the Block. Layers are the
blocks that register parameters of their own, in depth-first order; a parameter shared
with ``params=other.params`` lists every block that registers it.
"""

from __future__ import annotations

import inspect as pyinspect
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from paraminspect.errors import BuildError, OptionError
from paraminspect.model.layout import InputDesc, LayerDesc, Layout, ParamDesc


@dataclass(frozen=True)
class LiveParam:
    name: str
    short: str  # the attribute of the block (``weight``)
    grad_req: str
    owner: int
    size: int


@dataclass(frozen=True)
class LiveLayer:
    index: int
    name: str
    path: str
    type: str
    activation: Optional[str]
    shares_with: Optional[int]
    params: Tuple[LiveParam, ...]
    block: Any


@dataclass(frozen=True)
class LivePlan:
    """What actions read of ``model.plan``, for a live Block."""

    name: str
    input_shape: Tuple[int, ...]
    layers: Tuple[LiveLayer, ...]
    users: Dict[str, Tuple[int, ...]]
    unique_params: Tuple[LiveParam, ...]
    layout: Layout


@dataclass(frozen=True)
class _Label:
    source: str  # what ``model.loaded.source`` gives the reports


def is_block(obj: Any) -> bool:
    """A Gluon Block (checked without importing MXNet for anything else)."""
    import sys

    if "mxnet" not in sys.modules:
        return False
    from mxnet.gluon import Block

    return isinstance(obj, Block)


def own_blocks(net: Any) -> List[Tuple[str, Any]]:
    """``(path, block)`` for the root and every child at every depth, depth-first."""
    out: List[Tuple[str, Any]] = [("", net)]

    def visit(block: Any, prefix: str) -> None:
        for key, child in block._children.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.append((path, child))
            visit(child, path)

    visit(net, "")
    return out


def activation(block: Any) -> Optional[str]:
    act = getattr(block, "_act_type", None)
    if act is None and getattr(block, "act", None) is not None:
        act = getattr(block.act, "_act_type", None)
    return str(act) if act is not None else None


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
    return len(required), None if varargs else len(positional), [p.name for p in required]


def _init_text(param: Any) -> str:
    """A parameter's own initializer, else what the net-wide ``initialize()`` was given."""
    init = param.init
    if init is None:
        return "net's initialize()"
    return init if isinstance(init, str) else type(init).__name__.lower()


def _deferred(param: Any) -> bool:
    return param.shape is None or 0 in tuple(param.shape)


def make_inputs(net: Any, inputs: Sequence[Any]) -> List[Any]:
    """NDArrays for ``net`` from NDArrays, numpy arrays or shapes (drawn U(-1, 1)).

    Raises:
        OptionError: the wrong number of inputs, or a deferred net without any.
    """
    import numpy as np
    from mxnet import nd

    required, most, names = input_count(net)
    if not inputs:
        for path, block in own_blocks(net):
            for short, p in block._reg_params.items():
                if _deferred(p):
                    shape = tuple(p.shape or ())
                    raise OptionError(
                        f"{block.name} ({type(block).__name__}{' at ' + path if path else ''}) "
                        f"needs an input shape: its {short} is {shape} until the first forward "
                        "pass (deferred initialization); give inputs, e.g. pi.show(net, (2, 20))"
                    )
    if inputs and (len(inputs) < required or (most is not None and len(inputs) > most)):
        takes = f"{required}" if most == required else f"{required} to {most or 'any'}"
        raise OptionError(
            f"{net.name} takes {takes} input{'s' if most != 1 else ''} "
            f"({', '.join(names) or 'none'}), got {len(inputs)}"
        )
    out = []
    for value in inputs:
        if isinstance(value, nd.NDArray):
            out.append(value)
        elif isinstance(value, np.ndarray):
            out.append(nd.array(value, dtype=value.dtype))
        elif isinstance(value, (tuple, list)) and all(isinstance(d, int) for d in value):
            out.append(nd.random.uniform(shape=tuple(value)))
        else:
            raise OptionError(
                f"an input must be an NDArray, a numpy array or a shape tuple, "
                f"got {type(value).__name__}"
            )
    return out


def live_plan(net: Any, X: Any) -> LivePlan:
    """The plan-shaped view of ``net`` as it is now (after a forward pass: final shapes)."""
    import math

    import numpy as np

    users: Dict[str, List[int]] = {}
    found: List[Tuple[str, Any]] = [(path, b) for path, b in own_blocks(net) if b._reg_params]
    by_id = {id(p): n for n, p in net.collect_params().items()}
    for index, (_, block) in enumerate(found):
        for p in block._reg_params.values():
            users.setdefault(by_id[id(p)], []).append(index)
    collected = net.collect_params()
    unique = tuple(
        LiveParam(
            name,
            next(k for k, v in found[users[name][0]][1]._reg_params.items() if v is p),
            p.grad_req,
            users[name][0],
            math.prod(p.shape) if p.shape else 0,
        )
        for name, p in collected.items()
    )
    by_name = {p.name: p for p in unique}
    layers = []
    for index, (path, block) in enumerate(found):
        names = [by_id[id(p)] for p in block._reg_params.values()]
        owners = {by_name[n].owner for n in names}
        shares = next(iter(owners)) if len(owners) == 1 and index not in owners else None
        layers.append(
            LiveLayer(
                index,
                block.name,
                path,
                type(block).__name__,
                activation(block),
                shares,
                tuple(
                    LiveParam(n, short, by_name[n].grad_req, by_name[n].owner, by_name[n].size)
                    for n, short in zip(names, block._reg_params)
                ),
                block,
            )
        )
    shape = tuple(X.shape) if X is not None else ()
    layout = Layout(
        name=net.name,
        inputs=(InputDesc("data", shape),),
        layers=tuple(
            LayerDesc(x.index, x.name, x.path, x.type, 0, None, tuple(p.name for p in x.params))
            for x in layers
        ),
        params=tuple(
            ParamDesc(
                p.name,
                tuple(collected[p.name].shape or ()),
                np.dtype(collected[p.name].dtype).name,
                p.grad_req,
                _init_text(collected[p.name]),
                tuple(users[p.name]),
            )
            for p in unique
        ),
    )
    return LivePlan(
        net.name,
        shape,
        tuple(layers),
        {k: tuple(v) for k, v in users.items()},
        unique,
        layout,
    )


class LiveBlockSource:
    """A Gluon Block the user built, with the inputs to run it on."""

    kind = "block"

    def __init__(self, net: Any, inputs: Sequence[Any] = ()) -> None:
        self.net = net
        self.inputs = make_inputs(net, inputs)
        self._plan: Optional[LivePlan] = None

    @classmethod
    def running(cls, net: Any) -> LiveBlockSource:
        """A source for a net the user runs themselves (a training loop): no inputs."""
        source = cls.__new__(cls)
        source.net, source.inputs, source._plan = net, [], None
        return source

    @property
    def label(self) -> str:
        return f"{type(self.net).__name__} '{self.net.name}'"

    @property
    def name(self) -> str:
        return str(self.net.name)

    @property
    def loaded(self) -> _Label:
        return _Label(self.label)

    @property
    def plan(self) -> LivePlan:
        if self._plan is None:
            self._plan = live_plan(self.net, self.inputs[0] if self.inputs else None)
        return self._plan

    @property
    def layout(self) -> Layout:
        return self.plan.layout

    def build(
        self, seed: Optional[int] = None, forward: bool = True, backward: bool = False
    ) -> Any:
        """The user's own net, run once on its inputs (nothing is rebuilt or re-initialized)."""
        import mxnet as mx

        from paraminspect.model.model import Model

        if seed is not None:
            mx.random.seed(seed)
        model = Model(source=self, net=self.net, X=self.inputs[0] if self.inputs else None)
        if forward and self.inputs:
            try:
                self.net(*self.inputs).wait_to_read()
            except mx.base.MXNetError as e:
                raise BuildError(
                    f"a forward pass of {self.label} failed: {str(e).splitlines()[0]}"
                ) from e
            except RuntimeError as e:  # not initialized: Gluon raises a RuntimeError
                raise BuildError(f"{self.label}: {str(e).splitlines()[0]}") from e
            model.forward_done = True
        else:
            model.forward_done = not any(_deferred(p) for p in self.net.collect_params().values())
        self._plan = None  # shapes are final now
        model.init = {n: _init_text(p) for n, p in self.net.collect_params().items()}
        return model
