"""Token classification (NER): alignment, loss masking, save/load, CoNLL reading, scores."""

import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.data import bucket_lengths

PEOPLE = ["john", "mary", "alan", "ada", "grace"]
PLACES = ["paris", "london", "rome", "oslo"]
FILLER = ["lives", "in", "visited", "the", "city", "of", "and", "today"]
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def ner_sentences(n=48, seed=0):
    """Sentences like `john smith visited paris today` with their BIO tags."""
    rng = np.random.default_rng(seed)
    words, tags = [], []
    for _ in range(n):
        person, place = rng.choice(PEOPLE), rng.choice(PLACES)
        sentence = (
            [person, "lives", "in", place]
            if rng.random() < 0.5
            else ["the", "city", "of", place, "and", person, "today"]
        )
        words.append(list(sentence))
        tags.append(["B-PER" if w in PEOPLE else "B-LOC" if w in PLACES else "O" for w in sentence])
    return words, tags


@pytest.fixture(scope="module")
def ner_preset(tmp_path_factory):
    """A random 2-block, hidden-32 BERT whose vocabulary splits `unbelievable` in three."""
    import keras_hub

    from tests.helpers import tiny_backbone

    keras.utils.set_random_seed(11)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *PEOPLE, *PLACES, *FILLER]
    vocab += ["un", "##believ", "##able", "new", "york"]
    vocab += [f"tok{i}" for i in range(200 - len(vocab))]
    path = str(tmp_path_factory.mktemp("ner_bert"))
    tiny_backbone(len(vocab)).save_to_preset(path)
    keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=True).save_to_preset(path)
    return path


@pytest.fixture(scope="module")
def fitted(ner_preset, tmp_path_factory):
    """A tiny tagger fitted for a few epochs, shared by the tests that only read it."""
    keras.utils.set_random_seed(3)
    model = kt.TokenClassifier.from_preset(ner_preset, tag_names=TAGS, max_length=16)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    words, tags = ner_sentences()
    log_root = str(tmp_path_factory.mktemp("logs"))
    history = model.fit(words, tags, epochs=6, batch_size=8, verbose=0, log_root=log_root)
    return model, history, log_root


def test_a_word_split_in_three_gets_one_label_and_one_prediction(fitted):
    model, _, _ = fitted
    aligned = model.preprocessor.align([["unbelievable", "john"]], [[0, 1]])
    # [CLS] un ##believ ##able john [SEP]
    assert aligned["token_ids"][0, :6].tolist()[1:4] == [
        model.preprocessor.tokenizer.token_to_id(p) for p in ("un", "##believ", "##able")
    ]
    assert aligned["labels"][0, :7].tolist() == [-1, 0, -1, -1, 1, -1, -1]
    assert aligned["starts"][0].tolist() == [1, 4]
    assert len(model.predict([["unbelievable", "john"]])[0]) == 2


def test_predictions_have_the_input_word_counts_and_learn_the_tags(fitted):
    model, history, _ = fitted
    words, tags = ner_sentences(16, seed=1)
    words[0] = ["unbelievable", *words[0]]
    tags[0] = ["O", *tags[0]]
    predicted = model.predict(words)
    assert [len(p) for p in predicted] == [len(w) for w in words]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert kt.entity_scores(tags, predicted).loc["micro avg", "f1-score"] > 0.8
    loss, accuracy = model.evaluate(words, tags, verbose=0)
    assert loss < history.history["loss"][0] and 0.8 < accuracy <= 1.0


def test_masked_positions_contribute_zero_loss(fitted):
    model, _, _ = fitted
    rng = np.random.default_rng(0)
    y_true = np.array([[-1, 1, -1, 3, -1], [-1, 0, 2, -1, -1]])
    y_pred = rng.dirichlet(np.ones(len(TAGS)), size=(2, 5)).astype("float32")
    other = y_pred.copy()
    other[y_true == -1] = rng.dirichlet(np.ones(len(TAGS)), size=int((y_true == -1).sum()))
    loss = float(keras.ops.convert_to_numpy(model.loss(y_true, y_pred)))
    labelled = y_true >= 0
    expected = -np.mean(np.log(y_pred[labelled, y_true[labelled]]))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert float(keras.ops.convert_to_numpy(model.loss(y_true, other))) == pytest.approx(loss)


def test_bucketed_batches_give_the_outputs_of_full_padding(fitted):
    model, _, _ = fitted
    words, _ = ner_sentences(6, seed=2)
    aligned = model.preprocessor.align(words)
    full = model.predict({k: aligned[k] for k in model.input}, verbose=0)
    bucketed = model._predict_aligned(aligned, batch_size=4)
    for row, probabilities in enumerate(bucketed):
        np.testing.assert_allclose(probabilities, full[row, : len(probabilities)], atol=1e-5)
    assert bucket_lengths(128) == [16, 32, 64, 128]


def test_fit_logs_to_tensorboard(fitted):
    _, _, log_root = fitted
    (run,) = os.listdir(log_root)
    assert os.listdir(os.path.join(log_root, run, "train"))


def test_save_and_reload_give_identical_tags(fitted, tmp_path):
    model, _, _ = fitted
    words, _ = ner_sentences(8, seed=3)
    path = str(tmp_path / "tagger.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.tag_names == TAGS and reloaded.predict(words) == model.predict(words)
    with pytest.raises(ValueError, match="token classifier"):
        kt.Predictor(path)


def test_frozen_backbone_stays_bit_identical_with_the_mandatory_callbacks(ner_preset, monkeypatch):
    from keras_transfer.models import base

    attached = []

    def recording(*args, **kwargs):
        attached.extend(with_mandatory(*args, **kwargs))
        return attached

    with_mandatory = base.with_mandatory_callbacks
    monkeypatch.setattr(base, "with_mandatory_callbacks", recording)
    model = kt.TokenClassifier.from_preset(
        ner_preset, tag_names=TAGS, strategy="frozen", max_length=16
    )
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.backbone.weights]
    head = keras.ops.convert_to_numpy(model.output_dense.kernel).copy()
    words, tags = ner_sentences(16)
    history = model.fit(words, tags, validation_split=0.25, epochs=1, verbose=0)
    assert "val_loss" in history.history
    kinds = {type(c).__name__ for c in attached}
    assert {"TensorBoard", "EarlyStopping", "ReduceLROnPlateau"} <= kinds
    after = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
    assert all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    assert not np.array_equal(head, keras.ops.convert_to_numpy(model.output_dense.kernel))


def test_words_beyond_max_length_warn_and_are_tagged_o(ner_preset):
    model = kt.TokenClassifier.from_preset(ner_preset, tag_names=TAGS, max_length=6)
    sentence = ["john", "lives", "in", "paris", "today", "and", "rome"]
    with pytest.warns(UserWarning, match=r"3 word\(s\) in 1 of 1 sentence.*predicted 'O'"):
        predicted = model.predict([sentence])
    assert len(predicted[0]) == len(sentence) and predicted[0][-3:] == ["O", "O", "O"]


def test_bad_inputs_name_the_sentence(fitted):
    model, _, _ = fitted
    with pytest.raises(ValueError, match="one list of words per sentence"):
        model.predict(["john lives in paris"])
    with pytest.raises(ValueError, match="Sentence 1 has 2 words but 1 tags"):
        model.fit([["john"], ["in", "paris"]], [["B-PER"], ["O"]], epochs=1)
    with pytest.raises(ValueError, match="Unknown tag 'B-ORG' in sentence 0"):
        model.fit([["john"]], [["B-ORG"]], epochs=1)
    with pytest.raises(ValueError, match="tag_names"):
        kt.TokenClassifier.from_preset(None, tag_names=["O"])


# === CoNLL files ===


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def test_load_conll_reads_columns_sentences_and_documents(tmp_path):
    path = write(
        tmp_path / "a.conll",
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n-DOCSTART- -X- -X- O\nHi UH O O\n",
    )
    words, tags = kt.load_conll(path)
    assert words == [["EU", "rejects"], ["Peter", "Blackburn"], ["Hi"]]
    assert tags == [["B-ORG", "O"], ["B-PER", "I-PER"], ["O"]]
    _, chunks = kt.load_conll(path, tag_column=2)
    assert chunks[0] == ["B-NP", "B-VP"]


def test_load_conll_errors_give_the_line(tmp_path):
    short = write(tmp_path / "short.conll", "John B-PER\nlives O\nParis\n")
    with pytest.raises(ValueError, match="Line 3 .* 1 column"):
        kt.load_conll(short)
    bad_tag = write(tmp_path / "tag.conll", "John B-PER\nlives O\n\nParis LOC\n")
    with pytest.raises(ValueError, match="Line 4 .*'LOC' is not BIO"):
        kt.load_conll(bad_tag)
    with pytest.raises(ValueError, match="No such CoNLL file"):
        kt.load_conll(tmp_path / "missing.conll")
    with pytest.raises(ValueError, match="no tagged sentences"):
        kt.load_conll(write(tmp_path / "empty.conll", "\n\n"))


def test_load_conll_skips_a_byte_order_mark_and_refuses_two_tokens_a_line(tmp_path):
    path = tmp_path / "bom.conll"
    path.write_bytes("-DOCSTART- O\n\nJohn B-PER\nlives O\n".encode("utf-8-sig"))
    assert kt.load_conll(path) == ([["John", "lives"]], [["B-PER", "O"]])
    pairs = write(tmp_path / "pairs.conll", "John B-PER\nlives O in O\n")
    with pytest.raises(ValueError, match="Line 2 of .*pairs.conll has 4 columns .* has 2"):
        kt.load_conll(pairs)


def test_iob1_is_refused_or_repaired_to_bio(tmp_path):
    path = write(
        tmp_path / "iob1.conll", "The O\nMad I-ORG\nCapsule I-ORG\nand O\nX I-PER\nY B-PER\n"
    )
    with pytest.raises(ValueError, match=r"Line 2 .*'I-ORG' follows 'O'.*repair=True"):
        kt.load_conll(path)
    _, tags = kt.load_conll(path, repair=True)
    assert tags == [["O", "B-ORG", "I-ORG", "O", "B-PER", "B-PER"]]
    type_change = write(tmp_path / "change.conll", "A B-PER\nB I-LOC\n")
    with pytest.raises(ValueError, match="Line 2 .*'I-LOC' follows 'B-PER'"):
        kt.load_conll(type_change)


def test_the_bundled_corpus_is_split_by_article():
    (train_words, train_tags), (test_words, test_tags) = kt.load_bundled_ner()
    assert (len(train_words), len(test_words)) == (1357, 339)
    tags = {t for sentence in train_tags + test_tags for t in sentence}
    assert tags == {"O", *(f"{p}-{t}" for p in "BI" for t in ("PER", "LOC", "ORG", "MISC"))}


def test_entity_scores_follow_conll_semantics():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O"]]  # a partial span is wrong
    scores = kt.entity_scores(true, predicted)
    assert scores.loc["PER", "f1-score"] == 0.0 and scores.loc["LOC", "f1-score"] == 1.0
    assert scores.loc["micro avg", "precision"] == pytest.approx(2 / 3)
    assert scores.loc["macro avg", "f1-score"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same number"):
        kt.entity_scores(true, [["O"], ["O", "O"]])


# === The comparison ===


def test_compare_ner_writes_the_table_with_the_reference_row(ner_preset, tmp_path):
    words, tags = ner_sentences(40)
    out = tmp_path / "out"
    table = kt.compare_ner(
        (words, tags),
        strategies=["frozen"],
        epochs=2,
        max_length=16,
        preset=ner_preset,
        out=str(out),
        log_root=str(tmp_path / "logs"),
        verbose=0,
    )
    assert set(table["strategy"]) == {"frozen", "most_frequent_tag"}
    baseline = table.set_index("strategy").loc["most_frequent_tag"]
    assert baseline["entity_f1"] == 1.0  # every test word was seen with its one tag
    for name in ("results.csv", "results.md", "transfer_learning_comparison.png"):
        assert (out / name).exists()
    assert "entity F1" in (out / "results.md").read_text()
    assert "micro avg" in (out / "reports" / "frozen.txt").read_text()


def test_cli_ner_refuses_classification_flags(capsys):
    from keras_transfer.__main__ import main

    assert main(["compare", "--task", "ner", "--few-shot", "8"]) == 2
    assert "`few_shot` only applies to task='classification'" in capsys.readouterr().err


@pytest.mark.large
def test_fine_tuned_encoder_beats_the_most_frequent_tag_on_wikigold(tmp_path):
    table = kt.compare_ner(
        strategies=["full"], out=str(tmp_path / "out"), log_root=str(tmp_path), verbose=0
    ).set_index("strategy")
    assert table.loc["full", "entity_f1"] > table.loc["most_frequent_tag", "entity_f1"] + 0.15
