"""The JSON Schema of the spec format, generated from the pydantic models."""

from __future__ import annotations

from typing import Any, Dict

from paraminspect.spec.models import Spec

SCHEMA_URL_COMMENT = "# yaml-language-server: $schema=spec.schema.json"


def json_schema() -> Dict[str, Any]:
    """The JSON Schema of the spec format, generated from the pydantic models."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "paraminspect spec"
    return schema
