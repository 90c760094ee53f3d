"""A YAML spec (a file or a built-in name) as a model source: validated and planned once.

The plan travels with the source, so every later stage (the memory estimate, selections,
the build, the reports) reads the same one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from paraminspect.model.layout import Layout
from paraminspect.model.plan import NetPlan, make_plan
from paraminspect.model.targets import check_step_targets
from paraminspect.spec.load import LoadedSpec, load_spec

if TYPE_CHECKING:
    from paraminspect.model.model import Model
    from paraminspect.spec.fields import InitSpec


@dataclass(frozen=True)
class SpecSource:
    """A validated spec and its plan."""

    loaded: LoadedSpec
    plan: NetPlan
    kind = "spec"

    @property
    def label(self) -> str:
        return self.loaded.source

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def layout(self) -> Layout:
        return self.plan.layout

    def build(
        self,
        seed: Optional[int] = None,
        forward: bool = True,
        backward: bool = False,
        before_forward: bool = False,
    ) -> Model:
        from paraminspect.model.build import build_model

        # without the first pass a spec is the state after initialize(): before_forward
        forward = forward and not before_forward
        return build_model(self, seed=seed, forward=forward, backward=backward)

    def with_overrides(
        self, batch: Optional[int] = None, init: Optional[InitSpec] = None
    ) -> SpecSource:
        """The same spec with another batch size and/or net-wide initializer, re-planned."""
        spec = self.loaded.spec
        if batch is not None:
            shape = [batch, *spec.input.shape[1:]]
            spec = spec.model_copy(update={"input": spec.input.model_copy(update={"shape": shape})})
        if init is not None:
            spec = spec.model_copy(update={"init": init})
        if spec is self.loaded.spec:
            return self
        return plan_spec(dataclasses.replace(self.loaded, spec=spec))


def plan_spec(loaded: LoadedSpec) -> SpecSource:
    """Plan a validated spec and check what its steps select.

    Raises:
        SpecError: naming or sharing rules broken, or a step that cannot apply.
    """
    plan = make_plan(loaded)  # sharing and naming rules; raises SpecError with a line
    check_step_targets(loaded, plan)  # what each step selects exists and suits its method
    return SpecSource(loaded, plan)


def open_spec(ref: Optional[str]) -> SpecSource:
    """Read, validate and plan a spec file or built-in name (None: ``mlp``). No MXNet.

    Raises:
        SpecError: with ``file:line: key.path: problem`` in the message.
    """
    return plan_spec(load_spec(ref))
