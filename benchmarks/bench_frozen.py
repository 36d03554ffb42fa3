"""Frozen all-MiniLM-L6-v2 + head: plain training vs cached features, per backend.

    python benchmarks/bench_frozen.py                  # tensorflow, jax, torch
    python benchmarks/bench_frozen.py --backends jax --train-size 256

Each backend runs in its own process. In each, the same model (same seed, same
head init, same data order) is trained three times on the bundled fine-food
reviews (max length 64, batch 16, 3 epochs, 10 % validation, all mandatory
callbacks on):

- plain: `fit(..., cache_features=False)`: the encoder runs at every step;
- cold cache: `fit(...)` with an empty cache: features computed once, then
  the head trains on them;
- warm cache: a new model, memory cleared, features read from disk.

It prints seconds per epoch (the mean of epochs 2 and 3, so compilation is not
counted), whole `fit` seconds, held-out accuracy, and the ratios plain/cached.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EpochTimer:
    def __init__(self):
        import keras

        class _Timer(keras.callbacks.Callback):
            def on_epoch_begin(inner, epoch, logs=None):
                inner.start = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None):
                self.times.append(time.perf_counter() - inner.start)

        self.times = []
        self.callback = _Timer()


def run_backend(args):
    import keras

    import keras_transfer as kt
    from keras_transfer.feature_cache import FeatureCache

    os.environ["KERAS_TRANSFER_CACHE"] = tempfile.mkdtemp()
    train, test = kt.load_bundled("fine_foods")
    train = train.sample(args.train_size, random_state=0)
    test = test.sample(args.test_size, random_state=0)
    x, y = train["text"].tolist(), (train["label"] == "other").astype("int32").to_numpy()
    tx, ty = test["text"].tolist(), (test["label"] == "other").astype("int32").to_numpy()
    log_root = tempfile.mkdtemp()

    def one(cache):
        keras.utils.set_random_seed(0)
        model = kt.TransformerClassifier.from_preset(None, strategy="frozen", max_length=64)
        timer = EpochTimer()
        keras.utils.set_random_seed(1)
        start = time.perf_counter()
        model.fit(
            x,
            y,
            validation_split=0.1,
            epochs=args.epochs,
            batch_size=16,
            verbose=0,
            callbacks=[timer.callback],
            cache_features=cache,
            log_root=log_root,
        )
        fit_s = time.perf_counter() - start
        accuracy = float((model.predict(tx, verbose=0).argmax(-1) == ty).mean())
        steady = timer.times[1:] or timer.times
        return {
            "fit_s": fit_s,
            "epoch_s": sum(steady) / len(steady),
            "accuracy": accuracy,
        }

    plain = one(False)
    cold = one(True)
    FeatureCache.clear_memory()
    warm = one(True)
    return {
        "backend": keras.backend.backend(),
        "plain": plain,
        "cold": cold,
        "warm": warm,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--train-size", type=int, default=448)
    parser.add_argument("--test-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_backend(args)), flush=True)
        return

    rows = []
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        command = [sys.executable, __file__, "--child"] + [
            f"--{k.replace('_', '-')}={v}"
            for k, v in vars(args).items()
            if k not in ("child", "backends")
        ]
        out = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, check=False
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if out.returncode or not lines:
            print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"{backend} failed (exit {out.returncode})")
        rows.append(json.loads(lines[-1][len("RESULT ") :]))
        print(f"{backend} done", file=sys.stderr, flush=True)

    print(
        f"\n{args.train_size} reviews (90 % train / 10 % validation), {args.epochs} epochs, "
        f"max length 64, batch 16; accuracy on {args.test_size} held-out reviews\n"
    )
    print(
        "| backend | plain s/epoch | cached s/epoch | per-epoch ratio | plain fit s | "
        "cold-cache fit s | warm-cache fit s | end-to-end ratio cold / warm | "
        "accuracy plain / cached |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p, c, w = r["plain"], r["cold"], r["warm"]
        print(
            f"| {r['backend']} | {p['epoch_s']:.2f} | {c['epoch_s']:.3f} | "
            f"{p['epoch_s'] / c['epoch_s']:.0f}x | {p['fit_s']:.1f} | {c['fit_s']:.1f} | "
            f"{w['fit_s']:.1f} | {p['fit_s'] / c['fit_s']:.1f}x / {p['fit_s'] / w['fit_s']:.0f}x | "
            f"{p['accuracy']:.3f} / {c['accuracy']:.3f} |"
        )


if __name__ == "__main__":
    main()
