"""``--plugin FILE.py:CLASS``: a user's own initializer, imported only because they named it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Mapping

from paraminspect._text import did_you_mean
from paraminspect.errors import OptionError, ParamInspectError
from paraminspect.usercode import user_code


def load_plugin(ref: str, kwargs: Mapping[str, Any]) -> Any:
    """Import ``FILE.py:ClassName`` and instantiate that ``mx.init.Initializer`` subclass.

    This runs the file's code, which is why only the command line may ask for it.

    Raises:
        OptionError: the reference is malformed, the file or class is missing, the class is
            not an Initializer, or creating it failed.
    """
    import mxnet as mx

    if ":" not in ref:
        raise OptionError(f"'{ref}' is not FILE.py:ClassName (e.g. my_inits.py:MyInit)", "--plugin")
    file, _, cls_name = ref.rpartition(":")
    path = Path(file)
    if path.suffix != ".py":
        raise OptionError(f"'{file}' is not a .py file (expected FILE.py:ClassName)", "--plugin")
    if not path.is_file():
        raise OptionError(f"file '{file}' not found", "--plugin")
    module_name = f"paraminspect_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always load
        raise OptionError(f"cannot import '{file}'", "--plugin")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with user_code(f"'{file}'", wrap_all=False, importing=True):
            spec.loader.exec_module(module)
    except ParamInspectError:
        raise
    except Exception as e:
        raise OptionError(f"importing '{file}' failed: {type(e).__name__}: {e}", "--plugin") from e
    found = [
        n
        for n, obj in vars(module).items()
        if isinstance(obj, type)
        and issubclass(obj, mx.init.Initializer)
        and obj.__module__ == module_name
    ]
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise OptionError(
            f"'{file}' has no class '{cls_name}'{did_you_mean(cls_name, found)} "
            f"(initializers in it: {', '.join(found) or 'none'})",
            "--plugin",
        )
    if not (isinstance(cls, type) and issubclass(cls, mx.init.Initializer)):
        raise OptionError(
            f"'{cls_name}' in '{file}' is not a subclass of mxnet.init.Initializer", "--plugin"
        )
    try:
        with user_code(f"{cls_name}() in '{file}'", wrap_all=False):
            return cls(**kwargs)
    except ParamInspectError:
        raise
    except Exception as e:
        raise OptionError(
            f"creating {cls_name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
            f"failed: {type(e).__name__}: {e}",
            "--plugin",
        ) from e
