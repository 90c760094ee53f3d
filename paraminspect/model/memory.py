"""Will it fit? The memory estimate checked before MXNet allocates anything."""

from __future__ import annotations

import os
from typing import Optional

from paraminspect._text import human_bytes
from paraminspect.errors import ResourceError
from paraminspect.model.plan import BYTES_PER_VALUE, NetPlan


def available_memory() -> int:
    """Bytes this process may still allocate (MemAvailable, or physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 62


def check_memory(
    plan: NetPlan, forward: bool = True, backward: bool = False, what: str = "this command"
) -> None:
    """Refuse before MXNet allocates anything that cannot fit.

    Raises:
        ResourceError: with the estimate, what is available, and what to do instead.
    """
    problem = memory_problem(plan, forward=forward, backward=backward, what=what)
    if problem is not None:
        raise ResourceError(
            f"{problem}; use a smaller spec, or `paraminspect show --shapes-only` to see its "
            "table without allocating it"
        )


# Headroom kept free: MXNet's own libraries and workspace, Python, and the report itself.
MEMORY_HEADROOM = 0.9


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
    """
    need = plan.estimate_bytes(forward=forward, backward=backward)
    have = available_memory() if available is None else available
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
