"""The strategy registry: recipes as data, a build function per model kind, no import loop."""

import inspect
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_transfer import ner
from keras_transfer.models.embedding_classifier import EmbeddingClassifier
from keras_transfer.models.multi_task_classifier import MultiTaskClassifier
from keras_transfer.models.setfit_classifier import SetFitClassifier
from keras_transfer.models.token_classifier import TokenClassifier
from keras_transfer.models.transformer_classifier import TransformerClassifier
from keras_transfer.models.zero_shot_classifier import ZeroShotClassifier
from keras_transfer.recipes import RECIPES
from keras_transfer.strategies import DEFAULT_RUN, NER_STRATEGIES, STRATEGIES
from tests.helpers import sentiment_texts, tiny_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = ["negative", "positive"]
# The recipes: (learning rate, most epochs, warmup ratio, epochs of the schedule,
# EarlyStopping's patience). Fine-tuning keeps the literature's schedule and may
# go on three times as long; a classifier's fine-tuning stops after 2 flat epochs.
CLASSIFICATION = {
    "embedding": (3e-3, 200, 0.0, 0, 3),
    "frozen": (1e-3, 200, 0.0, 0, 3),
    "last_n": (1e-4, 20, 0.1, 6, 2),
    "lora": (1e-3, 20, 0.1, 6, 2),
    "full": (5e-5, 12, 0.1, 4, 2),
    "scratch": (5e-4, 12, 0.1, 4, 3),
    "setfit": (2e-5, 1, 0.1, 0, 3),
    "zero_shot": (0.0, 0, 0.0, 0, 3),
}
NER = {
    "frozen": (3e-3, 100, 0.0, 0, 3),
    "last_n": (3e-4, 30, 0.1, 10, 3),
    "lora": (1e-3, 30, 0.1, 10, 3),
    "full": (1e-4, 24, 0.1, 8, 3),
    "scratch": (5e-4, 30, 0.1, 10, 3),
}
MODEL_CLASS = {
    "embedding": EmbeddingClassifier,
    "frozen": TransformerClassifier,
    "last_n": TransformerClassifier,
    "lora": TransformerClassifier,
    "full": TransformerClassifier,
    "scratch": TransformerClassifier,
    "setfit": SetFitClassifier,
    "zero_shot": ZeroShotClassifier,
}


def default_learning_rate(model):
    """The learning rate of the model's default optimizer at step 0."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


@pytest.mark.parametrize("task, expected", [("classification", CLASSIFICATION), ("ner", NER)])
def test_recipes_keep_their_values(task, expected):
    recipes = RECIPES[task]
    got = {
        n: (r.learning_rate, r.max_epochs, r.warmup_ratio, r.decay_epochs, r.patience)
        for n, r in recipes.items()
    }
    assert got == expected
    assert all(r.weight_decay == 0.01 and r.source for r in recipes.values())


@pytest.mark.parametrize("epochs", [3, 8])
def test_a_run_past_the_schedule_goes_on_at_a_tenth_of_the_peak(epochs):
    recipe = RECIPES["classification"]["lora"]  # 10 % warmup, decays over 6 epochs
    schedule = recipe.optimizer(steps_per_epoch=10, epochs=epochs)._learning_rate
    total = 10 * min(epochs, 6)
    warmup = int(0.1 * total)
    end = 0.1 * recipe.learning_rate if epochs > 6 else 0.0
    steps = np.arange(10 * epochs + 1)
    progress = np.clip((steps - warmup) / (total - warmup), 0, 1)
    expected = np.where(
        steps < warmup,
        recipe.learning_rate * steps / max(warmup, 1),
        recipe.learning_rate + (end - recipe.learning_rate) * progress,
    )
    got = [float(keras.ops.convert_to_numpy(schedule(int(k)))) for k in steps]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-12)
    assert got[-1] == pytest.approx(end)


def test_registry_reads_the_recipes():
    assert list(STRATEGIES) == list(CLASSIFICATION) == list(MODEL_CLASS)
    for name, strategy in STRATEGIES.items():
        assert strategy.name == name
        assert strategy.recipe is RECIPES["classification"][name]
        assert strategy.token_recipe is RECIPES["ner"].get(name)
    assert NER_STRATEGIES == tuple(NER) == ner.NER_STRATEGIES
    assert DEFAULT_RUN == ("embedding", "frozen", "last_n", "lora", "full")
    assert {n: s.options for n, s in STRATEGIES.items() if s.options} == {
        "last_n": {"unfreeze_last": 2},
        "lora": {"lora_rank": 8},
        "zero_shot": {"template": "This text is {}."},
    }
    assert [n for n, s in STRATEGIES.items() if not s.trains] == ["zero_shot"]
    assert [n for n, s in STRATEGIES.items() if not s.pretrained] == ["scratch"]


@pytest.mark.parametrize("name", list(MODEL_CLASS))
def test_build_gives_the_model_of_the_strategy(name, tiny_preset):
    strategy = STRATEGIES[name]
    options = {} if strategy.uses_preset else {"vectors": tiny_vectors()}
    model = strategy.build(LABELS, 16, tiny_preset, **options)
    assert type(model) is MODEL_CLASS[name]
    assert list(model.label_names) == LABELS
    learning_rate = strategy.recipe.learning_rate
    if type(model) in (EmbeddingClassifier, TransformerClassifier):  # compiled by default
        assert default_learning_rate(model) == pytest.approx(learning_rate, rel=1e-6)
    if type(model) is TransformerClassifier:
        assert model.strategy == name
        assert {k: getattr(model, k) for k in strategy.options} == strategy.options
    if type(model) is SetFitClassifier:  # its fit builds the optimizer of its pair stage
        default = inspect.signature(SetFitClassifier.fit).parameters["learning_rate"].default
        assert default == learning_rate
    if type(model) is ZeroShotClassifier:
        assert model.template == strategy.options["template"]


def test_embedding_classifier_defaults_to_its_recipe_rate():
    model = EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8)
    assert default_learning_rate(model) == pytest.approx(3e-3, rel=1e-6)


@pytest.mark.parametrize("name", list(NER))
def test_token_classifier_defaults_to_the_token_recipe(name, tiny_preset):
    model = TokenClassifier.from_preset(
        tiny_preset, tag_names=["O", "B-X", "I-X"], strategy=name, max_length=16
    )
    model.compile()
    assert default_learning_rate(model) == pytest.approx(NER[name][0], rel=1e-6)


def test_multi_task_classifier_defaults_to_the_classification_recipe(tiny_preset):
    model = MultiTaskClassifier.from_preset(
        tiny_preset, tasks={"a": 2, "b": 3}, strategy="last_n", max_length=16
    )
    model.compile()
    assert default_learning_rate(model) == pytest.approx(1e-4, rel=1e-6)


def capture_fit(monkeypatch, model_class):
    """Replace `model_class.fit` by one that records its model and arguments."""
    calls = []

    def fit(self, *args, **kwargs):
        calls.append((self, kwargs))
        return "history"

    monkeypatch.setattr(model_class, "fit", fit)
    return calls


def test_train_compiles_with_the_recipe(monkeypatch, tiny_preset):
    calls = capture_fit(monkeypatch, TransformerClassifier)
    texts, labels = sentiment_texts(10)
    model, history = STRATEGIES["full"].train(
        texts, labels, LABELS, preset=tiny_preset, max_length=16, batch_size=4, epochs=2
    )
    assert history == "history" and calls[0][0] is model
    assert calls[0][1]["epochs"] == 2 and calls[0][1]["class_weight"] == "balanced"
    assert "learning_rate" not in calls[0][1]
    schedule = model.optimizer._learning_rate.schedule  # inside the plateau scaling
    assert type(model.optimizer).__name__ == "AdamW"
    assert (schedule.peak_learning_rate, schedule.total_steps) == (5e-5, 3 * 2)


def test_train_stops_after_the_recipes_patience(monkeypatch, tiny_preset):
    calls = capture_fit(monkeypatch, TransformerClassifier)
    texts, labels = sentiment_texts(10)
    STRATEGIES["full"].train(texts, labels, LABELS, preset=tiny_preset, max_length=16)
    (stop,) = [
        cb for cb in calls[0][1]["callbacks"] if isinstance(cb, keras.callbacks.EarlyStopping)
    ]
    assert (stop.patience, stop.monitor, stop.restore_best_weights) == (2, "loss", True)
    STRATEGIES["full"].train(  # a split of the training data is validation too
        texts, labels, LABELS, preset=tiny_preset, max_length=16, validation_split=0.2
    )
    (stop,) = [
        cb for cb in calls[1][1]["callbacks"] if isinstance(cb, keras.callbacks.EarlyStopping)
    ]
    assert (stop.patience, stop.monitor) == (2, "val_loss")
    mine = keras.callbacks.EarlyStopping(patience=5)  # a caller's own is kept, alone
    STRATEGIES["full"].train(
        texts, labels, LABELS, preset=tiny_preset, max_length=16, callbacks=mine
    )
    assert [
        cb for cb in calls[2][1]["callbacks"] if isinstance(cb, keras.callbacks.EarlyStopping)
    ] == [mine]


def test_a_flat_run_stops_after_patience_epochs(tiny_preset):
    """A rate of 0 never improves the validation loss: the run stops after its
    first epoch and `patience` more."""
    texts, labels = sentiment_texts(16)
    flat = RECIPES["classification"]["frozen"].__class__(
        learning_rate=0.0, max_epochs=10, patience=1
    )
    _, history = STRATEGIES["frozen"].train(
        texts[:12],
        labels[:12],
        LABELS,
        validation_data=(texts[12:], labels[12:]),
        preset=tiny_preset,
        max_length=16,
        recipe=flat,
        verbose=0,
    )
    assert len(history.history["val_loss"]) == 2


def test_train_gives_setfit_the_recipe_rate(monkeypatch, tiny_preset):
    calls = capture_fit(monkeypatch, SetFitClassifier)
    texts, labels = sentiment_texts(8)
    model, _ = STRATEGIES["setfit"].train(texts, labels, LABELS, preset=tiny_preset, max_length=16)
    assert calls[0][1]["learning_rate"] == 2e-5 and calls[0][1]["epochs"] == 1
    assert not isinstance(model.optimizer, keras.optimizers.AdamW)  # its fit builds its own


def test_zero_shot_trains_nothing(monkeypatch, tiny_preset):
    calls = capture_fit(monkeypatch, ZeroShotClassifier)
    texts, labels = sentiment_texts(8)
    model, history = STRATEGIES["zero_shot"].train(
        texts, labels, LABELS, preset=tiny_preset, max_length=16
    )
    assert type(model) is ZeroShotClassifier and history is None and not calls


@pytest.mark.skipif(
    keras.config.backend() != "jax", reason="which modules import which: tested on jax only"
)
def test_models_do_not_import_the_registry():
    """The registry sits above the models: importing them leaves it unloaded."""
    code = (
        "import sys\n"
        "import keras_transfer.models.transformer_classifier\n"
        "import keras_transfer.models.token_classifier\n"
        "import keras_transfer.models.multi_task_classifier\n"
        "import keras_transfer.models.embedding_classifier\n"
        "import keras_transfer.trainability\n"
        "sys.exit('keras_transfer.strategies' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
