"""kt.export and keras_transfer_runtime: an exported folder predicts as the Keras model does."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.exporting import supported_formats
from tests import token_classifier_test as tagging
from tests.helpers import sentiment_texts, serve_process

LABELS = ["negative", "positive"]
TAGS = tagging.TAGS
tagger_preset = tagging.ner_preset  # the fixture: a tiny BERT tagger's preset
# Short and long texts: batches padded to different lengths, some truncated to 32 tokens.
TEXTS = sentiment_texts(12, seed=3)[0] + ["good " * 20, "the film was awful " * 10]


def _needs(format):
    backend = keras.config.backend()
    if format not in supported_formats(backend):
        pytest.skip(
            f"format={format!r} does not export on the {backend} backend "
            f"(Keras exports it with static shapes only, or needs a converter not installed); "
            f"formats here: {supported_formats(backend)}"
        )


@pytest.fixture(scope="module")
def fitted(tiny_preset, tmp_path_factory):
    keras.utils.set_random_seed(1)
    # The head trains on cached encoder features: one epoch in a second on every backend.
    model = kt.TransformerClassifier.from_preset(
        tiny_preset, num_classes=2, max_length=32, label_names=LABELS, strategy="frozen"
    )
    texts, labels = sentiment_texts(32)
    log_root = str(tmp_path_factory.mktemp("export_logs"))
    model.fit(texts, labels, epochs=1, batch_size=16, verbose=0, log_root=log_root)
    return model


@pytest.fixture(scope="module")
def onnx_folder(fitted, tmp_path_factory):
    """One ONNX export (float32 and int8 graphs) of the fitted model."""
    _needs("onnx")
    path = str(tmp_path_factory.mktemp("onnx_export") / "exported")
    return kt.export(fitted, path, format="onnx", quantize="int8")


def test_onnx_folder_describes_itself_and_matches_keras(fitted, onnx_folder):
    from keras_transfer_runtime import Predictor

    assert sorted(os.listdir(onnx_folder)) == [
        "config.json",
        "model.int8.onnx",
        "model.onnx",
        "tokenizer.json",
    ]
    with open(os.path.join(onnx_folder, "config.json")) as f:
        config = json.load(f)
    assert config["labels"] == LABELS and config["max_length"] == 32
    assert config["task"] == "text_classification" and config["pooling"] == "cls"
    assert config["input_names"] == list(fitted.backbone.input)
    assert config["toolkit_version"] == kt.__version__

    predictor = Predictor(onnx_folder, precision="float32")
    expected = fitted.predict(np.array(TEXTS), verbose=0)
    np.testing.assert_allclose(predictor.probabilities(TEXTS, batch_size=4), expected, atol=1e-4)


def test_saved_model_export_matches_keras(fitted, tmp_path):
    _needs("tf_saved_model")
    import tensorflow as tf

    path = kt.export(fitted, str(tmp_path / "exported"), format="tf_saved_model")
    assert sorted(os.listdir(path)) == ["config.json", "saved_model", "tokenizer.json"]
    served = tf.saved_model.load(os.path.join(path, "saved_model"))
    tokens = fitted.tokenize(TEXTS)
    for length in (16, 32):  # dynamic sequence length: each bucket
        inputs = {k: tokens[k][:, :length].astype("int32") for k in fitted.backbone.input}
        expected = np.asarray(fitted.predict_on_batch(inputs))
        got = served.serve({k: tf.constant(v) for k, v in inputs.items()})
        np.testing.assert_allclose(np.asarray(got), expected, atol=1e-4)


def test_runtime_predictor_answers_as_kt_predictor(fitted, onnx_folder, tmp_path):
    from keras_transfer_runtime import Predictor

    fitted.save(str(tmp_path / "model.keras"))
    reference = kt.Predictor(str(tmp_path / "model.keras"))
    runtime = Predictor(onnx_folder, precision="float32")
    expected, got = reference.predict_batch(TEXTS), runtime.predict_batch(TEXTS)
    assert [r["label"] for r in got] == [r["label"] for r in expected]
    for g, e in zip(got, expected, strict=True):
        assert list(g["probabilities"]) == LABELS
        np.testing.assert_allclose(
            list(g["probabilities"].values()), list(e["probabilities"].values()), atol=1e-4
        )
    assert json.loads(json.dumps(got)) == got
    assert runtime.predict(TEXTS[0])["label"] == expected[0]["label"]
    assert runtime.info["labels"] == LABELS and runtime.info["backend"] == "onnxruntime"
    assert runtime.predict_batch([]) == []
    with pytest.raises(ValueError, match="blank"):
        runtime.predict_batch(["fine", "  "])
    with pytest.raises(ValueError, match="single string"):
        runtime.predict_batch("one text")


def _run_without_frameworks(code):
    """stdout of `code` run in a fresh process that fails if it imported a framework."""
    code += (
        "\nimport sys\n"
        "heavy = {'tensorflow', 'jax', 'torch', 'keras', 'keras_hub', 'keras_transfer'}\n"
        "loaded = sorted(heavy & {m.split('.')[0] for m in sys.modules})\n"
        "sys.exit(f'imported {loaded}' if loaded else 0)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_runtime_imports_no_framework(onnx_folder):
    out = _run_without_frameworks(
        "from keras_transfer_runtime import Predictor\n"
        f"print(Predictor({onnx_folder!r}).predict('a great film')['label'])"
    )
    assert out.strip() in LABELS


def test_int8_graph_runs_and_stays_close(onnx_folder):
    from keras_transfer_runtime import Predictor

    int8 = Predictor(onnx_folder)  # the folder's default graph: int8 when exported so
    assert int8.precision == "int8"
    full = Predictor(onnx_folder, precision="float32").probabilities(TEXTS)
    quantized = int8.probabilities(TEXTS)
    assert np.isfinite(quantized).all()
    assert np.abs(quantized - full).max() < 0.1
    assert (quantized.argmax(1) == full.argmax(1)).mean() >= 0.8


def test_serve_uses_the_runtime_for_an_exported_folder(onnx_folder):
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    client = TestClient(create_app(onnx_folder))
    assert client.get("/info").json()["backend"] == "onnxruntime"
    answer = client.post("/predict_batch", json={"texts": TEXTS[:3]}).json()["predictions"]
    assert [list(a["probabilities"]) for a in answer] == [LABELS] * 3
    assert client.post("/predict", json={"text": " "}).status_code == 422


# The peak resident memory of this process (VmHWM: Linux keeps getrusage's ru_maxrss across
# fork and exec, so a child of the test process would report the test process's peak).
PEAK_RSS_MB = (
    "def peak_rss_mb(pid='self'):\n"
    "    with open(f'/proc/{pid}/status') as f:\n"
    "        return next(int(v.split()[1]) for v in f if v.startswith('VmHWM:')) / 1024\n"
)


def _peak_rss_mb(pid):
    namespace = {}
    exec(PEAK_RSS_MB, namespace)
    return namespace["peak_rss_mb"](pid)


def test_runtime_server_serves_without_frameworks(onnx_folder, tmp_path, capsys):
    from keras_transfer_runtime import Predictor
    from keras_transfer_runtime.__main__ import main

    out = _run_without_frameworks(
        "import json\n"
        "from fastapi.testclient import TestClient\n"
        "from keras_transfer_runtime.server import create_app\n"
        f"{PEAK_RSS_MB}"
        f"client = TestClient(create_app({onnx_folder!r}))\n"
        "answers = [client.get('/health').json(), client.get('/info').json(),\n"
        "           client.post('/predict', json={'text': 'a great film'}).json()]\n"
        "print(json.dumps([answers, peak_rss_mb()]))"
    )
    (health, info, answer), peak_mb = json.loads(out)
    assert health == {"status": "ok"} and info["backend"] == "onnxruntime"
    assert info["labels"] == LABELS and list(answer["probabilities"]) == LABELS
    assert peak_mb < 250, f"the serving process peaked at {peak_mb:.0f} MB resident"

    # The command, in a real uvicorn process: its answers, and its peak RSS.
    with serve_process(onnx_folder, tmp_path, module="keras_transfer_runtime") as (base, p, _):
        import urllib.request

        request = urllib.request.Request(
            base + "/predict_batch",
            data=json.dumps({"texts": TEXTS[:3]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request) as r:
            predictions = json.loads(r.read())["predictions"]
        with urllib.request.urlopen(base + "/info") as r:
            assert json.loads(r.read())["backend"] == "onnxruntime"
        server_mb = _peak_rss_mb(p.pid)
    expected = Predictor(onnx_folder).predict_batch(TEXTS[:3])
    assert [a["label"] for a in predictions] == [e["label"] for e in expected]
    assert server_mb < 250, f"the uvicorn process peaked at {server_mb:.0f} MB resident"
    with capsys.disabled():
        print(
            f"\nruntime server peak RSS: {peak_mb:.0f} MB (one process with TestClient), "
            f"{server_mb:.0f} MB (uvicorn)"
        )

    assert main(["serve", "--model", str(tmp_path / "model.keras")]) == 2
    error = capsys.readouterr().err
    assert "python -m keras_transfer serve --model" in error and error.count("\n") == 1


def test_predict_command_reads_an_exported_folder(onnx_folder, capsys):
    from keras_transfer.__main__ import main

    assert main(["predict", "--model", onnx_folder, "a great film", "an awful film"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == ["a great film", "an awful film"]
    assert all(line["label"] in LABELS for line in lines)
    os.mkdir("not_exported")
    assert main(["predict", "--model", "not_exported", "a great film"]) == 2
    assert "written by `keras_transfer.export`" in capsys.readouterr().err


def test_multi_task_lora_export(tiny_preset, tmp_path):
    if keras.config.backend() != "torch":
        pytest.skip(
            "one ONNX export per backend in this file: on tensorflow and jax ONNX goes through "
            "a PyTorch subprocess (about 30 s), tested with the single-task model"
        )
    from keras_transfer_runtime import Predictor

    model = kt.MultiTaskClassifier.from_preset(
        tiny_preset,
        tasks={"sentiment": 2, "topic": 3},
        strategy="lora",
        max_length=16,
        label_names={"sentiment": LABELS},
    )
    path = kt.export(model, str(tmp_path / "exported"))
    predictor = Predictor(path)
    expected = model.predict(np.array(TEXTS), verbose=0)
    got = predictor.probabilities(TEXTS)
    for task in ("sentiment", "topic"):
        np.testing.assert_allclose(got[task], expected[task], atol=1e-4)
    answer = predictor.predict("a great film")
    assert list(answer["sentiment"]["probabilities"]) == LABELS
    assert list(answer["topic"]["probabilities"]) == ["LABEL_0", "LABEL_1", "LABEL_2"]


def test_formats_that_need_a_missing_package_say_which(fitted, tmp_path, monkeypatch):
    import importlib.util

    backend = keras.config.backend()
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("openvino", "litert_torch") else find_spec(name, *a),
    )
    with pytest.raises(ValueError, match="needs the `openvino` package.*pip install openvino"):
        kt.export(fitted, str(tmp_path / "a"), format="openvino")
    if backend == "torch":
        with pytest.raises(ValueError, match="`litert-torch` package.*pip install litert-torch"):
            kt.export(fitted, str(tmp_path / "a"), format="litert")
    else:  # TensorFlow's own converter (no package to add), or no LiteRT export at all (JAX)
        with pytest.raises(ValueError, match=f"format='litert'.* not exported on the {backend}"):
            kt.export(fitted, str(tmp_path / "a"), format="litert")
    assert not os.path.exists(tmp_path / "a")


def test_bad_format_quantization_and_models_are_refused(fitted, tiny_preset, tmp_path):
    backend = keras.config.backend()
    with pytest.raises(ValueError, match="`format` must be one of .*format='pickle'"):
        kt.export(fitted, str(tmp_path / "a"), format="pickle")
    with pytest.raises(ValueError, match=f"format='openvino'.* {backend} backend"):
        kt.export(fitted, str(tmp_path / "a"), format="openvino")
    with pytest.raises(ValueError, match="quantize='int4'"):
        kt.export(fitted, str(tmp_path / "a"), quantize="int4")
    with pytest.raises(ValueError, match="format='tf_saved_model'"):
        kt.export(fitted, str(tmp_path / "a"), format="tf_saved_model", quantize="int8")
    with pytest.raises(ValueError, match="type Sequential"):
        kt.export(keras.Sequential([keras.layers.Dense(2)]), str(tmp_path / "a"))
    assert not os.path.exists(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="path"):
        kt.export(fitted, str(tmp_path / "b"))


@pytest.fixture(scope="module")
def exported_tagger(tagger_preset, tmp_path_factory):
    """A tiny (untrained) tagger and its ONNX export."""
    if keras.config.backend() != "torch":
        pytest.skip("one ONNX export per backend in this file (see test_multi_task_lora_export)")
    keras.utils.set_random_seed(5)
    model = kt.TokenClassifier.from_preset(tagger_preset, tag_names=TAGS, max_length=16)
    return model, kt.export(model, str(tmp_path_factory.mktemp("tagger") / "exported"))


def test_token_classifier_export_tags_words_as_keras(exported_tagger):
    from keras_transfer_runtime import Predictor, TokenPredictor

    model, path = exported_tagger
    words = [[str(w) for w in sentence] for sentence in tagging.ner_sentences(6, seed=1)[0]] + [
        ["ada", "unbelievable", "zzqx", "paris"],  # a word in three sub-tokens, an unknown one
        ["Ada", "UNBELIEVABLE", "in", "Paris", "1984", ","],  # word shapes (an uncased model)
        ["john", "lives", "in", "new", "york"] * 3,  # cut at 16 tokens: the rest is "O"
        ["rome"],
    ]
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    assert config["task"] == "token_classification" and config["tags"] == TAGS
    assert config["word_alignment"] == "first_sub_token"
    assert config["word_shape"] is True and "word_shapes" in config["input_names"]

    tagger = TokenPredictor(path)
    with pytest.warns(UserWarning, match="do not fit in max_length=16"):
        expected = model.predict(words)
    assert tagger.predict(words, batch_size=4) == expected
    aligned = model.preprocessor.align(words)
    inputs = {k: aligned[k] for k in model.input}
    tokens = np.asarray(model.predict(inputs, verbose=0))
    got = tagger.probabilities(words, batch_size=4)
    for i, (starts, values) in enumerate(zip(aligned["starts"], got, strict=True)):
        assert values.shape == (len(words[i]), len(TAGS))
        kept = starts >= 0
        np.testing.assert_allclose(values[kept], tokens[i][starts[kept]], atol=1e-4)
        assert not values[~kept].any()
    assert (aligned["starts"][-2] < 0).any()  # the long sentence was cut

    out = _run_without_frameworks(
        "import json\n"
        "from keras_transfer_runtime import TokenPredictor\n"
        f"tagger = TokenPredictor({path!r})\n"
        f"print(json.dumps([tagger.predict({words!r}), tagger.tag('John lives in Paris.')]))"
    )
    tags, tagged = json.loads(out)
    assert tags == expected
    assert tagged["words"] == ["John", "lives", "in", "Paris", "."]
    assert tagged["tags"] == model.predict([tagged["words"]])[0]
    with pytest.raises(ValueError, match="TokenPredictor"):
        Predictor(path)
    with pytest.raises(ValueError, match="one list of words per sentence"):
        tagger.predict(["john lives in paris"])


def test_serve_tags_texts_with_the_runtime(exported_tagger, capsys):
    from fastapi.testclient import TestClient

    from keras_transfer.__main__ import main
    from keras_transfer.serving import create_app
    from keras_transfer_runtime.tagging import tag_texts

    model, path = exported_tagger
    texts = ["Ada Lovelace visited Paris, then London.", "the city of rome and mary today " * 3]
    with pytest.warns(UserWarning, match="do not fit"):  # the second text is cut at 16 tokens
        expected = tag_texts(model.predict, texts)
    client = TestClient(create_app(path))
    info = client.get("/info").json()
    assert info["task"] == "token_classification" and info["backend"] == "onnxruntime"
    assert client.post("/tag_batch", json={"texts": texts}).json() == {"predictions": expected}
    assert client.post("/tag", json={"text": texts[0]}).json() == expected[0]
    answer = client.post("/predict", json={"text": texts[0]})
    assert answer.status_code == 404 and "POST /tag" in answer.json()["detail"]
    assert main(["predict", "--model", path, texts[0]]) == 0
    assert json.loads(capsys.readouterr().out) == {"text": texts[0], **expected[0]}
    out = _run_without_frameworks(
        "import json\n"
        "from fastapi.testclient import TestClient\n"
        "from keras_transfer_runtime.server import create_app\n"
        f"client = TestClient(create_app({path!r}))\n"
        f"print(json.dumps(client.post('/tag', json={{'text': {texts[0]!r}}}).json()))"
    )
    assert json.loads(out) == expected[0]
