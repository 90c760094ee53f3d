"""``FILE.py:FUNC``: a Python function that returns a Gluon Block.

The file is imported by path under a private module name (``_paraminspect_factory_N``),
with its folder first on ``sys.path`` so that it can import its neighbours; both are undone
afterwards, so nothing the user's code might import clashes with it. The function is
called without arguments. A factory has no default input shape: give ``--input
data=SHAPE``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, cast

from paraminspect._text import did_you_mean, plural, quote
from paraminspect.errors import BuildError, OptionError, ParamInspectError, SpecError
from paraminspect.fileio import special_file_kind
from paraminspect.model.layout import InputDesc, Layout
from paraminspect.model.memory import check_memory
from paraminspect.model.sources._common import InputsArg, normalize_inputs
from paraminspect.model.sources.block import describe_block, measure_block
from paraminspect.model.sources.refs import split_factory_ref
from paraminspect.usercode import user_code

_counter = itertools.count()


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


@contextlib.contextmanager
def _module_scope(path: Path, module_name: str, module: Any) -> Iterator[None]:
    """The module under its private name and its folder on sys.path, then neither."""
    folder = str(path.resolve().parent)
    sys.modules[module_name] = module  # dataclasses and pickle look the module up by name
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.modules.pop(module_name, None)
        if folder in sys.path:
            sys.path.remove(folder)


def _find(module: Any, module_name: str, file: str, func: str) -> Callable[[], Any]:
    target = getattr(module, func, None)
    if target is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        own = [n for n in names if getattr(vars(module)[n], "__module__", "") == module_name]
        raise SpecError(
            f"{quote(file)} has no function {quote(func)}{did_you_mean(func, own or names)}"
            + (f" (it defines: {', '.join(own)})" if own else "; name a function defined there")
        )
    if not callable(target):
        raise SpecError(f"{quote(file)}:{func} is a {type(target).__name__}, not a function")
    return cast(Callable[[], Any], target)


def build_factory(ref: str) -> Any:
    """Import ``FILE.py`` by path, call ``FUNC()`` and check that it returned a Block.

    Raises:
        SpecError: a bad reference, a missing file, an import that fails, no such
            function.
        BuildError: the function raised, or returned something other than a Block.
    """
    import mxnet as mx

    file, func = split_factory_ref(ref)
    path = Path(file)
    kind = special_file_kind(path) or ("a folder" if path.is_dir() else None)
    if kind is not None:
        raise SpecError(
            f"factory file {quote(file)} is {kind}; give FILE.py:FUNC with a Python file"
        )
    if not path.is_file():
        raise SpecError(
            f"factory file {quote(file)} not found; give FILE.py:FUNC with the path of an "
            "existing Python file"
        )
    module_name = f"_paraminspect_factory_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot import {quote(file)} as a Python module")
    module = importlib.util.module_from_spec(spec)
    with _module_scope(path, module_name, module):
        try:
            with user_code(quote(file), wrap_all=False, importing=True):
                spec.loader.exec_module(module)
        except SyntaxError as e:
            raise SpecError(f"{quote(file)} line {e.lineno}: SyntaxError: {e.msg}") from e
        except ParamInspectError:
            raise
        except Exception as e:
            raise SpecError(f"importing {quote(file)} failed: {_one_line(e)}") from e
        factory = _find(module, module_name, file, func)
        with user_code(ref, BuildError):
            net = factory()
    if not isinstance(net, mx.gluon.Block):
        raise BuildError(
            f"{ref} returned {type(net).__name__}, not a Gluon Block; return the network "
            "(e.g. an nn.HybridSequential)"
        )
    return net


def _inputs(inputs: InputsArg, ref: str) -> Dict[str, InputDesc]:
    given = normalize_inputs(inputs)
    if not given:
        raise OptionError(
            f"{quote(ref)} has no default input shape; give --input data=SHAPE "
            "(SHAPE like 1x3x224x224)",
            "--input",
        )
    return given


def describe_factory(ref: str, inputs: InputsArg = None, net: Optional[Any] = None) -> Layout:
    """The Layout of a factory's network by symbolic inference; no weight allocated.

    Plain (non-hybrid) Blocks get ``out_shape=None`` (see :func:`describe_block`).
    ``net``: the Block the factory already returned (not called again).
    """
    net = net if net is not None else build_factory(ref)
    return describe_block(net, _inputs(inputs, ref), source=quote(ref))


def load_factory(
    ref: str,
    inputs: InputsArg = None,
    arrays: Optional[Dict[str, Any]] = None,
    ctx: Optional[Any] = None,
    available_memory: Optional[int] = None,
    net: Optional[Any] = None,
    run: bool = True,
) -> Tuple[Any, Layout, List[str]]:
    """Call the factory, initialize what it left uninitialized and run one forward pass
    (with ``run=False``, none: ``show --before-forward``, see ``measure_block``).

    ``net``: the Block the factory already returned (not called again).

    Parameters the factory initialized itself keep their values.

    Returns:
        (net, layout, notes).
    """
    import mxnet as mx

    net = net if net is not None else build_factory(ref)
    resolved = _inputs(inputs, ref)
    check_memory(describe_block(net, resolved, source=quote(ref)), available=available_memory)
    ctx = ctx or mx.cpu()
    fresh = [p for p in net.collect_params().values() if p._data is None and p._deferred_init == ()]
    try:
        for p in fresh:
            p.initialize(ctx=ctx, default_init=mx.init.Uniform())
    except (mx.base.MXNetError, ValueError) as e:
        raise BuildError(f"cannot initialize {ref}: {_one_line(e)}") from e
    # what the factory initialized itself came from an init the tool cannot know
    drawn = {id(p) for p in fresh}
    own = [n for n, p in net.collect_params().items() if id(p) not in drawn]
    layout = measure_block(
        net, resolved, arrays, ctx=ctx, source=quote(ref), user_initialized=own, run=run
    )
    notes = []
    if fresh:
        notes.append(
            f"{ref}: {plural(len(fresh), 'parameter')} that it left uninitialized got fresh "
            "values (MXNet's Uniform, or the parameter's own initializer)"
            + ("" if run else "; a deferred one gets them at the first forward pass")
        )
    return net, layout, notes
