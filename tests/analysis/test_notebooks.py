"""The notebooks in notebooks/ run from top to bottom, and are kept in git without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.timeout(600)


def test_there_are_the_three_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01-from-phones-to-showers", "02-how-good-is-the-search", "03-the-network"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_and_is_stored_without_outputs(path, tmp_path, monkeypatch):
    book = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip the outputs"
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' simulations go here
    NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert any(
        o.output_type == "display_data" and "image/png" in o.data for c in code for o in c.outputs
    )
