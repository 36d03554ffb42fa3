import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.helpers import sentiment_texts, tiny_vectors


def snapshot(model):
    return {w.path: keras.ops.convert_to_numpy(w).copy() for w in model.weights}


def block_of(path):
    return path.split("/")[0]


def test_gradual_unfreezing_unfreezes_one_block_per_epoch(tiny_preset, tmp_path):
    model = kt.TransformerClassifier.from_preset(tiny_preset, strategy="frozen", max_length=16)
    texts, labels = sentiment_texts(16)
    unfreezing = kt.GradualUnfreezing(every=1)

    class Snapshots(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.taken = []

        def on_epoch_begin(self, epoch, logs=None):
            self.taken.append(snapshot(self.model))

        def on_train_end(self, logs=None):
            self.taken.append(snapshot(self.model))

    snaps = Snapshots()
    # Keep every epoch's weights (no early-stopping restore) to inspect them.
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=100)
    model.fit(texts, labels, epochs=3, batch_size=8, verbose=0, callbacks=[unfreezing, snaps, stop])
    assert unfreezing.history == [(1, 1), (2, 2)]
    assert (model.strategy, model.unfreeze_last) == ("last_n", 2)

    def changed_blocks(a, b):
        return {block_of(p) for p in a if not np.array_equal(a[p], b[p])}

    epoch0 = changed_blocks(snaps.taken[0], snaps.taken[1])
    epoch1 = changed_blocks(snaps.taken[1], snaps.taken[2])
    epoch2 = changed_blocks(snaps.taken[2], snaps.taken[3])
    head = {"classification_dense", "predictions"}
    assert epoch0 == head
    assert epoch1 == head | {"transformer_layer_1"}
    assert epoch2 == head | {"transformer_layer_0", "transformer_layer_1"}
    # Frozen the whole time: bit-identical.
    for path, value in snaps.taken[0].items():
        if block_of(path) in ("token_embedding", "position_embedding", "pooled_dense"):
            assert value.tobytes() == snaps.taken[3][path].tobytes()
    # The optimizer kept its step count across the rebuilds.
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 6
    # Saved after unfreezing, the model reloads with the blocks it ended with.
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert (restored.strategy, restored.unfreeze_last) == ("last_n", 2)
    assert len(restored.trainable_weights) == len(model.trainable_weights)
    np.testing.assert_allclose(
        model.predict(texts, verbose=0), restored.predict(texts, verbose=0), atol=1e-6
    )


def test_layerwise_learning_rates_follow_the_decay(tiny_preset):
    decay = 0.5
    model = kt.TransformerClassifier.from_preset(tiny_preset, strategy="full", max_length=16)
    multipliers = kt.layerwise_multipliers(model, decay)
    assert multipliers["transformer_layer_1"] == decay
    assert multipliers["transformer_layer_0"] == decay**2
    assert multipliers["token_embedding"] == decay**3
    base = 1e-3
    model.compile(optimizer=kt.LayerwiseAdam(base, multipliers=multipliers))
    texts, labels = sentiment_texts(8)
    before = snapshot(model)
    model.fit(texts, labels, batch_size=8, epochs=1, verbose=0)  # one optimizer step
    after = snapshot(model)
    # Adam's first step moves each weight by lr * g / (|g| + eps): lr wherever |g| >> eps.
    largest = {}
    for path in before:
        step = float(np.max(np.abs(after[path] - before[path])))
        largest[block_of(path)] = max(largest.get(block_of(path), 0.0), step)
    head = largest["classification_dense"]
    assert head == pytest.approx(base, rel=1e-2)
    assert largest["transformer_layer_1"] / head == pytest.approx(decay, rel=1e-2)
    assert largest["transformer_layer_0"] / head == pytest.approx(decay**2, rel=1e-2)
    # (Token embeddings get sparse gradients on TensorFlow, where Keras' Adam
    # steps repeated rows more than once; a dense embedding weight shows the factor.)
    assert largest["embeddings_layer_norm"] / head == pytest.approx(decay**3, rel=1e-2)
    assert largest["pooled_dense"] == 0.0


def test_layer_decay_in_compile_and_bad_values(tiny_preset):
    model = kt.TransformerClassifier.from_preset(tiny_preset, max_length=16)
    model.compile(layer_decay=0.9)
    assert isinstance(model.optimizer, kt.LayerwiseAdam)
    with pytest.raises(ValueError, match="decay=1.5"):
        kt.layerwise_multipliers(model, 1.5)
    with pytest.raises(ValueError, match="layer_decay=0.9"):
        model.compile(optimizer="adam", layer_decay=0.9)
    with pytest.raises(ValueError, match="every=0"):
        kt.GradualUnfreezing(every=0)
    with pytest.raises(ValueError, match="max_blocks=0"):
        kt.GradualUnfreezing(max_blocks=0)


def test_adamw_recipe(tiny_preset):
    optimizer = kt.adamw_with_warmup(total_steps=100, learning_rate=3e-5)
    assert optimizer.weight_decay == 0.01 and optimizer.clipnorm == 1.0
    schedule = optimizer._learning_rate
    assert schedule.warmup_steps == 10 and schedule.peak_learning_rate == 3e-5
    with pytest.raises(ValueError, match="warmup_ratio=1.2"):
        kt.adamw_with_warmup(100, warmup_ratio=1.2)


def test_summary_total_row_says_what_trains(tiny_preset):
    full = kt.trainable_summary(kt.TransformerClassifier.from_preset(tiny_preset, max_length=8))
    frozen = kt.trainable_summary(
        kt.TransformerClassifier.from_preset(tiny_preset, strategy="frozen", max_length=8)
    )
    # The unused BERT pooler stays frozen, so even `full` is partly frozen.
    assert full.iloc[-1]["trainable"] == "partial"
    assert frozen.iloc[-1]["trainable"] == "partial"
    assert frozen.set_index("block")["trainable"].to_dict()["embeddings"] is False
    everything = kt.trainable_summary(
        kt.EmbeddingClassifier.from_word_vectors(
            {"good": [1.0], "bad": [-1.0]}, train_embedding=True
        )
    )
    assert everything["trainable"].tolist()[-1] is True


@pytest.mark.parametrize("strategy", ["last_n", "full"])
def test_explicit_unfreeze_last_is_checked_not_clamped(tiny_preset, strategy):
    # The tiny model has 2 blocks: an explicit 4 is an error, whatever the strategy.
    with pytest.raises(ValueError, match="unfreeze_last=4"):
        kt.TransformerClassifier.from_preset(
            tiny_preset, strategy=strategy, unfreeze_last=4, max_length=8
        )
    # The registry's default (2) fits; on last_n it is what trains.
    model = kt.TransformerClassifier.from_preset(tiny_preset, strategy="last_n", max_length=8)
    assert model.unfreeze_last == 2


@pytest.mark.parametrize("cache", [True, False])
def test_validation_batch_size_is_honoured(cache):
    texts, labels = sentiment_texts(16)
    batches = []
    counter = keras.callbacks.LambdaCallback(
        on_test_batch_end=lambda batch, logs: batches.append(batch)
    )
    model = kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8)
    model.fit(
        texts,
        labels,
        validation_data=(texts[:8], labels[:8]),
        epochs=1,
        batch_size=8,
        validation_batch_size=2,
        cache_features=cache,
        callbacks=[counter],
        verbose=0,
    )
    assert len(batches) == 4
