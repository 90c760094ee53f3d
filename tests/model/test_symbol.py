"""sources/symbol.py: exported graphs, checked against raw SymbolBlock.imports and numpy."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from paraminspect.errors import CheckpointError, OptionError
from paraminspect.model.sources.symbol import describe_symbol, load_symbol

from .conftest import RNN_HID, RNN_IN, RNN_T, rnn_arrays


def test_mobilefacenet_against_raw_imports(mobilefacenet):
    import mxnet as mx

    symbol_file, params_file = mobilefacenet
    net, layout, notes = load_symbol(symbol_file, {"data": (1, 3, 112, 112)})
    assert notes[0] == (f"using weights from {params_file} (the only NNNN.params beside the graph)")
    assert any("saved by MXNet 1.0.0" in n for n in notes)

    raw = mx.gluon.SymbolBlock.imports(symbol_file, ["data"], params_file)
    raw_params = raw.collect_params()
    assert [p.name for p in layout.params] == list(raw_params.keys())
    for desc in layout.params:
        p = raw_params[desc.name]
        assert desc.shape == p.data().shape
        assert desc.grad_req == p.grad_req
        assert desc.init == "loaded"

    saved = mx.nd.load(params_file)
    assert len(saved) == len(layout.params) == 284
    assert sum(k.startswith("arg:") for k in saved) == 184
    assert sum(k.startswith("aux:") for k in saved) == 100
    assert layout.unique_count == sum(v.size for v in saved.values()) == 1_022_848
    assert layout.trainable_count == sum(v.size for k, v in saved.items() if k.startswith("arg:"))
    assert [d.name for d in layout.inputs] == ["data"]

    x = mx.nd.array(np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)))
    assert np.array_equal(net(x).asnumpy(), raw(x).asnumpy())


def test_describe_allocates_nothing_and_agrees(mobilefacenet):
    symbol_file, _params = mobilefacenet
    described = describe_symbol(symbol_file, {"data": (1, 3, 112, 112)})
    _net, loaded, _notes = load_symbol(symbol_file, {"data": (1, 3, 112, 112)})
    assert described.layers == loaded.layers
    assert [(p.name, p.shape, p.users) for p in described.params] == [
        (p.name, p.shape, p.users) for p in loaded.params
    ]


def test_rnn_loads_and_computes(rnn_dir, rnn_shapes):
    import mxnet as mx

    net, layout, notes = load_symbol(str(rnn_dir / "rnn-symbol.json"), rnn_shapes)
    assert "rnn-0000.params" in notes[0]
    assert [len(p.users) for p in layout.params] == [RNN_T, RNN_T]
    rng = np.random.default_rng(1)
    xs = {n: rng.standard_normal(s).astype("float32") for n, s in rnn_shapes.items()}
    w, b = rnn_arrays().values()
    h = xs["h0"]
    for t in range(RNN_T):
        h = np.tanh(h + xs[f"x{t}"] @ w.T + b)
    # SymbolBlock takes its inputs in the order the graph lists them
    order = [d.name for d in layout.inputs]
    out = net(*[mx.nd.array(xs[n]) for n in order]).asnumpy()
    np.testing.assert_allclose(out, h, rtol=1e-5, atol=1e-6)


def test_rnn_without_params_initializes_fresh(rnn_dir, rnn_shapes):
    (rnn_dir / "rnn-0000.params").unlink()
    net, layout, notes = load_symbol(str(rnn_dir / "rnn-symbol.json"), rnn_shapes)
    assert notes == [
        "no rnn-NNNN.params beside the graph: weights initialized fresh "
        "(give a params file with --load)"
    ]
    params = net.collect_params()
    w = params["W"].data().asnumpy()
    assert w.shape == (RNN_HID, RNN_IN) and 0 < np.abs(w).max() <= 0.07
    assert np.all(params["b"].data().asnumpy() == 0)
    assert layout.param("W").init == "uniform(scale=0.07)"


def test_several_params_files_initialize_fresh(rnn_dir, rnn_shapes):
    shutil.copy(rnn_dir / "rnn-0000.params", rnn_dir / "rnn-0003.params")
    _net, layout, notes = load_symbol(str(rnn_dir / "rnn-symbol.json"), rnn_shapes)
    assert notes == [
        "2 params files beside the graph (rnn-0000.params, rnn-0003.params): "
        "weights initialized fresh; pick one with --load"
    ]
    assert layout.param("W").init != "loaded"


def test_missing_input_shapes_in_one_error(rnn_dir):
    with pytest.raises(OptionError) as e:
        load_symbol(str(rnn_dir / "rnn-symbol.json"), {"x0": (2, 4)})
    assert str(e.value) == (
        f"'{rnn_dir / 'rnn-symbol.json'}' stores no shape for inputs 'h0', 'x1', 'x2'; give "
        "--input h0=SHAPE --input x1=SHAPE --input x2=SHAPE (SHAPE like 1x3x224x224)"
    )
    assert e.value.option == "--input"


def test_mobilefacenet_needs_its_input_shape(mobilefacenet):
    with pytest.raises(OptionError, match=r"no shape for input 'data'; give --input data=SHAPE"):
        describe_symbol(mobilefacenet[0])


def test_unknown_input_name(mobilefacenet):
    with pytest.raises(OptionError) as e:
        describe_symbol(mobilefacenet[0], {"dat": (1, 3, 112, 112)})
    assert "has no input 'dat'; did you mean 'data'? (its inputs: data)" in str(e.value)


def test_wrong_rank(mobilefacenet):
    with pytest.raises(OptionError) as e:
        describe_symbol(mobilefacenet[0], {"data": (1, 3, 112)})
    message = str(e.value)
    assert "does not take --input data=1x3x112: " in message
    assert "\n" not in message


def _save(path, arrays):
    import mxnet as mx

    mx.nd.save(str(path), {k: mx.nd.array(v) for k, v in arrays.items()})


def test_params_not_fitting(tmp_path, rnn_dir, rnn_shapes):
    symbol_file = str(rnn_dir / "rnn-symbol.json")
    arrays = rnn_arrays()
    bad = tmp_path / "bad.params"
    _save(bad, {"W": arrays["W"], "zzz": np.zeros(3), "yyy": np.zeros(1)})
    with pytest.raises(CheckpointError) as e:
        load_symbol(symbol_file, rnn_shapes, param_file=str(bad))
    assert str(e.value) == (
        f"'{bad}' does not fit '{symbol_file}': 1 parameter missing from it (b); 2 names not "
        "in the graph (zzz, yyy); check that the files belong together or load with "
        "allow_missing (--allow-missing) and ignore_extra (--ignore-extra)"
    )
    net, layout, notes = load_symbol(
        symbol_file, rnn_shapes, param_file=str(bad), allow_missing=True, ignore_extra=True
    )
    assert notes == [f"1 parameter not in {bad} initialized fresh"]
    assert np.array_equal(net.collect_params()["W"].data().asnumpy(), arrays["W"])
    assert layout.param("W").init == "loaded" and layout.param("b").init == "zeros"


def test_shape_mismatch_is_never_allowed(tmp_path, rnn_dir, rnn_shapes):
    bad = tmp_path / "bad.params"
    _save(bad, {"W": np.zeros((RNN_HID, RNN_IN + 1)), "b": np.zeros(RNN_HID)})
    with pytest.raises(
        CheckpointError,
        match=r"first shape mismatch: W is 5x5 in the file, 5x4 in the graph; check that the files belong together$",
    ):
        load_symbol(str(rnn_dir / "rnn-symbol.json"), rnn_shapes, str(bad), True, True)


def test_unreadable_params_file(tmp_path, rnn_dir, rnn_shapes):
    bad = tmp_path / "junk.params"
    bad.write_bytes(b"\x00" * 40)
    with pytest.raises(
        CheckpointError, match=r"junk.params' is not an MXNet parameter file .* 0x112 header$"
    ):
        load_symbol(str(rnn_dir / "rnn-symbol.json"), rnn_shapes, str(bad))
