"""The catalog of bad inputs: each gets exit 2 (usage) or 1 (content), one 'Error:' line that
names the problem and the fix, no traceback, and no file left behind."""

from __future__ import annotations

import os
import struct
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
        "{spec}:1: invalid YAML: the '[' opened on this line is never closed (YAML gave up at "
        "line 2); close it with ']', with ',' between items",
    ),
    (
        "tab-indent",
        "input:\n\tshape: [2, 20]\n",
        ["check", "{spec}"],
        1,
        "{spec}:2: invalid YAML: a tab character (column 1): YAML indents with spaces only; "
        "replace it with spaces",
    ),
    (
        "item-indented-more",
        L + "  - units: 8\n   - units: 4\n",
        ["check", "{spec}"],
        1,
        "{spec}:4: invalid YAML: this '-' item is indented more than the list it continues "
        "(line 3); line its '-' up with the other items",
    ),
    (
        "unclosed-at-end",
        L + "  - {units: 8\n",
        ["check", "{spec}"],
        1,
        "{spec}:3: invalid YAML: the '{' opened on this line is never closed (YAML gave up at "
        "line 4); close it with '}', with ',' between items",
    ),
    (
        "several-problems",
        L + "  - {unit: 8, activation: relu}\n  - {units: -1, activaton: relu}\n",
        ["check", "{spec}"],
        1,
        "{spec}: 4 problems:\n"
        "  {spec}:3: layers[0]: unknown key 'unit'; did you mean 'units'? (allowed: type, name, "
        "units, activation, use_bias, share, init, rate, momentum, epsilon)\n"
        "  {spec}:3: layers[0]: a dense layer needs 'units' (e.g. {units: 256, activation: relu})\n"
        "  {spec}:4: layers[1].units: must be >= 1, got -1\n"
        "  {spec}:4: layers[1]: unknown key 'activaton'; did you mean 'activation'? (allowed: "
        "type, name, units, activation, use_bias, share, init, rate, momentum, epsilon)",
    ),
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
    # ---- init: methods, --param, plugins (all refused before MXNet builds anything)
    (
        "init-unknown-method",
        GOOD,
        ["init", "{spec}", "--method", "xavir"],
        2,
        "unknown initializer 'xavir'; did you mean 'xavier'?",
    ),
    (
        "init-no-method",
        GOOD,
        ["init", "{spec}"],
        2,
        "give exactly one of --method NAME and --plugin FILE.py:ClassName",
    ),
    (
        "init-method-and-plugin",
        GOOD,
        ["init", "{spec}", "--method", "one", "--plugin", "{dir}/p.py:P"],
        2,
        "give exactly one of --method NAME and --plugin FILE.py:ClassName",
    ),
    (
        "init-param-no-equals",
        GOOD,
        ["init", "{spec}", "--method", "normal", "--param", "sigma"],
        2,
        "Invalid value for '--param': 'sigma' is not KEY=VALUE (e.g. --param sigma=0.01)",
    ),
    (
        "init-param-not-a-number",
        GOOD,
        ["init", "{spec}", "--method", "normal", "--param", "sigma=abc"],
        2,
        "normal parameter 'sigma' must be a number, got 'abc'",
    ),
    (
        "init-param-negative",
        GOOD,
        ["init", "{spec}", "--method", "normal", "--param", "sigma=-1"],
        2,
        "normal parameter 'sigma' must be >= 0, got -1",
    ),
    (
        "init-param-unknown",
        GOOD,
        ["init", "{spec}", "--method", "normal", "--param", "sigam=1"],
        2,
        "initializer 'normal' has no parameter 'sigam'; did you mean 'sigma'?",
    ),
    (
        "init-param-twice",
        GOOD,
        ["init", "{spec}", "--method", "normal", "--param", "sigma=1", "--param", "sigma=2"],
        2,
        "'sigma' is given twice",
    ),
    (
        "init-xavier-on-bias",
        GOOD,
        ["init", "{spec}", "--method", "xavier", "--select", "dense0_bias"],
        2,
        "xavier needs at least 2 dimensions (fan_in, fan_out) but dense0_bias has shape (8,); "
        "select weights only",
    ),
    (
        "init-plugin-file-missing",
        GOOD,
        ["init", "{spec}", "--plugin", "{dir}/nope.py:MyInit"],
        2,
        "Invalid value for '--plugin': file '{dir}/nope.py' not found",
    ),
    (
        "init-plugin-not-file-colon-class",
        GOOD,
        ["init", "{spec}", "--plugin", "myinit"],
        2,
        "'myinit' is not FILE.py:ClassName (e.g. my_inits.py:MyInit)",
    ),
    (
        "init-plugin-class-missing",
        GOOD,
        ["init", "{spec}", "--plugin", "{plugin}:Halve"],
        2,
        "'{plugin}' has no class 'Halve'; did you mean 'Halves'? (initializers in it: Halves)",
    ),
    # ---- set
    (
        "set-no-target",
        GOOD,
        ["set", "{spec}", "--add", "1"],
        2,
        "say which parameters to change, e.g. --select dense0_weight",
    ),
    (
        "set-two-ops",
        GOOD,
        ["set", "{spec}", "--select", "dense0_weight", "--add", "1", "--scale", "2"],
        2,
        "--add and --scale were given; give exactly one of --add X, --scale X, --fill X",
    ),
    (
        "set-no-op",
        GOOD,
        ["set", "{spec}", "--select", "dense0_weight"],
        2,
        "no change was given; give exactly one of --add X, --scale X, --fill X",
    ),
    (
        "set-infinite",
        GOOD,
        ["set", "{spec}", "--select", "dense0_weight", "--scale", "inf"],
        2,
        "Invalid value for '--scale': must be a finite number, got inf",
    ),
    # ---- grad / train settings
    (
        "grad-unknown-loss",
        GOOD,
        ["grad", "{spec}", "--loss", "hinge"],
        2,
        "Invalid value for '--loss': 'hinge' is not one of 'sum', 'l2', 'softmax-ce'.",
    ),
    (
        "train-loss-without-minimum",
        GOOD,
        ["train", "{spec}", "--loss", "sum"],
        2,
        "Invalid value for '--loss': 'sum' is not one of 'l2', 'softmax-ce'.",
    ),
    (
        "train-zero-epochs",
        GOOD,
        ["train", "{spec}", "--epochs", "0"],
        2,
        "Invalid value for '--epochs': 0 is not a positive integer; use 1 or more",
    ),
    (
        "train-negative-epochs",
        GOOD,
        ["train", "{spec}", "--epochs", "-3"],
        2,
        "Invalid value for '--epochs': -3 is not a positive integer; use 1 or more",
    ),
    (
        "train-zero-batch",
        GOOD,
        ["train", "{spec}", "--batch-size", "0"],
        2,
        "Invalid value for '--batch-size': 0 is not a positive integer; use 1 or more",
    ),
    (
        "train-negative-batch",
        GOOD,
        ["train", "{spec}", "--batch-size", "-8"],
        2,
        "Invalid value for '--batch-size': -8 is not a positive integer",
    ),
    (
        "train-zero-samples",
        GOOD,
        ["train", "{spec}", "--samples", "0"],
        2,
        "Invalid value for '--samples': 0 is not a positive integer; use 1 or more",
    ),
    (
        "train-zero-lr",
        GOOD,
        ["train", "{spec}", "--lr", "0"],
        2,
        "Invalid value for '--lr': 0.0 is not a positive learning rate; use e.g. 0.1",
    ),
    (
        "train-negative-lr",
        GOOD,
        ["train", "{spec}", "--lr", "-0.1"],
        2,
        "Invalid value for '--lr': -0.1 is not a positive learning rate; use e.g. 0.1",
    ),
    (
        "train-nan-lr",
        GOOD,
        ["train", "{spec}", "--lr", "nan"],
        2,
        "Invalid value for '--lr': nan is not a positive learning rate",
    ),
    (
        "train-batch-over-samples",
        GOOD,
        ["train", "{spec}", "--batch-size", "64", "--samples", "32"],
        2,
        "Invalid value for '--batch-size': 64 is more than --samples 32; use at most 32",
    ),
    (
        "train-every-zero",
        GOOD,
        ["train", "{spec}", "--every", "0"],
        2,
        "Invalid value for '--every': 0 is not a positive integer; use 1 or more",
    ),
    (
        "train-unknown-optimizer",
        GOOD,
        ["train", "{spec}", "--optimizer", "sdg"],
        2,
        "Invalid value for '--optimizer': unknown optimizer 'sdg'; did you mean 'sgd'?",
    ),
    (
        "train-plot-unknown-format",
        GOOD,
        ["train", "{spec}", "--plot", "{dir}/norms.bmp"],
        2,
        "cannot tell the image format of '{dir}/norms.bmp'; end it with .png, .svg, .pdf",
    ),
    (
        "train-plot-missing-folder",
        GOOD,
        ["train", "{spec}", "--plot", "{dir}/no/norms.png"],
        1,
        "cannot write '{dir}/no/norms.png': folder '{dir}/no' does not exist; create it first "
        "(mkdir -p {dir}/no)",
    ),
    # ---- summary
    (
        "summary-compare-unknown",
        GOOD,
        ["summary", "{spec}", "--compare", "xavir"],
        2,
        "Invalid value for '--compare': unknown initializer 'xavir'; did you mean 'xavier'?",
    ),
    (
        "summary-compare-bad-kv",
        GOOD,
        ["summary", "{spec}", "--compare", "normal:sigma"],
        2,
        "Invalid value for '--compare': 'sigma' is not KEY=VALUE (e.g. --compare normal:sigma=1)",
    ),
    (
        "summary-compare-bad-param",
        GOOD,
        ["summary", "{spec}", "--compare", "normal:sigam=1"],
        2,
        "initializer 'normal' has no parameter 'sigam'; did you mean 'sigma'?",
    ),
    (
        "summary-zero-batch",
        GOOD,
        ["summary", "{spec}", "--batch", "0"],
        2,
        "Invalid value for '--batch': 0 is not in the range 1<=x<=100000000.",
    ),
    # ---- inspect / diff / --load: bad parameter files
    ("inspect-empty", None, ["inspect", "{empty}"], 1, "'{empty}' is empty (0 bytes)"),
    (
        "inspect-text",
        None,
        ["inspect", "{text}"],
        1,
        "'{text}' is not an MXNet parameter file (written by mx.nd.save or save_parameters): "
        "it does not start with the 0x112 header; it is a text file",
    ),
    (
        "inspect-random",
        None,
        ["inspect", "{random}"],
        1,
        "'{random}' is not an MXNet parameter file (written by mx.nd.save or save_parameters): "
        "it does not start with the 0x112 header",
    ),
    (
        "inspect-truncated",
        None,
        ["inspect", "{truncated}"],
        1,
        "'{truncated}' is truncated: the data of array #0 of 1 (shape (2, 3), float32) needs "
        "24 bytes at offset 64 but the file ends at 72 (an interrupted save, download or copy?)",
    ),
    (
        "inspect-corrupt-count",
        None,
        ["inspect", "{corrupt}"],
        1,
        "'{corrupt}' is corrupt: its header declares 1,000,000,000,000 arrays but the file has "
        "only 64 bytes",
    ),
    (
        "inspect-directory",
        None,
        ["inspect", "{dir}"],
        1,
        "cannot read '{dir}': it is a folder, not a parameter file",
    ),
    (
        "inspect-missing",
        None,
        ["inspect", "{dir}/none.params"],
        1,
        "cannot read '{dir}/none.params': no such file",
    ),
    ("diff-empty", None, ["diff", "{empty}", "{truncated}"], 1, "'{empty}' is empty (0 bytes)"),
    ("diff-truncated", None, ["diff", "{truncated}", "{truncated}"], 1, "is truncated"),
    ("diff-random", None, ["diff", "{random}", "{empty}"], 1, "'{random}' is not an MXNet"),
    ("diff-text", None, ["diff", "{text}", "{empty}"], 1, "it is a text file"),
    (
        "diff-directory",
        None,
        ["diff", "{dir}", "{empty}"],
        1,
        "cannot read '{dir}': it is a folder, not a parameter file",
    ),
    (
        "diff-missing",
        None,
        ["diff", "{empty}", "nope.params"],
        1,
        "'{empty}' is empty",
    ),
    (
        "diff-missing-second",
        None,
        ["diff", "mlp", "nope.params"],
        1,
        "'nope.params' not found: no such parameter file and no built-in spec of that name",
    ),
    (
        "diff-bad-regex",
        None,
        ["diff", "{empty}", "{empty}", "--select", "("],
        2,
        "Invalid value for '--select': invalid regular expression '('",
    ),
    ("load-empty", GOOD, ["show", "{spec}", "--load", "{empty}"], 1, "'{empty}' is empty"),
    (
        "load-text-into-train",
        GOOD,
        ["train", "{spec}", "--load", "{text}"],
        1,
        "it does not start with the 0x112 header; it is a text file",
    ),
    (
        "load-truncated-into-grad",
        GOOD,
        ["grad", "{spec}", "--load", "{truncated}"],
        1,
        "is truncated",
    ),
    (
        "load-missing-into-init",
        GOOD,
        ["init", "{spec}", "--method", "one", "--load", "{dir}/none.params"],
        1,
        "cannot read '{dir}/none.params': no such file",
    ),
    (
        "load-directory",
        GOOD,
        ["set", "{spec}", "--select", "dense0_weight", "--add", "1", "--load", "{dir}"],
        2,
        "Invalid value for '--load': File '{dir}' is a directory.",
    ),
    # ---- --save targets
    (
        "save-missing-folder-show",
        GOOD,
        ["show", "{spec}", "--save", "{dir}/no/x.params"],
        1,
        "cannot write '{dir}/no/x.params': folder '{dir}/no' does not exist; create it first "
        "(mkdir -p {dir}/no)",
    ),
    (
        "save-missing-folder-train",
        GOOD,
        ["train", "{spec}", "--save", "{dir}/no/x.params"],
        1,
        "folder '{dir}/no' does not exist; create it first",
    ),
    (
        "save-existing-init",
        GOOD,
        ["init", "{spec}", "--method", "one", "--save", "{existing}"],
        1,
        "'{existing}' already exists; use --force to overwrite it",
    ),
    (
        "save-existing-set",
        GOOD,
        ["set", "{spec}", "--select", "dense0_weight", "--add", "1", "--save", "{existing}"],
        1,
        "'{existing}' already exists; use --force to overwrite it",
    ),
    (
        "save-existing-grad",
        GOOD,
        ["grad", "{spec}", "--save", "{existing}"],
        1,
        "'{existing}' already exists; use --force to overwrite it",
    ),
    (
        "save-existing-train",
        GOOD,
        ["train", "{spec}", "--save", "{existing}"],
        1,
        "'{existing}' already exists; use --force to overwrite it",
    ),
    (
        "save-existing-run",
        GOOD,
        ["run", "{spec}", "--save", "{existing}"],
        1,
        "'{existing}' already exists; use --force to overwrite it",
    ),
    (
        "save-directory",
        GOOD,
        ["show", "{spec}", "--save", "{dir}"],
        2,
        "Invalid value for '--save': File '{dir}' is a directory.",
    ),
    # ---- conflicting flags
    (
        "shapes-only-with-values",
        GOOD,
        ["show", "{spec}", "--shapes-only", "--values"],
        2,
        "--shapes-only allocates nothing, so there are no values, gradients or statistics to "
        "show; drop --values/--grad/--stats/--hist or --shapes-only",
    ),
    (
        "shapes-only-with-save",
        GOOD,
        ["show", "{spec}", "--shapes-only", "--save", "{dir}/x.params"],
        2,
        "there are no parameters to load or save; drop --load/--save or --shapes-only",
    ),
    (
        "force-without-save",
        GOOD,
        ["init", "{spec}", "--method", "one", "--force"],
        2,
        "Invalid value for '--force': --force only applies with --save PATH",
    ),
    (
        "allow-missing-without-load",
        GOOD,
        ["grad", "{spec}", "--allow-missing"],
        2,
        "Invalid value for '--allow-missing': --allow-missing only applies with --load PATH",
    ),
    (
        "ignore-extra-without-load",
        GOOD,
        ["train", "{spec}", "--ignore-extra"],
        2,
        "Invalid value for '--ignore-extra': --ignore-extra only applies with --load PATH",
    ),
    (
        "list-with-save",
        None,
        ["init", "--list", "--save", "{dir}/x.params"],
        2,
        "--list only prints the catalog; drop --load/--save",
    ),
    (
        "check-before-forward",
        GOOD,
        ["show", "{spec}", "--check", "--before-forward"],
        2,
        "--check needs values: drop --before-forward",
    ),
    (
        "check-shapes-only",
        GOOD,
        ["show", "{spec}", "--check", "--shapes-only"],
        2,
        "--check needs values: drop --shapes-only",
    ),
]


PLUGIN = """\
import mxnet as mx


class Halves(mx.init.Initializer):
    def _init_weight(self, name, arr):
        arr[:] = 0.5
"""


def bad_files(folder: Path) -> dict:
    """Parameter files that are wrong in every way the catalog names (written by hand, so
    the cases need no MXNet to set up)."""
    header = struct.pack("<QQQ", 0x112, 0, 1)
    array = struct.pack("<Ii", 0xF993FAC9, 0) + struct.pack("<iqq", 2, 2, 3)
    array += struct.pack("<iii", 1, 0, 0)  # cpu(0), float32
    files = {
        "{empty}": b"",
        "{text}": b"0.weight: [1, 2, 3]\n",
        "{random}": bytes((i * 167 + 13) % 256 for i in range(512)),
        "{truncated}": header + array + b"\0" * 8,  # 8 of the 24 data bytes
        "{corrupt}": struct.pack("<QQQ", 0x112, 0, 10**12) + b"\0" * 40,
        "{existing}": b"old",
    }
    out = {}
    for key, content in files.items():
        path = folder / (key.strip("{}") + ".params")
        path.write_bytes(content)
        out[key] = str(path)
    plugin = folder / "halves.py"
    plugin.write_text(PLUGIN)
    out["{plugin}"] = str(plugin)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(cli, tmp_path, case):
    _, text, args, code, message = case
    spec = tmp_path / "spec.yaml"
    if text is not None:
        spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "d").mkdir()
    subs = {"{spec}": str(spec), "{dir}": str(tmp_path / "d")}
    if any(k in " ".join(args) for k in ("{empty}", "{text}", "{random}", "{truncated}",
                                        "{corrupt}", "{existing}", "{plugin}")):  # fmt: skip
        files = tmp_path / "files"
        files.mkdir()
        subs.update(bad_files(files))
        existing = Path(subs["{existing}"])

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
    # a spec with several problems lists one indented line each under its Error: line
    lines = r.output.splitlines()
    start = lines.index(error_lines[0])
    block = [lines[start], *(x for x in lines[start + 1 :] if x.startswith("  "))]
    assert fill(message) in "\n".join(block)
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, nothing half-written
    assert not any(p.name.endswith(".tmp") for p in Path(tmp_path).rglob("*"))
    assert sorted(os.listdir(tmp_path / "d")) == []
    if "{existing}" in subs:
        assert existing.read_bytes() == b"old"  # never overwritten without --force


def test_debug_shows_the_traceback(cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(L + "  - {units: 0}\n")
    from click.testing import CliRunner

    from paraminspect.cli import cli as root

    r = CliRunner().invoke(root, ["--debug", "check", str(spec)])
    assert r.exit_code == 1
    assert "Traceback" in r.output and "SpecError" in r.output


def test_catalog_is_big_enough():
    assert len(CASES) >= 120
