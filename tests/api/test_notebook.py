"""examples/chapter4_2.ipynb runs on a real ipykernel; its HTML shows the book's numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "chapter4_2.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_notebook_executes_and_shows_the_books_parameters_and_numbers():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    html = [
        out["data"]["text/html"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]
    plain = [
        out["data"]["text/plain"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]
    assert len(html) == 9  # every cell that ends in a report
    page = "\n".join(html)
    for name in ("dense0_weight", "dense0_bias", "dense1_weight", "dense1_bias"):
        assert name in page
    # Out[4], the book's first row of dense0_weight; Out[13], after In[9]..In[13]
    assert "0.06700657 -0.00369488  0.0418822" in page
    assert "-4.3659673  8.5773945  9.986376" in page
    assert "0.06700657" in "\n".join(plain)  # the text/plain fallback has them too
    # Gluon's numbering: In[2] net[0].params is layer 0, In[6] net[1].bias is layer 1
    by_source = {
        "".join(cell.source): "".join(
            out["data"]["text/plain"] for out in cell.outputs if "text/plain" in out.get("data", {})
        )
        for cell in nb.cells
        if cell.cell_type == "code"
    }
    in2 = next(text for src, text in by_source.items() if "layer=0)" in src)
    assert "0 (dense0)" in in2 and "dense0_weight" in in2 and "dense1_" not in in2
    in6 = next(text for src, text in by_source.items() if "layer=1," in src)
    assert "1 (dense1)" in in6 and "dense1_bias" in in6 and "dense0_" not in in6
    # In[14]: the shared layer's parameters, mapped to both layers: net2[1] and net2[2]
    # (a Dense's own Activation is part of the Dense, not a layer)
    assert "1 (dense2), 2 (dense4)" in page
    # and pi.grad splits the shared gradient into its two uses, with the sum check
    assert "= accumulated?" in page and "accumulated grad()" in page
