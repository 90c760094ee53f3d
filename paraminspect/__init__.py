"""paraminspect: look inside the parameters of MXNet Gluon networks built from YAML specs."""

from __future__ import annotations

__version__ = "0.1.0"
