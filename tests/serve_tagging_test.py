"""Serving a token classifier: POST /tag and /tag_batch (a .keras file here; an exported
folder in tests/export_test.py), and the tagging of raw texts."""

import json

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer_runtime.tagging import entity_spans, split_words
from tests import token_classifier_test as tagging
from tests.helpers import tiny_vectors

TAGS = tagging.TAGS
ner_preset = tagging.ner_preset  # the fixture: a tiny BERT tagger's preset
TEXT = "John lives in Paris."
LONG = "the city of rome and mary today " * 4  # cut at max_length=16 tokens: the rest is "O"


@pytest.fixture(scope="module")
def saved(ner_preset, tmp_path_factory):
    """A tiny tagger (its head fitted on cached encoder features: seconds) and a text
    classifier (untrained), saved. The exported tagger is served in tests/export_test.py."""
    folder = tmp_path_factory.mktemp("serve_tagging")
    keras.utils.set_random_seed(3)
    model = kt.TokenClassifier.from_preset(
        ner_preset, tag_names=TAGS, max_length=16, strategy="frozen"
    )
    model.compile(optimizer=keras.optimizers.Adam(5e-2))
    words, tags = tagging.ner_sentences()
    model.fit(words, tags, epochs=12, batch_size=16, verbose=0, log_root=str(folder / "logs"))
    paths = {"tagger": str(folder / "tagger.keras"), "classifier": str(folder / "classifier.keras")}
    model.save(paths["tagger"])
    classifier = kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8)
    classifier.save(paths["classifier"])  # untrained: it only has to answer
    return {"tagger": model, "classifier": classifier}, paths


@pytest.fixture(scope="module")
def clients(saved):
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    _, paths = saved
    return {
        kind: TestClient(create_app(path, max_batch_size=3, max_text_chars=300))
        for kind, path in paths.items()
    }


def test_tag_answers_words_tags_and_entities(clients):
    tagger = clients["tagger"].app.state.predictor  # its compiled functions serve the requests too
    words, _ = split_words(LONG)
    with pytest.warns(UserWarning, match="do not fit"):
        long_tags = tagger.predict([words])[0]
    expected = [
        {
            "words": ["John", "lives", "in", "Paris", "."],
            "tags": ["B-PER", "O", "O", "B-LOC", "O"],
            "entities": [
                {"type": "PER", "text": "John", "start": 0, "end": 4},
                {"type": "LOC", "text": "Paris", "start": 14, "end": 19},
            ],
        },
        {
            "words": words,
            "tags": long_tags,
            "entities": [
                {"type": kind, "text": LONG[start:end], "start": start, "end": end}
                for kind, start, end in _char_spans(LONG, long_tags)
            ],
        },
    ]
    assert long_tags[-4:] == ["O"] * 4 and "B-LOC" in long_tags  # cut, and tagged before the cut
    client = clients["tagger"]
    info = client.get("/info").json()
    assert info["task"] == "token_classification" and info["tags"] == TAGS
    assert info["backend"] == keras.config.backend() and info["max_batch_size"] == 3
    assert client.post("/tag", json={"text": TEXT}).json() == expected[0]
    with pytest.warns(UserWarning, match="do not fit"):
        answer = client.post("/tag_batch", json={"texts": [TEXT, LONG]})
    assert answer.status_code == 200 and answer.json() == {"predictions": expected}
    assert tagger.tag_batch([]) == [] and tagger.tag(TEXT) == expected[0]


def _char_spans(text, tags):
    _, spans = split_words(text)
    return [(kind, spans[a][0], spans[b - 1][1]) for kind, a, b in entity_spans(tags)]


def test_each_task_refuses_the_other_tasks_routes(clients):
    tagger, classifier = clients["tagger"], clients["classifier"]
    assert classifier.get("/info").json()["task"] == "text_classification"
    for path, body in (("/predict", {"text": TEXT}), ("/predict_batch", {"texts": [TEXT]})):
        answer = tagger.post(path, json=body)
        assert answer.status_code == 404 and "POST /tag" in answer.json()["detail"]
    for path, body in (("/tag", {"text": TEXT}), ("/tag_batch", {"texts": [TEXT]})):
        answer = classifier.post(path, json=body)
        assert answer.status_code == 404 and "POST /predict" in answer.json()["detail"]
    assert classifier.post("/predict", json={"text": "great"}).status_code == 200
    assert "/tag" in tagger.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    "path, body, status, match",
    [
        ("/tag", {"text": " \n"}, 422, "blank"),
        ("/tag", {"words": ["John"]}, 422, "Extra inputs"),
        ("/tag_batch", {"texts": "John"}, 422, "list"),
        ("/tag", {"text": "x" * 301}, 413, "at most 300 characters"),
        ("/tag_batch", {"texts": ["John"] * 4}, 413, "at most 3 items"),
    ],
)
def test_bad_tag_bodies_get_4xx(clients, path, body, status, match):
    answer = clients["tagger"].post(path, json=body)
    assert answer.status_code == status and match in answer.text and len(answer.content) < 2000


def test_cli_predict_tags_texts(saved, clients, capsys, monkeypatch):
    from keras_transfer import serving
    from keras_transfer.__main__ import main

    _, paths = saved
    opened = []
    tagger = clients["tagger"].app.state.predictor  # already compiled (JAX: seconds per shape)
    monkeypatch.setattr(serving, "open_predictor", lambda path: opened.append(path) or tagger)
    assert main(["predict", "--model", paths["tagger"], TEXT, "Mary lives in Rome"]) == 0
    assert opened == [paths["tagger"]]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == [TEXT, "Mary lives in Rome"]
    assert [e["text"] for e in lines[1]["entities"]] == ["Mary", "Rome"]


def test_a_tagger_with_broken_weights_is_refused(saved, monkeypatch):
    from keras_transfer import serving

    models, paths = saved
    model = models["tagger"]
    monkeypatch.setattr(serving, "load_model", lambda path: models["classifier"])
    with pytest.raises(ValueError, match="not a token classifier"):
        kt.TokenPredictor(paths["classifier"])
    monkeypatch.setattr(serving, "load_model", lambda path: model)
    with pytest.raises(ValueError, match="keras_transfer.TokenPredictor"):
        kt.Predictor(paths["tagger"])
    broken = kt.TokenClassifier.from_config(model.get_config())
    broken.output_dense.kernel.assign(np.full(broken.output_dense.kernel.shape, np.nan))
    monkeypatch.setattr(serving, "load_model", lambda path: broken)
    with pytest.raises(ValueError, match="not numbers"):
        kt.TokenPredictor(paths["tagger"])


def test_entity_spans_read_tags_as_the_conll_script():
    from seqeval.metrics.sequence_labeling import get_entities

    rng = np.random.default_rng(0)
    names = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC"]
    for _ in range(300):
        tags = list(rng.choice(names, size=int(rng.integers(0, 9))))
        expected = [(kind, first, last + 1) for kind, first, last in get_entities(tags)]
        assert entity_spans(tags) == expected, tags
    assert entity_spans(["PER", "PER", "O", "LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    assert split_words("  New-York's 3.5 ") == (
        ["New", "-", "York", "'", "s", "3", ".", "5"],
        [(2, 5), (5, 6), (6, 10), (10, 11), (11, 12), (13, 14), (14, 15), (15, 16)],
    )
