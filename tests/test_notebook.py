"""examples/review.ipynb runs top to bottom (nbclient, a fresh kernel, a temporary working folder).

The smoke sweep is run once for the test session on the shared Ray and handed to the notebook through
OPTIMIZER_REVIEW_SWEEP (without it, the notebook runs the sweep itself).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "review.ipynb"


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_review_notebook_runs_top_to_bottom(smoke_sweep_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTIMIZER_REVIEW_SWEEP", str(smoke_sweep_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs for c in code), "every code cell shows something"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    text = outputs_text(nb)
    assert "SweepResult('smoke', 6 scenarios" in text
    assert "ibaraki_slips_2y" in text and "Ibaraki" in text
    assert "moves the total cost most" in text
    assert (tmp_path / "smoke-report.html").is_file()
