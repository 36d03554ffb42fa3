"""Shared test helpers: tiny vectors, TensorBoard event reading."""

import contextlib
import glob
import os

import numpy as np

POSITIVE = ["good", "great", "excellent", "love", "wonderful", "happy", "best", "nice"]
NEGATIVE = ["bad", "awful", "terrible", "hate", "horrible", "sad", "worst", "poor"]
NEUTRAL = ["the", "film", "food", "service", "was", "is", "really", "very", "this", "a"]


def tiny_vectors(dim=8, seed=0):
    """A {word: vector} dict where sentiment words sit in two clusters."""
    rng = np.random.default_rng(seed)
    vectors = {}
    for word in NEUTRAL:
        vectors[word] = rng.normal(0, 0.1, dim)
    for sign, words in ((1.0, POSITIVE), (-1.0, NEGATIVE)):
        for word in words:
            v = rng.normal(0, 0.1, dim)
            v[0] += sign
            vectors[word] = v
    return vectors


def tiny_backbone(vocabulary_size, **kwargs):
    """A randomly initialised 2-block, hidden-32 BERT backbone."""
    import keras_hub

    config = dict(num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64)
    config.update(kwargs)
    return keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, max_sequence_length=64, **config
    )


def sentiment_texts(n=64, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = POSITIVE if label else NEGATIVE
        sentence = [rng.choice(NEUTRAL), rng.choice(words), rng.choice(NEUTRAL), rng.choice(words)]
        texts.append(" ".join(sentence))
        labels.append(label)
    return texts, np.array(labels)


def read_events(run_dir, subdir="train"):
    """{tag: [(step, value or tensor proto)]} from a TensorBoard run folder."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = os.path.join(run_dir, subdir)
    ea = EventAccumulator(path, size_guidance={"tensors": 0, "scalars": 0})
    ea.Reload()
    return {tag: ea.Tensors(tag) for tag in ea.Tags()["tensors"]}


def run_dirs(root):
    return sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d))


def saved_sentiment_model(folder, texts=16, epochs=1, **kwargs):
    """A tiny embedding classifier (negative / positive) fitted on `texts`
    sentiment texts and saved in `folder`; returns the .keras path."""
    import keras_transfer as kt

    model = kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(),
        max_length=8,
        hidden_units=(8,),
        dropout=(0.0,),
        label_names=["negative", "positive"],
        **kwargs,
    )
    model.fit(*sentiment_texts(texts), epochs=epochs, verbose=0, log_root=str(folder / "logs"))
    path = str(folder / "model.keras")
    model.save(path)
    return path


@contextlib.contextmanager
def serve_process(model_path, folder, *args, module="keras_transfer"):
    """`python -m <module> serve --model model_path` (`module`: keras_transfer,
    or keras_transfer_runtime for an exported folder) in a real uvicorn process
    on a free loopback port; yields (base URL, process, log path)."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log_path = os.path.join(folder, "server.log")
    log = open(log_path, "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", module, "serve", "--model", str(model_path)]
        + ["--port", str(port), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": root, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, open(log_path).read()[-3000:]
            assert time.time() < deadline, "the server did not start in 120 s"
            time.sleep(0.3)
        yield base, process, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
