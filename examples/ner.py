"""Named-entity recognition: fine-tune the bundled encoder on the bundled Wikigold corpus.

    python examples/ner.py [--strategy full] [--conll train.conll] [--smoke]

Wikigold is 1,696 English Wikipedia sentences tagged by hand with PER, LOC,
ORG and MISC entities (CC-BY 4.0). The test articles are never seen in
training. Entity-level precision, recall and F1 follow the CoNLL evaluation.
"""

import argparse

import numpy as np

import keras_transfer as kt
from keras_transfer.strategies import STRATEGIES


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--strategy", default="full", help="full, frozen, last_n, lora, scratch")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--conll", default=None, help="your own CoNLL file (20 %% held out)")
    parser.add_argument("--smoke", action="store_true", help="a few sentences, 1 epoch")
    args = parser.parse_args()

    if args.conll:
        words, tags = kt.load_conll(args.conll)
        rows = np.random.default_rng(0).permutation(len(words))
        cut = len(words) // 5
        train = [words[i] for i in rows[cut:]], [tags[i] for i in rows[cut:]]
        test = [words[i] for i in rows[:cut]], [tags[i] for i in rows[:cut]]
    else:
        train, test = kt.load_bundled_ner()
    if args.smoke:
        train, test = (train[0][:48], train[1][:48]), (test[0][:16], test[1][:16])
    tag_names = sorted({t for sentence in train[1] for t in sentence} | {"O"})
    split = int(0.85 * len(train[0]))

    model = kt.TokenClassifier.from_preset(
        None, tag_names=tag_names, strategy=args.strategy, max_length=32 if args.smoke else 128
    )
    epochs = 1 if args.smoke else args.epochs
    recipe = STRATEGIES[args.strategy].token_recipe
    model.compile(optimizer=recipe.optimizer(-(-split // 16), epochs))
    model.fit(
        train[0][:split],
        train[1][:split],
        validation_data=(train[0][split:], train[1][split:]),
        epochs=epochs,
        batch_size=16,
        verbose=2,
    )
    predicted = model.predict(test[0])
    print(kt.entity_scores(test[1], predicted).round(3).to_string())
    print(" ".join(f"{w}/{t}" for w, t in zip(test[0][0], predicted[0], strict=True)))


if __name__ == "__main__":
    main()
