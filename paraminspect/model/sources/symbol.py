"""``PATH-symbol.json``: an exported graph, with its weights when they can be found.

Without an explicit params file, the one ``PATH-NNNN.params`` beside the graph is used (and
a note says which); with none or several, the weights are initialized fresh (and a note
says so). A graph stores no input shape, so every input needs ``--input NAME=SHAPE``
unless its variable was declared with a shape.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple

from paraminspect._text import plural, quote
from paraminspect.errors import CheckpointError, OptionError
from paraminspect.model import graph as G
from paraminspect.model import variables as V
from paraminspect.model.dtypes import cast_note
from paraminspect.model.fixgamma import fixed_gammas
from paraminspect.model.heads import label_variables, leave_out_heads, loss_heads
from paraminspect.model.inputs import check_input_names, format_shape
from paraminspect.model.layout import DTYPE_BYTES, InputDesc, Layout
from paraminspect.model.memory import check_memory
from paraminspect.model.mxlog import upgrade_note
from paraminspect.model.params_file import ArrayHeader, check_file
from paraminspect.model.sources._common import DEFAULT_INIT, InputsArg, init_text, normalize_inputs
from paraminspect.model.upgrade import walked_graph

if TYPE_CHECKING:
    import mxnet as mx

_SHORT = 5
# Loss ops whose label is a class index (drawn as integers, not floats in [0, 1))
CLASS_LABEL_OPS = frozenset(
    {"SoftmaxOutput", "Softmax", "_contrib_CTCLoss", "_contrib_ctc_loss", "CTCLoss", "ctc_loss"}
)


def _stem(symbol_file: str) -> str:
    return re.sub(r"(-symbol)?\.json$", "", symbol_file)


def params_beside(symbol_file: str) -> List[Path]:
    """Every ``PATH-NNNN.params`` next to ``PATH-symbol.json``, sorted by epoch."""
    stem = Path(_stem(symbol_file))
    pattern = re.compile(re.escape(stem.name) + r"-\d{4}\.params$")
    folder = stem.parent
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def _short(names: List[str]) -> str:
    shown = ", ".join(names[:_SHORT])
    return shown + (f", ... ({len(names) - _SHORT} more)" if len(names) > _SHORT else "")


def resolve_inputs(
    graph: G.Graph, params: Set[str], inputs: InputsArg, source: str
) -> Dict[str, InputDesc]:
    """Every graph input with a shape: the user's, else the variable's ``__shape__``.

    Raises:
        OptionError: an unknown input name (did-you-mean), or inputs without a shape (all
            named in one message with the ``--input`` that fixes it).
    """
    given = normalize_inputs(inputs)
    names = G.input_names(graph, params)
    check_input_names(given, names, source)
    resolved: Dict[str, InputDesc] = {}
    missing = []
    for name in names:
        if name in given:
            resolved[name] = given[name]
        elif (shape := G.declared_shape(graph, name)) is not None:
            resolved[name] = InputDesc(name, shape)
        else:
            missing.append(name)
    if missing:
        fix = " ".join(f"--input {n}=SHAPE" for n in missing)
        which = (
            "input " + quote(missing[0])
            if len(missing) == 1
            else ("inputs " + ", ".join(map(quote, missing)))
        )
        raise OptionError(
            f"{source} stores no shape for {which}; give {fix} (SHAPE like 1x3x224x224)",
            "--input",
        )
    return resolved


_ROLE_INITS = (
    ("moving_var", "ones"),
    ("running_var", "ones"),
    ("moving_mean", "zeros"),
    ("running_mean", "zeros"),
    ("gamma", "ones"),
    ("beta", "zeros"),
    ("bias", "zeros"),
)


def _fresh_init(graph: G.Graph, name: str, role: Optional[str]) -> Tuple[str, Any]:
    """How a parameter without loaded values starts: description and what Gluon takes.

    The variable's own ``__init__`` first, then its role (the op slot it feeds, else its
    name's suffix, as Gluon's Initializer does), else the default initializer.
    """
    raw = G.variable_init(graph, name)
    if raw:
        return init_text(raw), raw
    for suffix, init in _ROLE_INITS:
        if role == suffix or name.endswith(suffix):
            return init, init
    return DEFAULT_INIT, None  # None: the default initializer's _init_weight


@dataclass(frozen=True)
class Prepared:
    """A graph read and checked against its inputs and params file, shapes inferred."""

    graph: G.Graph
    symbol: Any  # mx.sym.Symbol
    params: Set[str]
    inputs: Dict[str, InputDesc]
    shapes: G.InferredShapes
    stored: Dict[str, ArrayHeader]  # the params file's index, keys without arg:/aux:
    notes: Tuple[str, ...] = ()


def file_index(param_file: Optional[str]) -> Dict[str, ArrayHeader]:
    """The params file's names (``arg:``/``aux:`` stripped) -> shape and dtype, read from
    its index without MXNet; empty without a file.

    Raises:
        CheckpointError: the file is missing, truncated or not a params file.
    """
    if param_file is None:
        return {}
    if not Path(param_file).is_file():
        raise CheckpointError(f"params file {quote(param_file)} not found")
    return {G.strip_prefix(k): h for k, h in check_file(param_file).index().items()}


def _label_classes(
    graph: G.Graph, shapes: G.InferredShapes, inputs: Dict[str, InputDesc]
) -> Dict[str, InputDesc]:
    """Drawn labels of SoftmaxOutput and CTC heads as class indices, not floats in [0, 1)."""
    out = dict(inputs)
    for node in graph.ops:
        if node.op not in CLASS_LABEL_OPS or len(node.inputs) < 2:
            continue
        data = G.output_shape(shapes, graph, node.inputs[0])
        var = graph.nodes[node.inputs[1][0]]
        desc = out.get(var.name)
        if not var.is_variable or desc is None or desc.dist == "file" or not data:
            continue
        if node.op in ("SoftmaxOutput", "Softmax"):
            classes = (0, data[1] if len(data) > 1 else 1)
        else:  # CTC: class 0 is the blank unless blank_label='last'
            last = node.attrs.get("blank_label", "first") == "last"
            classes = (0, data[-1] - 1) if last else (1, data[-1])
        if classes[1] > classes[0]:
            out[var.name] = dataclasses.replace(desc, classes=classes)
    return out


def _infer_labels(
    graph: G.Graph, symbol: Any, given: Dict[str, InputDesc], labels: List[str], source: str
) -> Dict[str, InputDesc]:
    """Label shapes MXNet infers from the data (SoftmaxOutput's); {} when it cannot."""
    try:
        shapes = G.infer_shapes(symbol, given, source)
    except OptionError:
        return {}
    return {n: InputDesc(n, shapes.args[n]) for n in labels if shapes.args.get(n)}


def prepare(symbol_file: str, inputs: InputsArg, param_file: Optional[str]) -> Prepared:
    """Read the graph, tell parameters from inputs, check the inputs, infer every shape.

    A variable is a parameter when the params file has it, else by the op slot it feeds.
    A label that is neither given nor inferable is left out with its loss heads when
    prediction heads remain (a note says so).
    """
    graph = G.read_graph(symbol_file)
    graph = walked_graph(graph, G.to_symbol(graph))  # an MXNet 0.8 graph gains its aux states
    stored = file_index(param_file)
    params = V.parameter_names(graph, stored)
    source = quote(symbol_file)
    given = normalize_inputs(inputs)
    notes: List[str] = []
    names = G.input_names(graph, params)
    check_input_names(given, names, source)
    known = {n: given[n] for n in names if n in given}
    known.update(
        (n, InputDesc(n, s))
        for n in names
        if n not in known and (s := G.declared_shape(graph, n)) is not None
    )
    labels = label_variables(graph, params)
    unshaped = [n for n in names if n not in known]
    if unshaped and set(unshaped) <= labels:
        known.update(_infer_labels(graph, G.to_symbol(graph), known, unshaped, source))
        unshaped = [n for n in names if n not in known]
        cut = leave_out_heads(graph, params, set(unshaped)) if unshaped else None
        if cut is not None:
            graph, note = cut
            notes.append(note)
            known = {n: d for n, d in known.items() if n in G.input_names(graph, params)}
    resolved = resolve_inputs(graph, params, known, source)
    symbol = G.to_symbol(graph)
    param_shapes = {n: h.shape for n, h in stored.items() if n in params}
    shapes = G.infer_shapes(symbol, resolved, source, known=param_shapes)
    resolved = _label_classes(graph, shapes, resolved)
    return Prepared(graph, symbol, params, resolved, shapes, stored, tuple(notes))


def _layout(prep: Prepared, inits: Mapping[str, str]) -> Layout:
    layout = G.graph_layout(prep.graph, prep.symbol, prep.inputs, prep.params, prep.shapes, inits)
    # the dtype the file stores (float16 ...), not the one MXNet would compute in
    descs = tuple(
        dataclasses.replace(p, dtype=prep.stored[p.name].dtype)
        if p.name in prep.stored and prep.stored[p.name].dtype in DTYPE_BYTES
        else p
        for p in layout.params
    )
    heads = loss_heads(prep.graph, prep.params)
    fixed = fixed_gammas(prep.graph)
    version = prep.graph.mxnet_version
    said = (upgrade_note(version),) if version is not None and version < 10900 else ()
    return dataclasses.replace(
        layout, params=descs, loss_heads=heads, fixed_gammas=fixed, notes=said
    )


def pick_params(symbol_file: str, param_file: Optional[str]) -> Tuple[Optional[str], List[str]]:
    """The params file to use: the given one, else the one ``PATH-NNNN.params`` beside the
    graph (None with none or several); with notes saying which."""
    if param_file is not None:
        return param_file, []
    found = params_beside(symbol_file)
    if len(found) == 1:
        return str(found[0]), [
            f"using weights from {found[0]} (the only NNNN.params beside the graph)"
        ]
    if not found:
        return None, [
            f"no {Path(_stem(symbol_file)).name}-NNNN.params beside the graph: "
            "weights initialized fresh (give a params file with --load)"
        ]
    return None, [
        f"{len(found)} params files beside the graph ({_short([p.name for p in found])})"
        ": weights initialized fresh; pick one with --load"
    ]


def describe_symbol(
    symbol_file: str, inputs: InputsArg = None, param_file: Optional[str] = None
) -> Layout:
    """The Layout of an exported graph, by shape inference alone (no weights allocated).

    The params file (``param_file``, else the one beside the graph) is read from its index
    only: its names tell parameters from inputs and give the stored dtypes.

    Args:
        symbol_file: the ``-symbol.json``.
        inputs: input name -> shape (or InputDesc).
        param_file: the weights (``--load``); None looks beside the graph.

    Raises:
        SpecError: the file is not a usable graph.
        OptionError: unknown input names, missing or ill-fitting input shapes.
        CheckpointError: the params file is not readable.
    """
    param_file, _notes = pick_params(symbol_file, param_file)
    prep = prepare(symbol_file, inputs, param_file)
    roles = V.parameter_roles(prep.graph)
    inits = {
        p: ("loaded" if p in prep.stored else _fresh_init(prep.graph, p, roles.get(p))[0])
        for p in prep.params
    }
    return _layout(prep, inits)


def _read_params(param_file: str) -> Dict[str, Any]:
    import mxnet as mx

    if not Path(param_file).is_file():
        raise CheckpointError(f"params file {quote(param_file)} not found")
    try:
        loaded = mx.nd.load(param_file)
    except mx.base.MXNetError as e:
        raise CheckpointError(
            f"cannot read {quote(param_file)}: {G.mxnet_reason(e)} (not an MXNet .params file?)"
        ) from e
    if not isinstance(loaded, dict):
        raise CheckpointError(f"{quote(param_file)} holds a list of arrays without names")
    return {G.strip_prefix(k): v for k, v in loaded.items()}


def check_fit(
    layout: Layout,
    loaded: Mapping[str, Any],
    param_file: str,
    symbol_file: str,
    allow_missing: bool = False,
    ignore_extra: bool = False,
) -> Tuple[List[str], List[str]]:
    """Compare a params file with the graph's parameters.

    Returns:
        (missing, extra) names, when allowed.

    Raises:
        CheckpointError: names missing (unless allow_missing) or extra (unless
            ignore_extra), listed briefly, or any shape mismatch (the first one shown).
    """
    wanted = {p.name: p.shape for p in layout.params}
    missing = [n for n in wanted if n not in loaded]
    extra = [n for n in loaded if n not in wanted]
    mismatch = next(
        (
            (n, tuple(loaded[n].shape), wanted[n])
            for n in wanted
            if n in loaded and tuple(loaded[n].shape) != tuple(wanted[n])
        ),
        None,
    )
    problems = []
    if missing and not allow_missing:
        problems.append(f"{plural(len(missing), 'parameter')} missing from it ({_short(missing)})")
    if extra and not ignore_extra:
        problems.append(f"{plural(len(extra), 'name')} not in the graph ({_short(extra)})")
    if mismatch:
        n, got, want = mismatch
        problems.append(
            f"first shape mismatch: {n} is {format_shape(got)} in the file, "
            f"{format_shape(want)} in the graph"
        )
    if problems:
        fix = "check that the files belong together"
        if not mismatch:
            flags = []
            if missing and not allow_missing:
                flags.append("allow_missing (--allow-missing)")
            if extra and not ignore_extra:
                flags.append("ignore_extra (--ignore-extra)")
            fix += " or load with " + " and ".join(flags)
        raise CheckpointError(
            f"{quote(param_file)} does not fit {quote(symbol_file)}: "
            + "; ".join(problems)
            + f"; {fix}"
        )
    return missing, extra


def load_symbol(
    symbol_file: str,
    inputs: InputsArg = None,
    param_file: Optional[str] = None,
    allow_missing: bool = False,
    ignore_extra: bool = False,
    ctx: Optional[mx.Context] = None,
    available_memory: Optional[int] = None,
) -> Tuple[mx.gluon.SymbolBlock, Layout, List[str]]:
    """Build an exported graph as a SymbolBlock with loaded or fresh weights.

    Args:
        symbol_file: the ``-symbol.json``.
        inputs: input name -> shape (or InputDesc); inputs declared with a shape may be
            left out.
        param_file: the weights; None looks for the one ``PATH-NNNN.params`` beside the
            graph and initializes fresh without one.
        allow_missing: initialize fresh the parameters the file lacks.
        ignore_extra: skip the file's names the graph does not have.
        ctx: MXNet context (CPU by default).
        available_memory: bytes the estimate is checked against (MemAvailable if None).

    Returns:
        (net, layout, notes): the SymbolBlock, its Layout and notes for stderr.

    Raises:
        SpecError: the graph cannot be read.
        OptionError: inputs unknown or without shapes or not fitting.
        CheckpointError: the params file cannot be read or does not fit.
        ResourceError: the network would not fit in memory.
    """
    import mxnet as mx

    param_file, picked = pick_params(symbol_file, param_file)
    prep = prepare(symbol_file, inputs, param_file)
    notes = picked + list(prep.notes)
    graph = prep.graph
    # Estimate before reading the params file: reading it allocates the weights.
    check_memory(_layout(prep, {}), available=available_memory)
    loaded = _read_params(param_file) if param_file is not None else None
    if graph.mxnet_version is not None and graph.mxnet_version < 10900:
        notes.append(upgrade_note(graph.mxnet_version))  # MXNet's own lines are kept off
    roles = V.parameter_roles(graph)
    params = prep.params
    fresh = {p: _fresh_init(graph, p, roles.get(p)) for p in params}
    inits = {p: ("loaded" if loaded is not None and p in loaded else fresh[p][0]) for p in params}
    layout = _layout(prep, inits)
    symbol = prep.symbol
    if loaded is not None and param_file is not None:
        missing, _extra = check_fit(
            layout, loaded, param_file, symbol_file, allow_missing, ignore_extra
        )
        if missing:
            notes.append(
                f"{plural(len(missing), 'parameter')} not in {param_file} initialized fresh"
            )
    ctx = ctx or mx.cpu()
    input_names = [d.name for d in layout.inputs]
    by_input = {d.name: d for d in layout.inputs}
    try:
        # "Cannot decide type": the inputs are given dtypes; a float16 file makes MXNet
        # print "infer_type error" on stdout, which the core never writes to
        with warnings.catch_warnings(), G.quiet_stdout():
            warnings.simplefilter("ignore", UserWarning)
            net = mx.gluon.SymbolBlock(
                symbol, [mx.sym.var(n, dtype=by_input[n].dtype) for n in input_names]
            )
    except (mx.base.MXNetError, ValueError, AssertionError) as e:
        raise OptionError(
            f"cannot build {quote(symbol_file)} with inputs {', '.join(input_names)}: "
            f"{G.mxnet_reason(e)}",
            "--input",
        ) from e
    by_name = {p.name: p for p in layout.params}
    default = mx.init.Uniform()
    for name, param in net.collect_params().items():
        desc = by_name[name]
        param.shape = desc.shape
        if loaded is None or name not in loaded:
            init = fresh[name][1]
            # a name Gluon does not recognise (W, U) needs the initializer itself
            param.initialize(init=default if init is None else init, ctx=ctx)
    if loaded is not None:
        wanted = {n: v for n, v in loaded.items() if n in by_name}
        net.collect_params().load_dict(
            wanted, ctx, allow_missing=True, ignore_extra=True, cast_dtype=True
        )
        notes.extend(cast_note({p.name: p.dtype for p in layout.params}, net.collect_params()))
    return net, layout, notes
