"""Spec -> Gluon network: layers with the plan's names, sharing links, initializers, X.

MXNet is imported inside functions only, so importing this module is cheap.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from paraminspect.errors import BuildError
from paraminspect.model.memory import check_plan_memory
from paraminspect.model.model import Model
from paraminspect.model.plan import LayerPlan

if TYPE_CHECKING:
    from paraminspect.model.sources.spec import SpecSource


def make_layer(
    lp: LayerPlan,
    prefix: str,
    params: Any = None,
    new_initializer: Optional[Callable[[str, Dict[str, Any]], Any]] = None,
    explicit_shapes: bool = False,
) -> Any:
    """The Gluon block of one planned layer: the one place a spec layer becomes a block.

    Args:
        lp: the layer's plan.
        prefix: the block's name prefix.
        params: another layer's ``.params`` to share (``share:``).
        new_initializer: makes the layer's own ``init:`` initializers; None gives none.
        explicit_shapes: give ``in_units``/``in_channels`` so nothing is deferred.
    """
    from mxnet.gluon import nn

    s = lp.spec
    kwargs: Dict[str, Any] = {"prefix": prefix}
    if new_initializer is not None:
        for short, init in (s.init or {}).items():
            kwargs[f"{short}_initializer"] = new_initializer(init.method, init.params)
    if lp.type == "dense":
        kwargs.update(activation=s.activation, use_bias=s.use_bias)
        if params is not None:
            kwargs["params"] = params
        if explicit_shapes:
            kwargs["in_units"] = math.prod(lp.in_shape[1:])
        return nn.Dense(s.units, **kwargs)
    if lp.type in ("batchnorm", "layernorm"):
        kwargs["epsilon"] = s.epsilon
        if lp.type == "batchnorm":
            kwargs["momentum"] = s.momentum
        if explicit_shapes:
            kwargs["in_channels"] = lp.in_shape[1 if lp.type == "batchnorm" else -1]
        return (nn.BatchNorm if lp.type == "batchnorm" else nn.LayerNorm)(**kwargs)
    if lp.type == "dropout":
        return nn.Dropout(s.rate, prefix=prefix)
    return nn.Activation(s.activation, prefix=prefix)


def build_model(
    source: SpecSource, seed: Optional[int] = None, forward: bool = True, backward: bool = False
) -> Model:
    """Build, initialize and (by default) run the first forward pass, as the book does.

    The order of random draws is the book's: ``initialize()``, then ``X``, then the
    deferred weight initialization inside the first forward pass, so MXNet's default
    stream (or ``mx.random.seed(seed)``) gives the book's numbers.

    Args:
        source: a validated, planned spec.
        seed: if given, ``mx.random.seed(seed)`` is called first.
        forward: draw X and run the first forward pass (False: the exercise-2 state).
        backward: the caller will also run a backward pass (for the memory estimate).

    Raises:
        ResourceError: the estimate does not fit in memory.
        BuildError: MXNet refused the network.
    """
    loaded, plan = source.loaded, source.plan
    check_plan_memory(plan, forward=forward, backward=backward, what="building this network")
    import mxnet as mx
    from mxnet.gluon import nn

    if seed is not None:
        mx.random.seed(seed)
    spec = loaded.spec
    # Every block gets an explicit prefix from the plan, so names never depend on how many
    # networks this process built before (Gluon's automatic counters are global). Every
    # layer type is a HybridBlock, so the container is a HybridSequential: the book's
    # nn.Sequential runs the same operators in the same order (the same numbers), and
    # `train`/`summary --hybridize` can cache the whole net as one graph.
    net = nn.HybridSequential(prefix="sequential0_")
    model = Model(source=source, net=net, init={p.name: p.init for p in plan.unique_params})
    try:
        built: List[Any] = []
        for lp in plan.layers:
            shared = None if lp.shares_with is None else built[lp.shares_with].params
            built.append(make_layer(lp, lp.prefix, shared, model.new_initializer))
        net.add(*built)
        global_init = (
            model.new_initializer(spec.init.method, spec.init.params)
            if spec.init is not None
            else mx.init.Uniform()
        )
        net.initialize(global_init)
    except mx.base.MXNetError as e:
        raise BuildError(
            f"MXNet refused the network from {loaded.source}: {str(e).splitlines()[0]}"
        ) from e
    if forward:
        run_first_forward(model)
    return model


def draw_input(shape: Tuple[int, ...], dist: str = "uniform") -> Any:
    """Draw an input the way the book does: ``nd.random.uniform(shape=...)`` (or normal).

    The one place inputs are drawn: the first forward pass and ``train``'s synthetic data.
    """
    from mxnet import nd

    if dist == "normal":
        return nd.random.normal(shape=shape)
    return nd.random.uniform(shape=shape)


def run_first_forward(model: Model, wait: bool = True) -> Any:
    """Draw X and run ``net(X)``, which finishes deferred initialization; returns Y.

    With ``wait=False`` the pass is only queued: MXNet computes it in its own threads while
    Python goes on, and an error MXNet finds while computing surfaces at the first read.
    """
    import mxnet as mx

    model.X = draw_input(tuple(model.plan.input_shape), model.loaded.spec.input.dist)
    try:
        y = model.net(model.X)
        if wait:
            y.wait_to_read()
    except (mx.base.MXNetError, ValueError) as e:
        raise BuildError(
            f"the forward pass failed for {model.loaded.source}: {str(e).splitlines()[0]}"
        ) from e
    model.forward_done = True
    model.drain_log()
    return y
