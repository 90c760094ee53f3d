"""The layers ``train`` reports, read from the model's Layout (the same on every source).

Every source (a YAML spec, a graph, a zoo model, a factory, a Block) takes one rule: a
layer is reported when it reads parameters or is a ReLU layer (its dead fraction).
Containers and parameter-free ops (a dropout, a sigmoid ``Activation``) would only add
empty rows, and a spec and the same net written in Python must give the same rows.
Layers are named and their sharing is read as the report header does
(:func:`paraminspect.model.layout.layer_label`).

A ReLU layer is one whose ``activation`` is ``relu`` (a Gluon ``Dense``/``Conv`` with
``activation='relu'``, an ``Activation('relu')``); the ``Activation`` child a fused
``Dense(activation='relu')`` keeps for itself is the same ReLU, and is not counted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from paraminspect.actions.view import layer_shares_with
from paraminspect.model.layout import Layout, layer_label
from paraminspect.model.model import Model


@dataclass(frozen=True)
class TrainLayer:
    """One reported layer."""

    index: int  # into Layout.layers
    name: str  # the Gluon block name (dense0), or the graph node's
    path: str  # the Gluon path (3, features.4.0), or the graph node's name
    params: Tuple[str, ...]  # every parameter it reads (shared ones included)
    relu: bool
    shares_with: Optional[int]  # the layer whose parameters it uses (as in the header)


def relu_indices(layout: Layout) -> Tuple[int, ...]:
    """Indices of the ReLU layers, each ReLU once (see the module docstring)."""
    by_path = {ld.path: ld for ld in layout.layers}
    out = []
    for ld in layout.layers:
        if ld.activation != "relu":
            continue
        parent = by_path.get(ld.path.rsplit(".", 1)[0]) if "." in ld.path else None
        if parent is not None and parent.activation == "relu" and not ld.params:
            continue  # Dense(activation='relu')'s own Activation child
        out.append(ld.index)
    return tuple(out)


def train_layers(model: Model) -> Tuple[TrainLayer, ...]:
    """The layers a run reports, in layout order, under the label every command uses."""
    layout = model.layout
    relus = set(relu_indices(layout))
    return tuple(
        TrainLayer(
            ld.index,
            ld.name,
            ld.path,
            ld.params,
            ld.index in relus,
            layer_shares_with(layout, ld),
        )
        for ld in layout.layers
        if ld.params or ld.index in relus
    )


def layer_names(model: Model) -> Dict[int, str]:
    """Layer index -> the label trouble is reported under: ``0 (dense0)``."""
    return {lp.index: layer_label(lp.path, lp.name) for lp in train_layers(model)}


def shared_users(model: Model) -> Dict[str, Tuple[int, ...]]:
    """Parameter -> the layers that read it, for parameters read by several layers."""
    return {name: users for name, users in model.layout.users.items() if len(users) > 1}
