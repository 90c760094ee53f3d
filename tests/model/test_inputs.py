"""model/inputs.py: --input NAME=SHAPE and NAME=FILE.npy."""

from __future__ import annotations

import numpy as np
import pytest

from paraminspect.errors import OptionError
from paraminspect.model.inputs import load_npy, parse_input, parse_inputs, parse_shape
from paraminspect.model.layout import InputDesc


@pytest.mark.parametrize(
    "text", ["1x3x224x224", "1,3,224,224", "(1, 3, 224, 224)", "1 x 3x224x224"]
)
def test_shape_forms(text):
    assert parse_shape(text) == (1, 3, 224, 224)


@pytest.mark.parametrize("text", ["", "1x3xfoo", "1x0x2", "-1x3", "1.5x2", "x"])
def test_bad_shapes(text):
    with pytest.raises(OptionError) as e:
        parse_shape(text)
    assert e.value.option == "--input"


def test_parse_input_shape():
    assert parse_input("data=2x4") == InputDesc("data", (2, 4))


@pytest.mark.parametrize("text", ["data", "=2x4", "data=", "1x3x224x224"])
def test_parse_input_needs_name_and_value(text):
    with pytest.raises(
        OptionError, match=r"write NAME=SHAPE \(data=1x3x224x224\) or NAME=FILE.npy"
    ):
        parse_input(text)


def test_name_given_twice():
    with pytest.raises(OptionError, match=r"--input data=... given twice"):
        parse_inputs(["data=1x2", "data=1x3"])
    assert list(parse_inputs(["x0=1x2", "h0=1x5"])) == ["x0", "h0"]


def test_npy_input(tmp_path):
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    np.save(tmp_path / "x.npy", x)
    desc = parse_input(f"data={tmp_path / 'x.npy'}")
    assert desc == InputDesc("data", (2, 3, 4), "float32", "file", str(tmp_path / "x.npy"))
    assert np.array_equal(load_npy(desc, expected=(2, 3, 4)), x)


def test_npy_object_dtype_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(OptionError) as e:
        parse_input(f"data={tmp_path / 'obj.npy'}")
    assert "holds Python objects (dtype object); save a numeric array" in str(e.value)


def test_npy_unusable_dtype_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros(3, dtype="complex64"))
    with pytest.raises(
        OptionError, match=r"has dtype complex64; an input takes float16 or float32"
    ):
        parse_input(f"data={tmp_path / 'c.npy'}")


def test_npy_wrong_shape(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 32, 32), dtype="float32"))
    desc = parse_input(f"data={tmp_path / 'x.npy'}")
    with pytest.raises(OptionError) as e:
        load_npy(desc, expected=(1, 3, 224, 224))
    assert str(e.value) == (
        f"'{tmp_path / 'x.npy'}' (input 'data') has shape 1x3x32x32 but the network takes "
        "1x3x224x224"
    )


def test_npy_missing_or_not_npy(tmp_path):
    with pytest.raises(OptionError, match=r"input file .* not found"):
        parse_input(f"data={tmp_path / 'none.npy'}")
    (tmp_path / "fake.npy").write_text("hello")
    with pytest.raises(OptionError, match=r"cannot read .*fake.npy.* as a .npy file"):
        parse_input(f"data={tmp_path / 'fake.npy'}")


def test_npy_scalar_refused(tmp_path):
    np.save(tmp_path / "s.npy", np.float32(3.0))
    with pytest.raises(OptionError, match=r"holds a scalar"):
        parse_input(f"data={tmp_path / 's.npy'}")
