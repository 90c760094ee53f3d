"""``--hist``: counts against numpy.histogram, expected counts against scipy.stats, the
law only while the values are the initializer's own, rendering, JSON and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from tests.conftest import render_to_text, run_fresh


def _show(spec="mlp", seed=0, **view):
    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions

    return show(spec, ViewOptions(hist=True, values=True, **view), seed=seed)


def _init(method, params=(), seed=0, **view):
    from paraminspect.actions.init import init
    from paraminspect.actions.view import ViewOptions

    return init("mlp", method, params, ViewOptions(hist=True, values=True, **view), seed=seed)


def _rows(report):
    report = getattr(report, "report", report)  # an EditReport holds show's report
    return {r.name: r for r in report.parameters}


@pytest.mark.parametrize("bins", [1, 7, 16])
def test_counts_are_numpys_and_the_uniform_law_is_scipys(bins):
    row = _rows(_show(seed=3, bins=bins, select="dense0_weight"))["dense0_weight"]
    x = row.data.values.astype(np.float64).reshape(-1)
    h = row.hist
    # Bins span the law's support [-0.07, 0.07]: numpy with that range gives the same edges.
    counts, edges = np.histogram(x, bins=bins, range=(-0.07, 0.07))
    assert np.array_equal(np.array(h.edges), edges)
    assert list(h.counts) == counts.tolist()
    assert sum(h.counts) == x.size == 5120
    law = stats.uniform(loc=-0.07, scale=0.14)
    expected = x.size * (law.cdf(edges[1:]) - law.cdf(edges[:-1]))
    assert np.allclose(h.expected, expected, rtol=1e-12, atol=0)
    assert h.law == "U(-0.07, 0.07), the law of uniform(scale=0.07)"
    assert h.of == "values" and h.nonfinite == 0


def test_xavier_gaussian_expected_counts_are_scipys_normal():
    row = _rows(_init("xavier", ["rnd_type=gaussian"], seed=1, select="dense0_weight"))[
        "dense0_weight"
    ]
    x = row.data.values.astype(np.float64).reshape(-1)
    h = row.hist
    # Data range (a normal law is unbounded), edges as numpy computes them.
    counts, edges = np.histogram(x, bins=16)
    assert np.array_equal(np.array(h.edges), edges)
    assert list(h.counts) == counts.tolist()
    sigma = math.sqrt(3.0 / ((20 + 256) / 2))  # shape (256, 20): fan_in 20, fan_out 256
    law = stats.norm(0.0, sigma)
    assert np.allclose(h.expected, x.size * np.diff(law.cdf(edges)), rtol=1e-12, atol=0)


def test_slice_histograms_the_slice():
    row = _rows(_show(seed=0, select="dense0_weight", slice="0"))["dense0_weight"]
    h = row.hist
    assert h.label == "dense0_weight[0]"
    assert sum(h.counts) == 20
    assert np.isclose(sum(h.expected), 20.0)


def test_point_masses_get_one_bin_and_all_the_expected_mass():
    rows = _rows(_show(select=".*bias"))
    h = rows["dense0_bias"].hist
    counts, edges = np.histogram(np.zeros(256), bins=1)
    assert list(h.edges) == edges.tolist() == [-0.5, 0.5]
    assert list(h.counts) == counts.tolist() == [256]
    assert h.expected == (256.0,)
    assert h.law == "every value = 0, the law of zero"
    h = _rows(_init("constant", ["value=0.3"], select="dense1_weight"))["dense1_weight"].hist
    assert list(h.counts) == [2560] and h.expected == (2560.0,)
    assert np.allclose(h.edges, np.histogram(np.full(3, np.float32(0.3)), bins=1)[1])


def test_myinit_expected_counts_include_the_atom_at_zero():
    h = _rows(_init("myinit", select="dense1_weight", bins=8))["dense1_weight"].hist
    n = 2560
    edges = np.array(h.edges)
    assert np.allclose(edges, np.linspace(-10, 10, 9))
    # U(-10, 10), |w| < 5 set to 0: density 1/20 on [-10,-5] and [5,10], an atom of 1/2 at 0.
    kept = np.array(
        [
            max(0.0, min(b, -5) - max(a, -10)) + max(0.0, min(b, 10) - max(a, 5))
            for a, b in zip(edges[:-1], edges[1:])
        ]
    )
    atom = np.array([a <= 0 < b for a, b in zip(edges[:-1], edges[1:])], dtype=float)
    assert np.allclose(h.expected, n * kept / 20 + n * 0.5 * atom, rtol=1e-12, atol=1e-9)


def test_values_moved_after_the_draw_have_no_law():
    from paraminspect.actions.init import set_
    from paraminspect.actions.view import ViewOptions

    report = set_("mlp", "add", 1.0, ViewOptions(select="dense1_weight", hist=True), seed=0)
    h = _rows(report.report)["dense1_weight"].hist
    assert h.expected is None and h.law is None
    assert h.note == "no law for values set by uniform(scale=0.07), then +1"
    assert h.edges[0] >= 0.93 - 1e-6


def test_orthogonal_has_no_per_value_law():
    h = _rows(_init("orthogonal", select="dense1_weight", bins=4))["dense1_weight"].hist
    assert h.expected is None
    assert h.note.endswith("a matrix property, not a law for single values")


def test_grad_histograms_gradients_without_a_law():
    from paraminspect.actions.grad import grad
    from paraminspect.actions.view import ViewOptions

    report = grad("mlp", ViewOptions(hist=True, grad=True, select="dense0_.*"), seed=0)
    for row in report.base.parameters:
        h = row.hist
        g = row.grad.values.astype(np.float64).reshape(-1)
        counts, edges = np.histogram(g, bins=16 if g.min() < g.max() else 1)
        assert np.array_equal(np.array(h.edges), edges)
        assert list(h.counts) == counts.tolist()
        assert h.of == "grad" and h.expected is None
        assert h.label == f"{row.name}.grad"
    # Without --grad the grad command still histograms the gradients.
    plain = grad("mlp", ViewOptions(hist=True, select="dense1_bias"), seed=0)
    assert plain.base.parameters[0].hist.of == "grad"


def test_nonfinite_values_are_left_out_and_counted():
    from paraminspect.actions.view import histogram

    x = np.array([0.0, 1.0, np.nan, np.inf, 2.0])
    h = histogram(x, 2)
    assert h.nonfinite == 2
    assert list(h.counts) == np.histogram([0.0, 1.0, 2.0], bins=2)[0].tolist()


def test_deferred_weights_say_why_there_is_no_histogram():
    from paraminspect.actions.show import show
    from paraminspect.actions.view import ViewOptions

    report = show("mlp", ViewOptions(hist=True), seed=0, before_forward=True)
    rows = _rows(report)
    assert rows["dense0_weight"].hist is None
    assert rows["dense0_weight"].hist_note.startswith("not initialized yet")
    assert rows["dense0_bias"].hist.counts == (256,)


def test_golden_hist_rendering(golden):
    from paraminspect.render.params import print_hists

    report = _show(seed=0, bins=8, select="dense1_.*")
    golden("hist_mlp.txt", render_to_text(print_hists, report.parameters))


def test_json_has_edges_counts_expected(cli):
    r = cli("show", "--hist", "--bins", "4", "--seed", "0", "--format", "json")
    assert r.exit_code == 0, r.output
    params = {p["name"]: p for p in json.loads(r.output)["parameters"]}
    h = params["dense0_weight"]["hist"]
    assert {"edges", "counts", "expected"} <= set(h)
    assert len(h["edges"]) == len(h["counts"]) + 1 == len(h["expected"]) + 1 == 5
    assert sum(h["counts"]) == 5120
    g = json.loads(cli("grad", "--hist", "--seed", "0", "--format", "json").output)
    assert all(p["hist"]["expected"] is None for p in g["parameters"])


def test_hist_on_init_set_run_tables(cli):
    for args in (
        ("init", "--method", "normal", "--select", "dense1_bias", "--hist", "--bins", "3"),
        ("set", "--select", "dense1_bias", "--fill", "2", "--hist"),
        ("run", "chapter4_2", "--select", "dense1_bias", "--hist"),
    ):
        r = cli(*args, "--seed", "0")
        assert r.exit_code == 0, r.output
        assert "dense1_bias  histogram of 10 values" in r.output


def test_bad_bins(cli):
    r = cli("show", "--hist", "--bins", "0")
    assert r.exit_code == 2
    assert "Invalid value for '--bins': 0 is not in the range 1<=x<=200." in r.output


def test_book_default_net_fresh_process():
    """The book's net in a fresh process: MXNet's default stream, Block.initialize()'s
    uniform(-0.07, 0.07), the book's first weights, and numpy's counts."""
    out = run_fresh("show", "--hist", "--select", "dense0_weight").stdout
    assert (
        "dense0_weight  histogram of 5,120 values; ┃ expected under U(-0.07, 0.07), the law "
        "of uniform(scale=0.07)" in out
    )
    assert "  [   -0.07, -0.06125) " in out and " exp 320.0" in out
    obj = json.loads(
        run_fresh(
            "show", "--hist", "--values", "--select", "dense0_weight", "--format", "json"
        ).stdout
    )
    p = obj["parameters"][0]
    data = np.array(p["data"], dtype=np.float32)
    assert data[0, :2].tolist() == pytest.approx([0.06700657, -0.00369488], abs=1e-8)
    counts, edges = np.histogram(data.astype(np.float64), bins=16, range=(-0.07, 0.07))
    assert p["hist"]["counts"] == counts.tolist()
    assert np.allclose(p["hist"]["expected"], 5120 / 16)
    assert np.allclose(p["hist"]["edges"], edges)


def test_inspect_hist_counts_are_numpys(cli, tmp_path):
    import mxnet as mx

    a = np.linspace(-1, 3, 50, dtype=np.float32).reshape(5, 10)
    path = tmp_path / "w.params"
    mx.nd.save(str(path), {"w": mx.nd.array(a)})
    r = cli("inspect", str(path), "--hist", "--bins", "5", "--format", "json")
    assert r.exit_code == 0, r.output
    h = json.loads(r.output)["arrays"][0]["hist"]
    counts, edges = np.histogram(a.astype(np.float64), bins=5)
    assert h["counts"] == counts.tolist() and np.allclose(h["edges"], edges)
    assert h["expected"] is None
    table = cli("inspect", str(path), "--hist", "--bins", "5", "--slice", "0")
    assert "w[0]  histogram of 10 values; a parameter file does not say" in table.output
