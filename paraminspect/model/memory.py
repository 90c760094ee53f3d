"""Will it fit? The memory estimate checked before MXNet allocates anything.

Two entry points over one reading of the memory available now:

- :func:`check_plan_memory` / :func:`memory_problem` for a YAML spec's :class:`NetPlan`
  (its own estimate, :meth:`NetPlan.estimate_bytes`, with the activations of a backward pass);
- :func:`check_memory` / :func:`estimate_memory` for any source's static
  :class:`~paraminspect.model.layout.Layout`. That estimate is a floor: parameters, one
  gradient per trainable parameter, and every listed layer's output (the activations a
  forward pass keeps for backward), all at their dtype's size. MXNet's workspace and the
  layers a graph Layout leaves out come on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from paraminspect._text import human_bytes
from paraminspect.errors import ResourceError
from paraminspect.model.layout import DTYPE_BYTES, Layout

if TYPE_CHECKING:  # a spec's plan module imports pydantic (~0.15 s): graphs never need it
    from paraminspect.model.plan import NetPlan

# Headroom kept free: MXNet's own libraries and workspace, Python, and the report itself.
MEMORY_HEADROOM = 0.9


def available_memory(meminfo: str = "/proc/meminfo") -> Optional[int]:
    """``MemAvailable`` in bytes, or None where the kernel does not say."""
    try:
        with open(meminfo, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


# ---------------------------------------------------------------------------- any Layout


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a network needs, by kind."""

    params: int
    grads: int
    activations: int

    @property
    def total(self) -> int:
        return self.params + self.grads + self.activations

    def describe(self) -> str:
        return (
            f"{human_bytes(self.total)} (parameters {human_bytes(self.params)}, gradients "
            f"{human_bytes(self.grads)}, activations {human_bytes(self.activations)})"
        )


def estimate_memory(layout: Layout, with_grads: bool = True) -> MemoryEstimate:
    """Estimate parameters + gradients + activations of one pass, the inputs counted with
    the activations (see the module docstring)."""
    grads = sum(p.nbytes for p in layout.params if p.trainable) if with_grads else 0
    dtype_bytes = DTYPE_BYTES.get(layout.inputs[0].dtype, 4) if layout.inputs else 4
    acts = sum(
        math.prod(layer.out_shape) * dtype_bytes
        for layer in layout.layers
        if layer.out_shape is not None
    )
    acts += sum(math.prod(d.shape) * DTYPE_BYTES.get(d.dtype, 4) for d in layout.inputs)
    return MemoryEstimate(params=layout.param_bytes, grads=grads, activations=acts)


MAX_ELEMENTS = 2**31 - 1  # MXNet 1.x indexes an array with 32-bit integers


def check_element_limit(layout: Layout) -> None:
    """Refuse, before allocation, an input, parameter or layer output of more elements than
    MXNet 1.x can index (2^31 - 1): past it MXNet fails or reads out of bounds.

    Raises:
        ResourceError: the first such array, named, with the limit.
    """
    arrays = [(f"input {d.name!r}", d.shape) for d in layout.inputs]
    arrays += [(f"parameter {p.name!r}", p.shape) for p in layout.params]
    arrays += [
        (f"the output of layer {layer.index} ({layer.name})", layer.out_shape)
        for layer in layout.layers
        if layer.out_shape is not None
    ]
    for what, shape in arrays:
        size = math.prod(shape) if shape else 0
        if size > MAX_ELEMENTS:
            raise ResourceError(
                f"{what} of shape {tuple(shape)} has {size:,} elements, past MXNet's limit of "
                f"2^31 - 1 ({MAX_ELEMENTS:,}) elements per array; use a smaller batch or "
                "size, or --shapes-only"
            )


def check_memory(
    layout: Layout, with_grads: bool = True, available: Optional[int] = None
) -> MemoryEstimate:
    """Refuse a network that will not fit in the memory available now.

    Args:
        layout: the network, described before allocation.
        with_grads: count a gradient buffer per trainable parameter.
        available: bytes available; read from /proc/meminfo when None (no check if unknown).

    Returns:
        The estimate, for a note.

    Raises:
        ResourceError: the estimate exceeds the available memory, or an array is past
            MXNet's 2^31 - 1 elements (see :func:`check_element_limit`).
    """
    check_element_limit(layout)
    estimate = estimate_memory(layout, with_grads)
    if available is None:
        available = available_memory()
    if available is not None and estimate.total > available:
        raise ResourceError(
            f"{layout.name} needs about {estimate.describe()} but only "
            f"{human_bytes(available)} is available; use a smaller batch (--input "
            "data=1x...) or --shapes-only"
        )
    return estimate


# ---------------------------------------------------------------------------- a spec's plan


def check_plan_memory(
    plan: NetPlan, forward: bool = True, backward: bool = False, what: str = "this command"
) -> None:
    """Refuse before MXNet allocates a spec's network that cannot fit.

    Raises:
        ResourceError: with the estimate, what is available, and what to do instead.
    """
    problem = memory_problem(plan, forward=forward, backward=backward, what=what)
    if problem is not None:
        raise ResourceError(
            f"{problem}; use a smaller spec, or `paraminspect show --shapes-only` to see its "
            "table without allocating it"
        )


def memory_problem(
    plan: NetPlan,
    forward: bool = True,
    backward: bool = False,
    what: str = "this command",
    available: Optional[int] = None,
) -> Optional[str]:
    """Why ``plan`` cannot be built in memory (estimate, what is free, what would fit), or None.

    The estimate is :meth:`NetPlan.estimate_bytes`: every parameter plus the gradient buffer
    Gluon allocates for it, plus the activations of one batch (twice with a backward pass).
    No check is made where the memory available is unknown.
    """
    from paraminspect.model.plan import BYTES_PER_VALUE

    need = plan.estimate_bytes(forward=forward, backward=backward)
    have = available_memory() if available is None else available
    if have is None:
        return None
    budget = int(MEMORY_HEADROOM * have)
    if need <= budget:
        return None
    fixed = need - 2 * plan.param_bytes  # the activations
    per_param = 2 * BYTES_PER_VALUE  # the value and its gradient
    fits = max(budget - fixed, 0) // per_param
    return (
        f"{what} would need about {human_bytes(need)} ({plan.unique_count:,} float32 "
        f"parameters and their gradients, {human_bytes(plan.param_bytes)} each, plus "
        f"{human_bytes(fixed)} of activations) but only {human_bytes(have)} is available, "
        f"enough for about {fits:,} parameters at this batch size"
    )
