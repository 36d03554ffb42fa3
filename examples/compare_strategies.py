"""Compare transfer strategies on real reviews from Python (the CLI's `compare`, as code).

    KERAS_BACKEND=jax python examples/compare_strategies.py            # a few minutes
    python examples/compare_strategies.py --smoke                      # seconds

Trains each strategy on the same split, prints the table and writes
results, reports and the 300-DPI plot to ./example_comparison.
"""

import argparse

import keras_transfer as kt
from keras_transfer.compare import markdown_table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()

    train, test = kt.load_bundled("fine_foods")  # real Amazon reviews: great vs other
    n_train, n_test = (48, 32) if args.smoke else (400, 200)
    train = train.sample(n_train, random_state=0)
    test = test.sample(n_test, random_state=0)
    print(kt.class_balance(train))
    table = kt.compare_strategies(
        train,
        test,
        strategies=["embedding", "frozen", "lora"]
        if args.smoke
        else ["embedding", "frozen", "last_n", "lora", "full"],
        epochs=1 if args.smoke else 3,
        max_length=16 if args.smoke else 64,
        out="example_comparison",
        overwrite=True,
    )
    print(markdown_table(table))
    print(f"TensorBoard: tensorboard --logdir {table.attrs['experiment_dir']}")


if __name__ == "__main__":
    main()
