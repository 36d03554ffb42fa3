import os

import keras
import keras_hub
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.feature_cache import FeatureCache
from tests.helpers import read_events, run_dirs, sentiment_texts, tiny_backbone, tiny_vectors


@pytest.fixture(scope="module")
def vocab():
    from tests.helpers import NEGATIVE, NEUTRAL, POSITIVE

    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words


def frozen_transformer(vocab, max_length=16, seed=3):
    """A dropout-free tiny BERT, so that the plain path is deterministic too."""
    keras.utils.set_random_seed(seed)
    backbone = tiny_backbone(len(vocab), dropout=0.0)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=vocab), sequence_length=max_length
    )
    return kt.TransformerClassifier(backbone, preprocessor, strategy="frozen", pooling="mean")


def embedding_classifier(seed=3, dropout=(0.5, 0.3)):
    keras.utils.set_random_seed(seed)
    return kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8, dropout=dropout)


def fit(model, cache, epochs=2, **kwargs):
    texts, labels = sentiment_texts(32)
    val_texts, val_labels = sentiment_texts(8, seed=1)
    keras.utils.set_random_seed(11)
    history = model.fit(
        texts,
        labels,
        validation_data=(val_texts, val_labels),
        epochs=epochs,
        batch_size=8,
        verbose=0,
        cache_features=cache,
        **kwargs,
    )
    return history.history, model.predict(val_texts, verbose=0)


def weights(model):
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


@pytest.mark.parametrize("kind", ["transformer", "embedding"])
def test_cached_training_equals_plain_training(kind, vocab):
    # The transformer's head keeps its dropout: both paths draw the same masks
    # (on torch, Keras' data loaders share the RNG with dropout and draw at
    # other moments in the two loops from epoch 2 on, hence no head dropout in
    # the 3-layer embedding head here).
    if kind == "transformer":
        build = lambda: frozen_transformer(vocab)  # noqa: E731
    else:
        build = lambda: embedding_classifier(dropout=(0.0, 0.0))  # noqa: E731
    plain_model, cached_model = build(), build()
    before = weights(cached_model)
    plain, plain_pred = fit(plain_model, cache=False)
    cached, cached_pred = fit(cached_model, cache=True)
    assert set(plain) == set(cached)
    for key in plain:
        np.testing.assert_allclose(cached[key], plain[key], rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(cached_pred, plain_pred, atol=1e-5)
    for w, old, new in zip(cached_model.weights, before, weights(cached_model), strict=True):
        if any(w is v for v in cached_model.trainable_weights):
            assert not np.array_equal(old, new), w.path
        else:
            assert old.tobytes() == new.tobytes(), w.path


def test_disk_cache_is_reused_by_a_new_model(monkeypatch):
    fit(embedding_classifier(), cache=True)
    files = os.listdir(os.environ["KERAS_TRANSFER_CACHE"] + "/features")
    assert len(files) == 2  # train and validation texts

    FeatureCache.clear_memory()

    def fail(self, texts):
        raise AssertionError("features were recomputed")

    monkeypatch.setattr(FeatureCache, "compute", fail)
    fit(embedding_classifier(), cache=True)
    # "memory" never touches the disk, so it must compute.
    FeatureCache.clear_memory()
    with pytest.raises(AssertionError, match="recomputed"):
        fit(embedding_classifier(), cache="memory")


def test_memory_cache_does_not_write_to_disk():
    fit(embedding_classifier(), cache="memory")
    assert not os.path.exists(os.environ["KERAS_TRANSFER_CACHE"])


def test_key_follows_weights_length_and_texts(vocab):
    texts = ["a good film", "a bad film"]
    model = frozen_transformer(vocab)
    key = FeatureCache(model, disk=False).key(texts)
    assert FeatureCache(frozen_transformer(vocab), disk=False).key(texts) == key
    assert FeatureCache(model, disk=False).key(texts[::-1]) != key
    assert FeatureCache(frozen_transformer(vocab, max_length=12), disk=False).key(texts) != key
    model.backbone.token_embedding.embeddings.assign(
        model.backbone.token_embedding.embeddings * 1.0001
    )
    assert FeatureCache(model, disk=False).key(texts) != key


def test_cached_features_are_the_frozen_layers_output(vocab):
    model = frozen_transformer(vocab)
    texts, _ = sentiment_texts(10)
    features = FeatureCache(model, disk=False, batch_size=4).features(texts)
    expected = model.feature_model().predict(model.preprocessor(texts), verbose=0)
    np.testing.assert_allclose(features, expected, atol=1e-6)
    head = model.head_model()
    np.testing.assert_allclose(
        head.predict(features, verbose=0), model.predict(texts, verbose=0), atol=1e-6
    )


def test_corrupt_cache_file_is_recomputed():
    model = embedding_classifier()
    texts, _ = sentiment_texts(8)
    cache = FeatureCache(model)
    expected = cache.features(texts)
    with open(cache.path(cache.key(texts)), "wb") as f:
        f.write(b"not numpy")
    FeatureCache.clear_memory()
    np.testing.assert_array_equal(FeatureCache(model).features(texts), expected)


def test_cached_fit_keeps_the_mandatory_callbacks(tmp_path):
    model = embedding_classifier()
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((self.model, sorted(logs)))

    fit(model, cache=True, epochs=3, callbacks=[Spy()], experiment="cached")
    assert all(m is model for m, _ in seen) and len(seen) == 3
    assert "val_loss" in seen[0][1]
    (run,) = run_dirs(tmp_path / "tensorflow_logs")
    train = read_events(run, "train")
    assert [e.step for e in train["epoch_loss"]] == [0, 1, 2]
    assert len(train["epoch_learning_rate"]) == 3
    assert "frozen_embeddings/embeddings/histogram" in train
    assert "classification_dense1" in train["keras"][0].tensor_proto.string_val[0].decode()
    assert len(model.history.history["loss"]) == 3


def test_early_stopping_stops_the_cached_loop():
    model = embedding_classifier()
    texts, labels = sentiment_texts(16)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = model.fit(texts, labels, epochs=5, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 2
    assert history is model.history


def test_trainable_encoder_is_not_cached(tiny_preset):
    texts, labels = sentiment_texts(8)
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy="last_n", unfreeze_last=1, max_length=8
    )
    assert not model.features_are_frozen()
    with pytest.raises(ValueError, match="below its head"):
        FeatureCache(model)
    model.fit(texts, labels, epochs=1, verbose=0)
    assert not os.path.exists(os.environ["KERAS_TRANSFER_CACHE"])
    # GradualUnfreezing changes what trains during fit: never cached
    # (trainability_test checks that it unfreezes blocks from "frozen").
    assert kt.GradualUnfreezing.changes_trainability


def test_bad_cache_argument():
    with pytest.raises(ValueError, match="cache_features"):
        embedding_classifier().fit(["good"], [1], cache_features="disk")


def test_features_by_length_equal_full_padding(vocab):
    """Sorted by length and cut to each batch's longest text: same features."""
    model = frozen_transformer(vocab, max_length=64)
    rng = np.random.default_rng(0)
    words = vocab[5:]
    texts = [" ".join(rng.choice(words, size=n)) for n in rng.integers(1, 60, size=24)]
    features = FeatureCache(model, disk=False, batch_size=8).features(texts)
    expected = model.feature_model().predict(model.preprocessor(texts), verbose=0)
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_unwritable_cache_folder_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("KERAS_TRANSFER_CACHE", str(blocker))
    with pytest.warns(UserWarning, match="cannot be written.*memory only") as caught:
        history, _ = fit(embedding_classifier(), cache=True)
        fit(embedding_classifier(), cache=True)  # warned once per folder
    assert len([w for w in caught if "cannot be written" in str(w.message)]) == 1
    assert len(history["loss"]) == 2
    assert blocker.read_text().startswith("a file")


def test_tampered_cache_entry_fails_its_checksum(monkeypatch):
    model = embedding_classifier()
    texts, _ = sentiment_texts(8)
    cache = FeatureCache(model)
    expected = cache.features(texts)
    path = cache.path(cache.key(texts))
    with np.load(path) as stored:
        digest = stored["sha256"]
    np.savez(path, features=expected + 1.0, sha256=digest)  # well-formed, wrong values
    FeatureCache.clear_memory()
    calls = []
    compute = FeatureCache.compute
    monkeypatch.setattr(
        FeatureCache, "compute", lambda self, t: calls.append(1) or compute(self, t)
    )
    np.testing.assert_array_equal(FeatureCache(model).features(texts), expected)
    assert calls == [1]


def test_disk_cache_keeps_to_its_size_limit(monkeypatch):
    model = embedding_classifier()
    cache = FeatureCache(model)
    first, second = sentiment_texts(16, seed=1)[0], sentiment_texts(16, seed=2)[0]
    cache.features(first)
    size = os.path.getsize(cache.path(cache.key(first)))
    os.utime(cache.path(cache.key(first)), (1, 1))  # least recently used
    # Room for one entry and a half: the older one goes.
    monkeypatch.setenv("KERAS_TRANSFER_CACHE_MAX_MB", str(1.5 * size / (1 << 20)))
    cache.features(second)
    assert os.listdir(cache.cache_dir) == [os.path.basename(cache.path(cache.key(second)))]
    monkeypatch.setenv("KERAS_TRANSFER_CACHE_MAX_MB", "lots")
    FeatureCache.clear_memory()
    with pytest.raises(ValueError, match="KERAS_TRANSFER_CACHE_MAX_MB='lots'"):
        cache.features(first)
