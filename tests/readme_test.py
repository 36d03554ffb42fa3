"""The strategies tables of the docs follow the registry; the README's links resolve."""

import os
import re

from keras_transfer.strategies import STRATEGIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
STRATEGIES_GUIDE = os.path.join(ROOT, "docs", "guides", "strategies.md")
NER_GUIDE = os.path.join(ROOT, "docs", "guides", "named-entities.md")


def test_strategies_table_follows_the_registry():
    text = open(STRATEGIES_GUIDE, encoding="utf-8").read()
    for name, strategy in STRATEGIES.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        recipe = strategy.recipe
        if not recipe.max_epochs:
            assert "no training" in row and "| none |" in row, row
            continue
        check_recipe_row(row, recipe)


def check_recipe_row(row, recipe):
    """The row says the recipe's optimizer, learning rate, warmup, most epochs, the
    epochs of its schedule and EarlyStopping's patience where it is not 3."""
    optimizer, lr, warmup, epochs, decay, patience = re.search(
        r"(AdamW?) ([0-9.e-]+), (?:(\d+) % warmup, )?(\d+)(?: \(decay over (\d+)\))?"
        r"(?:, patience (\d+))?",
        row,
    ).groups()
    assert optimizer == ("AdamW" if recipe.warmup_ratio else "Adam"), row
    assert float(lr) == recipe.learning_rate, row
    assert float(warmup or 0) / 100 == recipe.warmup_ratio, row
    assert int(epochs) == recipe.max_epochs, row
    assert int(decay or 0) == recipe.decay_epochs, row
    assert int(patience or 3) == recipe.patience, row


def test_readme_names_no_source_documents():
    text = open(README, encoding="utf-8").read()
    assert not re.search(r"\bseeds? 00\d", text, re.IGNORECASE)


def test_token_recipes_table_follows_the_registry():
    section = open(NER_GUIDE, encoding="utf-8").read()
    for name, strategy in STRATEGIES.items():
        recipe = strategy.token_recipe
        if recipe is None:
            continue
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
        check_recipe_row(row, recipe)


def test_readme_links_resolve():
    """Every relative link of the README (into the docs, the notebooks) names a file that exists."""
    text = open(README, encoding="utf-8").read()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 10
    for link in local:
        assert os.path.exists(os.path.join(ROOT, link)), link
