"""Endpoint latency and cross-backend reload differences for a saved all-MiniLM-L6-v2 classifier.

    KERAS_BACKEND=tensorflow python benchmarks/serving_latency.py

Trains a head on the bundled model briefly, saves it, serves it with FastAPI's
TestClient (in-process, no network) and times POST /predict (1 text) and
POST /predict_batch (32 texts): median of repeated calls after a warm-up. Then
reloads the file under each backend (own processes) and prints the largest
prediction difference from the saving backend's.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np

import keras_transfer as kt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_ms(call, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    train, test = kt.load_bundled("fine_foods")
    train = train.sample(64, random_state=0)
    texts = test["text"].sample(32, random_state=0).tolist()
    model = kt.TransformerClassifier.from_preset(
        None, strategy="frozen", max_length=64, label_names=["great", "other"]
    )
    labels = (train["label"] == "other").astype("int32").to_numpy()
    folder = tempfile.mkdtemp()
    model.fit(train["text"].tolist(), labels, epochs=1, verbose=0, log_root=folder)
    path = os.path.join(folder, "minilm.keras")
    model.save(path)
    expected = os.path.join(folder, "expected.npz")
    np.savez(expected, texts=np.array(texts), probabilities=model.predict(texts, verbose=0))

    client = TestClient(create_app(path))
    one, batch = {"text": texts[0]}, {"texts": texts}
    for _ in range(3):  # warm-up: the first calls build the predict function
        client.post("/predict", json=one)
        client.post("/predict_batch", json=batch)
    single = median_ms(lambda: client.post("/predict", json=one), 20)
    many = median_ms(lambda: client.post("/predict_batch", json=batch), 5)
    print(f"backend={keras.config.backend()} model file={os.path.getsize(path) / 1e6:.1f} MB")
    print(f"POST /predict (1 text):         {single:.0f} ms median")
    print(f"POST /predict_batch (32 texts): {many:.0f} ms median ({32000 / many:.0f} texts/s)")
    for backend in ("tensorflow", "jax", "torch"):
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, "tests", "cross_backend_load.py"), path, expected],
            capture_output=True,
            text=True,
            env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        report = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"saved on {keras.config.backend()}, reloaded on {backend}: "
            f"max |diff| = {report['max_abs_diff']:.1e}"
        )


if __name__ == "__main__":
    main()
