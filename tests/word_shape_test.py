"""The token classifier's word-shape feature: ids, on/off/auto, saving, caching, learning."""

import keras
import keras_hub
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer_runtime.word_shape import word_shape
from tests.helpers import tiny_backbone

NAMES = ["john", "mary", "paris", "rome"]
FILLER = ["lives", "in", "the", "city", "of", "and", "today", "visited"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *NAMES, *FILLER, "un", "##believ", "##able"]
TAGS = ["O", "B-NAME"]


def tagger(lowercase=True, seed=0, **kwargs):
    """A tiny dropout-free BERT tagger (so that the plain path is deterministic too)."""
    keras.utils.set_random_seed(seed)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=lowercase)
    preprocessor = kt.TokenClassifierPreprocessor(tokenizer, sequence_length=16)
    backbone = tiny_backbone(len(VOCAB), dropout=0.0)
    return kt.TokenClassifier(backbone, preprocessor, tag_names=TAGS, **kwargs)


def capitalised_sentences(n=64, seed=0):
    """Four words each; the one written with a capital is the name, whatever the word."""
    rng = np.random.default_rng(seed)
    words, tags = [], []
    for _ in range(n):
        sentence = [str(w) for w in rng.choice(NAMES + FILLER, size=4)]
        name = int(rng.integers(4))
        sentence[name] = sentence[name].capitalize()
        words.append(sentence)
        tags.append(["B-NAME" if i == name else "O" for i in range(4)])
    return words, tags


def test_shape_ids_of_words_and_of_their_sub_tokens():
    shapes = {w: word_shape(w) for w in ["paris", "Paris", "NATO", "1984", "B2B", ",", "I", "--"]}
    assert shapes == {
        "paris": 1,
        "Paris": 2,
        "NATO": 4,
        "1984": 5,
        "B2B": 8,
        ",": 9,
        "I": 2,
        "--": 9,
    }
    aligned = tagger().preprocessor.align([["Unbelievable", "JOHN", "lives"]])
    # [CLS] un ##believ ##able john lives [SEP]: every sub-token has its word's shape
    assert aligned["word_shapes"][0, :8].tolist() == [0, 2, 2, 2, 4, 1, 0, 0]
    cut = kt.TokenClassifierPreprocessor(tagger().preprocessor.tokenizer, sequence_length=5)
    aligned = cut.align([["John", "Unbelievable"]])  # the second word does not fit
    assert aligned["word_shapes"][0].tolist() == [0, 2, 0, 0, 0]


def test_auto_is_on_for_a_lowercasing_encoder_only():
    uncased = tagger(lowercase=True)
    assert uncased.word_shape is True and "word_shapes" in uncased.input
    assert tagger(lowercase=False).word_shape is False
    assert tagger(lowercase=False, word_shape=True).word_shape is True
    off = tagger(lowercase=True, word_shape=False)
    assert off.word_shape is False
    assert sorted(off.input) == ["padding_mask", "segment_ids", "token_ids"]
    with pytest.raises(ValueError, match="word_shape='yes'"):
        tagger(word_shape="yes")
    with pytest.raises(ValueError, match="word_shape=1"):
        kt.TokenClassifier.from_preset(None, tag_names=TAGS, word_shape=1)


def test_the_shape_reaches_the_tags_only_when_on():
    for on in (True, False):
        model = tagger(word_shape=on)
        aligned = model.preprocessor.align([["john", "lives"], ["John", "lives"]])
        probabilities = model._predict_aligned(aligned, batch_size=2)
        same = np.allclose(probabilities[0], probabilities[1], atol=1e-6)
        assert same is not on


def test_a_lowercasing_encoder_learns_capitalised_names_with_the_shape():
    words, tags = capitalised_sentences()
    test_words, test_tags = capitalised_sentences(32, seed=1)
    scores = {}
    for on in (True, False):
        model = tagger(strategy="frozen", word_shape=on, seed=1)
        model.compile(optimizer=keras.optimizers.Adam(5e-2))
        model.fit(words, tags, validation_split=0.25, epochs=8, batch_size=16, verbose=0)
        predicted = model.predict(test_words)
        scores[on] = kt.entity_scores(test_tags, predicted).loc["micro avg", "f1-score"]
    assert scores[True] > 0.9 and scores[False] < 0.5


def test_save_and_reload_keep_the_shape_and_the_tags(tmp_path):
    model = tagger()
    words, _ = capitalised_sentences(8, seed=2)
    path = str(tmp_path / "tagger.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.word_shape is True and reloaded.get_config()["word_shape"] is True
    np.testing.assert_array_equal(
        np.concatenate(reloaded._predict_aligned(reloaded.preprocessor.align(words), 8)),
        np.concatenate(model._predict_aligned(model.preprocessor.align(words), 8)),
    )


def test_cached_features_train_as_the_whole_model_and_leave_the_encoder_as_it_was():
    words, tags = capitalised_sentences(16)
    outputs = []
    for cache in (True, False):
        model = tagger(strategy="frozen", seed=4, dropout=0.0)  # the same draws on torch
        before = [keras.ops.convert_to_numpy(w).copy() for w in model.backbone.weights]
        keras.utils.set_random_seed(5)
        model.fit(
            words, tags, validation_split=0.25, epochs=1, batch_size=8, verbose=0,
            cache_features=cache,
        )  # fmt: skip
        after = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
        assert all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))
        encoding = keras.ops.convert_to_numpy(model.word_shape_encoding.embeddings)
        np.testing.assert_array_equal(encoding, np.eye(len(encoding)))
        outputs.append(np.concatenate(model._predict_aligned(model.preprocessor.align(words), 8)))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def test_cli_word_shape_flag_is_for_ner_only(capsys):
    from keras_transfer.__main__ import _parser, main

    for flag, value in (("on", True), ("off", False), ("auto", "auto")):
        args = _parser().parse_args(["compare", "--task", "ner", "--word-shape", flag])
        assert args.word_shape is value
    assert main(["compare", "--word-shape", "on"]) == 2
    assert "`word_shape` only applies to task='ner'" in capsys.readouterr().err


def test_a_model_saved_before_word_shape_reloads_without_it():
    config = keras.saving.serialize_keras_object(tagger(word_shape=False))
    del config["config"]["word_shape"]
    assert keras.saving.deserialize_keras_object(config).word_shape is False
