"""Which op of a graph reads each variable: ``inspect FILE --symbol GRAPH``.

A variable (a weight, a bias, a BatchNorm running mean) is read by the op nodes that take
it as an input; the op is the graph's layer type, and the slot (``weight``, ``gamma``,
``moving_var``, as the op names its inputs) says what the array is to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from paraminspect.model import graph as G
from paraminspect.model import variables as V


@dataclass(frozen=True)
class Reader:
    """One op node that reads a variable."""

    node: str
    op: str
    slot: str  # the op's name for that input, or its position ('input 1')

    def describe(self) -> str:
        return f"{self.node} ({self.op} {self.slot})"


def graph_readers(path: str) -> Dict[str, Tuple[Reader, ...]]:
    """Variable name -> every op node that reads it, in graph order.

    Raises:
        SpecError: the file is not a usable graph.
    """
    graph = G.read_graph(path)
    out: Dict[str, List[Reader]] = {}
    for node in graph.ops:
        slots = V._slot_names(node)
        for position, (src, _output) in enumerate(node.inputs):
            var = graph.nodes[src]
            if not var.is_variable:
                continue
            names = slots[0] if slots is not None else ()
            slot = names[position] if position < len(names) else f"input {position}"
            out.setdefault(var.name, []).append(Reader(node.name, node.op, slot))
    return {name: tuple(readers) for name, readers in out.items()}
