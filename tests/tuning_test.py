import os

import pandas as pd
import pytest

import keras_transfer as kt
from keras_transfer import tuning
from keras_transfer.strategies import STRATEGIES, Strategy


def split():
    frame, _ = kt.load_bundled("sentiment_en_vi")
    frame = frame.groupby("label").head(24).reset_index(drop=True)
    test = frame.groupby("label").tail(6)
    return frame.drop(test.index).reset_index(drop=True), test.reset_index(drop=True)


def compare(preset, **kwargs):
    train, test = split()
    args = dict(strategies=["lora"], epochs=1, max_length=16, batch_size=8, preset=preset)
    return kt.compare_strategies(train, test, verbose=0, **{**args, **kwargs})


@pytest.fixture(scope="module")
def tuned(tiny_preset, tmp_path_factory):
    """A tuned run (tune=2), the texts every tuning fit saw, and its out folder."""
    seen = []
    train = Strategy.train

    def recorded(self, texts, labels, label_names, validation_data=None, **kwargs):
        if "_trial" in kwargs.get("experiment", ""):
            seen.extend(texts)
            seen.extend(validation_data[0])
        return train(self, texts, labels, label_names, validation_data, **kwargs)

    out = tmp_path_factory.mktemp("tuned") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Strategy, "train", recorded)
        table = compare(tiny_preset, tune=2, out=str(out))
    return table, seen, out


def test_tuning_never_sees_the_test_split(tuned):
    table, seen, _ = tuned
    train, test = split()
    assert seen and set(seen) <= set(train["text"])
    assert not set(seen) & set(test["text"])


def test_chosen_values_reach_the_table_and_results_csv(tuned):
    table, _, out = tuned
    lora = table.set_index("strategy").loc["lora"]
    assert lora["tuned"].startswith("lr=") and "lora_rank=" in lora["tuned"]
    rate = float(lora["tuned"].split(",")[0][3:])
    assert 1e-3 / 3 <= lora["learning_rate"] <= 3e-3
    assert lora["learning_rate"] == pytest.approx(rate, rel=0.06)
    saved = pd.read_csv(out / "results.csv").set_index("strategy")
    assert saved.loc["lora", "tuned"] == lora["tuned"]
    assert sorted(os.listdir(out / "tuning" / "lora"))[0].startswith("oracle")


def test_search_space_is_each_strategys_data(tiny_preset):
    class Task:
        options = {"last_n": {}}
        settings = {"preset": tiny_preset}  # two blocks

        def recipe(self, strategy):
            return STRATEGIES[strategy].recipe

    space = tuning.search_space(Task(), "last_n")
    # The recipe's values are the defaults, tried first: unfreeze_last 2, capped at two blocks.
    assert space["learning_rate"] == (
        "log", pytest.approx(1e-4 / 3), pytest.approx(3e-4), pytest.approx(1e-4)
    )  # fmt: skip
    assert space["unfreeze_last"] == ("choice", (1, 2), 2)


def test_the_first_trial_is_the_recipe(tuned):
    """Tuning tries the recipe's own setting first, so it never keeps one that scores
    worse on the validation split."""
    import glob
    import json

    _, _, out = tuned
    trials = sorted(glob.glob(str(out / "tuning" / "lora" / "trial_*" / "trial.json")))
    with open(trials[0], encoding="utf-8") as f:
        values = json.load(f)["hyperparameters"]["values"]
    assert values == {"learning_rate": pytest.approx(1e-3), "lora_rank": 8}
