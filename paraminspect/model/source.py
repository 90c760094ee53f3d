"""What a model source is: something that describes a network statically and builds it.

Adding a source means one new module in :mod:`paraminspect.model.sources` with a class
that has these members, and one line in :func:`paraminspect.model.sources.open_source`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol

if TYPE_CHECKING:
    from paraminspect.model.layout import Layout
    from paraminspect.model.model import Model


class Source(Protocol):
    """A network description that can be built into a :class:`~paraminspect.model.model.Model`."""

    kind: str  # 'spec', 'symbol', 'zoo', 'factory', 'block': the report header and model.kind

    @property
    def label(self) -> str:
        """Where it came from, for messages: a path, 'builtin:mlp', 'zoo:resnet18_v1'."""
        ...

    @property
    def name(self) -> str:
        """A short name for headers."""
        ...

    @property
    def layout(self) -> Layout:
        """Inputs, layers and unique parameters, known without allocating anything."""
        ...

    def build(
        self,
        seed: Optional[int] = None,
        forward: bool = True,
        backward: bool = False,
        before_forward: bool = False,
    ) -> Model:
        """Build the network (and, with ``forward``, run its first forward pass).

        Args:
            seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
            forward: draw the inputs and run the first forward pass.
            backward: the caller will also run a backward pass (for the memory estimate).
            before_forward: stop after ``initialize()``: no pass at all, not even the one
                that measures a Block, so widths MXNet learns from X stay 0 and their
                weights have no values (``show --before-forward``). A spec without
                ``forward`` is in that state already.
        """
        ...
