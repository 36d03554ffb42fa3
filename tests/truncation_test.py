"""truncation="chunks": a long text read whole, in overlapping windows, pooled before the head."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.families import reference_tokenizer
from keras_transfer.length_buckets import cut_to_bucket
from tests.helpers import sentiment_texts

LENGTH = 18  # 16 tokens of text per window, windows 8 tokens apart
LONG = " ".join(f"tok{i}" for i in range(40))  # 40 word pieces


def training_texts():
    """Short sentiment texts, and long ones whose sentiment words come after the first window."""
    texts, labels = sentiment_texts(24)
    filler = " ".join(f"tok{i}" for i in range(20))
    long = [f"{filler} {text} {text}" for text in texts[:8]]
    return [*texts, *long], np.concatenate([labels, labels[:8]])


@pytest.fixture(scope="module")
def frozen_chunks(tiny_preset):
    """A frozen chunks model fitted once (on its cached features), shared by the tests."""
    keras.utils.set_random_seed(1)
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy="frozen", max_length=LENGTH, truncation="chunks", max_chunks=4
    )
    texts, labels = training_texts()
    model.fit(texts, labels, epochs=2, batch_size=8, verbose=0, cache_features="memory")
    return model


def test_windows_are_hugging_face_overflowing_windows(frozen_chunks):
    model = frozen_chunks
    tokenizer = kt.FastTokenizer(model.preprocessor, "chunks", max_chunks=8)
    tokens = tokenizer([LONG, "a good film"])
    assert tokens["token_ids"].shape == (2, 8, LENGTH)
    vocabulary = model.preprocessor.tokenizer.get_vocabulary()
    cls, sep = vocabulary.index("[CLS]"), vocabulary.index("[SEP]")
    ids = np.array([vocabulary.index(f"tok{i}") for i in range(40)])
    # By hand: 16 tokens per window, each 8 after the last, until one reaches the end.
    expected = [[cls, *ids[start : start + 16], sep] for start in (0, 8, 16, 24)]
    np.testing.assert_array_equal(tokens["token_ids"][0, :4], expected)
    assert not tokens["padding_mask"][0, 4:].any()
    # Hugging Face's `tokenizers`: truncation to 16 with a stride of 8 overflows into the same.
    reference = reference_tokenizer(model.preprocessor.tokenizer)
    reference.enable_truncation(LENGTH - 2, stride=(LENGTH - 2) // 2)
    encoding = reference.encode(LONG, add_special_tokens=False)
    windows = [encoding.ids] + [o.ids for o in encoding.overflowing]
    assert [[cls, *w, sep] for w in windows] == tokens["token_ids"][0, :4].tolist()
    assert tokens["lengths"].tolist() == [4 * LENGTH, 5]
    # A short text: one window, as `head` packs it, the others padding only.
    head = kt.FastTokenizer(model.preprocessor)(["a good film"])
    np.testing.assert_array_equal(tokens["token_ids"][1, 0], head["token_ids"][0])
    np.testing.assert_array_equal(tokens["padding_mask"][1, 0], head["padding_mask"][0])
    assert tokens["padding_mask"][1].sum(axis=1).tolist() == [5, 0, 0, 0, 0, 0, 0, 0]
    # `max_chunks` keeps the first windows.
    capped = kt.FastTokenizer(model.preprocessor, "chunks", max_chunks=2)([LONG])
    np.testing.assert_array_equal(capped["token_ids"][0], expected[:2])


def test_features_are_the_mean_of_the_windows_cls_vectors(frozen_chunks):
    model = frozen_chunks
    texts = [LONG, "a good film"]
    tokens = model.tokenize(texts)
    inputs = {key: tokens[key] for key in model.backbone.input}
    features = keras.ops.convert_to_numpy(model.feature_model().predict_on_batch(inputs))
    windows = {key: value.reshape(-1, LENGTH) for key, value in inputs.items()}
    cls = keras.ops.convert_to_numpy(model.backbone.predict_on_batch(windows)["sequence_output"])
    cls = cls[:, 0].reshape(2, 4, -1)
    np.testing.assert_allclose(features[0], cls[0].mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(features[1], cls[1, 0], atol=1e-5)  # padding windows weigh nothing
    # Batches are cut to the windows they use: the same outputs as all four.
    probabilities = model.predict_on_batch(inputs)
    cut = cut_to_bucket({key: value[1:] for key, value in inputs.items()}, [16, LENGTH])
    assert cut["token_ids"].shape == (1, 1, 16)
    np.testing.assert_allclose(model.predict_on_batch(cut)[0], probabilities[1], atol=1e-5)


def test_fit_predict_evaluate_save_and_reload(frozen_chunks, tmp_path):
    model = frozen_chunks
    texts, labels = training_texts()
    probabilities = model.predict(texts, batch_size=8, verbose=0)
    assert probabilities.shape == (len(texts), 2)
    np.testing.assert_allclose(
        model.predict_on_batch(np.array(texts[:5])), probabilities[:5], atol=1e-6
    )
    loss, accuracy = model.evaluate(texts, labels, batch_size=8, verbose=0)[:2]
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    # Length buckets: short texts in one window of 16 tokens; long ones in 4 of 18.
    ds, order = model.text_dataset(texts, batch_size=8)
    shapes = [tuple(x["token_ids"].shape) for (x,) in ds]
    assert shapes == [(8, 1, 16), (8, 1, 16), (8, 1, 16), (8, 4, LENGTH)]
    path = str(tmp_path / "chunks.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert (reloaded.truncation, reloaded.max_chunks) == ("chunks", 4)
    np.testing.assert_array_equal(reloaded.predict(texts, batch_size=8, verbose=0), probabilities)
    served = kt.Predictor(path).predict_batch(texts[-3:])  # `predict_on_batch` per request
    served = [[r["probabilities"][f"LABEL_{i}"] for i in range(2)] for r in served]
    np.testing.assert_allclose(served, probabilities[-3:], atol=1e-6)


# `last_n` and `scratch` train the windows as `full` does (the gradual-unfreezing test below
# ends in `last_n`): they run with `-m large`.
@pytest.mark.parametrize(
    "strategy",
    [
        "full",
        "lora",
        pytest.param("last_n", marks=pytest.mark.large),
        pytest.param("scratch", marks=pytest.mark.large),
    ],
)
def test_every_transformer_strategy_trains_on_windows(tiny_preset, strategy):
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy=strategy, max_length=LENGTH, truncation="chunks", max_chunks=2
    )
    before = [keras.ops.convert_to_numpy(w) for w in model.backbone.trainable_weights]
    history = model.fit([LONG, "a good film"], [0, 1], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in model.backbone.trainable_weights]
    assert before and any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    # The second window counts: the long text's output is not its first window's.
    probabilities = model.predict([LONG], verbose=0)
    tokens = model.tokenize([LONG])
    first = {key: tokens[key][:, :1] for key in model.backbone.input}
    assert np.abs(model.predict_on_batch(first) - probabilities).max() > 1e-6
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_gradual_unfreezing_and_layer_decay_with_windows(tiny_preset):
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, strategy="frozen", max_length=LENGTH, truncation="chunks", max_chunks=2
    )
    model.compile(layer_decay=0.9)
    unfreezing = kt.GradualUnfreezing(every=1)
    model.fit([LONG, "a good film"], [0, 1], epochs=2, verbose=0, callbacks=[unfreezing])
    assert (model.strategy, model.unfreeze_last) == ("last_n", 2)


def test_cache_keys_differ_by_truncation(frozen_chunks, tiny_preset):
    digests = {kt.FeatureCache(frozen_chunks).model_digest()}
    for options in (
        {},
        {"truncation": "head_tail"},
        {"truncation": "chunks", "max_chunks": 4},
        {"truncation": "chunks", "max_chunks": 2},
    ):
        model = kt.TransformerClassifier.from_preset(
            tiny_preset, strategy="frozen", max_length=LENGTH, **options
        )
        digests.add(kt.FeatureCache(model).model_digest())
    # The fitted model differs from its unfitted twin in the head only: same features.
    assert len(digests) == 4


def test_bad_arguments_and_export_are_refused(frozen_chunks, tiny_preset, tmp_path):
    with pytest.raises(ValueError, match="max_chunks=2 with truncation='head'"):
        kt.TransformerClassifier.from_preset(tiny_preset, max_chunks=2)
    with pytest.raises(ValueError, match="max_chunks=0"):
        kt.TransformerClassifier.from_preset(tiny_preset, truncation="chunks", max_chunks=0)
    with pytest.raises(ValueError, match="truncation='head' only.*truncation='chunks'"):
        kt.export(frozen_chunks, str(tmp_path / "exported"))
    head_tail = kt.TransformerClassifier.from_preset(
        tiny_preset, max_length=LENGTH, truncation="head_tail"
    )
    with pytest.raises(ValueError, match="truncation='head' only.*truncation='head_tail'"):
        kt.export(head_tail, str(tmp_path / "exported"))
    assert not (tmp_path / "exported").exists()


def test_cli_takes_chunks_for_compare_and_train(tiny_preset):
    from keras_transfer.__main__ import _parser
    from keras_transfer.strategies import strategy_options

    parser = _parser()
    assert parser.parse_args(["compare", "--truncation", "chunks"]).truncation == "chunks"
    train = ["train", "--strategy", "frozen", "--out", "m.keras", "--truncation", "chunks"]
    assert parser.parse_args([*train, "--data", "x.csv"]).truncation == "chunks"
    options = strategy_options(["embedding", "full"], tiny_preset, LENGTH, None, None, "chunks")
    assert options == {"embedding": {}, "full": {"truncation": "chunks"}}
