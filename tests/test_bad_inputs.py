"""The catalog of bad inputs: each gets exit 2 (usage) or 1 (content), one 'Error:' line that
names the problem and the fix, no traceback, and no file left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOOD = "input: {shape: [2, 20]}\nlayers:\n  - {units: 8, activation: relu}\n"
L = "input: {shape: [2, 20]}\nlayers:\n"

# (id, spec text or None, extra args (SPEC placeholder: {spec}), exit code, message part)
CASES = [
    (
        "malformed-yaml",
        "input: [2, 20\nlayers: x\n",
        ["check", "{spec}"],
        1,
        "{spec}:2: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got ':'",
    ),
    ("tab-indent", "input:\n\tshape: [2, 20]\n", ["check", "{spec}"], 1, "{spec}:2: invalid YAML"),
    (
        "empty-file",
        "",
        ["check", "{spec}"],
        1,
        "{spec}: the spec is empty; it needs at least 'input' and 'layers'",
    ),
    ("comment-only", "# nothing\n", ["check", "{spec}"], 1, "{spec}: the spec is empty"),
    (
        "root-list",
        "- units: 8\n",
        ["check", "{spec}"],
        1,
        "{spec}:1: the spec must be a mapping with keys 'input' and 'layers', got a list",
    ),
    ("root-scalar", "hello\n", ["check", "{spec}"], 1, "got a string"),
    ("two-documents", GOOD + "---\n" + GOOD, ["check", "{spec}"], 1, "more than one YAML document"),
    (
        "missing-input",
        "layers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "{spec}:1: missing required key 'input'",
    ),
    (
        "missing-shape",
        "input: {}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "{spec}:1: input: missing required key 'shape'",
    ),
    (
        "unknown-top-key",
        GOOD + "layer: []\n",
        ["check", "{spec}"],
        1,
        "{spec}:4: unknown key 'layer'; did you mean 'layers'?",
    ),
    (
        "unknown-input-key",
        "input: {shape: [2, 20], dsit: normal}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "input: unknown key 'dsit'; did you mean 'dist'?",
    ),
    (
        "bad-dist",
        "input: {shape: [2, 20], dist: gauss}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "{spec}:1: input.dist: Input should be 'uniform' or 'normal'",
    ),
    (
        "shape-strings",
        "input: {shape: [two, 20]}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "input.shape[0]: must be a whole number, got a string 'two'",
    ),
    (
        "shape-float",
        "input: {shape: [2.5, 20]}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "input.shape[0]: must be a whole number, got a number 2.5",
    ),
    (
        "shape-zero",
        "input: {shape: [0, 20]}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "input.shape: every dimension must be between 1 and 100,000,000, got 0",
    ),
    (
        "shape-absurd",
        "input: {shape: [2, 100000000000]}\nlayers: [{units: 1}]\n",
        ["check", "{spec}"],
        1,
        "every dimension must be between 1 and 100,000,000",
    ),
    (
        "layers-not-list",
        "input: {shape: [2, 20]}\nlayers: {units: 8}\n",
        ["check", "{spec}"],
        1,
        "{spec}:2: layers: must be a list, got a mapping",
    ),
    ("layer-not-mapping", L + "  - 8\n", ["check", "{spec}"], 1, "{spec}:3: layers[0]:"),
    (
        "negative-units",
        L + "  - {units: -3}\n",
        ["check", "{spec}"],
        1,
        "{spec}:3: layers[0].units: must be >= 1, got -3",
    ),
    (
        "absurd-units",
        L + "  - {units: 1000000000000}\n",
        ["check", "{spec}"],
        1,
        "layers[0].units: must be <= 100,000,000, got 1000000000000",
    ),
    (
        "bool-units",
        L + "  - {units: true}\n",
        ["check", "{spec}"],
        1,
        "layers[0].units: must be a whole number, got a boolean True",
    ),
    (
        "unknown-activation",
        L + "  - {units: 8, activation: gelu}\n",
        ["check", "{spec}"],
        1,
        "layers[0].activation: unknown activation 'gelu'",
    ),
    (
        "unknown-type",
        L + "  - {type: conv2d, units: 8}\n",
        ["check", "{spec}"],
        1,
        "layers[0].type: unknown layer type 'conv2d'",
    ),
    (
        "units-on-dropout",
        L + "  - {type: dropout, rate: 0.5, units: 3}\n",
        ["check", "{spec}"],
        1,
        "key 'units' does not apply to a dropout layer",
    ),
    (
        "dropout-rate-1",
        L + "  - {type: dropout, rate: 1.0}\n",
        ["check", "{spec}"],
        1,
        "layers[0].rate: must be < 1.0, got 1.0",
    ),
    (
        "unknown-initializer",
        L + "  - {units: 8, init: {weight: {method: glorot}}}\n",
        ["check", "{spec}"],
        1,
        "unknown initializer 'glorot'",
    ),
    (
        "bad-init-param",
        L + "  - {units: 8, init: {weight: {method: xavier, magnitud: 2}}}\n",
        ["check", "{spec}"],
        1,
        "initializer 'xavier' has no parameter 'magnitud'; did you mean 'magnitude'?",
    ),
    (
        "bad-init-choice",
        L + "  - {units: 8, init: {weight: {method: xavier, rnd_type: gauss}}}\n",
        ["check", "{spec}"],
        1,
        "xavier parameter 'rnd_type' must be one of uniform, gaussian, "
        "got 'gauss'; did you mean 'gaussian'?",
    ),
    (
        "init-value-string",
        "init: {method: constant, value: lots}\n" + L + "  - {units: 2}\n",
        ["check", "{spec}"],
        1,
        "constant parameter 'value' must be a number, got 'lots'",
    ),
    (
        "init-nan",
        "init: {method: constant, value: .nan}\n" + L + "  - {units: 2}\n",
        ["check", "{spec}"],
        1,
        "constant parameter 'value' must be finite, got nan",
    ),
    (
        "share-self",
        L + "  - {name: a, units: 20, share: a}\n",
        ["check", "{spec}"],
        1,
        "a layer cannot share parameters with itself",
    ),
    (
        "share-unknown",
        L + "  - {units: 20}\n  - {units: 20, share: b}\n",
        ["check", "{spec}"],
        1,
        "layers[1].share: no layer is named 'b'",
    ),
    (
        "share-later",
        L + "  - {units: 20, share: 1}\n  - {units: 20}\n",
        ["check", "{spec}"],
        1,
        "layers[0].share: layer 1 ('dense1') comes later",
    ),
    (
        "share-units",
        L + "  - {units: 20}\n  - {units: 8, share: 0}\n",
        ["check", "{spec}"],
        1,
        "has 20 units, this layer 8",
    ),
    (
        "share-width",
        L + "  - {units: 8}\n  - {units: 8, share: 0}\n",
        ["check", "{spec}"],
        1,
        "takes inputs of width 20, this layer 8",
    ),
    (
        "share-bool",
        L + "  - {units: 20}\n  - {units: 20, share: true}\n",
        ["check", "{spec}"],
        1,
        "layers[1].share",
    ),
    (
        "share-nondense",
        L + "  - {type: layernorm}\n  - {units: 20, share: 0}\n",
        ["check", "{spec}"],
        1,
        "is a layernorm layer; only dense layers can be shared",
    ),
    (
        "duplicate-names",
        L + "  - {name: x, units: 20}\n  - {name: x, units: 20}\n",
        ["check", "{spec}"],
        1,
        "duplicate layer name 'x'",
    ),
    (
        "bad-name",
        L + "  - {name: 'my layer', units: 2}\n",
        ["check", "{spec}"],
        1,
        "'my layer' is not a valid name",
    ),
    (
        "duplicate-key",
        L + "  - {units: 2, units: 3}\n",
        ["check", "{spec}"],
        1,
        "duplicate key 'units'",
    ),
    (
        "alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        ["check", "{spec}"],
        1,
        "an alias bomb?",
    ),
    (
        "python-tag",
        "!!python/object/apply:os.system ['echo hi']\n",
        ["check", "{spec}"],
        1,
        "invalid YAML: could not determine a constructor for the tag",
    ),
    (
        "too-much-memory",
        L + "  - {units: 100000000}\n  - {units: 100000000}\n",
        ["show", "{spec}", "--stats"],
        1,
        "would need about 71.1 PiB",
    ),
    # options
    (
        "bad-regex",
        GOOD,
        ["show", "{spec}", "--select", "[a-"],
        2,
        "Invalid value for '--select': invalid regular expression '[a-'",
    ),
    (
        "select-nothing",
        GOOD,
        ["show", "{spec}", "--select", "conv"],
        2,
        "no parameter matches 'conv'",
    ),
    (
        "bad-slice",
        GOOD,
        ["show", "{spec}", "--values", "--slice", "0:1:2:3"],
        2,
        "cannot parse slice '0:1:2:3'",
    ),
    (
        "slice-code",
        GOOD,
        ["show", "{spec}", "--values", "--slice", "__import__('os')"],
        2,
        "is not an integer, 'start:stop:step' or '...'",
    ),
    (
        "slice-out-of-range",
        GOOD,
        ["show", "{spec}", "--values", "--slice", "8"],
        2,
        "index 8 is out of range for axis 0 of dense0_weight with shape (8, 20)",
    ),
    (
        "slice-too-many",
        GOOD,
        ["show", "{spec}", "--values", "--slice", "0,0,0"],
        2,
        "slice '0, 0, 0' has 3 indices but dense0_weight has 2 dimensions (8, 20)",
    ),
    (
        "slice-step-zero",
        GOOD,
        ["show", "{spec}", "--values", "--slice", "::0"],
        2,
        "a step cannot be 0",
    ),
    ("layer-out-of-range", GOOD, ["show", "{spec}", "--layer", "3"], 2, "there is no layer 3"),
    (
        "layer-unknown-name",
        GOOD,
        ["show", "{spec}", "--layer", "hidden"],
        2,
        "no layer is named 'hidden'",
    ),
    (
        "layer-without-params",
        L + "  - {type: activation, activation: relu}\n  - {units: 2}\n",
        ["show", "{spec}", "--layer", "0"],
        2,
        "layer 0 has no parameters",
    ),
    (
        "unknown-format",
        GOOD,
        ["show", "{spec}", "--format", "yaml"],
        2,
        "Invalid value for '--format': 'yaml' is not one of 'table', 'json'.",
    ),
    (
        "bad-seed",
        GOOD,
        ["show", "{spec}", "--seed", "1.5"],
        2,
        "Invalid value for '--seed': '1.5' is not a valid integer.",
    ),
    (
        "unknown-option",
        GOOD,
        ["show", "{spec}", "--valeus"],
        2,
        "No such option '--valeus'. Did you mean '--values'?",
    ),
    ("unknown-command", None, ["shwo"], 2, "No such command 'shwo'."),
    (
        "missing-spec-file",
        None,
        ["show", "nope/spec.yaml"],
        1,
        "spec 'nope/spec.yaml' not found: no such file and no built-in spec of that name",
    ),
    ("directory-as-spec", None, ["check", "{dir}"], 1, "is a directory; give a spec file"),
    (
        "binary-spec",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        ["check", "{spec}"],
        1,
        "is a binary file, not a YAML spec",
    ),
    (
        "latin1-spec",
        "name: caf\xe9\n".encode("latin-1"),
        ["check", "{spec}"],
        1,
        "is not UTF-8 text; save the spec as UTF-8",
    ),
    (
        "schema-missing-folder",
        None,
        ["schema", "-o", "{dir}/no/such/s.json"],
        1,
        "folder '{dir}/no/such' does not exist; create it first (mkdir -p {dir}/no/such)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(cli, tmp_path, case):
    _, text, args, code, message = case
    spec = tmp_path / "spec.yaml"
    if text is not None:
        spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "d").mkdir()
    subs = {"{spec}": str(spec), "{dir}": str(tmp_path / "d")}

    def fill(s: str) -> str:
        for k, v in subs.items():
            s = s.replace(k, v)
        return s

    before = sorted(os.listdir(tmp_path))
    r = cli(*[fill(a) for a in args])
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    error_lines = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, r.output
    assert fill(message) in error_lines[0]
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, nothing half-written
    assert not any(p.name.endswith(".tmp") for p in Path(tmp_path).rglob("*"))


def test_debug_shows_the_traceback(cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(L + "  - {units: 0}\n")
    from click.testing import CliRunner

    from paraminspect.cli import cli as root

    r = CliRunner().invoke(root, ["--debug", "check", str(spec)])
    assert r.exit_code == 1
    assert "Traceback" in r.output and "SpecError" in r.output


def test_catalog_is_big_enough():
    assert len(CASES) >= 50
