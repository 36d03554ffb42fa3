import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.helpers import sentiment_texts, tiny_vectors


@pytest.fixture
def model():
    return kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8)


def test_architecture_follows_seed_001(model):
    names = [layer.name for layer in model.layers]
    for name in (
        "frozen_embeddings",
        "pooling",
        "classification_dense1",
        "classification_dropout1",
        "classification_dense2",
        "classification_dropout2",
        "output",
    ):
        assert name in names
    assert model.get_layer("classification_dense1").units == 64
    assert model.get_layer("classification_dropout1").rate == 0.5
    assert model.get_layer("classification_dense2").units == 32
    assert model.get_layer("classification_dropout2").rate == 0.3
    assert not model.get_layer("frozen_embeddings").trainable
    assert [w.path for w in model.non_trainable_weights] == ["frozen_embeddings/embeddings"]


def test_embedding_holds_the_pretrained_vectors(model):
    vectors = tiny_vectors()
    vocab = model.preprocessor.get_vocabulary()
    table = keras.ops.convert_to_numpy(model.get_layer("frozen_embeddings").embeddings)
    np.testing.assert_array_equal(table[vocab.index("great")], np.float32(vectors["great"]))
    np.testing.assert_array_equal(table[:2], 0.0)  # padding and unknown words


def test_frozen_embedding_is_bit_identical_after_fit(model):
    texts, labels = sentiment_texts(32)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    model.fit(texts, labels, validation_data=(texts, labels), epochs=2, batch_size=8, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.weights]
    for weight, old, new in zip(model.weights, before, after, strict=True):
        if weight.path == "frozen_embeddings/embeddings":
            assert old.tobytes() == new.tobytes()
        else:
            assert not np.array_equal(old, new), weight.path


def test_learns_a_separable_task_on_real_glove_vectors():
    model = kt.EmbeddingClassifier.from_word_vectors(max_length=16, max_words=5000)
    texts, labels = sentiment_texts(96, seed=1)
    test_texts, test_labels = sentiment_texts(64, seed=2)
    model.fit(
        texts,
        labels,
        validation_data=(test_texts, test_labels),
        epochs=25,
        batch_size=16,
        verbose=0,
    )
    predictions = np.argmax(model.predict(test_texts, verbose=0), axis=-1)
    assert np.mean(predictions == test_labels) > 0.8


def test_masked_mean_ignores_padding_and_unknown_words(model):
    short = model.predict(["great"], verbose=0)
    padded = model.predict(["great zzzunknownzzz qqqq"], verbose=0)
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_max_pooling_and_multiclass():
    model = kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(),
        num_classes=3,
        max_length=8,
        pooling="max",
        hidden_units=(16,),
        dropout=(0.2,),
    )
    texts, labels = sentiment_texts(12)
    model.fit(texts, labels + np.arange(12) % 3 // 2, epochs=1, verbose=0)
    assert model.predict(texts[:3], verbose=0).shape == (3, 3)


def test_trains_from_a_tf_data_pipeline(model):
    import tensorflow as tf

    texts, labels = sentiment_texts(16)
    ds = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(4)
    history = model.fit(ds, validation_data=ds, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2


def test_save_and_reload_give_identical_predictions(tmp_path, model):
    texts, labels = sentiment_texts(16)
    model.compile(optimizer=keras.optimizers.AdamW(kt.WarmupLinearDecay(1e-3, 2, 20)))
    model.fit(texts, labels, epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, kt.EmbeddingClassifier)
    assert isinstance(restored.optimizer.learning_rate, type(model.optimizer.learning_rate))
    np.testing.assert_array_equal(
        model.predict(texts, verbose=0), restored.predict(texts, verbose=0)
    )
    assert restored.get_layer("frozen_embeddings").trainable is False


def _ngram_model():
    return kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=6, pooling="max", ngram_filters=4, ngram_size=3
    )


def test_ngram_filters_equal_a_numpy_formula():
    model = _ngram_model()
    texts = ["great zzzunknownzzz film", "awful"]
    pooled = keras.ops.convert_to_numpy(model.feature_model()(model.preprocessor(texts)))
    ids = keras.ops.convert_to_numpy(model.preprocessor(texts))
    table = keras.ops.convert_to_numpy(model.embedding.embeddings)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.get_layer("ngram_conv").weights)
    vectors = np.pad(table[ids], ((0, 0), (1, 1), (0, 0)))  # "same" padding, one each side
    windows = np.stack([vectors[:, t : t + 3] for t in range(6)], axis=1)  # (2, 6, 3, 8)
    convolved = np.maximum(np.einsum("btkd,kdf->btf", windows, kernel) + bias, 0.0)
    known = ids >= 2  # padding and unknown words do not count
    expected = np.where(known[..., None], convolved, -np.inf).max(axis=1)
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)


def test_ngram_filters_round_trip_through_config():
    model = _ngram_model()
    config = model.get_config()
    assert (config["ngram_filters"], config["ngram_size"], config["pooling"]) == (4, 3, "max")
    clone = kt.EmbeddingClassifier.from_config(config)
    clone.set_weights(model.get_weights())
    texts, _ = sentiment_texts(6)
    np.testing.assert_allclose(
        model.predict(texts, verbose=0), clone.predict(texts, verbose=0), atol=1e-6
    )
    assert clone.get_layer("ngram_conv").kernel_size == (3,)


def test_recommendation_says_where_word_vectors_do_not_fit():
    import pandas as pd

    from keras_transfer.reports import word_vector_note

    def table(embedding):
        return pd.DataFrame(
            {
                "strategy": ["tfidf_logreg", "embedding", "majority"],
                "f1_macro": [0.88, embedding, 0.05],
            }
        )

    note = word_vector_note(table(0.56))
    assert note.startswith("embedding is 32.0 points of macro F1 below TF-IDF")
    assert "--tune 4" in note and "ngram_filters=100" in note
    tuned = table(0.70).assign(tuned=["", "lr=0.0011, ngram_filters=100", ""])
    assert word_vector_note(tuned).endswith("or a transformer strategy.")
    for value in ("0", "00"):  # tuning chose none: still worth suggesting
        no_filters = tuned.assign(tuned=["", f"lr=0.0011, ngram_filters={value}", ""])
        assert "ngram_filters=100" in word_vector_note(no_filters)
    assert word_vector_note(table(0.80)) == ""  # 8 points: within the gap allowed
    assert word_vector_note(table(0.56).iloc[[0, 2]]) == ""  # no embedding row


def test_pooling_layer_round_trips():
    layer = kt.layers.MaskedGlobalPooling("max", name="p")
    clone = kt.layers.MaskedGlobalPooling.from_config(layer.get_config())
    assert clone.mode == "max" and clone.name == "p"


@pytest.mark.parametrize(
    "x, y, match",
    [
        (["good", "bad"], [1], "2 texts and 1 labels"),
        ([], [], "empty"),
        (["good", 3], [1, 0], "x\\[1\\]=3"),
        ("good film", [1], "single string"),
        (np.array([1.0, 2.0]), [1, 0], "only strings"),
    ],
)
def test_bad_training_inputs(model, x, y, match):
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, epochs=1, verbose=0)


def test_missing_vectors_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist.*nope.txt"):
        kt.load_word_vectors(str(tmp_path / "nope.txt"))


def test_uneven_vectors_file(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("good 0.1 0.2 0.3\nbad 0.1 0.2\n")
    with pytest.raises(ValueError, match="Line 2 has 2 values, earlier lines 3"):
        kt.load_word_vectors(str(path))


def test_glove_text_file_with_word2vec_header(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("3 2\ngood 1 0\nBad 0 1\nbad 0 1\n")
    words, matrix = kt.load_word_vectors(str(path))
    assert words == ["good", "bad"] and matrix.shape == (2, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 1}, "num_classes=1"),
        ({"pooling": "sum"}, "pooling='sum'"),
        ({"max_length": 0}, "max_length=0"),
        ({"max_words": 0}, "max_words=0"),
        ({"hidden_units": (8, 4), "dropout": (0.1,)}, "hidden_units"),
        ({"ngram_filters": -1}, "ngram_filters=-1"),
        ({"ngram_filters": 2, "ngram_size": 0}, "ngram_size=0"),
    ],
)
def test_bad_model_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), **kwargs)


@pytest.mark.parametrize(
    "content, match",
    [
        ("good 1 0\n\nbad 1 x\n", "Line 3 of the word vectors file"),
        ("4 2\ngood 1 0\nbad 0 1 1\n", "Line 3 has 3 values, earlier lines 2"),
        ("\n\n", "has no vectors"),
    ],
)
def test_bad_vectors_file_names_the_line(tmp_path, content, match):
    path = tmp_path / "vectors.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        kt.load_word_vectors(str(path))


def test_vectors_file_read_in_chunks_keeps_every_word(tmp_path):
    from keras_transfer.word_vectors import _read_text_file

    path = tmp_path / "vectors.txt"
    # "nan" and "null" are words, and a trailing space is not a value.
    path.write_text("2 2\nnan 1 0 \n\nnull 0 1\ngood 0.5 0.5\n")
    words, matrix = _read_text_file(str(path), chunk_rows=2)
    assert words == ["nan", "null", "good"]
    np.testing.assert_array_equal(matrix, [[1, 0], [0, 1], [0.5, 0.5]])
