"""Issue 21 items 3, 4 and 6: everything validated at the door (zoo options, .npy dtypes
and headers, sizes past MXNet's limit, labels, regexes), NaN and Inf always warned about,
MXNet's own lines kept off stdout; no file changes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.safety.conftest import snapshot

LIMIT = "past MXNet's limit of 2^31 - 1 (2,147,483,647)"


@pytest.mark.parametrize(
    "ref, message",
    [
        (
            "zoo:resnet18_v1,pretrained=1",
            "Error: 'zoo:resnet18_v1,pretrained=1': pretrained=1 would download weights, and "
            "paraminspect never downloads; drop it and give the weights with --load FILE.params",
        ),
        (
            "zoo:resnet18_v1,pretrained=yes",
            "Error: 'zoo:resnet18_v1,pretrained=yes': pretrained=yes would download weights, and "
            "paraminspect never downloads; drop it and give the weights with --load FILE.params",
        ),
        (
            "zoo:resnet18_v1,classes=abc",
            "Error: 'zoo:resnet18_v1,classes=abc': classes='abc' is not a whole number from 1 "
            "to 2,147,483,647",
        ),
        (
            "zoo:resnet18_v1,classes=0",
            "Error: 'zoo:resnet18_v1,classes=0': classes=0 is not a whole number from 1 to "
            "2,147,483,647",
        ),
        (
            "zoo:resnet18_v1,classes=2.5",
            "Error: 'zoo:resnet18_v1,classes=2.5': classes=2.5 is not a whole number from 1 to "
            "2,147,483,647",
        ),
        (
            "zoo:resnet18_v1,thumbnail=1",
            "Error: 'zoo:resnet18_v1,thumbnail=1': thumbnail=1 is not true or false",
        ),
        (
            "zoo:densenet121,dropout=1.5",
            "Error: 'zoo:densenet121,dropout=1.5': dropout=1.5 is not a number from 0 up to "
            "(not including) 1",
        ),
        (
            "zoo:resnet18_v1,clases=3",
            "Error: 'zoo:resnet18_v1,clases=3': unknown option 'clases'; did you mean "
            "'classes'? (zoo options: batch_norm, bn_size, classes, dropout, prefix, "
            "thumbnail, pretrained)",
        ),
    ],
)
def test_zoo_options_are_checked_by_type_and_range(cli, ref, message):
    r = cli("show", ref, "--shapes-only")
    assert r.exit_code == 1
    assert r.output.splitlines()[-1] == message


def test_zoo_pretrained_false_is_fine(cli):
    r = cli("show", "zoo:resnet18_v1,pretrained=false,classes=10", "--shapes-only")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    "args",
    [
        ["show", "--select", "a{99999999999}"],
        ["train", "--hist", "--select", "a{99999999999}"],
        ["diff", "mlp", "shared", "--select", "a{99999999999}"],
    ],
)
def test_a_regex_python_cannot_compile_is_a_usage_error(cli, args):
    r = cli(*args)
    assert r.exit_code == 2
    assert r.output.splitlines()[-1] == (
        "Error: Invalid value for '--select': invalid regular expression 'a{99999999999}': "
        "the repetition number is too large"
    )


def test_npy_dtypes_at_the_door(cli, work, cnn_graph):
    folder = cnn_graph.parent
    np.save(folder / "x16.npy", np.ones((1, 3, 8, 8), np.float16))
    np.save(folder / "x64.npy", np.full((1, 3, 8, 8), 0.5))
    np.save(folder / "xint.npy", np.ones((1, 3, 8, 8), np.int32))
    np.save(folder / "xc.npy", np.ones((1, 3, 8, 8), np.complex64))
    before = snapshot(folder)
    r = cli("show", str(cnn_graph), "--input", f"data={folder / 'x64.npy'}", "--format", "json")
    assert r.exit_code == 0, r.output
    note = f"--input data={folder / 'x64.npy'}: float64 values cast to float32"
    assert note in json.loads(r.stdout)["log"]
    r = cli("show", str(cnn_graph), "--input", f"data={folder / 'xint.npy'}")
    assert r.exit_code == 2
    assert r.output.splitlines()[-1] == (
        f"Error: Invalid value for '--input': '{folder / 'xint.npy'}' (input 'data') has dtype "
        "int32; an input takes float16 or float32 values: integers are only for labels; save "
        "the values as floats, e.g. np.save(path, x.astype('float32'))"
    )
    r = cli("show", str(cnn_graph), "--input", f"data={folder / 'xc.npy'}")
    assert r.exit_code == 2 and "has dtype complex64; an input takes float16 or float32" in (
        r.output
    )
    assert snapshot(folder) == before


def test_a_npy_header_claiming_more_than_the_file_holds(cli, cnn_graph):
    folder = cnn_graph.parent
    path = folder / "lying.npy"
    header = np.lib.format.header_data_from_array_1_0(np.ones((1, 3, 8, 8), np.float32))
    header["shape"] = (2**40, 3, 8, 8)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 16)
    r = cli("show", str(cnn_graph), "--input", f"data={path}")
    assert r.exit_code == 2
    assert r.output.splitlines()[-1].endswith(f"elements, {LIMIT} per array")
    header["shape"] = (4, 3, 8, 8)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 16)
    r = cli("show", str(cnn_graph), "--input", f"data={path}")
    assert r.exit_code == 2
    assert r.output.splitlines()[-1].endswith(
        "its header says shape 4x3x8x8 (3,072 bytes of float32) but the file holds 16 bytes "
        "after the header (truncated?); save it again with np.save"
    )


def test_a_shape_past_the_element_limit_is_refused_where_it_would_allocate(cli, work):
    factory = f"{work / 'net.py'}:build"
    r = cli("show", factory, "--input", "data=65536x32768x2")
    assert r.exit_code == 2
    assert r.output.splitlines()[-1] == (
        "Error: Invalid value for '--input': bad shape of input 'data' '65536x32768x2': "
        f"4,294,967,296 elements, {LIMIT} per array; use a smaller batch or size"
    )
    # a layer output past the limit (the input alone is within it): grad refuses, show
    # falls back to the table it can give without allocating, and says why
    r = cli("grad", "zoo:resnet18_v1", "--input", "data=4096x3x224x224")
    assert r.exit_code == 1
    last = r.output.splitlines()[-1]  # the zoo's prefix counts up within a process
    assert last.startswith("Error: the output of layer 1 (resnetv1")
    assert last.endswith(
        "_conv0) of shape (4096, 64, 112, 112) has 3,288,334,336 elements, "
        f"{LIMIT} elements per array; use a smaller batch or size, or --shapes-only"
    )
    r = cli("show", "zoo:resnet18_v1", "--input", "data=4096x3x224x224", "--format", "json")
    assert r.exit_code == 0
    assert any(LIMIT in n for n in json.loads(r.stdout)["notes"])


def test_show_huge_shapes_only_still_allocates_nothing(cli):
    r = cli("show", "huge", "--shapes-only")
    assert r.exit_code == 0, r.output


def test_nan_and_inf_always_warn(cli, cnn_graph):
    import mxnet as mx

    folder = cnn_graph.parent
    params = folder / "cnn-0000.params"
    arrays = mx.nd.load(str(params))
    weight = arrays["arg:conv0_weight"] if "arg:conv0_weight" in arrays else arrays["conv0_weight"]
    weight[0, 0, 0, 0] = float("nan")
    weight[0, 0, 0, 1] = float("inf")
    mx.nd.save(str(params), arrays)
    np.save(folder / "xnan.npy", np.full((1, 3, 8, 8), np.nan, np.float32))
    r = cli("show", str(cnn_graph), "--input", "data=1x3x8x8")
    assert r.exit_code == 0, r.output
    assert "warning: conv0_weight (loaded): 1 NaN and 1 Inf of 108 values" in " ".join(
        r.stderr.split()
    )
    r = cli("show", str(cnn_graph), "--input", f"data={folder / 'xnan.npy'}", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["warnings"][:2] == [
        f"--input data={folder / 'xnan.npy'} holds 192 NaN and 0 Inf of 192 values; the "
        "outputs and gradients will be NaN",
        "conv0_weight (loaded): 1 NaN and 1 Inf of 108 values",
    ]


PRINTING_NET = """\
from mxnet.gluon import nn


class Loud(nn.HybridBlock):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3)

    def hybrid_forward(self, F, x):
        print("infer_type error. Arguments:")  # what MXNet itself prints on a type clash
        return self.dense(x)


def build():
    return Loud()
"""


def test_prints_during_a_run_never_land_on_stdout(cli, tmp_path):
    """MXNet's own Python prints (infer_type/infer_shape errors) and a user's net printing
    in its forward pass both go to stderr while a command runs: stdout is the report."""
    (tmp_path / "loud.py").write_text(PRINTING_NET)
    r = cli("show", f"{tmp_path / 'loud.py'}:build", "--input", "data=2x4", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["command"] == "show"
    assert "infer_type error. Arguments:" in r.stderr


LABELS_DATA = 6


def _labels(folder, top: int):
    X = np.random.RandomState(0).rand(LABELS_DATA, 3, 8, 8).astype(np.float32)
    y = np.arange(LABELS_DATA) % (top + 1)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    return folder / "X.npy", folder / "y.npy"


def test_labels_past_the_outputs_are_refused_for_a_graph(cli, cnn_graph):
    X, y = _labels(cnn_graph.parent, top=5)  # labels 0..5, the net has 3 classes
    before = snapshot(cnn_graph.parent)
    for command in (["train", "--batch-size", "3"], ["grad"]):
        r = cli(
            *command, str(cnn_graph), "--input", "data=1x3x8x8", "--data", str(X),
            "--targets", str(y), "--loss", "softmax-ce",
        )  # fmt: skip
        assert r.exit_code == 1, r.output
        assert r.output.splitlines()[-1].endswith(
            "holds labels 0..5, but softmax-ce needs classes 0..2 (the network has 3 outputs); "
            "renumber the labels or change the last layer's units"
        ), r.output
    assert snapshot(cnn_graph.parent) == before


def test_grad_honours_data_and_targets_on_a_graph(cli, cnn_graph):
    """The gradients are those of the given batch: checked against raw MXNet autograd."""
    import mxnet as mx
    from mxnet import autograd, gluon

    X, y = _labels(cnn_graph.parent, top=2)
    r = cli(
        "grad", str(cnn_graph), "--input", "data=1x3x8x8", "--data", str(X), "--targets",
        str(y), "--loss", "softmax-ce", "--select", "dense0_weight", "--mode", "predict",
        "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    net = gluon.SymbolBlock.imports(
        str(cnn_graph), ["data"], str(cnn_graph.parent / "cnn-0000.params")
    )
    xs, labels = mx.nd.array(np.load(X)), mx.nd.array(np.load(y))
    with autograd.record(train_mode=False):
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(xs), labels).mean()
    loss.backward(train_mode=False)
    want = net.collect_params()["dense0_weight"].grad().asnumpy()
    (row,) = [p for p in report["parameters"] if p["name"] == "dense0_weight"]
    assert row["grad_stats"]["l2"] == pytest.approx(float(np.linalg.norm(want)), rel=1e-4)
