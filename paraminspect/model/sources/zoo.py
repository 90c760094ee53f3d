"""``zoo:NAME`` or ``zoo:NAME,key=value,...``: a Gluon model-zoo vision network.

Built with ``pretrained=False`` always: nothing is ever downloaded (weights come from
``--load``). The input is ``data``, 1x3x224x224 by default (1x3x299x299 for inceptionv3).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from paraminspect._text import did_you_mean, quote
from paraminspect.errors import BuildError, SpecError
from paraminspect.model.inputs import check_input_names
from paraminspect.model.layout import InputDesc, Layout
from paraminspect.model.memory import check_memory
from paraminspect.model.sources._common import InputsArg, normalize_inputs
from paraminspect.model.sources.block import describe_block, measure_block

# mxnet.gluon.model_zoo.vision.get_model's table (1.9.1), kept here so that listing the
# names does not import MXNet; a test checks it against MXNet's own list.
ZOO_NAMES = (
    "alexnet", "densenet121", "densenet161", "densenet169", "densenet201", "inceptionv3",
    "mobilenet0.25", "mobilenet0.5", "mobilenet0.75", "mobilenet1.0", "mobilenetv2_0.25",
    "mobilenetv2_0.5", "mobilenetv2_0.75", "mobilenetv2_1.0", "resnet101_v1", "resnet101_v2",
    "resnet152_v1", "resnet152_v2", "resnet18_v1", "resnet18_v2", "resnet34_v1",
    "resnet34_v2", "resnet50_v1", "resnet50_v2", "squeezenet1.0", "squeezenet1.1", "vgg11",
    "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
)  # fmt: skip
LIST_HINT = "see `paraminspect models`"


def zoo_names() -> Tuple[str, ...]:
    """Every name ``zoo:NAME`` takes, sorted."""
    return ZOO_NAMES


def default_shape(name: str) -> Tuple[int, ...]:
    """The input shape a zoo network is built for, with a batch of 1."""
    return (1, 3, 299, 299) if name.startswith("inception") else (1, 3, 224, 224)


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


# The options get_model passes on (1.9.1), with their types and ranges; pretrained is
# checked on its own (any true value would download).
_INT, _BOOL, _FRACTION, _TEXT = "a whole number", "true or false", "a number in [0, 1)", "text"
ZOO_OPTIONS: Dict[str, Tuple[str, int, int]] = {
    "classes": (_INT, 1, 2**31 - 1),
    "bn_size": (_INT, 1, 1024),
    "thumbnail": (_BOOL, 0, 0),
    "batch_norm": (_BOOL, 0, 0),
    "dropout": (_FRACTION, 0, 1),
    "prefix": (_TEXT, 0, 0),
}


def _check_option(text: str, key: str, value: Any) -> None:
    """One ``key=value`` of a zoo reference, by its type and range.

    Raises:
        SpecError: an unknown key, a value of the wrong type or out of range.
    """
    if key not in ZOO_OPTIONS:
        known = [*sorted(ZOO_OPTIONS), "pretrained"]
        raise SpecError(
            f"{quote(text)}: unknown option {quote(key)}{did_you_mean(key, known)} "
            f"(zoo options: {', '.join(known)})"
        )
    kind, low, high = ZOO_OPTIONS[key]
    if kind == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        wanted = f"a whole number from {low:,} to {high:,}"
    elif kind == _BOOL:
        ok, wanted = isinstance(value, bool), "true or false"
    elif kind == _FRACTION:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1
        wanted = "a number from 0 up to (not including) 1"
    else:
        ok, wanted = isinstance(value, str), "text"
    if not ok:
        raise SpecError(f"{quote(text)}: {key}={value!r} is not {wanted}")


def parse_zoo_ref(text: str) -> Tuple[str, Dict[str, Any]]:
    """``zoo:resnet18_v1,classes=10`` -> ``('resnet18_v1', {'classes': 10})``.

    Values read as booleans (true/false), integers, floats, else strings.

    Raises:
        SpecError: an unknown name (did-you-mean), a malformed option, ``pretrained=true``.
    """
    body = text[4:] if text.startswith("zoo:") else text
    name, *options = [part.strip() for part in body.split(",")]
    if name not in ZOO_NAMES:
        raise SpecError(
            f"unknown zoo model {quote(name)}{did_you_mean(name, ZOO_NAMES)} ({LIST_HINT})"
        )
    kwargs: Dict[str, Any] = {}
    typed: Dict[str, str] = {}  # each value as the user wrote it, for the messages
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise SpecError(
                f"bad option {quote(option)} in {quote(text)}: write zoo:NAME,key=value,..."
            )
        kwargs[key.strip()] = _value(value.strip())
        typed[key.strip()] = value.strip()
    pretrained = kwargs.pop("pretrained", False)
    if pretrained not in (False, 0) and str(pretrained).lower() not in ("false", "0", "no", ""):
        raise SpecError(
            f"{quote(text)}: pretrained={typed['pretrained']} would download weights, and "
            "paraminspect "
            "never downloads; drop it and give the weights with --load FILE.params"
        )
    for key in ("root", "ctx"):
        if key in kwargs:
            raise SpecError(f"{quote(text)}: option {quote(key)} is set by paraminspect")
    for key, value in kwargs.items():
        _check_option(text, key, value)
    return name, kwargs


def build_zoo(text: str) -> Any:
    """The zoo network, constructed (parameters declared, none allocated).

    Raises:
        SpecError: see :func:`parse_zoo_ref`; an option the network does not take.
    """
    from mxnet.gluon.model_zoo import vision

    name, kwargs = parse_zoo_ref(text)
    try:
        return vision.get_model(name, pretrained=False, **kwargs)
    except TypeError as e:
        raise SpecError(f"{quote(text)}: {e}") from e
    except (ValueError, AssertionError, KeyError) as e:
        raise SpecError(f"{quote(text)}: {type(e).__name__}: {e}") from e


def _inputs(name: str, inputs: InputsArg, source: str) -> Dict[str, InputDesc]:
    given = normalize_inputs(inputs)
    check_input_names(given, ["data"], source)
    return given or {"data": InputDesc("data", default_shape(name))}


def describe_zoo(text: str, inputs: InputsArg = None, net: Optional[Any] = None) -> Layout:
    """The Layout of a zoo network by symbolic inference; no weight is allocated.

    Args:
        text: ``zoo:NAME[,key=value...]``.
        inputs: ``{'data': shape}``; the network's default shape when None.
        net: the network already built by :func:`build_zoo` (its names are kept).
    """
    net = net if net is not None else build_zoo(text)
    name = parse_zoo_ref(text)[0]
    return describe_block(net, _inputs(name, inputs, quote(text)), name=name, source=quote(text))


def load_zoo(
    text: str,
    inputs: InputsArg = None,
    ctx: Optional[Any] = None,
    available_memory: Optional[int] = None,
    net: Optional[Any] = None,
    arrays: Optional[Mapping[str, Any]] = None,
    run: bool = True,
) -> Tuple[Any, Layout, List[str]]:
    """Build a zoo network with fresh weights (Gluon's default initializer); ``run=False``
    runs no forward pass (``show --before-forward``, see ``measure_block``).

    ``arrays``: the inputs for the pass that finishes deferred initialization (zeros
    without them; see :func:`~paraminspect.model.sources.block.measure_block`).

    ``net``: the network already built by :func:`build_zoo`, so its parameter names are
    the ones a Layout described before.

    Returns:
        (net, layout, notes).

    Raises:
        SpecError: a bad reference; OptionError: a bad input; ResourceError: too big.
    """
    import mxnet as mx

    name = parse_zoo_ref(text)[0]
    net = net if net is not None else build_zoo(text)
    resolved = _inputs(name, inputs, quote(text))
    check_memory(
        describe_block(net, resolved, name=name, source=quote(text)), available=available_memory
    )
    ctx = ctx or mx.cpu()
    try:
        net.initialize(ctx=ctx)
    except (mx.base.MXNetError, ValueError) as e:
        raise BuildError(f"cannot initialize {quote(text)}: {e}") from e
    layout = measure_block(net, resolved, arrays, name=name, ctx=ctx, source=quote(text), run=run)
    notes = [f"{name}: built with fresh weights (never downloaded; load weights with --load)"]
    return net, layout, notes
