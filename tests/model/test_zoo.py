"""sources/zoo.py: model-zoo networks, checked against Block.summary's counts and MXNet."""

from __future__ import annotations

import re

import pytest

from paraminspect.errors import OptionError, SpecError
from paraminspect.model.sources.zoo import (
    default_shape,
    describe_zoo,
    load_zoo,
    parse_zoo_ref,
    zoo_names,
)


def test_names_are_mxnets():
    from mxnet.gluon.model_zoo import vision

    with pytest.raises(ValueError) as e:
        vision.get_model("no-such-model")
    listed = re.findall(r"^\t(\S+)$", str(e.value), flags=re.M)
    assert sorted(listed) == sorted(zoo_names())


def test_resnet18_totals_as_block_summary():
    # Block.summary on resnet18_v1: 11,699,112 parameters, 11,689,512 trainable
    net, layout, notes = load_zoo("zoo:resnet18_v1")
    assert layout.unique_count == 11_699_112
    assert layout.trainable_count == 11_689_512
    assert notes == [
        "resnet18_v1: built with fresh weights (never downloaded; load weights with --load)"
    ]
    raw = net.collect_params()
    assert [p.name for p in layout.params] == list(raw.keys())
    assert all(d.shape == raw[d.name].data().shape for d in layout.params)
    # every parameter belongs to exactly one layer, which lists it
    for index, p in enumerate(layout.params):
        assert len(p.users) == 1, p.name
        assert p.name in layout.layers[p.users[0]].params, index
    assert layout.layers[-1].path == "output" and layout.layers[-1].out_shape == (1, 1000)
    assert layout.layers[-1].macs == 512 * 1000


def test_shapes_only_matches_the_forward_pass():
    import mxnet as mx

    from paraminspect.model.sources.block import measure_block
    from paraminspect.model.sources.zoo import build_zoo

    described = describe_zoo("zoo:resnet18_v1", {"data": (2, 3, 64, 64)})
    assert all(p.init != "loaded" for p in described.params)
    net = build_zoo("zoo:resnet18_v1")
    net.initialize(mx.init.Xavier())
    measured = measure_block(net, {"data": described.inputs[0]}, default_init="xavier")
    assert [(layer.path, layer.out_shape, layer.macs) for layer in described.layers] == [
        (layer.path, layer.out_shape, layer.macs) for layer in measured.layers
    ]
    assert [p.shape for p in described.params] == [p.shape for p in measured.params]
    # 7x7 stride-2 conv of 3 channels to 64, on 64x64 -> 32x32, batch 2
    conv0 = next(layer for layer in described.layers if layer.path == "features.0")
    assert conv0.macs == 2 * 64 * 32 * 32 * 3 * 7 * 7


def test_inception_default_input():
    assert default_shape("inceptionv3") == (1, 3, 299, 299)
    layout = describe_zoo("zoo:inceptionv3")
    assert layout.inputs[0].shape == (1, 3, 299, 299)
    assert layout.layers[-1].out_shape == (1, 1000)


def test_options_reach_the_constructor():
    assert parse_zoo_ref("zoo:resnet18_v1,classes=10,thumbnail=true,pretrained=false") == (
        "resnet18_v1",
        {"classes": 10, "thumbnail": True},
    )
    layout = describe_zoo("zoo:resnet18_v1,classes=10", {"data": (1, 3, 32, 32)})
    assert layout.layers[-1].out_shape == (1, 10)


def test_unknown_name():
    with pytest.raises(SpecError) as e:
        parse_zoo_ref("zoo:resnt18_v1")
    assert str(e.value) == (
        "unknown zoo model 'resnt18_v1'; did you mean 'resnet18_v1'? (see `paraminspect models`)"
    )


def test_pretrained_refused():
    with pytest.raises(SpecError, match=r"pretrained=true would download weights.*--load"):
        load_zoo("zoo:resnet18_v1,pretrained=true")


def test_bad_option():
    with pytest.raises(SpecError, match=r"unknown option 'colours' \(zoo options: batch_norm"):
        describe_zoo("zoo:resnet18_v1,colours=3")
    with pytest.raises(SpecError, match=r"bad option 'classes' .* write zoo:NAME,key=value"):
        parse_zoo_ref("zoo:resnet18_v1,classes")


def test_unknown_input_name():
    with pytest.raises(
        OptionError, match=r"has no input 'x'; did you mean|has no input 'x' \(its inputs: data\)"
    ):
        describe_zoo("zoo:resnet18_v1", {"x": (1, 3, 224, 224)})


def test_wrong_rank():
    with pytest.raises(OptionError) as e:
        describe_zoo("zoo:resnet18_v1", {"data": (1, 3, 224)})
    assert "does not take --input data=1x3x224: " in str(e.value)
    assert "\n" not in str(e.value)


def test_models_lists_every_zoo_name_without_mxnet():
    import subprocess
    import sys

    from paraminspect.model.sources.zoo import zoo_names  # checked against MXNet above

    code = (
        "import sys\n"
        "from paraminspect.cli import cli\n"
        "try:\n    cli.main(['models'], prog_name='paraminspect')\n"
        "except SystemExit:\n    pass\n"
        "print('mxnet' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[-1] == "False"
    assert lines[:-1] == [f"zoo:{n}" for n in zoo_names()]
