"""Splits, per-class samples, class balance and weights, augmentation."""

import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.data.checks import warn_absent_classes


def class_sample_weights(y, class_weight, num_classes, sample_weight=None, label_names=None):
    """Per-example weights from `class_weight`, times `sample_weight` if given.

    `class_weight` is `"balanced"` (scikit-learn's `compute_sample_weight`:
    class c weighs `n_examples / (num_classes_present * n_c)`, so every class
    contributes the same total weight) or a `{class_id: weight}` dict (missing ids weigh 1).
    With `"balanced"`, a class that has no example in `y` cannot be balanced:
    a warning names it (by `label_names` where given).

    Example:
    >>> [round(float(w), 3) for w in class_sample_weights([0, 0, 0, 1], "balanced", 2)]
    [0.667, 0.667, 0.667, 2.0]
    """
    y = np.asarray(y).astype("int64")
    if isinstance(class_weight, str) and class_weight == "balanced":
        from sklearn.utils.class_weight import compute_sample_weight

        warn_absent_classes(y, num_classes, label_names)
        weights = compute_sample_weight("balanced", y) if len(y) else np.zeros(0)
    elif isinstance(class_weight, dict):
        table = np.ones(num_classes)
        for key, weight in class_weight.items():
            if not isinstance(key, (int, np.integer)) or not 0 <= key < num_classes:
                raise ValueError(
                    f"`class_weight` keys must be class ids 0..{num_classes - 1}. "
                    f"Received: class_weight={class_weight!r}"
                )
            if not isinstance(weight, (int, float, np.number)) or not weight >= 0:
                raise ValueError(
                    "`class_weight` values must be non-negative numbers. "
                    f"Received: class_weight={class_weight!r}"
                )
            table[key] = weight
        weights = table[y]
    else:
        raise ValueError(
            "`class_weight` must be 'balanced', a {class_id: weight} dict or None. "
            f"Received: class_weight={class_weight!r}"
        )
    weights = weights.astype("float32")
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype="float32")
    return weights


def split_last(arrays, fraction):
    """Split `(x, y, sample_weight)` like Keras' `validation_split`: the last
    `fraction` of the rows, before any shuffling, is for validation."""
    if not 0 < fraction < 1:
        raise ValueError(
            f"`validation_split` must be in (0, 1). Received: validation_split={fraction!r}"
        )
    n = len(arrays[0])
    cut = int(n * (1 - fraction))
    if cut < 1 or cut >= n:
        raise ValueError(
            f"`validation_split`={fraction} leaves an empty training or validation set "
            f"with {n} examples."
        )
    train = tuple(None if a is None else np.asarray(a)[:cut] for a in arrays)
    val = tuple(np.asarray(a)[cut:] for a in arrays if a is not None)
    return train, val


def _class_with_fewer_than(frame, n):
    """`(label, count)` of the first class with fewer than `n` rows, or None."""
    counts = frame["label"].value_counts()
    small = counts[counts < n]
    return (small.index[0], int(small.iloc[0])) if len(small) else None


def per_class_sample(frame, k, seed=0, name="k"):
    """`k` rows of each label of a `load_texts` DataFrame, drawn with `seed`.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"text": list("abcdef"), "label": [0, 0, 0, 1, 1, 1]})
    >>> per_class_sample(frame, 2)["label"].tolist()
    [0, 0, 1, 1]
    """
    short = _class_with_fewer_than(frame, k)
    if short:
        raise ValueError(
            f"`{name}` asks for {k} examples per class, but class {short[0]!r} has "
            f"{short[1]} here. Received: {name}={k}"
        )
    sample = frame.groupby("label", sort=True).sample(k, random_state=seed)
    return sample.reset_index(drop=True)


def stratified_split(frame, test_size=0.2, validation_size=0.1, seed=0):
    """Split a `load_texts` DataFrame into train / validation / test, stratified by label.

    Sizes are fractions of the whole. A class with too few examples to appear
    in every split raises a ValueError naming it.
    """
    from sklearn.model_selection import train_test_split

    for name, value in (("test_size", test_size), ("validation_size", validation_size)):
        if not 0 <= value < 1:
            raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value!r}")
    if test_size + validation_size >= 1:
        raise ValueError(
            "`test_size` + `validation_size` must leave training data. "
            f"Received: test_size={test_size}, validation_size={validation_size}"
        )
    parts = int(test_size > 0) + int(validation_size > 0) + 1
    short = _class_with_fewer_than(frame, parts)
    if short:
        raise ValueError(
            f"Class {short[0]!r} has {short[1]} example(s): too few to appear in "
            f"each of the {parts} splits. Add examples or drop the class."
        )

    def cut(df, size):
        if size == 0:
            return df, df.iloc[:0]
        try:
            return train_test_split(df, test_size=size, stratify=df["label"], random_state=seed)
        except ValueError as e:
            raise ValueError(f"Cannot split stratified by label: {e}") from None

    rest, test = cut(frame, test_size)
    train, validation = cut(rest, validation_size / (1 - test_size) if validation_size else 0)
    return (
        train.reset_index(drop=True),
        validation.reset_index(drop=True),
        test.reset_index(drop=True),
    )


def class_balance(frame):
    """Count and share of each label, largest first (a pandas DataFrame)."""
    if not hasattr(frame, "columns") or "label" not in frame.columns:
        raise ValueError(
            "`frame` must be a DataFrame with a 'label' column (see `load_texts`). "
            f"Received: frame of type {type(frame).__name__}"
        )
    counts = frame["label"].value_counts()
    return counts.to_frame("count").assign(share=lambda d: (d["count"] / d["count"].sum()).round(3))


# === Augmentation ===

_ENDINGS = ("", ".", "!", "!!", "?", "...")


def augment_punctuation(frame, copies=1, seed=0):
    """Augmentation: add copies of each text with other punctuation and case.

    Each copy swaps the ending punctuation (`.`, `!`, `?`, `...` or none) and,
    every other copy, the case of the first letter. Labels are kept. Augment
    the training split only.
    """
    import pandas as pd

    check_int("copies", copies, minimum=0)
    rng = np.random.default_rng(seed)
    out = [frame]
    for k in range(copies):
        texts = []
        for text in frame["text"]:
            base = text.rstrip(".!? ")
            ending = _ENDINGS[rng.integers(len(_ENDINGS))]
            if k % 2 == 1 and base:
                base = base[0].swapcase() + base[1:]
            texts.append(base + ending)
        out.append(frame.assign(text=texts))
    return pd.concat(out, ignore_index=True)
