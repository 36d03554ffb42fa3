"""The documentation site builds offline and strictly, and covers the public API."""

import os
import re
import subprocess
import sys

import pytest

import keras_transfer
from keras_transfer.strategies import STRATEGIES
from tests.readme_test import check_recipe_row

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

# The suite runs once per backend; the site does not depend on it, so build it once.
pytestmark = pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="the docs build does not depend on the backend: it runs on tensorflow only",
)


def read(*parts):
    with open(os.path.join(DOCS, *parts), encoding="utf-8") as f:
        return f.read()


def test_strict_build_succeeds_offline(tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in (
        "index.html",
        "getting-started/index.html",
        "guides/strategies/index.html",
        "guides/named-entities/index.html",
        "benchmarks/index.html",
        "api/models/index.html",
        "notebooks/compare_strategies/index.html",
    ):
        assert (site / page).is_file(), page
    models = (site / "api/models/index.html").read_text(encoding="utf-8")
    assert "TransformerClassifier" in models and "from_preset" in models
    # Doctest examples render as code, not as Markdown block quotes.
    assert '<span class="gp">&gt;&gt;&gt; </span>' in models and "<blockquote>" not in models
    benchmarks = (site / "benchmarks/index.html").read_text(encoding="utf-8")
    assert "Benchmark results" in benchmarks  # benchmarks/RESULTS.md is included
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in html  # nothing fetched from the network


def test_api_reference_covers_every_public_name():
    api = "".join(read("api", name) for name in sorted(os.listdir(os.path.join(DOCS, "api"))))
    documented = set(re.findall(r"^::: ([\w.]+)", api, re.MULTILINE))
    for name in keras_transfer.__all__:
        module = keras_transfer._LAZY.get(name, "keras_transfer.platform")
        assert module == f"keras_transfer.{name}" or f"{module}.{name}" in documented, name
        if module == f"keras_transfer.{name}":
            assert module in documented, name


def test_strategy_tables_follow_the_registry():
    strategies = read("guides", "strategies.md")
    for name, strategy in STRATEGIES.items():
        row = next(line for line in strategies.splitlines() if line.startswith(f"| `{name}` |"))
        if strategy.recipe.max_epochs:
            check_recipe_row(row, strategy.recipe)
    entities = read("guides", "named-entities.md")
    for name, strategy in STRATEGIES.items():
        if strategy.token_recipe is not None:
            row = next(line for line in entities.splitlines() if line.startswith(f"| `{name}` |"))
            check_recipe_row(row, strategy.token_recipe)
