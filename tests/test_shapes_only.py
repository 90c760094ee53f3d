"""Tables of specs too large for memory, from the plan alone, and refusals before allocating."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from paraminspect.model.memory import memory_problem
from paraminspect.model.plan import make_plan
from paraminspect.spec.load import load_spec

HUGE = textwrap.dedent(
    """\
    name: huge
    input:
      shape: [1, 100000]
    layers:
      - {units: 100000, activation: relu}
      - {units: 10}
    """
)
# Worked out by hand: 1e5 x 1e5 weight + 1e5 bias + 10 x 1e5 weight + 10 bias.
HUGE_PARAMS = 100_000 * 100_000 + 100_000 + 10 * 100_000 + 10


@pytest.fixture
def huge(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE)
    return str(path)


def test_huge_spec_prints_its_table_without_mxnet_or_memory(huge):
    """10 billion parameters (75 GiB with gradients): the table comes from the plan, MXNet is
    never imported, and the process stays small."""
    code = textwrap.dedent(
        f"""\
        import json, resource, sys
        from paraminspect.cli import main
        try:
            main(["show", {huge!r}, "--format", "json"])
        except SystemExit as e:
            assert e.code == 0, e.code
        # VmHWM is this program's own peak; ru_maxrss keeps the peak of the process that
        # forked it (Linux carries it across exec), so a big pytest parent would count.
        try:
            with open("/proc/self/status") as f:
                peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        except (OSError, StopIteration):
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"mxnet": "mxnet" in sys.modules, "rss_kib": peak}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    report_text, _, probe_text = out.rstrip().rpartition("\n")
    probe = json.loads(probe_text)
    assert probe["mxnet"] is False
    assert probe["rss_kib"] < 400 * 1024
    report = json.loads(report_text)
    assert report["model"]["forward"] is False
    assert [(p["name"], p["shape"], p["size"]) for p in report["parameters"]] == [
        ("dense0_weight", [100_000, 100_000], 10_000_000_000),
        ("dense0_bias", [100_000], 100_000),
        ("dense1_weight", [10, 100_000], 1_000_000),
        ("dense1_bias", [10], 10),
    ]
    assert report["totals"] == {
        "total": HUGE_PARAMS,
        "unique": HUGE_PARAMS,
        "trainable": HUGE_PARAMS,
        "non_trainable": 0,
        "bytes": HUGE_PARAMS * 4,
    }
    assert report["notes"][0].startswith(
        "no network was built and no forward pass was run: building this network would "
        "need about 74.5 GiB (10,001,100,010 float32 parameters and their gradients, "
        "37.3 GiB each, plus 781.3 KiB of activations) but only "
    )


def test_table_of_huge_spec_says_why(cli, huge):
    r = cli("show", huge, columns=120)  # bytes is left out at 80 columns
    assert r.exit_code == 0
    assert "10,000,000,000" in r.output and "40,004,400,040" in r.output
    assert "note: no network was built and no forward pass was run" in r.output


def test_values_of_a_huge_spec_are_refused_before_allocating(cli, huge):
    r = cli("show", huge, "--stats")
    assert r.exit_code == 1
    assert r.output.startswith("Error: building this network would need about 74.5 GiB")
    assert r.output.endswith(
        "; use a smaller spec, or `paraminspect show --shapes-only` to see its table without "
        "allocating it\n"
    )


def test_shapes_only_refuses_values(cli):
    r = cli("show", "--shapes-only", "--values")
    assert r.exit_code == 2
    assert r.output.endswith(
        "Error: Invalid value for '--shapes-only': --shapes-only allocates nothing, so there "
        "are no values, gradients or statistics to show; drop --values/--grad/--stats/--hist "
        "or --shapes-only\n"
    )


@pytest.mark.parametrize("spec", ["mlp", "shared"])
def test_shapes_only_table_equals_the_built_networks(cli, spec):
    """The plan's table must be what MXNet builds: compare with a real `show`."""
    keys = ("name", "shape", "dtype", "size", "grad_req", "init", "layers")
    plan = json.loads(cli("show", spec, "--shapes-only", "--format", "json").output)
    real = json.loads(cli("show", spec, "--seed", "0", "--format", "json").output)
    assert [{k: p[k] for k in keys} for p in plan["parameters"]] == [
        {k: p[k] for k in keys} for p in real["parameters"]
    ]
    assert plan["totals"] == real["totals"]
    assert plan["sharing"] == real["sharing"]
    assert plan["model"]["layers"] == real["model"]["layers"]
    assert plan["notes"][0] == (
        "no network was built and no forward pass was run: --shapes-only asks for the table alone"
    )


def test_shapes_only_keeps_selection(cli):
    out = json.loads(
        cli("show", "shared", "--shapes-only", "--select", ".*weight", "--format", "json").output
    )
    assert [p["name"] for p in out["parameters"]] == [
        "dense0_weight",
        "shared_weight",
        "dense2_weight",
    ]


def test_memory_message_gives_estimate_and_what_fits(tmp_path):
    spec = tmp_path / "big.yaml"
    spec.write_text(
        "input: {shape: [64, 4096]}\nlayers:\n" + "  - {units: 4096, activation: relu}\n" * 8
    )
    plan = make_plan(load_spec(str(spec)))
    params = 8 * (4096 * 4096 + 4096)
    activations = (64 * 4096 * 9) * 4  # X and 8 outputs of (64, 4096) float32
    need = 2 * params * 4 + activations
    gib = 1 << 30
    fits = (int(0.9 * gib) - activations) // 8
    assert need == plan.estimate_bytes()
    assert memory_problem(plan, available=2 * gib) is None
    assert memory_problem(plan, what="x", available=gib) == (
        f"x would need about 1.0 GiB ({params:,} float32 parameters and their gradients, "
        f"512.1 MiB each, plus 9.0 MiB of activations) but only 1.0 GiB is available, "
        f"enough for about {fits:,} parameters at this batch size"
    )
