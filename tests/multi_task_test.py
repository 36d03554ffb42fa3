"""MultiTaskClassifier: one encoder, a head per task, -1 labels masked out."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.helpers import sentiment_texts

TEXTS, SENTIMENT = sentiment_texts(32)
# A second task labelled on every other text only (-1: no label).
OTHER = np.where(np.arange(32) % 2, -1, np.arange(32) % 3)
TASKS = {"sentiment": 2, "other": 3}


@pytest.fixture(scope="module")
def fitted(tiny_preset, tmp_path_factory):
    keras.utils.set_random_seed(5)
    model = kt.MultiTaskClassifier.from_preset(
        tiny_preset,
        tasks=TASKS,
        strategy="lora",
        max_length=16,
        label_names={"sentiment": ["negative", "positive"]},
    )
    history = model.fit(
        TEXTS,
        {"sentiment": SENTIMENT, "other": OTHER},
        validation_data=(TEXTS[:8], {"sentiment": SENTIMENT[:8], "other": OTHER[:8]}),
        epochs=2,
        batch_size=8,
        verbose=0,
        log_root=str(tmp_path_factory.mktemp("logs")),
    )
    return model, history


def test_trains_every_head_and_predicts_a_dict(fitted):
    model, history = fitted
    for key in ("sentiment_loss", "other_loss", "sentiment_accuracy", "val_other_accuracy"):
        assert len(history.history[key]) == 2, key
    predictions = model.predict(TEXTS[:5], verbose=0)
    assert set(predictions) == {"sentiment", "other"}
    assert predictions["sentiment"].shape == (5, 2) and predictions["other"].shape == (5, 3)
    np.testing.assert_allclose(predictions["other"].sum(axis=1), 1.0, atol=1e-5)


def test_saves_and_reloads(fitted, tmp_path):
    model = fitted[0]
    path = str(tmp_path / "multi.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.tasks == TASKS and reloaded.label_names == model.label_names
    before, after = model.predict(TEXTS, verbose=0), reloaded.predict(TEXTS, verbose=0)
    for task in TASKS:  # to float rounding (TensorFlow may fuse the reloaded graph differently)
        np.testing.assert_allclose(before[task], after[task], atol=1e-6)


def test_unlabelled_examples_contribute_zero_loss(fitted):
    model = fitted[0]
    probabilities = model.predict(TEXTS, verbose=0)
    nothing = {"sentiment": SENTIMENT, "other": np.full(32, -1)}
    logs = model.evaluate(TEXTS, nothing, batch_size=32, verbose=0, return_dict=True)
    assert logs["other_loss"] == 0.0
    # With some labels, the loss is the mean cross-entropy over the labelled texts only.
    logs = model.evaluate(
        TEXTS, {"sentiment": SENTIMENT, "other": OTHER}, batch_size=32, verbose=0, return_dict=True
    )
    labelled = OTHER != -1
    expected = -np.mean(np.log(probabilities["other"][labelled, OTHER[labelled]]))
    assert logs["other_loss"] == pytest.approx(expected, rel=1e-4)
    expected_accuracy = np.mean(probabilities["other"][labelled].argmax(axis=1) == OTHER[labelled])
    assert logs["other_accuracy"] == pytest.approx(expected_accuracy, abs=1e-6)


def test_frozen_encoder_stays_bit_identical(tiny_preset):
    model = kt.MultiTaskClassifier.from_preset(
        tiny_preset, tasks=TASKS, strategy="frozen", max_length=16
    )
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.backbone.weights]
    model.fit(TEXTS, {"sentiment": SENTIMENT, "other": OTHER}, epochs=1, batch_size=8, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tasks": {"sentiment": 1}}, "2 or more classes"),
        ({"tasks": {"bad name": 2}}, "Task names"),
        ({"tasks": {}}, "tasks="),
        ({"tasks": TASKS, "loss_weights": {"nope": 1.0}}, "loss_weights="),
        ({"tasks": TASKS, "loss_weights": {"other": -1}}, "loss_weights\\['other'\\]=-1"),
        ({"tasks": TASKS, "strategy": "setfit"}, "strategy="),
    ],
)
def test_bad_model_arguments(tiny_preset, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kt.MultiTaskClassifier.from_preset(tiny_preset, max_length=16, **kwargs)


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        ({"sentiment": SENTIMENT}, {}, "one label array per task"),
        ({"sentiment": SENTIMENT, "other": OTHER + 3}, {}, "other"),
        ({"sentiment": SENTIMENT, "other": OTHER[:5]}, {}, "5 labels for y\\['other'\\]"),
        ({"sentiment": SENTIMENT, "other": OTHER}, {"class_weight": "balanced"}, "loss_weights"),
        (SENTIMENT, {}, "one label array per task"),
    ],
)
def test_bad_labels(fitted, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fitted[0].fit(TEXTS, y, epochs=1, verbose=0, **kwargs)
