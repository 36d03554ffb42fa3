"""Two tasks, one encoder: sentiment and language of the bundled English/Vietnamese sentences.

    python examples/multi_task.py [--strategy lora] [--smoke]

Every sentence of the bundled `sentiment_en_vi` set carries two real labels:
its sentiment (`positive` / `negative`) and its language (`en` / `vi`). One
MultiTaskClassifier learns both. A random half of the training sentences keep
only their sentiment label (their language label is -1, "not labelled"), as when two
label sets come from different sources. Translation pairs stay on one side of
the split, so the test set holds only sentences whose meaning was never seen.
"""

import argparse

import numpy as np

import keras_transfer as kt


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--strategy", default="lora", help="full, frozen, last_n, lora, scratch")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="1 epoch, short texts")
    args = parser.parse_args()

    frame, _ = kt.load_bundled("sentiment_en_vi")
    pairs = np.random.default_rng(0).permutation(frame["pair_id"].unique())
    test = frame[frame["pair_id"].isin(pairs[:30])]
    train = frame[~frame["pair_id"].isin(pairs[:30])]
    sentiment = kt.LabelMap(frame["label"])
    language = kt.LabelMap(frame["language"])

    def labels(part, hide_language=False):
        lang = language.encode(part["language"])
        if hide_language:  # a random half of the sentences: no language label
            lang = np.where(np.random.default_rng(1).random(len(part)) < 0.5, -1, lang)
        return {"sentiment": sentiment.encode(part["label"]), "language": lang}

    model = kt.MultiTaskClassifier.from_preset(
        None,
        tasks={"sentiment": 2, "language": 2},
        strategy=args.strategy,
        max_length=16 if args.smoke else 48,
        label_names={"sentiment": sentiment.names, "language": language.names},
    )
    model.fit(
        train["text"].tolist(),
        labels(train, hide_language=True),
        validation_data=(test["text"].tolist(), labels(test)),
        epochs=1 if args.smoke else args.epochs,
        batch_size=16,
        verbose=0,
        experiment="multi_task",
    )
    scores = model.evaluate(
        test["text"].tolist(), labels(test), batch_size=32, verbose=0, return_dict=True
    )
    print(
        f"test sentences: {len(test)}  sentiment accuracy {scores['sentiment_accuracy']:.3f}  "
        f"language accuracy {scores['language_accuracy']:.3f}"
    )
    predictions = model.predict(["Tôi rất thích bộ phim này", "What a waste of money"], verbose=0)
    for task, names in model.label_names.items():
        print(task, [names[i] for i in predictions[task].argmax(axis=1)])


if __name__ == "__main__":
    main()
