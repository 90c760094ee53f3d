"""A spec-plan-shaped view of any :class:`Layout`, for readers that still take ``model.plan``.

``train``'s per-step readers (``StepNorms``, ``make_record``, ``layer_names``) read a spec
plan's ``layers`` (index, name, params with their grad_req, shares_with) and ``users``.
``pi.watch`` runs them on a live Block, whose source has a Layout and no plan; this gives
them the same fields from the Layout: the layers that hold parameters of their own, under
the Layout's indices (so a record's layer numbers are ``pi.show``'s). It can go when those
readers take the Layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from paraminspect.model.layout import Layout, ParamDesc


@dataclass(frozen=True)
class PlanLayer:
    index: int
    name: str
    activation: Optional[str]
    shares_with: Optional[int]  # the first user of its parameters, when that is another layer
    params: Tuple[ParamDesc, ...]


@dataclass(frozen=True)
class LayoutPlan:
    name: str
    layers: Tuple[PlanLayer, ...]
    users: Dict[str, Tuple[int, ...]]
    layout: Layout


def layout_plan(layout: Layout) -> LayoutPlan:
    """The plan-shaped view of ``layout`` (see the module docstring)."""
    by_name = {p.name: p for p in layout.params}
    layers = []
    for layer in layout.layers:
        if not layer.params:
            continue
        firsts = {by_name[n].users[0] for n in layer.params}
        shares = next(iter(firsts)) if len(firsts) == 1 and layer.index not in firsts else None
        layers.append(
            PlanLayer(
                layer.index,
                layer.name,
                layer.activation,
                shares,
                tuple(by_name[n] for n in layer.params),
            )
        )
    return LayoutPlan(layout.name, tuple(layers), dict(layout.users), layout)
