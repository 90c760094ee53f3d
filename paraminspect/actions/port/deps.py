"""The optional ``onnx`` extra: imported only by the commands that need it."""

from __future__ import annotations

from typing import Any, Tuple

from paraminspect.errors import ParamInspectError

INSTALL_LINE = "pip install '.[onnx]'"


class MissingExtraError(ParamInspectError):
    """onnx or onnxruntime is not installed (the ``onnx`` extra)."""


def require_onnx(command: str) -> Tuple[Any, Any]:
    """``(onnx, onnxruntime)``, imported now.

    Raises:
        MissingExtraError: either is missing; the message is the one install line.
    """
    try:
        import onnx
        import onnxruntime
    except ImportError as e:
        missing = getattr(e, "name", None) or "onnx"
        raise MissingExtraError(
            f"{command} needs onnx and onnxruntime ({missing} is not installed); "
            f"add them with: {INSTALL_LINE}"
        ) from None
    return onnx, onnxruntime
