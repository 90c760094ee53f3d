"""Which op uses which parameter, read from an exported MXNet graph (``-symbol.json``)."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from paraminspect.diagnose.kinds import ParamUse


def uses_from_symbol(symbol: Mapping[str, Any]) -> Dict[str, ParamUse]:
    """Parameter name -> the first op that consumes it, with the input position.

    Args:
        symbol: the parsed ``-symbol.json`` (a dict with ``nodes``; each node has ``op``,
            ``name`` and ``inputs`` as ``[source, output, version]`` triples).

    Returns:
        A mapping for :func:`paraminspect.diagnose.kinds.classify`. Graph inputs that are
        not parameters (``data``, labels) appear too; they are harmless because no
        checkpoint key names them.
    """
    nodes = symbol.get("nodes", [])
    uses: Dict[str, ParamUse] = {}
    for node in nodes:
        if node.get("op") == "null":
            continue
        for position, entry in enumerate(node.get("inputs", [])):
            source = nodes[entry[0]]
            if source.get("op") == "null":
                raw = node.get("attrs", node.get("attr", node.get("param", {}))) or {}
                attrs = tuple(sorted((str(k), str(v)) for k, v in raw.items()))
                use = ParamUse(node["name"], node["op"], position, attrs)
                uses.setdefault(source["name"], use)
    return uses
