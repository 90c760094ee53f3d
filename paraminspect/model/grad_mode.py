"""How to get right gradients in the mode asked for.

``backward(train_mode=...)`` must match the forward's ``record(train_mode=...)``: after a
predict-mode forward, a train-mode backward through BatchNorm gives gradients off by
orders of magnitude (MXNet's default is ``train_mode=True``).

And with oneDNN (the default CPU build of MXNet 1.9.1), the gradient through max pooling
after a predict-mode forward is wrong and changes from run to run, whatever mode the
backward uses (measured against finite differences: see docs/MXNET_NOTES in the shared
notes). A train-mode pass is right there. So in predict mode, a net with max pooling is
differentiated in train mode:

- as it is, when no op in it behaves differently by mode (no BatchNorm, no Dropout, no
  RNN dropout): then the train-mode pass is the same function;
- else on a rewritten twin of its graph that computes the predict-mode function in train
  mode (BatchNorm with ``use_global_stats``, Dropout removed, RNN dropout 0), sharing the
  net's parameters, when the net has a graph (an exported graph, or a HybridBlock that
  traces on symbols);
- else it is refused, with the reason and the way out (``MXNET_MKLDNN_ENABLED=0``).

With ``MXNET_MKLDNN_ENABLED=0`` set before MXNet is imported, or a build without oneDNN,
nothing is rewritten.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from paraminspect.errors import BuildError
from paraminspect.model.mxlog import load_symbol

_MODE_OPS = frozenset({"BatchNorm", "BatchNorm_v1", "_contrib_SyncBatchNorm", "Dropout"})
NO_ONEDNN = "MXNET_MKLDNN_ENABLED=0"


@dataclass(frozen=True)
class GradMode:
    """How the recorded pass and ``backward`` run."""

    train_mode: bool  # record(train_mode=...) and backward(train_mode=...)
    twin_json: Optional[str] = None  # a rewritten graph to run instead of the net's own
    note: Optional[str] = None


def onednn_active() -> bool:
    """oneDNN is built in and not switched off by ``MXNET_MKLDNN_ENABLED=0``."""
    import mxnet as mx

    if os.environ.get("MXNET_MKLDNN_ENABLED", "1") == "0":
        return False
    try:
        return bool(mx.runtime.Features().is_enabled("MKLDNN"))
    except Exception:  # an MXNet without the feature list: assume the default build
        return True


def _nodes(symbol_json: str) -> List[Dict[str, Any]]:
    return list(json.loads(symbol_json)["nodes"])


def _attrs(node: Dict[str, Any]) -> Dict[str, str]:
    return dict(node.get("attrs", node.get("attr", node.get("param", {}))) or {})


def has_max_pooling(symbol_json: str) -> bool:
    return any(
        n["op"] == "Pooling" and _attrs(n).get("pool_type", "max") == "max"
        for n in _nodes(symbol_json)
    )


def _mode_ops(symbol_json: str) -> List[str]:
    found = []
    for n in _nodes(symbol_json):
        attrs = _attrs(n)
        if n["op"] in _MODE_OPS and attrs.get("mode", "training") != "always":
            found.append(n["op"])
        elif n["op"] == "RNN" and float(attrs.get("p", "0") or 0) > 0:
            found.append("RNN dropout")
    return sorted(set(found))


def predict_twin(symbol_json: str) -> str:
    """The graph rewritten so that a train-mode pass computes its predict-mode function."""
    doc = json.loads(symbol_json)
    for node in doc["nodes"]:
        attrs = _attrs(node)
        if node["op"] in ("BatchNorm", "BatchNorm_v1", "_contrib_SyncBatchNorm"):
            attrs["use_global_stats"] = "True"
        elif (node["op"] == "Dropout" and attrs.get("mode", "training") != "always") or (
            node["op"] == "RNN" and "p" in attrs
        ):
            attrs["p"] = "0"
        else:
            continue
        node.pop("attr", None)
        node.pop("param", None)
        node["attrs"] = attrs
    return json.dumps(doc)


def grad_mode(mode: Optional[str], symbol_json: Optional[str], label: str) -> GradMode:
    """The way to differentiate in ``mode`` ('train', 'predict' or None: train).

    Args:
        mode: ``--mode``.
        symbol_json: the net's graph, None when it has none (a Block that does not trace).
        label: the model, for messages.

    Raises:
        BuildError: predict mode, max pooling under oneDNN, mode-dependent ops, no graph.
    """
    if mode != "predict":
        return GradMode(True)
    if symbol_json is None or not has_max_pooling(symbol_json) or not onednn_active():
        if symbol_json is None and onednn_active():
            return GradMode(
                False,
                note="predict-mode gradients: the net has no graph to check for max pooling, "
                "whose predict-mode gradient oneDNN gets wrong; if it has any, run with "
                f"{NO_ONEDNN} in the environment",
            )
        return GradMode(False)
    why = (
        "MXNet's predict-mode gradient through max pooling is wrong under oneDNN (it "
        "changes from run to run); a train-mode pass is right"
    )
    ops = _mode_ops(symbol_json)
    if not ops:
        return GradMode(
            True,
            note=f"{why}, and with no BatchNorm or Dropout it is the same function: the "
            "gradients come from a train-mode pass",
        )
    return GradMode(
        True,
        twin_json=predict_twin(symbol_json),
        note=f"{why}: the gradients come from a train-mode pass of the graph with "
        f"{', '.join(ops)} fixed to their predict-mode behaviour (BatchNorm on its running "
        "statistics, no dropout)",
    )


def twin_net(twin_json: str, model: Any) -> Any:
    """A SymbolBlock of ``twin_json`` that shares ``model.net``'s parameters (gradients land
    in the net's own buffers)."""
    import warnings

    import mxnet as mx

    names = [d.name for d in model.layout.inputs]
    by_input = {d.name: d for d in model.layout.inputs}
    from paraminspect.model.graph import quiet_stdout

    with warnings.catch_warnings(), quiet_stdout():  # MXNet prints infer_type errors
        warnings.simplefilter("ignore", UserWarning)
        return mx.gluon.SymbolBlock(
            load_symbol(twin_json),
            [mx.sym.var(n, dtype=by_input[n].dtype) for n in names],
            params=model.net.collect_params(),
        )


def refuse_untraceable(label: str, reason: str) -> BuildError:
    """The error for a net in predict mode with max pooling whose graph cannot be rewritten."""
    return BuildError(
        f"predict-mode gradients of {label} cannot be computed right: MXNet's gradient "
        f"through max pooling is wrong under oneDNN and the net's graph cannot be rewritten "
        f"({reason}); run with {NO_ONEDNN} in the environment, or use --mode train"
    )


def model_graph_json(model: Any) -> Optional[str]:
    """The net's graph as JSON: a SymbolBlock's own, or a HybridBlock traced on symbols;
    None when it cannot be traced."""
    import mxnet as mx

    net = model.net
    if isinstance(net, mx.gluon.SymbolBlock):
        return str(net._cached_graph[1].tojson())
    try:
        out = net(*[mx.sym.var(d.name) for d in model.layout.inputs])
        symbol = mx.sym.Group(list(out)) if isinstance(out, (list, tuple)) else out
        return str(symbol.tojson())
    except Exception:  # a forward that only works on NDArrays
        return None


def loop_train_mode(model: Any) -> bool:
    """``record``/``backward``'s ``train_mode`` for a training loop in the source's mode.

    Raises:
        BuildError: predict mode with max pooling under oneDNN and ops that behave
            differently by mode (a loop cannot swap in a rewritten graph).
    """
    mode = getattr(model.source, "mode", None)
    if mode != "predict":
        return True
    how = grad_mode(mode, model_graph_json(model), model.source.label)
    if how.twin_json is not None:
        raise BuildError(
            f"cannot train {model.source.label} in predict mode: MXNet's predict-mode "
            "gradient through max pooling is wrong under oneDNN and the net has BatchNorm or "
            f"Dropout; run with {NO_ONEDNN} in the environment, or use --mode train"
        )
    if how.note:
        model.log.append(how.note)
    return how.train_mode
