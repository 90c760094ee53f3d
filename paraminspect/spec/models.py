"""The frozen pydantic models of a spec: input, layers, init, steps."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from paraminspect._text import did_you_mean
from paraminspect.init.catalog import shape_problem
from paraminspect.spec.fields import (
    ACTIVATIONS,
    COMMON_KEYS,
    KEYS_BY_TYPE,
    LAYER_TYPES,
    MAX_DIM,
    MAX_LAYERS,
    MAX_STEPS,
    PARAMS_BY_TYPE,
    InitSpec,
)
from paraminspect.spec.steps import StepSpec


class InputSpec(BaseModel):
    """The input batch ``X``: its shape (batch first) and how it is drawn."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    shape: List[int] = Field(min_length=2, max_length=8)
    dist: Literal["uniform", "normal"] = "uniform"

    @field_validator("shape")
    @classmethod
    def _positive(cls, shape: List[int]) -> List[int]:
        for d in shape:
            if d < 1 or d > MAX_DIM:
                raise ValueError(f"every dimension must be between 1 and {MAX_DIM:,}, got {d}")
        return shape


class LayerSpec(BaseModel):
    """One layer; ``type`` defaults to dense. See the README's spec reference."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    type: str = "dense"
    name: Optional[str] = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    units: Optional[int] = Field(default=None, ge=1, le=MAX_DIM)
    activation: Optional[str] = None
    use_bias: bool = True
    share: Union[int, str, None] = None
    init: Optional[Dict[str, InitSpec]] = None
    rate: Optional[float] = Field(default=None, ge=0.0, lt=1.0)
    momentum: float = Field(default=0.9, ge=0.0, le=1.0)
    epsilon: float = Field(default=1e-5, gt=0.0)

    @field_validator("init")
    @classmethod
    def _init_fits_shapes(
        cls, value: Optional[Dict[str, InitSpec]]
    ) -> Optional[Dict[str, InitSpec]]:
        # A dense weight is 2-D; a bias, gamma, beta or running statistic is 1-D. Xavier on
        # a bias would otherwise reach MXNet and fail there.
        for key, init in (value or {}).items():
            ndim = 2 if key == "weight" else 1
            what = "a dense weight" if key == "weight" else f"a {key} vector"
            problem = shape_problem(init.method, ndim, what)
            if problem:
                raise ValueError(f"{key}: {problem}")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in LAYER_TYPES:
            raise ValueError(
                f"unknown layer type '{value}'{did_you_mean(value, LAYER_TYPES)} "
                f"(allowed: {', '.join(LAYER_TYPES)})"
            )
        return value

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation '{value}'{did_you_mean(value, ACTIVATIONS)} "
                f"(allowed: {', '.join(ACTIVATIONS)})"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _keys_for_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = data.get("type", "dense")
        if kind not in LAYER_TYPES:
            return data  # the type validator reports it
        allowed = COMMON_KEYS + KEYS_BY_TYPE[kind]
        for key in data:
            if key not in allowed and key in LayerSpec.model_fields:
                raise ValueError(
                    f"key '{key}' does not apply to a {kind} layer (allowed: {', '.join(allowed)})"
                )
        if kind == "dense" and "units" not in data:
            raise ValueError("a dense layer needs 'units' (e.g. {units: 256, activation: relu})")
        if kind == "dropout" and "rate" not in data:
            raise ValueError("a dropout layer needs 'rate' (e.g. {type: dropout, rate: 0.5})")
        if kind == "activation" and data.get("activation") is None:
            raise ValueError("an activation layer needs 'activation' (e.g. relu)")
        init = data.get("init")
        if isinstance(init, dict):
            names = PARAMS_BY_TYPE[kind]
            for key in init:
                if key not in names:
                    raise ValueError(
                        f"init key '{key}' is not a parameter of a {kind} layer"
                        f"{did_you_mean(str(key), names)} (allowed: {', '.join(names) or 'none'})"
                    )
            if "bias" in init and data.get("use_bias") is False:
                raise ValueError("init.bias given but use_bias is false")
        return data


class Spec(BaseModel):
    """A whole spec file."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: Optional[str] = None
    input: InputSpec
    init: Optional[InitSpec] = None
    layers: List[LayerSpec] = Field(min_length=1, max_length=MAX_LAYERS)
    steps: List[StepSpec] = Field(default_factory=list, max_length=MAX_STEPS)

    @field_validator("init")
    @classmethod
    def _net_init_fits_weights(cls, value: Optional[InitSpec]) -> Optional[InitSpec]:
        # A net-wide init reaches every weight (biases keep zeros): dense weights are 2-D.
        if value is not None:
            problem = shape_problem(value.method, 2, "a dense weight")
            if problem:
                raise ValueError(problem)
        return value


Spec.model_rebuild()
