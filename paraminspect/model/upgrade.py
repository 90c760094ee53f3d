"""Graphs saved by MXNet before 1.0: walk the graph MXNet upgrades them to.

An MXNet 0.8 graph's BatchNorm lists only data, gamma and beta: the running mean and
variance variables are added by MXNet's upgrade when it loads the file. The tool walks
what MXNet runs, so such a graph is re-read from the upgraded symbol's JSON.
"""

from __future__ import annotations

import json
from typing import Any

from paraminspect.model.graph import Graph, GraphNode


def walked_graph(graph: Graph, symbol: Any) -> Graph:
    """``graph``, or the graph MXNet upgraded it to when that has variables it lacks."""
    names = {v.name for v in graph.variables}
    wanted = set(symbol.list_arguments()) | set(symbol.list_auxiliary_states())
    if wanted <= names:
        return graph
    text = symbol.tojson()
    doc = json.loads(text)
    nodes = []
    for i, raw in enumerate(doc["nodes"]):
        attrs = raw.get("attrs", raw.get("attr", raw.get("param", {}))) or {}
        inputs = tuple((int(r[0]), int(r[1]) if len(r) > 1 else 0) for r in raw.get("inputs", []))
        nodes.append(GraphNode(i, str(raw["op"]), str(raw["name"]), dict(attrs), inputs))
    heads = tuple((int(h[0]), int(h[1]) if len(h) > 1 else 0) for h in doc["heads"])
    return Graph(graph.path, text, tuple(nodes), heads, graph.mxnet_version)
