"""Limits, layer types and the initializer field shared by the spec models."""

from __future__ import annotations

from typing import Any, Dict, Tuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paraminspect.errors import InitializerError
from paraminspect.init.catalog import resolve_params
from paraminspect.spec.locate import kind_of

MAX_DIM = 10**8  # one dimension; the memory estimate guards the totals


MAX_LAYERS = 10_000


MAX_STEPS = 1_000  # entries of steps:


LAYER_TYPES = ("dense", "batchnorm", "layernorm", "dropout", "activation")


ACTIVATIONS = ("relu", "sigmoid", "tanh", "softrelu", "softsign")


PARAMS_BY_TYPE: Dict[str, Tuple[str, ...]] = {
    "dense": ("weight", "bias"),
    "batchnorm": ("gamma", "beta", "running_mean", "running_var"),
    "layernorm": ("gamma", "beta"),
    "dropout": (),
    "activation": (),
}


# Keys that only make sense for some layer types; anything else is refused per type.
KEYS_BY_TYPE: Dict[str, Tuple[str, ...]] = {
    "dense": ("units", "activation", "use_bias", "share", "init"),
    "batchnorm": ("init", "momentum", "epsilon"),
    "layernorm": ("init", "epsilon"),
    "dropout": ("rate",),
    "activation": ("activation",),
}


COMMON_KEYS = ("type", "name")


Dim = Field(ge=1, le=MAX_DIM)


class InitSpec(BaseModel):
    """An initializer: ``{method: normal, sigma: 0.01}``; parameters sit beside ``method``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    params: Dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"method": data}
        if not isinstance(data, dict):
            raise ValueError(
                f"must be a mapping like {{method: normal, sigma: 0.01}}, got {kind_of(data)}"
            )
        if "method" not in data:
            raise ValueError("missing key 'method' (e.g. {method: xavier})")
        if not isinstance(data["method"], str):
            raise ValueError(f"'method' must be a string, got {kind_of(data['method'])}")
        given = {k: v for k, v in data.items() if k != "method"}
        try:
            name, params = resolve_params(data["method"], given)
        except InitializerError as e:
            raise ValueError(str(e)) from None
        return {"method": name, "params": params}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Dict[str, Any]:
        # The model stores {method, params}; the schema describes what a spec writes.
        from paraminspect.init.catalog import init_json_schema

        return init_json_schema()

    def describe(self) -> str:
        from paraminspect.init.catalog import describe

        return describe(self.method, self.params)
