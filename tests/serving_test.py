import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_transfer as kt
from tests.helpers import sentiment_texts, tiny_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("tensorflow", "jax", "torch")


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory, tiny_preset):
    """An embedding classifier and a LoRA transformer, trained briefly and saved."""
    folder = tmp_path_factory.mktemp("saved")
    texts, labels = sentiment_texts(16)
    models = {
        "embedding": kt.EmbeddingClassifier.from_word_vectors(
            tiny_vectors(), max_length=8, label_names=["negative", "positive"]
        ),
        "lora": kt.TransformerClassifier.from_preset(
            tiny_preset, strategy="lora", max_length=16, label_names=["negative", "positive"]
        ),
    }
    paths = {}
    for name, model in models.items():
        model.fit(texts, labels, epochs=1, verbose=0, log_root=str(folder / "logs"))
        path = str(folder / f"{name}.keras")
        model.save(path)
        probabilities = model.predict(texts, verbose=0)
        np.savez(folder / f"{name}.npz", texts=np.array(texts), probabilities=probabilities)
        paths[name] = path
    return paths


def test_predictor_names_labels(saved_models):
    predictor = kt.Predictor(saved_models["embedding"])
    result = predictor.predict("really great film")
    assert set(result) == {"label", "probabilities"}
    assert set(result["probabilities"]) == {"negative", "positive"}
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    batch = predictor.predict_batch(["great", "awful", "the " * 5000])  # over-long: truncated
    assert len(batch) == 3 and all(r["label"] in ("negative", "positive") for r in batch)
    assert predictor.predict_batch([]) == []
    with pytest.raises(ValueError, match="texts\\[0\\]=3"):
        predictor.predict_batch([3])


def test_saved_models_reload_under_another_backend(saved_models):
    """Same backend in-process (<= 1e-5), the next backend in its own process (<= 1e-4):
    tensorflow -> jax -> torch -> tensorflow, so that `make test`, one run per backend,
    saves under every backend and loads under every backend."""
    for name, path in saved_models.items():
        expected = np.load(path.replace(".keras", ".npz"))
        model = keras.saving.load_model(path)
        got = model.predict([str(t) for t in expected["texts"]], verbose=0)
        assert np.max(np.abs(got - expected["probabilities"])) <= 1e-5, name
    pairs = [
        arg for path in saved_models.values() for arg in (path, path.replace(".keras", ".npz"))
    ]
    others = [BACKENDS[(BACKENDS.index(keras.config.backend()) + 1) % len(BACKENDS)]]
    procs = {
        backend: subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "cross_backend_load.py"), *pairs],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        for backend in others
    }
    for backend, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        for line in stdout.strip().splitlines()[-len(saved_models) :]:
            report = json.loads(line)
            assert report["backend"] == backend
            assert report["max_abs_diff"] <= 1e-4, report


def test_saved_models_keep_jit_compile_auto(saved_models):
    """Keras saves `jit_compile` as resolved on the saving backend (True on JAX), which
    would reload under PyTorch with `torch.compile`; the toolkit's models save "auto"."""
    import zipfile

    for path in saved_models.values():
        config = json.loads(zipfile.ZipFile(path).read("config.json"))
        assert config["compile_config"]["jit_compile"] == "auto", path


def test_bad_model_files(tmp_path, saved_models):
    with pytest.raises(ValueError, match="does not exist"):
        kt.Predictor(tmp_path / "missing.keras")
    text_file = tmp_path / "notes.keras"
    text_file.write_text("not a model")
    with pytest.raises(ValueError, match="not a Keras archive"):
        kt.Predictor(text_file)
    data = open(saved_models["embedding"], "rb").read()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt|not a Keras archive"):
        kt.Predictor(truncated)
    foreign = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    foreign_path = tmp_path / "foreign.keras"
    foreign.save(foreign_path)
    with pytest.raises(ValueError, match="not a keras_transfer text classifier"):
        kt.Predictor(foreign_path)
    assert foreign_path.exists() and truncated.read_bytes() == data[: len(data) // 2]


def test_a_model_saved_without_label_names_predicts_label_ids(tmp_path):
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    path = str(tmp_path / "unnamed.keras")
    model = kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8)
    model.fit(*sentiment_texts(8), epochs=1, verbose=0, log_root=str(tmp_path / "logs"))
    model.save(path)
    result = kt.Predictor(path).predict("a great film")
    assert set(result["probabilities"]) == {"LABEL_0", "LABEL_1"}
    client = TestClient(create_app(path))
    info = client.get("/info").json()
    assert info["labels"] == ["LABEL_0", "LABEL_1"] and "without label names" in info["labels_note"]
    assert client.post("/predict", json={"text": "good"}).json()["label"] in info["labels"]


def test_label_names_are_checked():
    with pytest.raises(ValueError, match="label_names"):
        kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), label_names=["only one"])


@pytest.fixture(scope="module")
def client(saved_models):
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    return TestClient(create_app(saved_models["embedding"], max_batch_size=4, max_text_chars=100))


def test_endpoints(client):
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/info").json()
    assert info["labels"] == ["negative", "positive"] and info["backend"] == keras.config.backend()
    one = client.post("/predict", json={"text": "a great film"})
    assert one.status_code == 200 and one.json()["label"] in info["labels"]
    batch = client.post("/predict_batch", json={"texts": ["good", "bad"]})
    assert batch.status_code == 200 and len(batch.json()["predictions"]) == 2


@pytest.mark.parametrize(
    "path, body, match",
    [
        ("/predict", {}, "text"),
        ("/predict", {"text": ""}, "at least 1 character"),
        ("/predict", {"text": " \n\t"}, "blank"),
        ("/predict_batch", {"texts": ["good", "  "]}, "blank"),
        ("/predict", {"text": 5}, "string"),
        ("/predict", {"text": "ok", "extra": 1}, "Extra inputs"),
        ("/predict_batch", {"texts": "good"}, "list"),
        ("/predict_batch", {"texts": []}, "at least 1 item"),
        ("/predict_batch", {"texts": ["a", 3]}, "string"),
    ],
)
def test_bad_bodies_get_422(client, path, body, match):
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert match in json.dumps(response.json())


@pytest.mark.parametrize(
    "path, body, match",
    [
        ("/predict", {"text": "x" * 101}, "at most 100 characters"),
        ("/predict", {"text": "x" * 1_000_000}, "at most 100 characters"),
        ("/predict_batch", {"texts": ["a"] * 5}, "at most 4 items"),
    ],
)
def test_oversize_bodies_get_413_without_echo(client, path, body, match):
    response = client.post(path, json=body)
    assert response.status_code == 413
    assert match in response.text and len(response.content) < 2000


def test_lone_surrogate_gets_422(client):
    response = client.post(
        "/predict", content=b'{"text": "\\ud800"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "unicode" in response.text
    assert client.post("/predict", json={"text": "still fine"}).status_code == 200


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_predictor_refuses_blank_texts(saved_models, text):
    predictor = kt.Predictor(saved_models["embedding"])
    with pytest.raises(ValueError, match="`text` must not be blank"):
        predictor.predict(text)
    with pytest.raises(ValueError, match="texts\\[1\\]"):
        predictor.predict_batch(["good", text])


def test_predict_batch_refuses_a_single_string(saved_models):
    with pytest.raises(ValueError, match="not a single string"):
        kt.Predictor(saved_models["embedding"]).predict_batch("abc")


def test_non_json_body_gets_422(client):
    response = client.post(
        "/predict", content=b"\xff\xfe", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert client.get("/health").status_code == 200


def test_cli_predict(saved_models, capsys):
    from keras_transfer.__main__ import main

    assert main(["predict", "--model", saved_models["embedding"], "great film", "awful film"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["text"] for line in lines] == ["great film", "awful film"]
    assert lines[0]["label"] in ("negative", "positive")
    assert main(["predict", "--model", "nope.keras", "x"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["predict", "--model", saved_models["embedding"], "good", " "]) == 2
    captured = capsys.readouterr()
    assert "must not be blank" in captured.err and not captured.out


@pytest.mark.parametrize("shuffle, cache", [(False, True), (True, True), (True, False)])
def test_interrupted_fit_resumes_to_the_same_weights(tmp_path, shuffle, cache):
    # With shuffling, each epoch's order comes from (seed, epoch), so the
    # resumed epochs see the orders the uninterrupted run saw.
    texts, labels = sentiment_texts(32)

    def build():
        # No dropout: BackupAndRestore restores weights, optimizer and epoch,
        # not the dropout RNG stream, so only a dropout-free run is bit-comparable.
        keras.utils.set_random_seed(0)
        return kt.EmbeddingClassifier.from_word_vectors(
            tiny_vectors(), max_length=8, hidden_units=(16,), dropout=(0.0,)
        )

    def fit(model, extra):
        stop = keras.callbacks.EarlyStopping(monitor="loss", patience=100)
        model.fit(
            texts,
            labels,
            epochs=4,
            batch_size=8,
            shuffle=shuffle,
            cache_features=cache,
            verbose=0,
            callbacks=[stop, *extra],
        )

    reference = build()
    fit(reference, [])

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("killed mid-way")

    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        fit(build(), [keras.callbacks.BackupAndRestore(backup), Crash()])
    resumed = build()
    epochs_seen = []
    fit(
        resumed,
        [
            keras.callbacks.BackupAndRestore(backup),
            keras.callbacks.LambdaCallback(
                on_epoch_begin=lambda epoch, logs: epochs_seen.append(epoch)
            ),
        ],
    )
    assert epochs_seen == [2, 3]
    for a, b in zip(reference.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6, err_msg=a.path
        )
