"""The spec stage: YAML specs read, validated and explained, with file:line errors."""
