"""What a whole `fit` costs beyond its steps: the fixed costs, measured side by side.

    python benchmarks/bench_fit_overhead.py                     # tensorflow, jax, torch
    python benchmarks/bench_fit_overhead.py --backends jax

Each backend runs in its own process (a fresh, empty compilation cache), on
the bundled all-MiniLM-L6-v2 and 96 fine-food reviews (80 to train, 16 to
validate; max length 128, batch 16, 3 epochs, every mandatory callback on),
and measures:

- the whole `fit` of a `full` model, then of a second, new `full` model in
  the same process (same graph, same batch shapes: on JAX its programs come
  from the persistent compilation cache instead of XLA), and the first
  `predict` of each;
- one epoch's TensorBoard weight logging (histograms and images of 22 M
  weights) by Keras' own callback and by the toolkit's, on the same weights.

The last line per backend is `<backend>: second_fit_ratio=<first/second>
tensorboard_ratio=<keras/ours>`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def child():
    import keras

    import keras_transfer as kt

    train, _ = kt.load_bundled("fine_foods")
    train = train.sample(96, random_state=0)
    texts = train["text"].tolist()
    names = sorted(set(train["label"]))
    labels = [names.index(label) for label in train["label"]]
    os.chdir(tempfile.mkdtemp())
    result = {}
    for run in ("first", "second"):
        keras.utils.set_random_seed(0)
        model = kt.TransformerClassifier.from_preset(
            None, num_classes=len(names), strategy="full", max_length=128
        )
        start = time.perf_counter()
        model.fit(
            texts[:80],
            labels[:80],
            validation_data=(texts[80:], labels[80:]),
            batch_size=16,
            epochs=3,
            verbose=0,
        )
        result[f"{run}_fit_s"] = time.perf_counter() - start
        start = time.perf_counter()
        model.predict(texts, verbose=0)
        result[f"{run}_predict_s"] = time.perf_counter() - start
    for name, callback in (
        ("keras", keras.callbacks.TensorBoard),
        ("ours", kt.callbacks.TensorBoard),
    ):
        tensorboard = callback(log_dir=tempfile.mkdtemp(), histogram_freq=1, write_images=True)
        tensorboard.set_model(model)
        tensorboard.on_train_begin()
        start = time.perf_counter()
        tensorboard._log_weights(1)
        result[f"tensorboard_{name}_s"] = time.perf_counter() - start
    print("RESULT " + json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child()
    from cpu import describe_cpu

    print(describe_cpu(), flush=True)
    print(
        "| backend | fit 1 s | fit 2 s | predict 1 s | predict 2 s "
        "| TensorBoard epoch: Keras s | ours s |"
    )
    print("|---|---|---|---|---|---|---|")
    lines = []
    for backend in args.backends.split(","):
        env = dict(
            os.environ,
            KERAS_BACKEND=backend,
            TF_CPP_MIN_LOG_LEVEL="3",
            KERAS_TRANSFER_CACHE=tempfile.mkdtemp(),  # empty: no compiled program yet
        )
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        found = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if out.returncode or not found:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{backend} failed (exit {out.returncode})")
        r = json.loads(found[-1][len("RESULT ") :])
        print(
            f"| {backend} | {r['first_fit_s']:.1f} | {r['second_fit_s']:.1f} "
            f"| {r['first_predict_s']:.1f} | {r['second_predict_s']:.1f} "
            f"| {r['tensorboard_keras_s']:.2f} | {r['tensorboard_ours_s']:.2f} |",
            flush=True,
        )
        lines.append(
            f"{backend}: second_fit_ratio={r['first_fit_s'] / r['second_fit_s']:.2f} "
            f"tensorboard_ratio={r['tensorboard_keras_s'] / r['tensorboard_ours_s']:.1f}"
        )
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
