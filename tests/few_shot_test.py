"""SetFitClassifier and ZeroShotClassifier, and `compare --few-shot`."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.models.setfit_classifier import sentence_pairs
from tests.helpers import run_dirs, sentiment_texts

TEXTS, LABELS = sentiment_texts(16, seed=2)


@pytest.fixture(scope="module")
def zero_shot(tiny_preset):
    return kt.ZeroShotClassifier.from_preset(
        tiny_preset, label_names=["great", "awful"], template="it was {}", max_length=16
    )


@pytest.fixture(scope="module")
def setfit(tiny_preset, tmp_path_factory):
    """A SetFit model fitted once for the module, with its weights before and after."""
    keras.utils.set_random_seed(3)
    model = kt.SetFitClassifier.from_preset(
        tiny_preset, num_classes=2, max_length=16, label_names=["negative", "positive"]
    )
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.backbone.weights]
    root = tmp_path_factory.mktemp("setfit_logs")
    history = model.fit(
        TEXTS, LABELS, num_iterations=2, batch_size=8, seed=0, verbose=0, log_root=str(root)
    )
    return model, before, history, root


def test_zero_shot_probabilities_and_no_training(zero_shot):
    probabilities = zero_shot.predict(TEXTS, verbose=0)
    assert probabilities.shape == (16, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert not zero_shot.trainable_weights
    assert kt.trainable_summary(zero_shot).iloc[-1]["trainable_params"] == 0
    with pytest.raises(ValueError, match="does not train.*SetFitClassifier"):
        zero_shot.fit(TEXTS, LABELS)


def test_zero_shot_scores_are_scaled_cosine_similarities(zero_shot):
    encoder = keras.Model(zero_shot.input, zero_shot.similarity.input)
    texts = ["the film was great", "it was awful"]
    batch = zero_shot.preprocessor(texts)
    embeddings = keras.ops.convert_to_numpy(encoder(batch, training=False))
    labels = keras.ops.convert_to_numpy(
        encoder(zero_shot.preprocessor(["it was great", "it was awful"]))
    )
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    logits = 20.0 * embeddings @ labels.T
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(zero_shot.predict(texts, verbose=0), expected, atol=1e-5)


def test_zero_shot_saves_and_reloads(zero_shot, tmp_path):
    path = str(tmp_path / "zero_shot.keras")
    zero_shot.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.label_names == ["great", "awful"] and reloaded.template == "it was {}"
    np.testing.assert_array_equal(
        reloaded.predict(TEXTS, verbose=0), zero_shot.predict(TEXTS, verbose=0)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"label_names": ["only"]}, "label_names=\\['only'\\]"),
        ({"label_names": None}, "label_names=None"),
        ({"label_names": ["a", "a"]}, "label_names"),
        ({"label_names": ["a", "b"], "template": "no slot"}, "template='no slot'"),
        ({"label_names": ["a", "b"], "scale": 0}, "scale=0"),
    ],
)
def test_zero_shot_bad_arguments(tiny_preset, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kt.ZeroShotClassifier.from_preset(tiny_preset, max_length=16, **kwargs)


def test_sentence_pairs_are_balanced_and_seeded():
    labels = np.array([0, 0, 0, 1, 1, 2])
    first, second, target = sentence_pairs(labels, num_iterations=5, seed=1)
    assert len(first) == 2 * 5 * len(labels) and target.mean() == 0.5
    same = labels[first] == labels[second]
    np.testing.assert_array_equal(same, target == 1.0)  # positives share a class, negatives not
    assert np.all(np.bincount(first) == 10)  # every example anchors the same number of pairs
    again = sentence_pairs(labels, num_iterations=5, seed=1)
    other = sentence_pairs(labels, num_iterations=5, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(again, (first, second, target), strict=True))
    assert not np.array_equal(other[1], second)
    with pytest.raises(ValueError, match="at least two classes"):
        sentence_pairs([1, 1, 1])


def test_setfit_tunes_the_encoder_and_fits_the_head(setfit):
    model, before, history, root = setfit
    after = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert len(history.history["loss"]) == 1
    # The mandatory callbacks ran: one TensorBoard run under the log root.
    assert len(run_dirs(str(root))) == 1
    probabilities = model.predict(TEXTS, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # The softmax head equals scikit-learn's logistic regression on the embeddings.
    from sklearn.linear_model import LogisticRegression

    features = kt.models.setfit_classifier.encode_texts(model.encoder(), model.preprocessor, TEXTS)
    reference = LogisticRegression(max_iter=1000).fit(features, LABELS)
    np.testing.assert_allclose(probabilities, reference.predict_proba(features), atol=1e-4)


def test_setfit_saves_and_reloads(setfit, tmp_path):
    model = setfit[0]
    path = str(tmp_path / "setfit.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.label_names == ["negative", "positive"]
    np.testing.assert_array_equal(
        reloaded.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y": [1] * 16}, "at least two classes"),
        ({"y": [0, 5] * 8}, "y"),
        ({"class_weight": {0: 1.0}}, "class_weight="),
        ({"num_iterations": 0}, "num_iterations=0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"y": None}, "y=None"),
    ],
)
def test_setfit_bad_arguments(setfit, kwargs, match):
    args = {"x": TEXTS, "y": LABELS, "verbose": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        setfit[0].fit(**args)


def test_compare_refuses_more_shots_than_the_data_has():
    from tests.compare_test import small_en_vi

    with pytest.raises(ValueError, match="few_shot=99"):
        kt.compare_strategies(small_en_vi(), strategies=["zero_shot"], few_shot=99, out=None)


@pytest.mark.large  # suite budget: the models and the sampling are tested above
def test_compare_few_shot_with_setfit_and_zero_shot(tiny_preset):
    from tests.compare_test import small_en_vi

    table = kt.compare_strategies(
        small_en_vi(),
        strategies=["zero_shot", "setfit"],
        few_shot=2,
        max_length=16,
        batch_size=8,
        out=None,
        preset=tiny_preset,
        verbose=0,
    )
    rows = table.set_index("strategy")
    assert rows.loc["zero_shot", "trainable_params"] == 0
    assert rows.loc["zero_shot", "epochs_run"] == 0
    assert rows.loc["setfit", "epochs_run"] == 1
    assert {"majority", "tfidf_logreg"} <= set(rows.index)


@pytest.mark.large
def test_zero_shot_ranks_obvious_texts_with_the_real_encoder():
    model = kt.ZeroShotClassifier.from_preset(
        None, label_names=["sports", "cooking", "finance"], template="This text is about {}."
    )
    texts = [
        "The striker scored twice in the final minutes of the match.",
        "Whisk the eggs with sugar, then fold in the flour and bake.",
        "The central bank raised interest rates and the stock market fell.",
    ]
    np.testing.assert_array_equal(model.predict(texts, verbose=0).argmax(axis=1), [0, 1, 2])
