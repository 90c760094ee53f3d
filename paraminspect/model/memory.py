"""How much memory a network will take, estimated from its Layout before allocating it.

The estimate is a floor: parameters, one gradient per trainable parameter, and every
listed layer's output (the activations a forward pass keeps for backward), all at their
dtype's size. MXNet's workspace and the layers a graph Layout leaves out come on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from paraminspect._text import human_bytes
from paraminspect.errors import ResourceError
from paraminspect.model.layout import DTYPE_BYTES, Layout


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
    """Estimate parameters + gradients + activations of one pass (see the module docstring)."""
    grads = sum(p.nbytes for p in layout.params if p.trainable) if with_grads else 0
    dtype_bytes = DTYPE_BYTES.get(layout.inputs[0].dtype, 4) if layout.inputs else 4
    acts = sum(
        math.prod(layer.out_shape) * dtype_bytes
        for layer in layout.layers
        if layer.out_shape is not None
    )
    return MemoryEstimate(params=layout.param_bytes, grads=grads, activations=acts)


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
        ResourceError: the estimate exceeds the available memory.
    """
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
