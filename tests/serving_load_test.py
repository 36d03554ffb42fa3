"""A real uvicorn process (`python -m keras_transfer serve`) under concurrent load,
with bad requests mixed in: 8 threads x 50 requests.

Every good answer equals the answer to the same request sent alone, every bad
request gets a 4xx that says why, and the server still answers at the end.
"""

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.helpers import saved_sentiment_model, sentiment_texts, serve_process

THREADS, PER_THREAD, MAX_BATCH = 8, 50, 4

# (body bytes, the status it must get, a fragment of the reason)
BAD = [
    (b'{"text": "   "}', 422, "blank"),
    (b'{"text": ""}', 422, "at least 1 character"),
    (b'{"text": 5}', 422, "valid string"),
    (b'{"text": ["good"]}', 422, "valid string"),
    (b'{"text": "good", "extra": 1}', 422, "Extra inputs"),
    (b'{"text": "good"', 422, "JSON"),
    (b"[1, 2]", 422, "valid dictionary"),
    (b'{"text": "\\ud800"}', 422, "unicode"),
]
BAD_BATCH = [
    (json.dumps({"texts": ["good"] * (MAX_BATCH + 1)}).encode(), 413, "at most 4 items"),
    (b'{"texts": "good"}', 422, "valid list"),
    (b'{"texts": []}', 422, "at least 1 item"),
    (b'{"texts": ["good", null]}', 422, "valid string"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A tiny embedding classifier, saved and served by a real uvicorn process."""
    folder = tmp_path_factory.mktemp("load")
    path = saved_sentiment_model(folder)
    with serve_process(path, folder, "--max-batch-size", str(MAX_BATCH)) as running:
        yield running


def request(base, method, path, body=None):
    """(status, parsed JSON answer) of one request."""
    req = urllib.request.Request(
        base + path, data=body, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def plan():
    """400 requests: good single texts, good batches, and bad requests of every kind."""
    texts, _ = sentiment_texts(40, seed=3)
    calls = []
    for i in range(THREADS * PER_THREAD):
        kind = i % 5
        if kind in (0, 1):
            calls.append(("/predict", json.dumps({"text": texts[i % 40]}).encode(), 200, None))
        elif kind == 2:
            batch = [texts[(i + j) % 40] for j in range(1 + i % MAX_BATCH)]
            calls.append(("/predict_batch", json.dumps({"texts": batch}).encode(), 200, None))
        elif kind == 3:
            calls.append(("/predict", *BAD[(i // 5) % len(BAD)]))
        else:
            calls.append(("/predict_batch", *BAD_BATCH[(i // 5) % len(BAD_BATCH)]))
    return calls


def same_answer(got, expected):
    if "predictions" in expected:
        return len(got["predictions"]) == len(expected["predictions"]) and all(
            same_answer(g, e)
            for g, e in zip(got["predictions"], expected["predictions"], strict=True)
        )
    probabilities = [got["probabilities"][label] for label in expected["probabilities"]]
    return got["label"] == expected["label"] and np.allclose(
        probabilities, list(expected["probabilities"].values()), atol=1e-6
    )


def test_concurrent_load_with_bad_requests(server):
    base, process, log = server
    calls = plan()
    sequential = {}  # each distinct good request, answered alone
    for path, body, status, _ in calls:
        if status == 200 and (path, body) not in sequential:
            sequential[path, body] = request(base, "POST", path, body)
            assert sequential[path, body][0] == 200, sequential[path, body]

    def client(thread):
        return [
            request(base, "POST", path, body)
            for path, body, _, _ in calls[thread * PER_THREAD : (thread + 1) * PER_THREAD]
        ]

    start = time.time()
    with ThreadPoolExecutor(THREADS) as pool:
        answers = [a for thread in pool.map(client, range(THREADS)) for a in thread]
    seconds = time.time() - start
    assert len(answers) == THREADS * PER_THREAD
    good = bad = 0
    for (path, body, status, reason), (got_status, got) in zip(calls, answers, strict=True):
        assert got_status == status, (path, body[:80], got_status, got)
        if status == 200:
            assert same_answer(got, sequential[path, body][1]), (body[:80], got)
            good += 1
        else:
            text = json.dumps(got)
            assert reason in text and len(text) < 2000, (body[:80], text)
            bad += 1
    assert good == 240 and bad == 160

    # Still answering, and nothing went wrong inside the server.
    assert request(base, "GET", "/health") == (200, {"status": "ok"})
    assert request(base, "POST", "/predict", b'{"text": "a great film"}')[0] == 200
    assert request(base, "GET", "/info")[1]["max_batch_size"] == MAX_BATCH
    assert process.poll() is None
    with open(log) as f:
        output = f.read()
    assert "Traceback" not in output and " 500 " not in output, output[-3000:]
    assert seconds < 60, f"{THREADS * PER_THREAD} requests took {seconds:.1f} s"
