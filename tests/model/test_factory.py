"""sources/factory.py: FILE.py:FUNC, with nested blocks and a shared layer."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from paraminspect.errors import BuildError, OptionError, SpecError
from paraminspect.model.sources.factory import describe_factory, load_factory


def test_nested_and_shared(factory_file):
    ref = f"{factory_file}:build"
    net, layout, notes = load_factory(ref, {"data": (3, 4)})
    assert notes == [
        f"{ref}: 6 parameters that it left uninitialized got fresh values (MXNet's Uniform, "
        "or the parameter's own initializer)"
    ]
    paths = [layer.path for layer in layout.layers]
    # Gluon's paths; a Dense's own Activation ('1.first.act') is part of it, not a layer
    assert paths == ["0", "1", "1.first", "1.second", "2"]
    assert [layer.depth for layer in layout.layers] == [0, 0, 1, 1, 0]
    # independent: collect_params lists the shared tensors once; both Dense blocks hold them
    raw = net.collect_params()
    assert [p.name for p in layout.params] == list(raw.keys())
    pair = net[1]
    assert pair.first.weight is pair.second.weight
    shared = pair.first.weight.name
    users = [layout.layers[i].path for i in layout.param(shared).users]
    assert users == ["1.first", "1.second"]
    assert [layout.layers[i].path for i in layout.param(pair.first.bias.name).users] == users
    assert layout.layers[1].params == ()  # the container reads nothing itself
    assert layout.unique_count == sum(p.data().size for p in raw.values()) == 40 + 72 + 18
    assert layout.total_params == 40 + 2 * 72 + 18
    assert [layer.out_shape for layer in layout.layers] == [(3, 8)] * 4 + [(3, 2)]
    assert layout.layers[2].activation == "relu"
    x = np.ones((3, 4), dtype="float32")
    assert net(__import__("mxnet").nd.array(x)).shape == (3, 2)


def test_describe_matches_load(factory_file):
    ref = f"{factory_file}:build"
    described = describe_factory(ref, {"data": (3, 4)})
    _net, loaded, _notes = load_factory(ref, {"data": (3, 4)})
    assert [(lay.path, lay.out_shape, lay.macs) for lay in described.layers] == [
        (lay.path, lay.out_shape, lay.macs) for lay in loaded.layers
    ]
    assert [(p.shape, p.users) for p in described.params] == [
        (p.shape, p.users) for p in loaded.params
    ]


def test_module_not_left_in_sys_modules(factory_file):
    before = set(sys.modules)
    describe_factory(f"{factory_file}:build", {"data": (1, 4)})
    assert not [m for m in set(sys.modules) - before if m.startswith("_paraminspect_factory")]
    assert str(factory_file.parent) not in sys.path


def test_not_a_block(factory_file):
    with pytest.raises(BuildError) as e:
        load_factory(f"{factory_file}:not_a_block", {"data": (1, 4)})
    assert str(e.value) == (
        f"{factory_file}:not_a_block returned list, not a Gluon Block; return the network "
        "(e.g. an nn.HybridSequential)"
    )


def test_raising_factory(factory_file):
    with pytest.raises(BuildError) as e:
        load_factory(f"{factory_file}:broken", {"data": (1, 4)})
    assert str(e.value) == f"{factory_file}:broken raised ValueError: width must be positive"


def test_missing_function(factory_file):
    with pytest.raises(SpecError) as e:
        describe_factory(f"{factory_file}:buld", {"data": (1, 4)})
    assert str(e.value) == (
        f"'{factory_file}' has no function 'buld'; did you mean 'build'? "
        "(it defines: Pair, build, not_a_block, broken)"
    )


def test_not_callable(factory_file):
    with pytest.raises(SpecError, match=r"NOT_CALLABLE is a int, not a function"):
        describe_factory(f"{factory_file}:NOT_CALLABLE", {"data": (1, 4)})


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"factory file '.*nope.py' not found; give FILE.py:FUNC"):
        describe_factory(f"{tmp_path}/nope.py:build", {"data": (1, 4)})


def test_import_error_is_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import no_such_module_here\n")
    with pytest.raises(SpecError) as e:
        describe_factory(f"{bad}:build", {"data": (1, 4)})
    assert str(e.value) == (
        f"importing '{bad}' failed: ModuleNotFoundError: No module named 'no_such_module_here'"
    )
    bad.write_text("def build(:\n")
    with pytest.raises(SpecError, match=r"line 1: SyntaxError"):
        describe_factory(f"{bad}:build", {"data": (1, 4)})


def test_needs_an_input_shape(factory_file):
    with pytest.raises(OptionError, match=r"has no default input shape; give --input data=SHAPE"):
        describe_factory(f"{factory_file}:build")


def test_bad_shape_is_one_line(factory_file, capsys):
    ref = f"{factory_file}:build"
    with pytest.raises(OptionError) as e:
        load_factory(ref, {"data": (3, 5)})
    assert str(e.value).startswith(f"'{ref}' does not take --input data=3x5: ")
    assert "\n" not in str(e.value)
    assert capsys.readouterr().out == ""  # MXNet's own print is kept off stdout


def test_plain_block_shapes_from_the_forward_pass_only(plain_factory):
    ref = f"{plain_factory}:plain"
    described = describe_factory(ref, {"data": (2, 5)})
    assert [layer.out_shape for layer in described.layers] == [None]
    assert described.param(described.layers[0].params[0]).shape == (3, 0)  # deferred
    _net, loaded, _notes = load_factory(ref, {"data": (2, 5)})
    assert [layer.out_shape for layer in loaded.layers] == [(2, 3)]
    assert loaded.param(loaded.layers[0].params[0]).shape == (3, 5)
    assert loaded.layers[0].macs == 2 * 3 * 5


def test_npy_input_feeds_the_forward_pass(tmp_path, plain_factory):
    from paraminspect.model.inputs import parse_input

    np.save(tmp_path / "x.npy", np.ones((4, 5), dtype="float32"))
    desc = parse_input(f"data={tmp_path / 'x.npy'}")
    _net, layout, _notes = load_factory(f"{plain_factory}:plain", {"data": desc})
    assert layout.inputs == (desc,)
    assert layout.layers[0].out_shape == (4, 3)


def test_transposed_conv_macs_by_hand(tmp_path):
    path = tmp_path / "up.py"
    path.write_text(
        "from mxnet.gluon import nn\n\n"
        "def up():\n"
        "    return nn.Conv2DTranspose(3, kernel_size=3, strides=2, in_channels=2)\n"
    )
    layout = describe_factory(f"{path}:up", {"data": (1, 2, 4, 4)})
    (layer,) = layout.layers
    assert layer.path == "" and layer.out_shape == (1, 3, 9, 9)
    assert layer.macs == (2 * 4 * 4) * 3 * 3 * 3
