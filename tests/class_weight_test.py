"""`fit(class_weight=...)` and label checks, on the plain, cached and array paths."""

import warnings

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.data import class_sample_weights
from tests.helpers import sentiment_texts, tiny_vectors


def dropout_free_model():
    model = kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=8, hidden_units=(8,), dropout=(0.0,)
    )
    # A zero learning rate: the first epoch's loss is the loss of these weights.
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    return model


def test_balanced_weights_follow_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(class_sample_weights(y, "balanced", 3), expected[y], rtol=1e-6)
    # Every class contributes the same total weight.
    weights = class_sample_weights(y, "balanced", 3)
    totals = [weights[y == c].sum() for c in range(3)]
    np.testing.assert_allclose(totals, totals[0], rtol=1e-6)
    np.testing.assert_allclose(
        class_sample_weights(y, {1: 3.0}, 3, sample_weight=np.full(8, 0.5)),
        np.where(y == 1, 1.5, 0.5),
    )


@pytest.mark.parametrize("cache_features", [True, False])
def test_balanced_class_weight_weighs_the_loss(cache_features):
    texts, labels = sentiment_texts(24)
    labels = np.array([1] * 18 + [0] * 6)  # imbalanced: 3 to 1
    model = dropout_free_model()
    probabilities = model.predict(texts, verbose=0)
    losses = -np.log(probabilities[np.arange(len(labels)), labels])
    weights = np.where(labels == 1, 24 / (2 * 18), 24 / (2 * 6))
    history = model.fit(
        texts,
        labels,
        epochs=1,
        batch_size=24,
        class_weight="balanced",
        cache_features=cache_features,
        verbose=0,
    )
    # Keras' reduction: sum(w_i * loss_i) / batch size.
    np.testing.assert_allclose(history.history["loss"][0], np.sum(weights * losses) / 24, rtol=1e-5)
    same = dropout_free_model()
    same.set_weights(model.get_weights())  # unchanged: the learning rate is 0
    unweighted = same.fit(
        texts, labels, epochs=1, batch_size=24, cache_features=cache_features, verbose=0
    )
    np.testing.assert_allclose(unweighted.history["loss"][0], losses.mean(), rtol=1e-5)


def test_class_weight_on_a_transformer(tiny_preset):
    texts, labels = sentiment_texts(16)
    model = kt.TransformerClassifier.from_preset(tiny_preset, strategy="lora", max_length=8)
    history = model.fit(texts, labels, epochs=1, batch_size=8, class_weight="balanced", verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "labels, match",
    [
        ([0, 5, 1, 0], r"y\[1\]=.*5"),
        ([0, -1, 1, 0], r"y\[1\]=.*-1"),
        ([0.0, 0.5, 1.0, 0.0], r"y\[1\]=.*0.5"),
        ([0, 1.7, 1, 0], r"y\[1\]=.*1.7"),
        (["neg", "pos", "pos", "neg"], "LabelMap"),
        ([[0], [1], [1], [0]], "1-D"),
    ],
)
def test_bad_labels_are_refused_before_training(labels, match):
    model = dropout_free_model()
    texts = ["good film", "bad film", "great", "awful"]
    with pytest.raises(ValueError, match=match):
        model.fit(texts, labels, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(texts, [0, 1, 1, 0], validation_data=(texts, [0, 2, 1, 0]), verbose=0)


@pytest.mark.parametrize(
    "class_weight, match",
    [("equal", "class_weight='equal'"), ({5: 1.0}, "class_weight="), ({0: -1.0}, "class_weight=")],
)
def test_bad_class_weight(class_weight, match):
    with pytest.raises(ValueError, match=match):
        dropout_free_model().fit(["good", "bad"], [1, 0], class_weight=class_weight, verbose=0)


def test_balanced_warns_about_a_class_absent_from_y():
    from keras_transfer.data import warn_absent_classes

    y = np.array([0, 0, 1, 1])
    with pytest.warns(UserWarning, match="class 2 \\(of 3\\) has no example"):
        class_sample_weights(y, "balanced", 3)
    with pytest.warns(UserWarning, match="class 'neutral' \\(of 3\\)"):
        warn_absent_classes(y, 3, label_names=["negative", "positive", "neutral"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        class_sample_weights(y, "balanced", 2)  # every class present: no warning


def test_fit_with_balanced_weights_names_the_absent_class():
    model = kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), num_classes=3, max_length=8, label_names=["neg", "pos", "neutral"]
    )
    texts, labels = sentiment_texts(16)
    # The warning comes with the argument checks; a bad callback then stops fit before training.
    with pytest.warns(UserWarning, match="class 'neutral'"), pytest.raises(ValueError):
        model.fit(texts, labels, class_weight="balanced", callbacks=["not a callback"])


def test_test_labels_unseen_in_training_are_named():
    from keras_transfer.data import warn_unseen_labels

    with pytest.warns(UserWarning, match="label\\(s\\) 'neutral' that the training data does not"):
        assert warn_unseen_labels(["pos", "neg"], ["pos", "neutral", "neg"]) == ["neutral"]


def _balanced_before_sklearn(y, num_classes):
    """The hand-written rule `class_sample_weights` used before it called scikit-learn."""
    y = np.asarray(y).astype("int64")
    counts = np.bincount(y, minlength=num_classes).astype("float64")
    present = counts > 0
    table = np.zeros(num_classes)
    table[present] = len(y) / (present.sum() * counts[present])
    return table[y].astype("float32")


@pytest.mark.parametrize(
    "y, num_classes",
    [
        ([0, 0, 0, 1], 2),
        ([0, 0, 0, 0, 0, 1, 1, 2], 3),
        ([2, 2, 0, 0, 0, 2, 1], 3),
        (np.random.default_rng(0).integers(0, 7, size=1000), 7),
        ([1], 2),
        ([0, 0, 2, 2, 2], 4),  # absent classes 1 and 3 (warned)
        ([], 2),
    ],
)
def test_balanced_weights_are_those_of_the_hand_written_rule(y, num_classes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = class_sample_weights(y, "balanced", num_classes)
    expected = _balanced_before_sklearn(y, num_classes)
    assert weights.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(weights, expected)
    sample_weight = np.linspace(0.5, 2.0, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = class_sample_weights(y, "balanced", num_classes, sample_weight=sample_weight)
    np.testing.assert_array_equal(weighted, expected * sample_weight.astype("float32"))
