"""The reports stage: plain frozen dataclasses, each carrying its own outcome."""
