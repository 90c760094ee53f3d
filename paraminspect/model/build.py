"""Spec -> Gluon network: layers with the plan's names, sharing links, initializers, X.

MXNet is imported inside functions only, so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from paraminspect.errors import BuildError
from paraminspect.init.catalog import make_initializer
from paraminspect.model.memory import check_memory
from paraminspect.model.plan import LayerPlan, NetPlan, make_plan
from paraminspect.spec.load import LoadedSpec


@dataclass
class Model:
    """A built network with what the report needs to know about it.

    ``init`` maps each parameter name to a description of the initializer that produced
    its current values; actions that change values update it.
    """

    loaded: LoadedSpec
    plan: NetPlan
    net: Any  # mxnet.gluon.nn.Sequential
    X: Any = None  # the drawn input batch (an NDArray), None before the forward pass
    forward_done: bool = False
    init: Dict[str, str] = field(default_factory=dict)
    log: List[str] = field(default_factory=list)  # lines for stderr (e.g. myinit's 'Init ...')
    initializers: List[Any] = field(default_factory=list)  # objects whose .log we drain

    def new_initializer(self, method: str, params: Dict[str, Any]) -> Any:
        """Build an MXNet initializer and remember it so its log lines reach the report."""
        init = make_initializer(method, params)
        self.initializers.append(init)
        return init

    def drain_log(self) -> None:
        """Move lines logged by initializers (myinit's ``Init NAME SHAPE``) into :attr:`log`."""
        for init in self.initializers:
            lines = getattr(init, "log", None)
            if lines:
                self.log.extend(lines)
                lines.clear()

    @property
    def params(self) -> Dict[str, Any]:
        """Unique parameters by name, in ``collect_params`` order."""
        return dict(self.net.collect_params().items())

    def layer(self, index: int) -> Any:
        return self.net[index]


def _make_layer(lp: LayerPlan, built: List[Any], model: Model) -> Any:
    from mxnet.gluon import nn

    s = lp.spec
    if lp.type == "dense":
        kwargs: Dict[str, Any] = {
            "activation": s.activation,
            "use_bias": s.use_bias,
            "prefix": lp.prefix,
        }
        if lp.shares_with is not None:
            kwargs["params"] = built[lp.shares_with].params
        for short, init in (s.init or {}).items():
            kwargs[f"{short}_initializer"] = model.new_initializer(init.method, init.params)
        return nn.Dense(s.units, **kwargs)
    if lp.type in ("batchnorm", "layernorm"):
        kwargs = {"prefix": lp.prefix, "epsilon": s.epsilon}
        if lp.type == "batchnorm":
            kwargs["momentum"] = s.momentum
        for short, init in (s.init or {}).items():
            kwargs[f"{short}_initializer"] = model.new_initializer(init.method, init.params)
        return (nn.BatchNorm if lp.type == "batchnorm" else nn.LayerNorm)(**kwargs)
    if lp.type == "dropout":
        return nn.Dropout(s.rate, prefix=lp.prefix)
    return nn.Activation(s.activation, prefix=lp.prefix)


def build_model(
    loaded: LoadedSpec, seed: Optional[int] = None, forward: bool = True, backward: bool = False
) -> Model:
    """Build, initialize and (by default) run the first forward pass, as the book does.

    The order of random draws is the book's: ``initialize()``, then ``X``, then the
    deferred weight initialization inside the first forward pass, so MXNet's default
    stream (or ``mx.random.seed(seed)``) gives the book's numbers.

    Args:
        loaded: a validated spec.
        seed: if given, ``mx.random.seed(seed)`` is called first.
        forward: draw X and run the first forward pass (False: the exercise-2 state).
        backward: the caller will also run a backward pass (for the memory estimate).

    Raises:
        ResourceError: the estimate does not fit in memory.
        BuildError: MXNet refused the network.
    """
    plan = make_plan(loaded)
    check_memory(plan, forward=forward, backward=backward)
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
    model = Model(
        loaded=loaded, plan=plan, net=net, init={p.name: p.init for p in plan.unique_params}
    )
    try:
        built: List[Any] = []
        for lp in plan.layers:
            built.append(_make_layer(lp, built, model))
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


def draw_input(model: Model) -> Any:
    """Draw X the way the book does: ``nd.random.uniform(shape=...)`` (or normal)."""
    from mxnet import nd

    shape = tuple(model.plan.input_shape)
    if model.loaded.spec.input.dist == "normal":
        return nd.random.normal(shape=shape)
    return nd.random.uniform(shape=shape)


def run_first_forward(model: Model, wait: bool = True) -> Any:
    """Draw X and run ``net(X)``, which finishes deferred initialization; returns Y.

    With ``wait=False`` the pass is only queued: MXNet computes it in its own threads while
    Python goes on, and an error MXNet finds while computing surfaces at the first read.
    """
    import mxnet as mx

    model.X = draw_input(model)
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
