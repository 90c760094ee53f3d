"""A model as a port sees it: one symbol of its predictions, its weights, its inputs.

An exported graph is read from its files, so a training graph's labels are never asked
for; every other MODEL (a spec, ``zoo:``, ``FILE.py:FUNC``, a live Block) is built and
traced on symbols, which is what hybridizing it would do: a Block whose forward only works
on NDArrays cannot be ported and is refused with MXNet's reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from paraminspect._text import plural, quote
from paraminspect.actions.port.heads import DroppedHead, drop_loss_heads
from paraminspect.errors import BuildError, OptionError
from paraminspect.model.layout import InputDesc
from paraminspect.model.mxlog import load_symbol

if TYPE_CHECKING:
    import mxnet as mx

    from paraminspect.model.params_io import LoadRequest


@dataclass
class FrozenGraph:
    """What both runtimes evaluate: the same symbol, weights and input values."""

    label: str  # the MODEL as given
    kind: str  # the source kind ('symbol', 'spec', 'zoo', 'factory', 'block')
    symbol: Any  # mx.sym.Symbol of the prediction outputs
    params: Dict[str, np.ndarray]  # argument and auxiliary values, as stored
    aux: Tuple[str, ...]  # which of them are auxiliary states
    inputs: Tuple[InputDesc, ...]
    arrays: Dict[str, np.ndarray]  # the input values the checks feed both sides
    dropped: Tuple[DroppedHead, ...] = ()
    notes: List[str] = field(default_factory=list)
    given: Tuple[str, ...] = ()  # inputs passed as arrays from Python (not drawn)

    @property
    def graph(self) -> Dict[str, Any]:
        """The symbol's JSON document (nodes in graph order)."""
        return json.loads(self.symbol.tojson())

    def fixed_gamma(self) -> Dict[str, str]:
        """gamma variable -> the BatchNorm node that reads it as 1 (``fix_gamma``, the
        symbolic op's default)."""
        doc = self.graph
        nodes = doc["nodes"]
        out: Dict[str, str] = {}
        for node in nodes:
            if node["op"] != "BatchNorm" or len(node["inputs"]) < 2:
                continue
            attrs = node.get("attrs", {})
            if str(attrs.get("fix_gamma", "True")).lower() in ("true", "1"):
                gamma = nodes[node["inputs"][1][0]]
                if gamma["op"] == "null":
                    out[gamma["name"]] = node["name"]
        return out

    def used_params(self) -> Dict[str, np.ndarray]:
        """The values MXNet computes with: a ``fix_gamma`` gamma is ones, whatever it holds."""
        used = dict(self.params)
        for gamma in self.fixed_gamma():
            if gamma in used:
                used[gamma] = np.ones_like(used[gamma])
        return used


def _ranks(symbol: mx.sym.Symbol, shapes: Mapping[str, Tuple[int, ...]]) -> Dict[str, int]:
    """``NODE_output`` -> number of axes, where partial shape inference knows it."""
    from paraminspect.model.graph import quiet_stdout

    internals = symbol.get_internals()
    try:
        with quiet_stdout():
            _, outs, _ = internals.infer_shape_partial(**shapes)
    except Exception:
        return {}
    return {n: len(s) for n, s in zip(internals.list_outputs(), outs or ()) if s and 0 not in s}


def _without_heads(
    symbol: mx.sym.Symbol, shapes: Mapping[str, Tuple[int, ...]]
) -> Tuple[mx.sym.Symbol, Tuple[DroppedHead, ...]]:

    text, dropped = drop_loss_heads(symbol.tojson(), _ranks(symbol, shapes))
    return (load_symbol(text) if dropped else symbol), dropped


def _check_inputs(
    names: List[str], given: Mapping[str, InputDesc], declared: Mapping[str, Any], label: str
) -> Tuple[InputDesc, ...]:
    from paraminspect.model.inputs import check_input_names

    check_input_names(dict(given), names, label)
    out, missing = [], []
    for n in names:
        if n in given:
            out.append(given[n])
        elif declared.get(n) is not None:
            out.append(InputDesc(n, declared[n]))
        else:
            missing.append(n)
    if missing:
        fix = " ".join(f"--input {n}=SHAPE" for n in missing)
        raise OptionError(
            f"{label} stores no shape for {plural(len(missing), 'input')} "
            f"{', '.join(map(quote, missing))}; give {fix} (SHAPE like 1x3x224x224)",
            "--input",
        )
    return tuple(out)


def freeze_symbol_file(
    path: str,
    inputs: Mapping[str, InputDesc],
    load: Optional[LoadRequest],
    seed: Optional[int],
) -> FrozenGraph:
    """An exported graph and its weights (``--load``, else the one params file beside it).

    Raises:
        SpecError: the graph cannot be read.
        CheckpointError: no weights, or weights that do not fit.
        OptionError: inputs unknown or without a shape.
    """
    import mxnet as mx

    from paraminspect.errors import CheckpointError
    from paraminspect.model import graph as G
    from paraminspect.model import variables as V
    from paraminspect.model.sources.symbol import _read_params, params_beside

    graph = G.read_graph(path)
    symbol = G.to_symbol(graph)
    notes: List[str] = []
    param_file = load.path if load is not None else None
    if param_file is None:
        found = params_beside(path)
        if len(found) != 1:
            what = "no NNNN.params" if not found else f"{len(found)} params files"
            raise CheckpointError(
                f"{what} beside {quote(path)}: a port needs the trained weights; "
                "give them with --load PATH-NNNN.params"
            )
        param_file = str(found[0])
        notes.append(f"using weights from {param_file} (the only NNNN.params beside the graph)")
    if load is not None and load.allow_missing:
        raise OptionError(
            "--allow-missing does not apply to export or compare of a graph: a port needs "
            "every trained weight",
            "--allow-missing",
        )
    stored = _read_params(param_file)
    declared = {v.name: G.declared_shape(graph, v.name) for v in graph.variables}
    shapes = {n: d.shape for n, d in inputs.items()}
    symbol, dropped = _without_heads(symbol, shapes)
    args, aux = symbol.list_arguments(), symbol.list_auxiliary_states()
    wanted = V.parameter_names(graph, stored) | set(aux)
    missing = [n for n in [*args, *aux] if n in wanted and n not in stored]
    if missing:
        raise CheckpointError(
            f"{quote(param_file)} lacks {plural(len(missing), 'parameter')} of "
            f"{quote(path)} ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}); "
            "check that the files belong together"
        )
    names = [n for n in args if n not in stored]
    descs = _check_inputs(names, inputs, declared, quote(path))
    params = {n: stored[n].asnumpy() for n in [*args, *aux] if n in stored}
    if seed is not None:
        mx.random.seed(seed)
    return FrozenGraph(
        path, "symbol", symbol, params, tuple(aux), descs, _draw(descs), dropped, notes
    )


def _draw(
    descs: Tuple[InputDesc, ...], given: Optional[Mapping[str, Any]] = None
) -> Dict[str, np.ndarray]:
    from paraminspect.model.forward import draw_inputs

    arrays = draw_inputs(descs, given)
    return {d.name: a.asnumpy() for d, a in zip(descs, arrays)}


def freeze_model(model: Any, label: str) -> FrozenGraph:
    """A built Block (its first forward pass done) traced on symbols.

    Raises:
        BuildError: the Block cannot be run on symbols (cannot be hybridized).
    """
    import mxnet as mx

    net = model.net
    descs = tuple(model.layout.inputs)
    try:
        out = net(*[mx.sym.var(d.name, dtype=d.dtype) for d in descs])
    except Exception as e:
        from paraminspect.model.graph import mxnet_reason

        raise BuildError(
            f"{label} cannot be hybridized, so it cannot be exported: calling it on symbols "
            f"failed ({type(e).__name__}: {mxnet_reason(e)}); write its forward as a "
            "HybridBlock's hybrid_forward(F, ...)"
        ) from e
    symbol = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
    if not isinstance(symbol, mx.sym.Symbol):
        raise BuildError(
            f"{label} returned a {type(symbol).__name__} when called on symbols; "
            "it cannot be hybridized, so it cannot be exported"
        )
    shapes = {d.name: d.shape for d in descs}
    symbol, dropped = _without_heads(symbol, shapes)
    by_name = {p.name: p for p in model.net.collect_params().values()}
    args, aux = symbol.list_arguments(), symbol.list_auxiliary_states()
    params = {n: by_name[n].data().asnumpy() for n in [*args, *aux] if n in by_name}
    xs = model.X if isinstance(model.X, tuple) else (model.X,)
    arrays = {d.name: x.asnumpy() for d, x in zip(descs, xs)}
    unknown = [n for n in args if n not in params and n not in arrays]
    if unknown:
        raise BuildError(
            f"{label} reads {', '.join(map(quote, unknown))} on symbols, which is neither a "
            "parameter nor an input; it cannot be exported"
        )
    return FrozenGraph(label, model.source.kind, symbol, params, tuple(aux), descs, arrays, dropped)


def refuse_float16(frozen: FrozenGraph) -> None:
    """Raises BuildError for float16 weights: MXNet's CPU build runs a float16
    FullyConnected only with CuDNN ("float16 fully connected layer is currently only
    supported by CuDNN version"), so it cannot give the values a port is checked against."""
    half = [n for n, v in frozen.params.items() if v.dtype == np.float16]
    if half:
        raise BuildError(
            f"{frozen.label} has float16 weights ({', '.join(half[:3])}"
            f"{', ...' if len(half) > 3 else ''}); MXNet on CPU cannot run float16 layers "
            "such as FullyConnected, so the port cannot be checked: cast it to float32 "
            "first (net.cast('float32'), then export)"
        )


def freeze(
    ref: Any,
    inputs: Optional[Mapping[str, Any]] = None,
    load: Optional[LoadRequest] = None,
    seed: Optional[int] = None,
) -> FrozenGraph:
    """Any MODEL (or a live Block with its inputs) as a :class:`FrozenGraph`."""
    from paraminspect.model.sources import is_block, open_source, parse_model_ref

    if isinstance(ref, str) and parse_model_ref(ref) == "symbol":
        from paraminspect.model.sources._common import normalize_inputs

        frozen = freeze_symbol_file(ref, normalize_inputs(inputs), load, seed)
        refuse_float16(frozen)
        return frozen
    source = open_source(ref, inputs)
    label = source.label if not is_block(ref) else f"block {getattr(ref, 'name', '')}"
    model = source.build(seed=seed)
    from paraminspect.actions._prologue import apply_load

    log = apply_load(model, load)
    frozen = freeze_model(model, label)
    refuse_float16(frozen)
    frozen.notes[:0] = [*model.log, *log]
    frozen.given = tuple(getattr(source, "arrays", None) or ())
    return frozen


def output_ranks(frozen: FrozenGraph) -> Dict[str, int]:
    """``NODE_output`` -> number of axes for the frozen symbol on its inputs."""
    return _ranks(frozen.symbol, {d.name: d.shape for d in frozen.inputs})
