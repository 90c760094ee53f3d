"""Spec loading and validation: exact messages with file, line and key path."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from paraminspect.errors import ParamInspectError, SpecError
from paraminspect.model.plan import make_plan
from paraminspect.model.sources.spec import plan_spec
from paraminspect.spec.load import builtin_names, load_spec, parse_spec

BASE = "input: {shape: [2, 20]}\nlayers:\n"


def err(text: str) -> str:
    with pytest.raises(SpecError) as e:
        plan_spec(parse_spec(textwrap.dedent(text), "s.yaml"))
    return str(e.value)


def test_builtins_exist_and_validate():
    assert {"mlp", "shared"} <= set(builtin_names())
    for name in builtin_names():
        load_spec(name)


def test_top_level_configs_folder_matches_package(tmp_path):
    from tests.conftest import ROOT

    for name in builtin_names():
        assert (ROOT / "configs" / f"{name}.yaml").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "s.yaml: the spec is empty; it needs at least 'input' and 'layers'"),
        (
            "- 1\n- 2\n",
            "s.yaml:1: the spec must be a mapping with keys 'input' and 'layers', got a list",
        ),
        (
            "input: {shape: [2, 20]\n",
            "s.yaml:1: invalid YAML: the '{' opened on this line is never closed (YAML gave up at line 2); close it with '}', with ',' between items",
        ),
        (
            BASE + "  - {units: 8, activaton: relu}\n",
            "s.yaml:3: layers[0]: unknown key 'activaton'; did you mean 'activation'? (allowed: type, name, units, activation, use_bias, share, init, rate, momentum, epsilon)",
        ),
        (BASE + "  - {units: 0}\n", "s.yaml:3: layers[0].units: must be >= 1, got 0"),
        (
            BASE + "  - {units: '8'}\n",
            "s.yaml:3: layers[0].units: must be a whole number, got a string '8'",
        ),
        (
            BASE + "  - {units: 8, activation: rleu}\n",
            "s.yaml:3: layers[0].activation: unknown activation 'rleu'; did you mean 'relu'? (allowed: relu, sigmoid, tanh, softrelu, softsign)",
        ),
        (
            BASE + "  - {type: dense2, units: 8}\n",
            "s.yaml:3: layers[0].type: unknown layer type 'dense2'; did you mean 'dense'? (allowed: dense, batchnorm, layernorm, dropout, activation)",
        ),
        (
            BASE + "  - {type: batchnorm, units: 8}\n",
            "s.yaml:3: layers[0]: key 'units' does not apply to a batchnorm layer (allowed: type, name, init, momentum, epsilon)",
        ),
        (
            BASE + "  - {activation: relu}\n",
            "s.yaml:3: layers[0]: a dense layer needs 'units' (e.g. {units: 256, activation: relu})",
        ),
        (
            BASE + "  - {units: 8, init: {weight: {method: xavir}}}\n",
            "s.yaml:3: layers[0].init.weight: unknown initializer 'xavir'; did you mean 'xavier'? (known: bilinear, constant, lstmbias, msraprelu, myinit, normal, one, orthogonal, uniform, xavier, zero; see `paraminspect init --list`)",
        ),
        (
            BASE + "  - {units: 8, init: {weight: {method: normal, sigma: -1}}}\n",
            "s.yaml:3: layers[0].init.weight: normal parameter 'sigma' must be >= 0, got -1",
        ),
        (
            BASE + "  - {units: 8, init: {wieght: {method: normal}}}\n",
            "s.yaml:3: layers[0]: init key 'wieght' is not a parameter of a dense layer; did you mean 'weight'? (allowed: weight, bias)",
        ),
        (
            "input: {shape: [2]}\nlayers:\n  - {units: 8}\n",
            "s.yaml:1: input.shape: needs at least 2 entries, got 1 (batch first, e.g. [2, 20])",
        ),
        ("input: {shape: [2, 20]}\n", "s.yaml:1: missing required key 'layers'"),
        (
            "input: {shape: [2, 20]}\nlayers: []\n",
            "s.yaml:2: layers: needs at least 1 entry, got 0",
        ),
        (
            "input: {shape: [2, 20]}\ninput: {shape: [2, 20]}\nlayers: [{units: 1}]\n",
            "s.yaml:2: duplicate key 'input' (first at line 1); keep one",
        ),
        (
            "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
            "s.yaml: the document expands to more than 100,000 YAML nodes (an alias bomb?); write the spec out plainly",
        ),
    ],
)
def test_bad_specs(text, message):
    assert err(text) == message


SHARE = BASE + "  - {name: hidden, units: 8, activation: relu}\n"


@pytest.mark.parametrize(
    "layer, message",
    [
        (
            "{units: 16, share: hidden}",
            "s.yaml:4: layers[1].share: layer 0 ('hidden') has 8 units, this layer 16; shared layers need the same units",
        ),
        (
            "{units: 8, share: hiden}",
            "s.yaml:4: layers[1].share: no layer is named 'hiden'; did you mean 'hidden'? (names: hidden, dense0)",
        ),
        (
            "{units: 8, share: 1}",
            "s.yaml:4: layers[1].share: a layer cannot share parameters with itself; name an earlier layer",
        ),
        (
            "{units: 8, share: 5}",
            "s.yaml:4: layers[1].share: there is no layer 5 (layers are 0 to 1)",
        ),
        (
            "{units: 8, use_bias: false, share: hidden}",
            "s.yaml:4: layers[1].share: layer 0 ('hidden') has use_bias=true; set the same use_bias on both",
        ),
    ],
)
def test_impossible_sharing(layer, message):
    assert err(SHARE + f"  - {layer}\n") == message


def test_share_with_different_input_width():
    text = BASE + ("  - {name: a, units: 8}\n  - {units: 4}\n  - {units: 8, share: a}\n")
    assert err(text) == (
        "s.yaml:5: layers[2].share: layer 0 ('a') takes inputs of width 20, "
        "this layer 4; its weight (8, 20) cannot be used here"
    )


def test_share_later_layer_and_nondense():
    assert err(BASE + "  - {units: 8, share: b}\n  - {name: b, units: 8}\n") == (
        "s.yaml:3: layers[0].share: layer 1 ('b') comes later; a layer can only share the "
        "parameters of an earlier dense layer"
    )
    assert err(BASE + "  - {type: batchnorm, name: bn}\n  - {units: 20, share: bn}\n") == (
        "s.yaml:4: layers[1].share: layer 0 ('bn') is a batchnorm layer; only dense layers "
        "can be shared"
    )


def test_duplicate_names():
    assert err(BASE + "  - {name: a, units: 8}\n  - {name: a, units: 8}\n") == (
        "s.yaml:4: layers[1].name: duplicate layer name 'a' (layers 0 and 1); give each layer "
        "its own name"
    )
    assert "automatic name" in err(BASE + "  - {name: dense0, units: 8}\n  - {units: 8}\n")


def test_plan_counts_match_block_summary():
    """unique/total against Gluon's own Block.summary on several specs."""
    import io
    import re
    from contextlib import redirect_stdout

    from paraminspect.model.build import build_model

    specs = [
        "mlp",
        "shared",
        BASE + "  - {name: h, units: 20, activation: tanh}\n  - {units: 20, share: h}\n"
        "  - {units: 20, share: h}\n  - {type: batchnorm}\n  - {units: 3, use_bias: false}\n",
        BASE + "  - {units: 20}\n  - {type: layernorm}\n  - {type: dropout, rate: 0.5}\n"
        "  - {units: 20, share: dense0}\n",
    ]
    for text in specs:
        loaded = load_spec(text) if text in builtin_names() else parse_spec(text)
        model = build_model(plan_spec(loaded), seed=0)
        buf = io.StringIO()
        with redirect_stdout(buf):
            model.net.summary(model.X)
        out = buf.getvalue()
        total = int(re.search(r"Total params: (\d+)", out).group(1))
        unique = int(re.search(r"Unique parameters in model: (\d+)", out).group(1))
        plan = make_plan(loaded)
        assert (plan.total_params, plan.unique_count) == (total, unique), text


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-5, 300)
        | st.floats(allow_nan=True)
        | st.sampled_from(["dense", "relu", "xavier", "hidden", "batchnorm", "units", "share"]),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "input",
                        "shape",
                        "layers",
                        "units",
                        "activation",
                        "share",
                        "name",
                        "type",
                        "init",
                        "weight",
                        "method",
                        "sigma",
                        "rate",
                        "use_bias",
                    ]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=25,
    )
)
def test_loader_raises_only_spec_errors(data):
    text = yaml.safe_dump(data)
    try:
        plan_spec(parse_spec(text, "h.yaml"))
    except ParamInspectError as e:
        # one line, or (several problems) a count and then one indented line per problem
        first, *rest = str(e).splitlines()
        assert not rest or (first.endswith(" problems:") and all(x.startswith("  ") for x in rest))


@settings(max_examples=100, deadline=None)
@given(units=st.lists(st.integers(1, 64), min_size=1, max_size=6), share=st.integers(0, 5))
def test_valid_random_specs_plan_consistently(units, share):
    layers = [{"units": u, "activation": "relu"} for u in units]
    text = yaml.safe_dump({"input": {"shape": [3, 5]}, "layers": layers})
    plan = make_plan(parse_spec(text))
    expected = 0
    width = 5
    for u in units:
        expected += u * width + u
        width = u
    assert plan.total_params == plan.unique_count == expected
