"""Sources over a Gluon network: an exported graph, a zoo name, a factory, a live Block.

Each class satisfies :class:`~paraminspect.model.source.Source`. Its ``layout`` comes from
the form's ``describe_*`` (symbolic shape inference; no weight allocated) until the net is
built; ``build`` calls the form's ``load_*`` (which checks the memory estimate first),
then draws the inputs and runs the first forward pass in the asked ``mode``. The notes a
loader returns (which params file was picked, fresh weights) go to the model's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from paraminspect._text import plural, quote
from paraminspect.errors import OptionError
from paraminspect.model.layout import InputDesc, Layout

if TYPE_CHECKING:
    from paraminspect.model.layout_plan import LayoutPlan
    from paraminspect.model.model import Model
    from paraminspect.model.params_io import LoadRequest


@dataclass
class NetSource:
    """What every Gluon-network source shares (subclasses give ``_describe`` and ``_load``)."""

    ref: str
    inputs: Dict[str, InputDesc] = field(default_factory=dict)
    mode: Optional[str] = None  # 'train' | 'predict' | None (Gluon's default)
    kind = "net"
    _layout: Optional[Layout] = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return self.ref

    @property
    def name(self) -> str:
        return self.layout.name

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = self._describe()
        return self._layout

    def _describe(self) -> Layout:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load(
        self, xs: Optional[Dict[str, Any]] = None, measure: bool = True
    ) -> Tuple[Any, Layout, List[str]]:
        raise NotImplementedError  # pragma: no cover - abstract

    # A Block's weights are drawn at its first forward pass (deferred initialization), so
    # its inputs are drawn first, as the book (and a YAML spec) draws X before that pass:
    # the same seed then gives a spec and the same net in Python the same numbers. An
    # exported graph's fresh weights are drawn as it is loaded, before its inputs.
    x_first = False

    def build(
        self,
        seed: Optional[int] = None,
        forward: bool = True,
        backward: bool = False,
        before_forward: bool = False,
    ) -> Model:
        """Load the net (fresh or loaded weights) and, with ``forward``, run one pass.

        A Block source's ``model.X`` is drawn before its weights (see ``x_first``) and kept
        for the passes that follow; otherwise the first pass draws it. Loading a Block runs
        one pass that measures it (and finishes deferred initialization), unless
        ``before_forward`` (see :meth:`paraminspect.model.source.Source.build`).
        """
        import mxnet as mx

        from paraminspect.model.forward import draw_inputs, first_forward, mode_note
        from paraminspect.model.inputs import input_file_notes
        from paraminspect.model.model import Model

        if seed is not None:
            mx.random.seed(seed)
        xs = None
        # before the first forward pass (show --before-forward) X is not drawn, as a spec
        # does not draw it: only initialize() runs, so deferred widths stay 0
        forward = forward and not before_forward
        if not before_forward and self.x_first and all(d.shape for d in self.layout.inputs):
            from paraminspect.model.memory import check_memory

            check_memory(self.layout)  # before X is allocated: a net too large is refused
            drawn = draw_inputs(self.layout.inputs, getattr(self, "arrays", None))
            xs = {d.name: x for d, x in zip(self.layout.inputs, drawn)}
        net, layout, notes = self._load(xs, not before_forward)
        self._layout = layout  # measured: shapes a symbolic pass could not know
        model = Model(
            source=self,
            net=net,
            init={p.name: p.init for p in layout.params},
            log=list(notes),
        )
        if xs is not None:
            model.X = tuple(xs.values()) if len(xs) > 1 else next(iter(xs.values()))
        notes, warnings = input_file_notes(layout.inputs)
        model.log.extend(notes)
        model.warnings.extend(warnings + loaded_nonfinite(net, layout))
        if forward:
            first_forward(model, self.mode)
            model.log.append(mode_note(self.mode))
        return model


@dataclass
class SymbolSource(NetSource):
    """``PATH-symbol.json``: weights from ``load``, the one params file beside it, or fresh."""

    load: Optional[LoadRequest] = None
    kind = "symbol"

    @property
    def param_file(self) -> Optional[str]:
        return None if self.load is None else self.load.path

    def _describe(self) -> Layout:
        from paraminspect.model.sources.symbol import describe_symbol

        return describe_symbol(self.ref, self.inputs)

    def _load(
        self, xs: Optional[Dict[str, Any]] = None, measure: bool = True
    ) -> Tuple[Any, Layout, List[str]]:
        from paraminspect.model.sources.symbol import load_symbol

        load = self.load
        return load_symbol(
            self.ref,
            self.inputs,
            param_file=self.param_file,
            allow_missing=bool(load and load.allow_missing),
            ignore_extra=bool(load and load.ignore_extra),
        )


@dataclass
class ConstructedSource(NetSource):
    """A network its form constructs from ``ref`` (zoo, factory), once for the Layout and
    the build alike: Gluon names parameters with a global counter (resnetv10_,
    resnetv11_, ...), so a second network would have other names (and a factory's function
    would run twice)."""

    x_first = True
    _net: Any = field(default=None, repr=False)

    def _form(self) -> Tuple[Callable[..., Any], Callable[..., Layout], Callable[..., Any]]:
        """The form's ``build_*``, ``describe_*`` and ``load_*`` functions."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _block(self) -> Any:
        if self._net is None:
            self._net = self._form()[0](self.ref)
        return self._net

    def _describe(self) -> Layout:
        return self._form()[1](self.ref, self.inputs or None, net=self._block())

    def _load(
        self, xs: Optional[Dict[str, Any]] = None, measure: bool = True
    ) -> Tuple[Any, Layout, List[str]]:
        load = self._form()[2]
        return load(self.ref, self.inputs or None, net=self._block(), arrays=xs, run=measure)


@dataclass
class ZooSource(ConstructedSource):
    """``zoo:NAME[,key=value...]``: built with ``pretrained=False``, never downloaded."""

    kind = "zoo"

    def _form(self) -> Tuple[Callable[..., Any], Callable[..., Layout], Callable[..., Any]]:
        from paraminspect.model.sources.zoo import build_zoo, describe_zoo, load_zoo

        return build_zoo, describe_zoo, load_zoo


@dataclass
class FactorySource(ConstructedSource):
    """``FILE.py:FUNC``: the Block the user's function returns."""

    kind = "factory"

    def _form(self) -> Tuple[Callable[..., Any], Callable[..., Layout], Callable[..., Any]]:
        from paraminspect.model.sources.factory import (
            build_factory,
            describe_factory,
            load_factory,
        )

        return build_factory, describe_factory, load_factory


@dataclass
class BlockSource(NetSource):
    """A live Gluon Block passed from Python, with inputs as shapes or arrays.

    The Block itself is used (not a copy): parameters it already initialized keep their
    values, the rest are initialized with Gluon's default.
    """

    block: Any = None
    arrays: Dict[str, Any] = field(default_factory=dict)  # inputs given as arrays
    kind = "block"
    x_first = True

    def _describe(self) -> Layout:
        from paraminspect.model.sources.block import describe_block

        return describe_block(self.block, self.inputs, source=self.ref)

    def _load(
        self, xs: Optional[Dict[str, Any]] = None, measure: bool = True
    ) -> Tuple[Any, Layout, List[str]]:
        import mxnet as mx

        from paraminspect.model.memory import check_memory
        from paraminspect.model.sources.block import measure_block

        check_memory(self.layout)
        net = self.block
        fresh = [
            p for p in net.collect_params().values() if p._data is None and p._deferred_init == ()
        ]
        for p in fresh:
            p.initialize(default_init=mx.init.Uniform())
        # A live Block's values come from the user's own initialize(init): MXNet keeps no
        # record of that init, so only parameters with one of their own (a bias's zeros) or
        # initialized here can name theirs.
        layout = measure_block(
            net,
            self.inputs,
            xs or self.arrays or None,
            source=self.ref,
            user_initialized=user_initialized(net, fresh),
            run=measure,
        )
        notes = []
        if fresh:
            notes.append(f"{self.ref}: {plural(len(fresh), 'parameter')} initialized fresh")
        return net, layout, notes


@dataclass
class RunningBlockSource(BlockSource):
    """A Block the user trains in their own loop (``pi.watch``): no inputs, never built.

    Its Layout is read from the parameters as they are (the loop has run, so their shapes
    are final); ``plan`` is the Layout's plan-shaped view for ``train``'s step readers.
    """

    @classmethod
    def of(cls, net: Any) -> RunningBlockSource:
        return cls(f"block:{net.name}", {}, None, block=net)

    @property
    def plan(self) -> LayoutPlan:
        from paraminspect.model.layout_plan import layout_plan

        return layout_plan(self.layout)


def user_initialized(net: Any, fresh: List[Any]) -> List[str]:
    """The names (as ``collect_params`` gives them) of ``net``'s parameters not in ``fresh``:
    initialized before the tool saw the net, by an ``initialize(init)`` it cannot know."""
    drawn = {id(p) for p in fresh}
    return [n for n, p in net.collect_params().items() if id(p) not in drawn]


def block_inputs(
    inputs: Optional[Mapping[str, Any]], ref: str
) -> Tuple[Dict[str, InputDesc], Dict[str, Any]]:
    """A Block's inputs from Python: each a shape, an :class:`InputDesc` or an array.

    Returns:
        (descriptions, arrays given).

    Raises:
        OptionError: none given (a Block has no default), or a value of another kind.
    """
    if not inputs:
        raise OptionError(
            f"{ref} has no default input shape; give inputs={{'data': (1, 3, 224, 224)}} "
            "(a shape or an array per input)",
            "--input",
        )
    descs: Dict[str, InputDesc] = {}
    arrays: Dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, InputDesc):
            descs[name] = value
        elif hasattr(value, "shape") and hasattr(value, "dtype"):
            import numpy as np

            arrays[name] = value
            dtype = np.dtype(getattr(value.dtype, "name", value.dtype)).name
            descs[name] = InputDesc(name, tuple(int(d) for d in value.shape), dtype)
        elif isinstance(value, (tuple, list)) and all(isinstance(d, int) for d in value):
            descs[name] = InputDesc(name, tuple(value))
        else:
            raise OptionError(
                f"input {quote(name)} of {ref} is a {type(value).__name__}; give a shape "
                "tuple or an array",
                "--input",
            )
    return descs, arrays


def loaded_nonfinite(net: Any, layout: Any) -> List[str]:
    """One warning per loaded parameter holding NaN or Inf (a params file beside a graph,
    ``--load``): counted by MXNet in place, without a copy of the weights."""
    import mxnet as mx
    import numpy as np

    loaded = {p.name for p in layout.params if p.init == "loaded"}
    out = []
    for name, param in net.collect_params().items():
        if name not in loaded or getattr(param, "_data", None) is None:
            continue
        data = param.data()
        if np.dtype(data.dtype).kind != "f":
            continue
        nan = int(mx.nd.contrib.isnan(data).sum().asscalar())
        inf = int(mx.nd.contrib.isinf(data).sum().asscalar())
        if nan or inf:
            out.append(f"{name} (loaded): {nan:,} NaN and {inf:,} Inf of {data.size:,} values")
    return out
