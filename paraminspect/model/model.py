"""The Model every action takes: a built network, its inputs, and where it came from.

A :class:`Model` is made by a source's ``build`` (see :mod:`paraminspect.model.sources`).
Actions read the network and its parameters through it; features that only a YAML spec
has (``steps:``, a spec's own initializers) read :attr:`Model.plan` and :attr:`Model.loaded`,
which only a spec source provides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List

from paraminspect.errors import BuildError
from paraminspect.init.catalog import make_initializer

if TYPE_CHECKING:
    from paraminspect.model.layout import Layout
    from paraminspect.model.plan import NetPlan
    from paraminspect.model.source import Source
    from paraminspect.spec.load import LoadedSpec


@dataclass
class Model:
    """A built network with what the reports need to know about it.

    ``init`` maps each parameter name to a description of the initializer that produced
    its current values; actions that change values update it.
    """

    source: Source
    net: Any  # a Gluon Block
    X: Any = None  # the input batch (an NDArray), None before the first forward pass
    forward_done: bool = False
    init: Dict[str, str] = field(default_factory=dict)
    log: List[str] = field(default_factory=list)  # lines for stderr (e.g. myinit's 'Init ...')
    warnings: List[str] = field(default_factory=list)  # NaN/Inf in loaded weights or inputs
    initializers: List[Any] = field(default_factory=list)  # objects whose .log we drain

    @property
    def layout(self) -> Layout:
        """The static description of the network (the same for every source)."""
        return self.source.layout

    @property
    def plan(self) -> NetPlan:
        """The spec's plan; only a spec source has one."""
        return self._spec_part("plan")

    @property
    def loaded(self) -> LoadedSpec:
        """The validated spec; only a spec source has one."""
        return self._spec_part("loaded")

    def _spec_part(self, name: str) -> Any:
        part = getattr(self.source, name, None)
        if part is None:
            raise BuildError(f"{self.source.label} is not a YAML spec; this needs a spec")
        return part

    def new_initializer(self, method: str, params: Dict[str, Any]) -> Any:
        """Build an MXNet initializer and remember it so its log lines reach the report."""
        init = make_initializer(method, params)
        self.initializers.append(init)
        return init

    def drain_log(self) -> None:
        """Move lines logged by initializers (myinit's ``Init NAME SHAPE``) into :attr:`log`."""
        for init in self.initializers:
            lines = getattr(init, "log", None)
            if lines:
                self.log.extend(lines)
                lines.clear()

    @property
    def params(self) -> Dict[str, Any]:
        """Unique parameters by name, in ``collect_params`` order."""
        return dict(self.net.collect_params().items())

    def layer(self, index: int) -> Any:
        return self.net[index]
