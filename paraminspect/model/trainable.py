"""Can ``train`` run a model on synthetic data? A graph whose head is a loss op cannot.

Module-era graphs often end in a loss layer (``SoftmaxOutput``, ``LinearRegressionOutput``,
...): it takes a label input and its backward pass ignores the gradient it is given, so
the tool's own loss and teacher cannot drive it.
"""

from __future__ import annotations

from paraminspect._text import quote
from paraminspect.errors import OptionError


def check_trainable(path: str) -> None:
    """Refuse an exported graph whose output is a loss op that needs labels.

    Raises:
        SpecError: the graph cannot be read.
        OptionError: naming the head op and what to do instead.
    """
    from paraminspect.model.graph import read_graph
    from paraminspect.model.variables import OWN_GRADIENT_LOSS_OPS

    graph = read_graph(path)
    for node_index, _output in graph.heads:
        node = graph.nodes[node_index]
        if node.op in OWN_GRADIENT_LOSS_OPS:
            raise OptionError(
                f"{quote(path)} ends in {node.op} ({node.name}), a loss op that takes labels "
                "and ignores the gradient given to it, so train cannot drive it with its own "
                "loss; export the network without its loss head (e.g. "
                "sym.get_internals()['<last layer>_output'])",
                "MODEL",
            )
