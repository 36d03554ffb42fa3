"""FastTokenizer and length-bucketed batches: Hugging Face's ids, the same outputs, less padding."""

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


def bundled_texts():
    texts = []
    for name in ("rotten_tomatoes", "fine_foods", "sentiment_en_vi"):
        train, test = kt.load_bundled(name)
        texts += train["text"].tolist() + ([] if test is None else test["text"].tolist())
    return texts


def hugging_face_tokens(folder, texts, length):
    """What Hugging Face's tokenizer of `folder` gives, truncated and padded to `length`."""
    import os

    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    reference.enable_truncation(length)
    reference.enable_padding(length=length, pad_id=0)
    encodings = reference.encode_batch(texts)
    return (
        np.array([e.ids for e in encodings], dtype="int64"),
        np.array([e.attention_mask for e in encodings], dtype=bool),
    )


def test_ids_identical_to_hugging_face_on_the_bundled_data():
    _, preprocessor = load_backbone_and_preprocessor(None, sequence_length=128, load_weights=False)
    texts = bundled_texts() + TRICKY
    tokenizer = kt.FastTokenizer(preprocessor)
    assert tokenizer.is_fast
    fast = tokenizer(texts)
    ids, mask = hugging_face_tokens(kt.presets.default_preset(), texts, 128)
    assert set(fast) == {"token_ids", "padding_mask", "segment_ids", "lengths"}
    np.testing.assert_array_equal(fast["token_ids"].astype("int64"), ids)
    np.testing.assert_array_equal(fast["padding_mask"], mask)
    np.testing.assert_array_equal(fast["lengths"], mask.sum(axis=1))
    assert fast["lengths"].max() == 128  # some reviews are cut, as Hugging Face cuts them
    # Accented words keep their pieces (Hugging Face strips accents when it lowercases).
    cafe = tokenizer(["café", "Tôi rất thích bộ phim này"])
    assert 100 not in cafe["token_ids"][0, : cafe["lengths"][0]].tolist()
    assert cafe["token_ids"][1, : cafe["lengths"][1]].tolist().count(100) == 0


def test_the_fallback_is_the_preprocessor_itself(tiny_preset, monkeypatch):
    _, preprocessor = load_backbone_and_preprocessor(tiny_preset, sequence_length=32)
    # Plain ASCII, where keras-hub and Hugging Face split words alike.
    texts = sentiment_texts(12)[0] + ["!!!???...", "tok3 tok4, good!", "   "]
    fast = kt.FastTokenizer(preprocessor)(texts)
    monkeypatch.setattr(fast_tokenizer, "_reference_tokenizer", lambda preprocessor: None)
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


def test_head_tail_keeps_the_first_quarter_and_the_end(tiny_preset):
    model = kt.TransformerClassifier.from_preset(tiny_preset, max_length=18)
    text = " ".join(f"tok{i}" for i in range(40))  # 40 word pieces, room for 16
    head = kt.FastTokenizer(model.preprocessor)([text])["token_ids"][0]
    both = kt.FastTokenizer(model.preprocessor, truncation="head_tail")([text])["token_ids"][0]
    vocabulary = model.preprocessor.tokenizer.get_vocabulary()
    assert [vocabulary[i] for i in head] == ["[CLS]", *(f"tok{i}" for i in range(16)), "[SEP]"]
    assert [vocabulary[i] for i in both] == [
        "[CLS]",
        *(f"tok{i}" for i in range(4)),
        *(f"tok{i}" for i in range(28, 40)),
        "[SEP]",
    ]
    short = ["tok1 tok2", "a good film"]  # texts that fit are untouched
    for key, value in kt.FastTokenizer(model.preprocessor, truncation="head_tail")(short).items():
        np.testing.assert_array_equal(value, kt.FastTokenizer(model.preprocessor)(short)[key])


def test_truncation_is_saved_and_keys_the_feature_cache(tmp_path, tiny_preset):
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy="frozen", max_length=18, truncation="head_tail"
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    assert keras.saving.load_model(path).truncation == "head_tail"
    head = kt.TransformerClassifier.from_preset(tiny_preset, strategy="frozen", max_length=18)
    assert kt.FeatureCache(head).model_digest() != kt.FeatureCache(model).model_digest()
    with pytest.raises(ValueError, match="truncation='tail'"):
        kt.TransformerClassifier.from_preset(tiny_preset, truncation="tail")
