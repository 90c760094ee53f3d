"""model/memory.py and sources.parse_model_ref."""

from __future__ import annotations

import pytest

from paraminspect.errors import ResourceError
from paraminspect.model.layout import InputDesc, LayerDesc, Layout, ParamDesc
from paraminspect.model.memory import available_memory, check_memory, estimate_memory
from paraminspect.model.sources import parse_model_ref, split_factory_ref


def _layout() -> Layout:
    return Layout(
        name="tiny",
        inputs=(InputDesc("data", (2, 4)),),
        layers=(LayerDesc(0, "fc", "fc", "FullyConnected", 0, (2, 8), ("w", "m")),),
        params=(
            ParamDesc("w", (8, 4), "float32", "write", "default", (0,)),
            ParamDesc("m", (8,), "float64", "null", "zeros", (0,)),
        ),
    )


def test_estimate_by_hand():
    est = estimate_memory(_layout())
    # activations: the layers' outputs and the input batch (2, 4) itself
    assert (est.params, est.grads, est.activations) == (32 * 4 + 8 * 8, 32 * 4, 16 * 4 + 8 * 4)
    assert est.total == 192 + 128 + 96


def test_refused_with_the_estimate():
    with pytest.raises(ResourceError) as e:
        check_memory(_layout(), available=100)
    assert str(e.value) == (
        "tiny needs about 416 B (parameters 192 B, gradients 128 B, activations 96 B) but "
        "only 100 B is available; use a smaller batch (--input data=1x...) or --shapes-only"
    )
    assert check_memory(_layout(), available=10_000).total == 416


def test_zoo_refused_before_allocating():
    from paraminspect.model.sources.zoo import load_zoo

    with pytest.raises(ResourceError, match=r"resnet152_v1 needs about .* GiB"):
        load_zoo("zoo:resnet152_v1", {"data": (64, 3, 224, 224)}, available_memory=2**30)


def test_meminfo(tmp_path):
    assert (available_memory() or 1) > 0
    (tmp_path / "meminfo").write_text("MemTotal: 100 kB\nMemAvailable: 42 kB\n")
    assert available_memory(str(tmp_path / "meminfo")) == 42 * 1024
    assert available_memory(str(tmp_path / "none")) is None


@pytest.mark.parametrize(
    "text, kind",
    [
        ("model-symbol.json", "symbol"),
        ("exported/net.JSON", "symbol"),
        ("zoo:resnet18_v1", "zoo"),
        ("zoo:resnet18_v1,classes=10", "zoo"),
        ("models/net.py:build", "factory"),
        ("net.py:Build_2", "factory"),
        ("spec.yaml", "spec"),
        ("net.py", "factory"),
        ("net.py:", "factory"),
        ("nets.pyc.yaml", "spec"),
    ],
)
def test_parse_model_ref(text, kind):
    assert parse_model_ref(text) == kind


def test_split_factory_ref():
    from paraminspect.errors import SpecError

    assert split_factory_ref("a/b.py:make") == ("a/b.py", "make")
    with pytest.raises(SpecError, match=r"bad factory reference 'net.py': write FILE.py:FUNC"):
        split_factory_ref("net.py")
