"""Saved models load after a bare `import keras_transfer`, in a fresh process."""

import os
import subprocess
import sys

import numpy as np

import keras_transfer as kt
from tests.helpers import tiny_vectors

LOAD = """
import sys, numpy as np, keras_transfer, keras
texts = ["a good film", "a bad film"]
for path in sys.argv[1:]:
    model = keras.saving.load_model(path)
    if hasattr(model, "tag_names"):  # a token classifier: per-token probabilities
        x = model.preprocessor.align([t.split() for t in texts])
        p = model.predict({k: x[k] for k in model.input}, verbose=0).reshape(2, -1)
    else:
        p = model.predict(texts, verbose=0)
    p = np.concatenate([p[k] for k in sorted(p)], 1) if isinstance(p, dict) else p
    np.save(path + ".npy", p)
"""


def predict(model, texts):
    if hasattr(model, "tag_names"):
        x = model.preprocessor.align([t.split() for t in texts])
        return model.predict({k: x[k] for k in model.input}, verbose=0).reshape(2, -1)
    predictions = model.predict(texts, verbose=0)
    if isinstance(predictions, dict):
        return np.concatenate([predictions[k] for k in sorted(predictions)], 1)
    return predictions


def test_saved_models_load_in_a_fresh_process(tmp_path, tiny_preset):
    texts = ["a good film", "a bad film"]
    models = {
        "embedding.keras": kt.EmbeddingClassifier.from_word_vectors(tiny_vectors(), max_length=8),
        "transformer.keras": kt.TransformerClassifier.from_preset(
            tiny_preset, strategy="lora", max_length=8
        ),
        "setfit.keras": kt.SetFitClassifier.from_preset(tiny_preset, max_length=8),
        "zero_shot.keras": kt.ZeroShotClassifier.from_preset(
            tiny_preset, label_names=["good", "bad"], max_length=8
        ),
        "multi_task.keras": kt.MultiTaskClassifier.from_preset(
            tiny_preset, tasks={"a": 2, "b": 3}, strategy="lora", max_length=8
        ),
        "token.keras": kt.TokenClassifier.from_preset(
            tiny_preset, tag_names=["O", "B-X", "I-X"], strategy="lora", max_length=8
        ),
    }
    paths = []
    for name, model in models.items():
        model.compile(optimizer=kt.adamw_with_warmup(10))  # a registered schedule too
        model.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-c", LOAD, *paths], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name, model in models.items():
        np.testing.assert_allclose(
            np.load(tmp_path / f"{name}.npy"), predict(model, texts), atol=1e-5
        )
    # TensorFlow's C++ start-up notes stay off a user's stderr (Keras, imported
    # after the toolkit, prints none either).
    assert "cuda" not in result.stderr.lower() and "oneDNN" not in result.stderr, result.stderr
