"""FastTokenizer and length-bucketed batches: the same ids, the same outputs, less padding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer import data, fast_tokenizer
from keras_transfer.feature_cache import FeatureCache
from keras_transfer.presets import load_backbone_and_preprocessor
from tests.helpers import sentiment_texts

TRICKY = [
    "Naïve café, déjà vu!",
    "STRASSE straße ǅ ﬁne ｆｕｌｌ",
    "日本語のテキスト and 中文",
    "a\u00a0b\u200bc soft\u00adhyphen",
    "e\u0301t\u00e9 combining",
    "x" * 150 + " " + "é" * 60,
    "tab\there\vand\x7fthere\r\nnew line",
    "[CLS] [SEP] [UNK] look like specials",
    "🙂 emoji ☕ and ½ ² ™",
    "Tiếng Việt rất hay, quá tuyệt vời!",
    "   ",
    "!!!???...",
]


def pipeline_tokens(preprocessor, texts):
    """What the keras-hub preprocessor gives inside a tf.data pipeline."""
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(4096).map(preprocessor)
    batches = list(ds.as_numpy_iterator())
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def bundled_texts():
    texts = []
    for name in ("rotten_tomatoes", "fine_foods", "sentiment_en_vi"):
        train, test = kt.load_bundled(name)
        texts += train["text"].tolist() + ([] if test is None else test["text"].tolist())
    return texts


def test_ids_identical_to_keras_hub_on_the_bundled_data():
    _, preprocessor = load_backbone_and_preprocessor(None, sequence_length=128, load_weights=False)
    texts = bundled_texts() + TRICKY
    tokenizer = kt.FastTokenizer(preprocessor)
    assert tokenizer.is_fast
    fast = tokenizer(texts)
    expected = pipeline_tokens(preprocessor, texts)
    assert set(fast) == {*expected, "lengths"}
    for key, value in expected.items():
        np.testing.assert_array_equal(fast[key].astype("int64"), value.astype("int64"), key)
    np.testing.assert_array_equal(fast["lengths"], expected["padding_mask"].sum(axis=1))
    assert fast["lengths"].max() == 128  # some reviews are cut, as keras-hub cuts them


def test_the_fallback_is_the_preprocessor_itself(tiny_preset, monkeypatch):
    _, preprocessor = load_backbone_and_preprocessor(tiny_preset, sequence_length=32)
    texts = sentiment_texts(12)[0] + TRICKY
    fast = kt.FastTokenizer(preprocessor)(texts)
    monkeypatch.setattr(fast_tokenizer, "_wordpiece", lambda preprocessor: None)
    fallback = kt.FastTokenizer(preprocessor)
    assert not fallback.is_fast
    slow = fallback(texts)
    for key in fast:
        np.testing.assert_array_equal(fast[key].astype("int64"), slow[key].astype("int64"), key)


def test_fast_tokenizer_refuses_a_preprocessor_without_length():
    with pytest.raises(ValueError, match="sequence_length"):
        kt.FastTokenizer(object())


@pytest.fixture(scope="module")
def model(tiny_preset):
    keras.utils.set_random_seed(3)
    return kt.TransformerClassifier.from_preset(
        tiny_preset, num_classes=2, strategy="frozen", max_length=64, pooling="mean"
    )


@pytest.fixture(scope="module")
def texts():
    texts, labels = sentiment_texts(40)
    return texts + ["good " * 40, "awful"], np.concatenate([labels, [1, 0]])


def test_bucketed_outputs_equal_full_padding(model, texts):
    texts, labels = texts
    full = model.preprocessor(np.array(texts))
    expected = keras.ops.convert_to_numpy(model(full, training=False))
    np.testing.assert_allclose(model.predict(texts, batch_size=8, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.predict_on_batch(np.array(texts))), expected, atol=1e-5
    )
    bucketed = model.evaluate(texts, labels, batch_size=8, verbose=0, return_dict=True)
    padded = model.evaluate(
        {k: keras.ops.convert_to_numpy(v) for k, v in full.items()},
        labels,
        batch_size=8,
        verbose=0,
        return_dict=True,
    )
    for name, value in padded.items():
        assert bucketed[name] == pytest.approx(value, abs=1e-5), name
    features = FeatureCache(model, disk=False, batch_size=8).compute(texts)
    expected = keras.ops.convert_to_numpy(model.feature_model()(full, training=False))
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_training_batches_are_cut_to_length_buckets_and_stay_shuffled(model, texts):
    texts, labels = texts
    epoch = tf.Variable(0, dtype=tf.int64)
    ds, _ = model.text_dataset(texts, labels, batch_size=8, seed=5, epoch=epoch)
    epochs = []
    for k in range(2):
        epoch.assign(k)
        rows, shapes = [], []
        for x, _ in ds.as_numpy_iterator():
            longest = x["padding_mask"].sum(axis=1).max()
            length = x["token_ids"].shape[1]
            assert length == min(b for b in data.bucket_lengths(64) if b >= longest)
            shapes.append(length)
            rows += [tuple(r[:4]) for r in x["token_ids"]]
        assert sorted(set(shapes)) == [16, 64]  # short batches stay short
        assert len(rows) == len(texts)
        epochs.append(rows)
    assert epochs[0] != epochs[1]  # reshuffled every epoch
    assert sorted(epochs[0]) == sorted(epochs[1])
