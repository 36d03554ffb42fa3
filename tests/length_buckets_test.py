"""One length-bucketed predictor: the outputs of the loops it replaced, fixed batch shapes."""

import keras
import keras_hub
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import data, length_buckets
from keras_transfer.feature_cache import ENCODING, FeatureCache
from tests.helpers import sentiment_texts, tiny_backbone

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "great", "awful", "film", "plot"]


def texts_of_many_lengths(n=11):
    """Texts from 1 to 38 words: batches fall in the 16, 32 and 40 buckets."""
    rng = np.random.default_rng(0)
    words = VOCAB[5:]
    return [" ".join(rng.choice(words, size=int(k))) for k in rng.integers(1, 39, size=n)]


def tiny_tokenizer():
    return keras_hub.models.BertTokenizer(vocabulary=VOCAB)


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(2)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tiny_tokenizer(), sequence_length=40
    )
    backbone = tiny_backbone(len(VOCAB))
    return kt.TransformerClassifier(backbone, preprocessor, strategy="frozen", pooling="mean")


def length_batches(lengths, batch_size, buckets):
    """The previous inference batching: `(rows, length)` per batch, rows in
    order of length, each batch with the smallest bucket that holds it."""
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield rows, min(b for b in buckets if b >= lengths[rows].max())


def previous_loop(predict_on_batch, inputs, lengths, batch_size, buckets, top_up=True):
    """The feature cache's and the token classifier's loop before the unified
    predictor: `length_batches`, the last batch topped up (feature cache)."""
    result = [None] * len(lengths)
    for rows, length in length_batches(lengths, batch_size, buckets):
        padded = np.resize(rows, data.inference_rows(len(rows), batch_size)) if top_up else rows
        batch = {k: keras.ops.convert_to_tensor(v[padded, :length]) for k, v in inputs.items()}
        outputs = keras.ops.convert_to_numpy(predict_on_batch(batch))[: len(rows)]
        for row, output in zip(rows, outputs, strict=True):
            result[row] = output
    return result


def test_features_predict_and_evaluate_equal_the_previous_paths(classifier):
    texts = texts_of_many_lengths()
    tokens = classifier.tokenize(texts)
    lengths = tokens.pop("lengths")
    assert len({min(b for b in (16, 32, 40) if b >= n) for n in lengths}) == 3
    buckets = data.bucket_lengths(40)
    extractor = classifier.feature_model()
    expected = previous_loop(extractor.predict_on_batch, tokens, lengths, 4, buckets)
    features = FeatureCache(classifier, disk=False, batch_size=4).compute(texts)
    np.testing.assert_allclose(features, np.stack(expected), atol=1e-6)
    expected = previous_loop(classifier.predict_on_batch, tokens, lengths, 4, buckets)
    predicted = classifier.predict(texts, batch_size=4, verbose=0)
    np.testing.assert_allclose(predicted, np.stack(expected), atol=1e-6)
    full = classifier.predict(tokens, batch_size=4, verbose=0)  # padded to max_length
    np.testing.assert_allclose(predicted, full, atol=1e-6)
    labels = np.arange(len(texts)) % 2
    loss = classifier.evaluate(texts, labels, batch_size=4, verbose=0)[0]
    full_loss = classifier.evaluate(tokens, labels, batch_size=4, verbose=0)[0]
    np.testing.assert_allclose(loss, full_loss, atol=1e-6)


def test_token_outputs_equal_the_previous_loop():
    keras.utils.set_random_seed(4)
    preprocessor = kt.TokenClassifierPreprocessor(tiny_tokenizer(), sequence_length=40)
    model = kt.TokenClassifier(tiny_backbone(len(VOCAB)), preprocessor, tag_names=["O", "B-X"])
    words = [text.split() for text in texts_of_many_lengths()]
    aligned = preprocessor.align(words)
    lengths = aligned["padding_mask"].sum(axis=1)
    inputs = {key: aligned[key] for key in model.input}
    expected = previous_loop(
        model.predict_on_batch, inputs, lengths, 4, data.bucket_lengths(40), top_up=False
    )
    outputs = model._predict_aligned(aligned, batch_size=4)
    for row, (output, length) in enumerate(zip(outputs, lengths, strict=True)):
        assert output.shape == (length, 2)
        np.testing.assert_allclose(output, expected[row][:length], atol=1e-6)


def test_the_last_batch_is_topped_up_and_progress_is_reported(classifier, monkeypatch):
    reports = []
    monkeypatch.setattr(length_buckets, "report", lambda *args: reports.append(args))
    texts = texts_of_many_lengths(10)
    tokens = classifier.tokenize(texts)
    lengths = tokens.pop("lengths")
    shapes = []

    def recording(batch):
        shapes.append(tuple(batch["token_ids"].shape))
        return classifier.feature_model().predict_on_batch(batch)

    buckets = data.bucket_lengths(40)
    features = length_buckets.predict_by_length(recording, tokens, lengths, 4, buckets, ENCODING)
    assert features.shape[0] == 10 and [rows for rows, _ in shapes] == [4, 4, 4]
    assert [length for _, length in shapes] == sorted(length for _, length in shapes)
    assert reports == [(ENCODING, 4, 10), (ENCODING, 8, 10), (ENCODING, 10, 10)]
    ds, order = length_buckets.bucketed_dataset(tokens, lengths, 32, buckets, top_up=True)
    assert sorted(order.tolist()) == list(range(10))
    assert [len(x["token_ids"]) for (x,) in ds] == [data.inference_rows(10, 32)] == [16]


def test_texts_without_a_padding_mask_keep_their_order():
    model = kt.EmbeddingClassifier.from_word_vectors(num_classes=2, max_length=8)
    texts, _ = sentiment_texts(9)
    features = FeatureCache(model, disk=False, batch_size=4).compute(texts)
    expected = model.feature_model().predict(model.preprocessor(texts), verbose=0)
    np.testing.assert_allclose(features, expected, atol=1e-6)


@pytest.mark.parametrize(
    "cls",
    [
        kt.TransformerClassifier,
        kt.TokenClassifier,
        kt.MultiTaskClassifier,
        kt.SetFitClassifier,
        kt.ZeroShotClassifier,
    ],
)
def test_every_model_builds_with_the_one_from_preset(cls):
    assert "from_preset" not in vars(cls)
    assert cls.from_preset.__func__ is kt.TransferModel.from_preset.__func__


@pytest.mark.parametrize("seed", [None, 3])
def test_training_and_inference_pipelines_are_not_autotuned(seed):
    """Keras makes an iterator per epoch and per validation pass; with tf.data's
    autotuning each one ran a tuning thread that took CPU from training, and
    deleting it could stall the loop for seconds."""
    mask = np.arange(40) < np.array([[30], [3], [9], [12]])
    epoch = data.epoch_counter()[0] if seed is not None else None
    ds, _ = length_buckets.bucketed_dataset(
        {"padding_mask": mask}, mask.sum(1), 2, [16, 40], y=np.arange(4), seed=seed, epoch=epoch
    )
    assert ds.options().autotune.enabled is False
    assert sorted(int(v) for _, y in ds for v in y) == [0, 1, 2, 3]  # every row, once
