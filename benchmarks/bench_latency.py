"""Single-text latency of an exported folder through `keras_transfer_runtime.Predictor`:
where the time goes, and onnxruntime's settings side by side.

    python benchmarks/bench_latency.py EXPORTED_FOLDER [--rounds 300]

Every variant predicts the same texts (rotten_tomatoes test reviews, one at a
time); the variants take turns call by call, in a new random order each
round, so a load that comes and goes on a shared machine falls on all of them
alike. For each: the median, 10th percentile and minimum wall time of one
call, and the median CPU time (`time.process_time`, every thread of the
process), in milliseconds. Also: the time of each step of one call
(tokenization, the arrays, `session.run`, the answer) and the token counts.

Needs only numpy, `tokenizers`, onnxruntime and the bundled data
(`keras_transfer/datasets`, read with the standard library).
"""

import argparse
import csv
import lzma
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def test_texts(count):
    """The first `count` rotten_tomatoes test reviews (the bundled copy)."""
    folder = os.path.join(ROOT, "keras_transfer", "datasets")
    name = next(f for f in sorted(os.listdir(folder)) if f.startswith("rotten_tomatoes_test"))
    opener = lzma.open if name.endswith(".xz") else open
    with opener(os.path.join(folder, name), "rt", encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)][:count]


def variants(path):
    """{name: a function of one text}: each a fresh `Predictor` with its settings."""
    import onnxruntime

    from keras_transfer_runtime import Predictor

    found = {}
    for precision in ("int8", "float32"):
        for threads in (None, 1):
            predictor = Predictor(path, precision=precision, threads=threads)
            label = f"{precision}, {threads or 'default'} thread(s)"
            found[label] = predictor.predict
    # The same int8 graph with onnxruntime's threads spinning (its default).
    spinning = Predictor(path, precision="int8")
    options = onnxruntime.SessionOptions()
    spinning.session = onnxruntime.InferenceSession(
        os.path.join(path, spinning.config["graphs"]["int8"]),
        options,
        providers=["CPUExecutionProvider"],
    )
    found["int8, default threads, spinning"] = spinning.predict
    return found


def steps(predictor, text, repeats=200):
    """Median milliseconds of each step of one `predict(text)`."""
    import numpy as np

    timings = {"tokenize": [], "arrays": [], "session.run": [], "answer": [], "predict": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        tokens = predictor.tokenize([text])
        t1 = time.perf_counter()
        length = int(tokens["lengths"][0])
        feed = {
            name: tokens[name][:, :length].astype(dtype)
            for name, dtype in predictor._input_types.items()
        }
        t2 = time.perf_counter()
        (probabilities,) = predictor.session.run(None, feed)
        t3 = time.perf_counter()
        from keras_transfer_runtime.predictor import result

        result(predictor.label_names, np.asarray(probabilities[0], dtype="float64"))
        t4 = time.perf_counter()
        predictor.predict(text)
        t5 = time.perf_counter()
        for key, (a, b) in zip(
            timings, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)), strict=True
        ):
            timings[key].append((b - a) * 1000)
    return {key: round(statistics.median(values), 3) for key, values in timings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", help="a folder written by keras_transfer.export")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--texts", type=int, default=50)
    args = parser.parse_args()

    from benchmarks.cpu import describe_cpu
    from keras_transfer_runtime import Predictor

    print(describe_cpu())
    with open("/proc/cpuinfo") as f:
        print(next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name")))
    print("load average:", os.getloadavg())
    texts = test_texts(args.texts)
    probe = Predictor(args.path, precision="int8")
    lengths = sorted(int(n) for n in probe.tokenize(texts)["lengths"])
    print(f"{len(texts)} texts, tokens: median {statistics.median(lengths)}, max {lengths[-1]}")
    found = variants(args.path)
    for call in found.values():  # warm-up: the first runs allocate
        for text in texts[:5]:
            call(text)
    wall = {name: [] for name in found}
    cpu = {name: [] for name in found}
    order = list(found)
    rng = random.Random(0)
    for i in range(args.rounds):
        rng.shuffle(order)
        text = texts[i % len(texts)]
        for name in order:
            w, c = time.perf_counter(), time.process_time()
            found[name](text)
            cpu[name].append((time.process_time() - c) * 1000)
            wall[name].append((time.perf_counter() - w) * 1000)
    print("load average:", os.getloadavg())
    print("\n| variant | median ms | p10 ms | min ms | median CPU ms |")
    print("|---|---|---|---|---|")
    for name in found:
        deciles = statistics.quantiles(wall[name], n=10)
        print(
            f"| {name} | {statistics.median(wall[name]):.2f} | {deciles[0]:.2f} | "
            f"{min(wall[name]):.2f} | {statistics.median(cpu[name]):.2f} |"
        )
    short = min(texts, key=len)
    print(f"\nSteps of one call, ms (median of 200), text {short!r}:")
    for precision in ("int8", "float32"):
        print(precision, steps(Predictor(args.path, precision=precision), short))


if __name__ == "__main__":
    main()
