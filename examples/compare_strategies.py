"""Compare transfer strategies on real movie-review snippets from Python (the CLI's `compare`).

    KERAS_BACKEND=jax python examples/compare_strategies.py            # a few minutes
    python examples/compare_strategies.py --smoke                      # a quick check

Trains each registered strategy with its own recipe on the same split, next to
the majority-class and TF-IDF reference rows, prints the table (sorted by macro
F1) and a recommendation, and writes results, reports and the 300-DPI plot to
./example_comparison.
"""

import argparse

import keras_transfer as kt
from keras_transfer.reports import markdown_table
from keras_transfer.strategies import DEFAULT_RUN


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()

    train, test = kt.load_bundled("rotten_tomatoes")  # real critic snippets, unseen movies in test
    n_train, n_test = (48, 32) if args.smoke else (640, 500)
    train = train.sample(n_train, random_state=0)
    test = test.sample(n_test, random_state=0)
    print(kt.class_balance(train))
    table = kt.compare_strategies(
        train,
        test,
        strategies=["embedding", "frozen", "lora"] if args.smoke else list(DEFAULT_RUN),
        epochs=1 if args.smoke else None,  # None: each strategy's own recipe
        max_length=16 if args.smoke else 48,
        out="example_comparison",
        overwrite=True,
    )
    print(markdown_table(table))
    print(table.attrs["recommendation"])
    print(f"TensorBoard: tensorboard --logdir {table.attrs['experiment_dir']}")


if __name__ == "__main__":
    main()
