"""paraminspect.model.data: sklearn's digits round trip, a raw Gluon step, and bad files.

(The module lives in paraminspect/model/; its tests sit here with the other issue-16
tests until tests/ mirrors the package.)
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from paraminspect.errors import OptionError, ParamInspectError
from paraminspect.model.data import DataError, Dataset, load_data

FIRED: list = []


def _fire() -> str:
    FIRED.append("unpickled")
    return "boom"


class Tripwire:
    """Unpickling it calls _fire: proof that a file was (or was not) unpickled."""

    def __reduce__(self):
        return (_fire, ())


@pytest.fixture
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data, d.target  # (1797, 64) float64, (1797,) int64


def one_sgd_step(x: np.ndarray, y: np.ndarray) -> list:
    """One SGD step of a softmax-ce MLP from a fixed seed: the parameters after it."""
    import mxnet as mx
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn

    mx.random.seed(0)
    net = nn.Sequential()
    net.add(nn.Dense(32, activation="relu"), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(nd.array(x)), nd.array(y)).mean()
    loss.backward()
    trainer.step(1)
    return [p.data().asnumpy() for p in net.collect_params().values()]


def test_digits_npz_round_trip_and_one_training_step(tmp_path, digits):
    data, target = digits
    path = tmp_path / "digits.npz"
    np.savez(path, X=data, y=target)
    ds = load_data(path, input_shape=(32, 64), output_shape=(32, 10), loss="softmax-ce")
    assert isinstance(ds, Dataset) and ds.samples == 1797
    want_x = data.astype(np.float32)
    want_y = target.astype(np.float32)
    assert ds.X.dtype == np.float32 and ds.X.shape == (1797, 64)
    assert ds.X.tobytes() == want_x.tobytes()
    assert ds.y is not None and ds.y.dtype == np.float32 and ds.y.tobytes() == want_y.tobytes()
    assert ds.description == (
        f"'{path}': X (1797, 64) (float64 as float32), 1,797 labels 0..9 (10 classes present of 10)"
    )
    # The loaded arrays train exactly as the reference arrays do.
    after_loaded = one_sgd_step(ds.X, ds.y)
    after_reference = one_sgd_step(want_x, want_y)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(after_loaded, after_reference))
    assert not np.array_equal(after_loaded[0], one_sgd_step(want_x, want_y[::-1].copy())[0])


def test_npy_pair_regression(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.ones((4, 2), dtype=np.float64)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", y)
    ds = load_data(tmp_path / "X.npy", tmp_path / "y.npy", input_shape=(8, 3), output_shape=(8, 2))
    assert ds.X.tobytes() == x.tobytes() and ds.y.tobytes() == y.astype(np.float32).tobytes()
    assert ds.description == (
        f"'{tmp_path / 'X.npy'}' and '{tmp_path / 'y.npy'}': X (4, 3), "
        "regression targets y (4, 2) float64"
    )


def test_grad_input_without_targets_for_sum(tmp_path):
    np.save(tmp_path / "X.npy", np.zeros((2, 5), dtype=np.uint8))
    ds = load_data(tmp_path / "X.npy", loss="sum", data_option="--input")
    assert ds.y is None and ds.X.dtype == np.float32
    assert ds.description.endswith(": X (2, 5) (uint8 as float32), no targets")


def test_labels_as_whole_floats_and_column(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 2)), y=np.array([[0.0], [2.0], [1.0]]))
    ds = load_data(tmp_path / "d.npz", output_shape=(1, 3), loss="softmax-ce")
    assert ds.y.shape == (3,) and list(ds.y) == [0.0, 2.0, 1.0]


# --------------------------------------------------------------- never unpickled


def test_pickled_object_array_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.array([Tripwire(), 1.0], dtype=object), allow_pickle=True)
    FIRED.clear()
    with pytest.raises(DataError) as e:
        load_data(path, loss="sum")
    assert str(e.value) == (
        f"--data '{path}' is an object array (pickled Python objects), which paraminspect "
        "never loads; save a numeric array, e.g. np.asarray(a, dtype='float32')"
    )
    assert FIRED == []
    np.load(path, allow_pickle=True)  # the tripwire works: loading it for real fires it
    assert FIRED == ["unpickled"]


def test_object_array_inside_npz_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([Tripwire(), Tripwire()], dtype=object))
    FIRED.clear()
    with pytest.raises(DataError, match=r"^array 'y' of --data '.*d\.npz' is an object array"):
        load_data(path)
    assert FIRED == []


def test_plain_pickle_file_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "X.npy"
    path.write_bytes(pickle.dumps({"X": Tripwire()}))
    FIRED.clear()
    with pytest.raises(DataError) as e:
        load_data(path)
    assert str(e.value) == (
        f"--data '{path}' is a Python pickle, which paraminspect never loads (unpickling "
        "runs code); save the arrays with numpy.save or numpy.savez"
    )
    assert FIRED == []


# --------------------------------------------------------------- bad files


def bad(tmp_path: Path, arrays: dict, **kwargs) -> str:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    with pytest.raises(ParamInspectError) as e:
        load_data(path, **kwargs)
    return str(e.value).replace(str(path), "P")


def test_wrong_keys_list_what_is_there(tmp_path):
    assert bad(tmp_path, {"data": np.zeros(2), "target": np.zeros(2)}) == (
        "--data 'P' has no array 'X' or 'y': it holds data, target; expected X (inputs) "
        "and y (targets), e.g. np.savez(f, X=X, y=y)"
    )
    assert bad(tmp_path, {"X": np.zeros((2, 1))}).startswith(
        "--data 'P' has no array 'y': it holds X; expected"
    )


def test_lengths_differ(tmp_path):
    assert bad(tmp_path, {"X": np.zeros((5, 2)), "y": np.zeros((4, 1))}) == (
        "array 'y' of --data 'P' has 4 rows but X has 5 samples; give one target row per "
        "sample, in the same order"
    )


def test_nan_and_inf_in_x(tmp_path):
    x = np.zeros((4, 3))
    x[2, 1], x[3, 0] = np.nan, np.inf
    assert bad(tmp_path, {"X": x, "y": np.zeros((4, 1))}) == (
        "array 'X' of --data 'P' holds 1 NaN and 1 Inf values (after conversion to float32), "
        "first in row 2; drop or fill those rows"
    )


def test_values_too_large_for_float32(tmp_path):
    x = np.ones((2, 2))
    x[1, 1] = 1e40
    assert "holds 0 NaN and 1 Inf values (after conversion to float32), first in row 1" in bad(
        tmp_path, {"X": x, "y": np.zeros((2, 1))}
    )


@pytest.mark.parametrize(
    ("x", "dtype"),
    [
        (np.array([["a", "b"]]), "<U1"),
        (np.ones((1, 2), dtype=complex), "complex128"),
        (np.ones((1, 2), dtype=bool), "bool"),
        (np.zeros(1, dtype=[("a", "f4")]), "[('a', '<f4')]"),
    ],
)
def test_dtype_not_numeric(tmp_path, x, dtype):
    assert bad(tmp_path, {"X": x, "y": np.zeros((1, 1))}) == (
        f"array 'X' of --data 'P' has dtype {dtype}, not numbers; save the inputs as "
        "integers or floats, e.g. a.astype('float32')"
    )


def test_targets_dtype_not_numeric(tmp_path):
    msg = bad(tmp_path, {"X": np.zeros((1, 1)), "y": np.array(["cat"])})
    assert msg.startswith("array 'y' of --data 'P' has dtype <U3, not numbers; save the targets")


def test_input_shape_mismatch(tmp_path):
    assert bad(
        tmp_path, {"X": np.zeros((3, 8, 8)), "y": np.zeros((3, 1))}, input_shape=(1, 64)
    ) == (
        "array 'X' of --data 'P' has samples of shape (8, 8) but the network takes (64,) "
        "(X of shape (N, 64)); reshape X or change the network's input"
    )


def test_regression_target_shape_mismatch(tmp_path):
    assert bad(tmp_path, {"X": np.zeros((3, 4)), "y": np.zeros((3, 2))}, output_shape=(1, 1)) == (
        "array 'y' of --data 'P' has targets of shape (2,) but the network outputs (1,) per "
        "sample; give y of shape (N, 1)"
    )


def test_one_number_per_sample_for_one_output(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 4)), y=np.arange(3.0))
    ds = load_data(tmp_path / "d.npz", output_shape=(1, 1))
    assert ds.y.shape == (3, 1) and ds.y.ravel().tolist() == [0.0, 1.0, 2.0]


def test_no_samples(tmp_path):
    assert bad(tmp_path, {"X": np.zeros((0, 4)), "y": np.zeros((0, 1))}) == (
        "array 'X' of --data 'P' has no samples (shape (0, 4)); the first axis is samples"
    )


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (
            np.array([0, 3, 10]),
            "holds labels 0..10, but softmax-ce needs classes 0..9 "
            "(the network has 10 outputs); renumber the labels or change the last layer's units",
        ),
        (np.array([-1, 0, 1]), "holds labels -1..1, but softmax-ce needs classes 0..9"),
        (
            np.array([0.0, 0.5, 1.0]),
            "holds fractional values; softmax-ce takes whole class "
            "numbers 0, 1, ... (save them with y.astype(int))",
        ),
        (
            np.eye(3, 10),
            "has shape (3, 10); softmax-ce takes one class label per sample, "
            "shape (N,) or (N, 1) (one-hot rows? use y.argmax(axis=1))",
        ),
        (np.array([0.0, np.nan, 1.0]), "holds 1 NaN and 0 Inf values, first in row 1"),
    ],
)
def test_bad_labels(tmp_path, y, message):
    msg = bad(tmp_path, {"X": np.zeros((3, 2)), "y": y}, output_shape=(1, 10), loss="softmax-ce")
    assert msg.startswith(f"array 'y' of --data 'P' {message}")


def test_not_a_numpy_file(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(DataError, match=r"is not a NumPy file \(no \.npy or \.npz header\)"):
        load_data(path)


def test_truncated_npy(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.zeros((100, 10)))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(
        DataError,
        match=r"^--data '.*X\.npy' is not a readable \.npy file \(truncated or corrupt\?\)",
    ):
        load_data(path, loss="sum")


def test_truncated_npz(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((100, 10)), y=np.zeros(100))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"is not a readable \.npz file \(truncated or corrupt\?\)"):
        load_data(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match=r"^--input '.*nope\.npy': no such file$"):
        load_data(tmp_path / "nope.npy", data_option="--input")
    with pytest.raises(DataError, match=r"is a folder; give a \.npy or \.npz file"):
        load_data(tmp_path)


def test_files_that_do_not_go_together(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), y=np.zeros(2))
    np.save(tmp_path / "X.npy", np.zeros((2, 2)))
    np.save(tmp_path / "y.npy", np.zeros((2, 1)))
    with pytest.raises(OptionError) as e:
        load_data(tmp_path / "d.npz", tmp_path / "y.npy")
    assert e.value.option == "--targets" and "is a .npz that already holds y" in str(e.value)
    with pytest.raises(OptionError) as e:
        load_data(tmp_path / "X.npy")
    assert str(e.value) == (
        f"'{tmp_path / 'X.npy'}' holds only inputs; give --targets y.npy, or a .npz with "
        "arrays X and y"
    )
    with pytest.raises(OptionError, match="the sum loss uses no targets"):
        load_data(tmp_path / "X.npy", tmp_path / "y.npy", loss="sum")
    with pytest.raises(DataError, match=r"^--targets '.*d\.npz' is a \.npz; give the targets"):
        load_data(tmp_path / "X.npy", tmp_path / "d.npz")
