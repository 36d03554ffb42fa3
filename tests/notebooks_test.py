"""The example notebooks run top to bottom, offline, on the bundled model and data.

Each runs in small mode (`SMALL = True` written into its `parameters` cell), in a
kernel of this Python (the virtual environment's), with `KERAS_TRANSFER_HEADLESS=1`
so that the `%tensorboard` cell starts no server.
"""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "examples", "notebooks")
KERNEL = "keras-transfer-tests"

# The notebooks do not depend on the backend (each reads KERAS_BACKEND); run them once,
# on torch, where the small models train fastest.
pytestmark = pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND") != "torch",
    reason="the notebooks run once per suite: on the torch backend only",
)

# What each notebook must show, besides running without an error.
EXPECTED = {
    "quickstart.ipynb": ["reloaded model predicts the same: True"],
    "compare_strategies.ipynb": ["majority", "tfidf_logreg", "image/png"],
    "few_shot_zero_shot.ipynb": ["zero_shot", "setfit"],
    "named_entities.ipynb": ["one tag per word: True", "micro avg"],
}


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """A kernelspec running this interpreter, found through JUPYTER_PATH."""
    folder = tmp_path / "jupyter" / "kernels" / KERNEL
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "keras_transfer tests",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("KERAS_TRANSFER_HEADLESS", "1")
    # The kernel imports keras_transfer from this checkout.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    )
    return KERNEL


def small(notebook):
    """Set `SMALL = True` in the notebook's `parameters` cell."""
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "one cell tagged `parameters`"
    assert "SMALL = False" in cells[0].source
    cells[0].source = cells[0].source.replace("SMALL = False", "SMALL = True")
    return notebook


def test_every_notebook_is_tested():
    found = sorted(n for n in os.listdir(NOTEBOOKS) if n.endswith(".ipynb"))
    assert found == sorted(EXPECTED)


def test_notebooks_run_in_small_mode(kernel, tmp_path):
    """All notebooks in one kernel, one after the other: each starts from an empty namespace
    (`%reset -f`) in its own folder, and only the imports are shared (they take most of the
    time of a fresh kernel)."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = []
    for name in sorted(EXPECTED):
        folder = tmp_path / name.removesuffix(".ipynb")
        folder.mkdir()
        start = f"%reset -f\nimport os\n\nos.chdir({str(folder)!r})"
        cells.append(new_code_cell(start, metadata={"notebook": name}))
        notebook = small(nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4))
        for cell in notebook.cells:
            cell.metadata["notebook"] = name
            cells.append(cell)
    combined = new_notebook(cells=cells, metadata=notebook.metadata)
    NotebookClient(
        combined, kernel_name=kernel, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    for name, expected in EXPECTED.items():
        outputs = [
            dict(output)
            for cell in combined.cells
            if cell.cell_type == "code" and cell.metadata["notebook"] == name
            for output in cell.outputs
        ]
        assert not [o for o in outputs if o["output_type"] == "error"], name
        shown = json.dumps(outputs)
        for text in expected:
            assert text in shown, (name, text)
