"""Why do frozen word vectors fall behind TF-IDF on short many-class texts? Variants side by side.

    python benchmarks/diagnose_word_vectors.py [--seeds 3] [--backend torch]

On the question set of `make_questions.py` (6 classes, the class carried by
the question words and their order) and on the bundled Rotten Tomatoes
default (2 classes), each head below is trained on the frozen GloVe 6B 50d
vectors of `keras_transfer.EmbeddingClassifier` with the `embedding` recipe
(Adam 3e-3, balanced class weights, EarlyStopping(patience=3) and
ReduceLROnPlateau(0.5, patience=2) on the validation loss), on the split
`compare` makes by default (640 sampled texts: 512 train / 128 validation).
It prints the vocabulary coverage of the texts and of the question words,
then the validation macro F1 of each variant, the mean over `--seeds` seeds.
The choice is made on the validation split only; the test figures come from
`python -m keras_transfer compare`.
"""

import argparse
import os
import re
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
QUESTION_WORDS = "what which who whom whose where when why how many much does did is name".split()


def _splits(data, test, seed):
    """compare's default split of `data`: 640 sampled texts, 512 train / 128 validation,
    and 500 test texts."""
    from keras_transfer import data as data_lib
    from keras_transfer.tasks.classification import _sample

    frame = _sample(data_lib.load_texts(data), 640, {"seed": seed})
    train, val, _ = data_lib.stratified_split(frame, test_size=0.0, validation_size=0.2, seed=seed)
    test = _sample(test, 500, {"seed": seed})
    labels = data_lib.LabelMap(list(train["label"]) + list(test["label"]))
    frames = (train, val, test)
    return [(f["text"].tolist(), labels.encode(f["label"])) for f in frames], labels.names


def _coverage(preprocessor, texts):
    ids = np.asarray(preprocessor(texts))
    tokens = ids[ids > 0]
    vocabulary = set(preprocessor.get_vocabulary())
    missing = [w for w in QUESTION_WORDS if w not in vocabulary]
    return float(np.mean(tokens >= 2)), missing


def _variants():
    """name -> (pooled-features function of (vectors, known mask), hidden, dropout, lr)."""
    import keras
    from keras import ops

    from keras_transfer.layers import MaskedGlobalPooling

    def mean(x, known):
        return MaskedGlobalPooling("mean")(x, padding_mask=known)

    def max_(x, known):
        return MaskedGlobalPooling("max")(x, padding_mask=known)

    def mean_max(x, known):
        return ops.concatenate([mean(x, known), max_(x, known)], axis=-1)

    def first3_mean(x, known):
        first = keras.layers.Flatten()(x[:, :3, :])
        return ops.concatenate([first, mean(x, known)], axis=-1)

    def bigram_mean_max(x, known):
        pairs = ops.concatenate([x[:, :-1, :], x[:, 1:, :]], axis=-1)
        both = ops.logical_and(known[:, :-1], known[:, 1:])
        return mean_max(pairs, both)

    def conv(kernel, pooling="max"):
        def pool(x, known):
            h = keras.layers.Conv1D(100, kernel, padding="same", activation="relu")(x)
            if pooling == "mean_max":
                return mean_max(h, known)
            return MaskedGlobalPooling(pooling)(h, padding_mask=known)

        return pool

    def mean_and_conv3(x, known):
        return ops.concatenate([mean(x, known), conv(3)(x, known)], axis=-1)

    default = ((64, 32), (0.5, 0.3), 3e-3)
    return {
        "mean (before)": (mean, *default),
        "mean, lr 1e-2": (mean, (64, 32), (0.5, 0.3), 1e-2),
        "mean, hidden 256, dropout 0.2": (mean, (256,), (0.2,), 3e-3),
        "mean, no dropout": (mean, (64, 32), (0.0, 0.0), 3e-3),
        "max": (max_, *default),
        "mean_max": (mean_max, *default),
        "first 3 tokens + mean": (first3_mean, *default),
        "bigram mean_max": (bigram_mean_max, *default),
        "conv k=3 (100) + max": (conv(3), *default),
        "conv k=2 (100) + max": (conv(2), *default),
        "mean, concatenated with conv k=3 + max": (mean_and_conv3, *default),
        "conv k=3 (100) + mean": (conv(3, "mean"), *default),
        "conv k=3 (100) + mean_max": (conv(3, "mean_max"), *default),
    }


def _train(features, hidden, dropout, lr, embedding, ids, splits, num_classes, seed):
    import keras
    from keras import ops
    from sklearn.metrics import f1_score
    from sklearn.utils.class_weight import compute_sample_weight

    keras.utils.set_random_seed(seed)
    token_ids = keras.Input(shape=(ids[0].shape[1],), dtype="int32")
    x = features(embedding(token_ids), ops.greater_equal(token_ids, 2))
    for units, rate in zip(hidden, dropout, strict=True):
        x = keras.layers.Dropout(rate)(keras.layers.Dense(units, activation="relu")(x))
    model = keras.Model(token_ids, keras.layers.Dense(num_classes, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy")
    (_, y_train), (_, y_val), (_, y_test) = splits
    model.fit(
        ids[0],
        y_train,
        validation_data=(ids[1], y_val),
        sample_weight=compute_sample_weight("balanced", y_train),
        epochs=200,
        batch_size=16,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=1e-6),
        ],
    )
    scores = []
    for x, y in ((ids[1], y_val), (ids[2], y_test)):
        scores.append(f1_score(y, model.predict(x, verbose=0).argmax(-1), average="macro"))
    return scores  # validation, test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", default=None, help="comma list of variant names to run")
    parser.add_argument("--sets", default="questions,rotten_tomatoes")
    parser.add_argument(
        "--test",
        action="store_true",
        help="print the test split's macro F1 too (for the final choice only: choose on the "
        "validation split)",
    )
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    import keras
    from make_questions import write_questions

    from keras_transfer import EmbeddingClassifier, load_texts
    from keras_transfer.data import load_bundled

    train_csv, test_csv = write_questions(tempfile.mkdtemp(prefix="questions_"))
    sets = {"questions": (train_csv, load_texts(test_csv))}
    rt_train, rt_test = load_bundled("rotten_tomatoes")
    sets["rotten_tomatoes"] = (rt_train, rt_test)
    sets = {k: v for k, v in sets.items() if k in args.sets.split(",")}
    variants = _variants()
    if args.only:
        variants = {k: v for k, v in variants.items() if k in args.only.split(",")}
    scores = {name: {} for name in variants}
    for set_name, (data, test) in sets.items():
        f1 = {name: [] for name in variants}
        for seed in range(args.seeds):
            splits, names = _splits(data, test, seed)
            lengths = [len(re.findall(r"\S+", t)) for t in splits[0][0]]
            max_length = int(-(-np.percentile(lengths, 95) // 16) * 16)
            base = EmbeddingClassifier.from_word_vectors(
                num_classes=len(names), max_length=max_length
            )
            ids = [np.asarray(base.preprocessor(texts)) for texts, _ in splits]
            if seed == 0:
                share, missing = _coverage(base.preprocessor, splits[0][0])
                print(
                    f"{set_name}: max_length {max_length}, {100 * share:.1f} % of the training "
                    f"tokens in the vocabulary; question words missing: {missing or 'none'}",
                    flush=True,
                )
            for name, (features, hidden, dropout, lr) in variants.items():
                score = _train(
                    features, hidden, dropout, lr, base.embedding, ids, splits, len(names), seed
                )
                f1[name].append(score)
                print(f"  {set_name} seed {seed} {name}: val {score[0]:.3f}", flush=True)
        for name in variants:
            scores[name][set_name] = np.mean(f1[name], axis=0), np.std(f1[name], axis=0)
    splits = ("val", "test") if args.test else ("val",)
    header = " | ".join(f"{s} {split} macro F1" for s in sets for split in splits)
    print(f"\n{keras.backend.backend()}, mean ± std over {args.seeds} seeds")
    print(f"| variant | {header} |")
    print("|---|" + "---|" * len(sets) * len(splits))
    for name, by_set in scores.items():
        cells = " | ".join(
            f"{m[i]:.3f} ± {s[i]:.3f}" for m, s in by_set.values() for i in range(len(splits))
        )
        print(f"| {name} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
