"""Gammas a ``fix_gamma=True`` BatchNorm stores but does not use.

The symbolic ``BatchNorm``'s default is ``fix_gamma=True``: it computes with gamma = 1,
whatever its gamma variable holds, gives that variable a gradient of 0, and (measured on
MXNet 1.9.1) writes 1 into it during a recorded pass. Gluon's ``nn.BatchNorm`` exports
``fix_gamma=False`` unless ``scale=False``. So a checkpoint may hold any values there; they
are no finding, and a report that shows them says that 1 is used. ``grad`` puts the
stored values back after the pass, so ``grad --stats``, ``show --stats`` and ``--save``
all see what the file holds.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from paraminspect.model.graph import Graph

_BATCHNORMS = ("BatchNorm", "BatchNorm_v1", "_contrib_SyncBatchNorm")
_SHOWN = 4


def fixed_gammas(graph: Graph) -> Tuple[Tuple[str, str], ...]:
    """(gamma variable, BatchNorm node) for every BatchNorm with ``fix_gamma`` true."""
    out = []
    for node in graph.ops:
        if node.op not in _BATCHNORMS or len(node.inputs) < 2:
            continue
        if str(node.attrs.get("fix_gamma", "True")).lower() not in ("true", "1"):
            continue
        var = graph.nodes[node.inputs[1][0]]
        if var.is_variable:
            out.append((var.name, node.name))
    return tuple(out)


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def fixed_gamma_note(names: Sequence[str]) -> Tuple[str, ...]:
    """The note for ``inspect --symbol``: those gammas are not checked, and why."""
    if not names:
        return ()
    n = len(names)
    return (
        f"{n} {'gamma belongs' if n == 1 else 'gammas belong'} to BatchNorms with "
        f"fix_gamma=True ({_listed(list(names))}): MXNet uses 1 in "
        f"{'its' if n == 1 else 'their'} place and never reads the stored values, so "
        f"{'it is' if n == 1 else 'they are'} not checked",
    )


def shown_note(fixed: Sequence[Tuple[str, str]], shown: Sequence[str]) -> Tuple[str, ...]:
    """The note for a parameter table that shows such gammas."""
    names = [g for g, _node in fixed if g in set(shown)]
    if not names:
        return ()
    n = len(names)
    return (
        f"{_listed(names)}: {'its BatchNorm has' if n == 1 else 'their BatchNorms have'} "
        "fix_gamma=True, so MXNet uses 1 in place of the stored values shown "
        f"({'its' if n == 1 else 'their'} gradient is 0)",
    )


def snapshot(params: Dict[str, Any], fixed: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    """Copies of the stored values of the fixed gammas (a recorded pass writes 1 into them)."""
    return {g: params[g].data().copy() for g, _node in fixed if g in params}


def restore(params: Dict[str, Any], saved: Dict[str, Any]) -> List[str]:
    """Put the stored values back where MXNet wrote 1; a note for the log when it did."""
    changed = []
    for name, value in saved.items():
        data = params[name].data()
        if (data != value).sum().asscalar() > 0:
            params[name].set_data(value)
            changed.append(name)
    if not changed:
        return []
    return [
        f"the backward pass wrote 1 into {_listed(changed)} (fix_gamma=True, MXNet's way); "
        "the stored values were put back"
    ]
