"""The bad-input matrix: each bad input gets one clear error that names the
argument and what was received, and leaves nothing half-written on disk.

Python API and model loading: a `ValueError`. CLI: a one-line message and exit
status 2. HTTP: a 4xx answer that says why.
"""

import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import data
from tests.helpers import tiny_vectors

TEXTS = ["a good film", "a bad film", "great", "awful"]
LABELS = [1, 0, 1, 0]


def embedding_model():
    return kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=8, label_names=["negative", "positive"]
    )


def write(path, content, mode="w"):
    with open(path, mode) as f:
        f.write(content)
    return str(path)


def fit(x=TEXTS, y=LABELS, **kwargs):
    return lambda tmp, preset: embedding_model().fit(x, y, epochs=1, verbose=0, **kwargs)


def load(content, name="data.csv", mode="w", **kwargs):
    return lambda tmp, preset: kt.load_texts(write(tmp / name, content, mode), **kwargs)


def transformer(**kwargs):
    return lambda tmp, preset: kt.TransformerClassifier.from_preset(
        preset, **{"max_length": 8, **kwargs}
    )


def preset_folder(files):
    def build(tmp, preset):
        folder = tmp / "preset"
        folder.mkdir()
        for name in files:
            write(folder / name, "{}")
        return kt.TransformerClassifier.from_preset(str(folder))

    return build


def saved_file(kind):
    def build(tmp, preset):
        path = tmp / "model.keras"
        if kind == "not an archive":
            write(path, "hello")
        elif kind == "missing":
            path = tmp / "nope.keras"
        else:
            model = (
                embedding_model()
                if kind == "truncated"
                else keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            )
            model.save(path)
            if kind == "truncated":
                content = path.read_bytes()
                path.write_bytes(content[: len(content) // 2])
        return kt.Predictor(str(path))

    return build


def predictor_batch(texts):
    def build(tmp, preset):
        model = embedding_model()
        model.save(tmp / "m.keras")
        return kt.Predictor(str(tmp / "m.keras")).predict_batch(texts)

    return build


def compare(**kwargs):
    def build(tmp, preset):
        frame = kt.load_bundled("sentiment_en_vi")[0].groupby("label").head(20)
        args = {"strategies": ["embedding"], "out": str(tmp / "out"), "preset": preset}
        return kt.compare_strategies(frame, **{**args, **kwargs})

    return build


API_CASES = [
    # texts
    ("texts empty", fit(x=[], y=[]), "is empty"),
    ("texts None inside", fit(x=[None, "a", "b", "c"]), r"x\[0\]=None"),
    ("texts NaN", fit(x=[float("nan"), "a", "b", "c"]), r"x\[0\]=nan"),
    ("texts bytes", fit(x=[b"abc", "a", "b", "c"]), r"x\[0\]=b'abc'"),
    ("texts numbers", fit(x=[1, 2, 3, 4]), r"x\[0\]=1 of type int"),
    ("texts single string", fit(x="a good film", y=[1]), "not a single string"),
    ("texts and labels lengths", fit(y=[1, 0, 1]), "4 texts and 3 labels"),
    # labels
    ("label out of range", fit(y=[1, 0, 5, 0]), r"y\[2\]=.*5"),
    ("label negative", fit(y=[1, 0, -1, 0]), r"y\[2\]=.*-1"),
    ("label float", fit(y=[1, 0, 0.5, 0]), r"y\[2\]=.*0.5"),
    ("label strings", fit(y=["pos", "neg", "pos", "neg"]), "containing 'pos'"),
    ("validation label", fit(validation_data=(TEXTS, [0, 9, 1, 0])), r"validation_data\[1\]"),
    ("class weight", fit(class_weight="equal"), "class_weight='equal'"),
    ("cache mode", fit(cache_features="disk"), "cache_features='disk'"),
    (
        "unknown label name",
        lambda tmp, preset: data.LabelMap(["a", "b"]).encode(["c"]),
        "Unknown label 'c'",
    ),
    # files
    ("missing file", lambda tmp, preset: kt.load_texts(str(tmp / "no.csv")), "does not exist"),
    ("empty file", load(""), "Could not parse"),
    ("non-UTF-8 file", load(b"text,label\n\xff\xfe,1\n", mode="wb"), "not valid UTF-8"),
    ("wrong delimiter", load("text;label\nok;1\nbad;0\n"), "text_column='text'"),
    ("missing column", load("body,label\nok,1\nbad,0\n"), "text_column='text'"),
    ("missing text", load("text,label\nok,1\n,0\n"), "row 1"),
    ("blank text", load('text,label\nok,1\n" ",0\n'), "are empty"),
    ("missing label", load("text,label\nok,1\nbad,\n"), "labels .* are missing"),
    ("one class", load("text,label\nok,1\nfine,1\n"), "at least two classes"),
    ("unknown format", load("x", name="data.xml"), "must be .csv"),
    ("bad data type", lambda tmp, preset: kt.load_texts(42), "Received: data=int"),
    # models and presets
    ("unknown strategy", transformer(strategy="bogus"), "strategy='bogus'"),
    ("unfreeze_last too big", transformer(strategy="last_n", unfreeze_last=9), "unfreeze_last=9"),
    ("lora_rank zero", transformer(strategy="lora", lora_rank=0), "lora_rank=0"),
    ("max_length too big", transformer(max_length=512), "max_length=512"),
    ("num_classes one", transformer(num_classes=1), "num_classes=1"),
    ("label_names count", transformer(label_names=["only"]), "label_names=\\['only'\\]"),
    ("pooling", transformer(pooling="max"), "pooling='max'"),
    ("preset missing", lambda tmp, preset: kt.TransformerClassifier.from_preset("nope/x"), "nope"),
    ("preset without config", preset_folder(["vocab.txt"]), "no config.json"),
    ("preset without weights", preset_folder(["config.json", "vocab.txt"]), "missing"),
    # saved models and serving
    ("model file missing", saved_file("missing"), "does not exist"),
    ("model not an archive", saved_file("not an archive"), "not a Keras archive"),
    ("model truncated", saved_file("truncated"), "truncated or corrupt"),
    ("model of another kind", saved_file("foreign"), "not a keras_transfer text classifier"),
    ("predict_batch one string", predictor_batch("abc"), "not a single string"),
    ("predict_batch non-string", predictor_batch(["ok", 3]), r"texts\[1\]=3"),
    # comparison
    ("compare strategy", compare(strategies=["bert"]), "strategies="),
    ("compare seeds", compare(seeds=0), "seeds=0"),
    ("compare unwritable out", compare(out="blocker/out"), "cannot be written"),
    ("compare length", compare(strategies=["full"], max_length=999), "max_length=999"),
    (
        "compare missing data",
        lambda tmp, preset: kt.compare_strategies(str(tmp / "no.csv"), out=str(tmp / "out")),
        "does not exist",
    ),
]


@pytest.mark.parametrize("case, call, match", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_bad_input(tmp_path, tiny_preset, case, call, match):
    write(tmp_path / "blocker", "a file where a folder should be")
    before = set(os.listdir(tmp_path))
    with pytest.raises(ValueError, match=match):
        call(tmp_path, tiny_preset)
    after = set(os.listdir(tmp_path)) - before
    # Nothing half-written: no log folder, no output folder. (A few cases write
    # their own fixture files above: the preset folder, the model file, data.)
    assert not after - {"preset", "model.keras", "m.keras", "data.csv", "data.xml"}, after


CLI_CASES = [
    (["compare", "--epochs", "0"], "--epochs must be positive"),
    (["compare", "--seeds", "0"], "--seeds must be positive"),
    (["compare", "--data", "missing.csv"], "does not exist"),
    (["compare", "--strategies", "bert"], "strategies="),
    (["compare", "--max-length", "999"], "max_length=999"),
    (["train", "--strategy", "frozen", "--out", "model.txt"], "must name a .keras file"),
    (["predict", "--model", "missing.keras", "text"], "does not exist"),
]


@pytest.mark.parametrize("args, match", CLI_CASES, ids=[" ".join(c[0][:3]) for c in CLI_CASES])
def test_cli_bad_input(tmp_path, capsys, args, match):
    from keras_transfer.__main__ import main

    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and match in err, err
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    path = tmp_path_factory.mktemp("served") / "m.keras"
    embedding_model().save(path)
    return TestClient(create_app(str(path), max_batch_size=4, max_text_chars=50))


HTTP_CASES = [
    ({}, "/predict", 422),
    ({"text": ""}, "/predict", 422),
    ({"text": None}, "/predict", 422),
    ({"texts": []}, "/predict_batch", 422),
    ({"texts": ["a"] * 5}, "/predict_batch", 413),
    ({"text": "x" * 51}, "/predict", 413),
    ({"texts": ["ok", "x" * 10_000]}, "/predict_batch", 413),
]


@pytest.mark.parametrize("body, path, status", HTTP_CASES)
def test_http_bad_input(client, body, path, status):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert "detail" in response.json() and len(response.content) < 2000
    assert client.post("/predict", json={"text": "still answering"}).status_code == 200


def test_http_body_that_is_not_json(client):
    response = client.post(
        "/predict", content=b"\xff", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500


def test_matrix_has_forty_distinct_inputs():
    assert len(API_CASES) + len(CLI_CASES) + len(HTTP_CASES) + 1 >= 40
    assert np.unique([c[0] for c in API_CASES]).size == len(API_CASES)
