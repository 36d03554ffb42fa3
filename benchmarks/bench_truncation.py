"""Texts longer than the model's limit: head, head_tail and chunks side by side.

    python benchmarks/bench_truncation.py            # the whole fine_foods splits
    python benchmarks/bench_truncation.py --quick    # 256 training texts, 200 test texts

Trains the bundled all-MiniLM-L6-v2 with one strategy (`--strategy frozen` by
default: the head on cached features) on the bundled fine-food reviews (5
stars vs the rest) at `--max-length 64`, once per truncation:

- `head`: a review's first 62 tokens;
- `head_tail`: its first quarter and its end (Sun et al. 2019);
- `chunks`: all of it, up to `--max-chunks` (default 4) windows of 64 tokens
  overlapping by half a window, their pooled vectors averaged before the head.

Each run is the strategy's recipe (`Strategy.train`: learning rate, early
stopping on 10 % of the training texts, balanced class weights) from the same
seed, with an empty feature cache. It prints a markdown table of the test
macro F1 and accuracy, the seconds of `fit` and of `predict` on the test texts,
and the share of test reviews longer than `--max-length` tokens.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TRUNCATIONS = ("head", "head_tail", "chunks")


def load(args):
    import keras_transfer as kt

    train, test = kt.load_bundled("fine_foods")
    # Shuffled once: the last 10 % of the training texts validate.
    train = train.sample(args.train_size or len(train), random_state=0)
    test = test.sample(args.test_size or len(test), random_state=0)
    labels = kt.data.LabelMap(train["label"])
    return (
        (train["text"].tolist(), labels.encode(train["label"])),
        (test["text"].tolist(), labels.encode(test["label"])),
        labels.names,
    )


def run(truncation, args, train, test, names):
    import keras
    from sklearn.metrics import accuracy_score, f1_score

    from keras_transfer import data
    from keras_transfer.strategies import STRATEGIES

    keras.utils.set_random_seed(args.seed)
    strategy = STRATEGIES[args.strategy]
    options = {"truncation": truncation}
    if truncation == "chunks":
        options["max_chunks"] = args.max_chunks
    (x, y), validation = data.split_last((train[0], train[1]), 0.1)
    start = time.perf_counter()
    model, _ = strategy.train(
        list(x),
        y,
        names,
        validation_data=tuple(validation),
        max_length=args.max_length,
        epochs=args.epochs,
        options=options,
        log_root=tempfile.mkdtemp(),
        verbose=0,
    )
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(test[0], verbose=0).argmax(axis=1)
    predict_seconds = time.perf_counter() - start
    # Under chunks, the tokens of all windows: over `max_length` for a text that does not fit.
    long_share = (model.tokenize(test[0])["lengths"] > args.max_length).mean()
    return {
        "truncation": truncation,
        "f1_macro": f1_score(test[1], predicted, average="macro"),
        "accuracy": accuracy_score(test[1], predicted),
        "fit_s": fit_seconds,
        "predict_s": predict_seconds,
        "long": long_share,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 train, 200 test texts, 2 epochs")
    parser.add_argument("--strategy", default="frozen")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--max-chunks", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's most")
    parser.add_argument("--train-size", type=int, default=None, help="default: all 4,000")
    parser.add_argument("--test-size", type=int, default=None, help="default: all 1,000")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.test_size, args.epochs = 256, 200, args.epochs or 2
    # An empty feature cache: every truncation computes its features.
    os.environ["KERAS_TRANSFER_CACHE"] = tempfile.mkdtemp()
    import keras

    train, test, names = load(args)
    rows = [run(t, args, train, test, names) for t in TRUNCATIONS]
    print(
        f"\n{args.strategy}, max_length {args.max_length}, {len(train[0])} train / "
        f"{len(test[0])} test fine-food reviews, {keras.config.backend()} "
        f"({rows[-1]['long']:.0%} of test reviews over {args.max_length} tokens):\n"
    )
    print("| truncation | macro F1 | accuracy | fit s | predict s |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        name = r["truncation"]
        if name == "chunks":
            name = f"chunks (max {args.max_chunks})"
        print(
            f"| {name} | {r['f1_macro']:.3f} | {r['accuracy']:.3f} | {r['fit_s']:.1f} | "
            f"{r['predict_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
