"""Checks on text classification inputs."""

import numpy as np


def is_text_array(x):
    """True for a list, tuple, 1-D numpy array or pandas Series."""
    if isinstance(x, (list, tuple)):
        return True
    if isinstance(x, np.ndarray):
        return x.ndim == 1
    return type(x).__name__ == "Series"  # pandas, without importing it


def check_texts(x, y=None, name="x"):
    """Validate a batch of raw texts (and labels); pass other inputs through.

    Lists, tuples, 1-D numpy arrays and pandas Series are checked: not empty,
    every element a string, as many labels as texts. Datasets, dicts of
    pre-tokenized arrays and `None` are left to Keras.
    """
    if isinstance(x, (str, bytes)):
        raise ValueError(
            f"`{name}` must be a list of texts, not a single string. Received: {name}={x!r:.80}"
        )
    if x is None or not is_text_array(x):
        return
    values = list(x)
    if not values:
        raise ValueError(f"`{name}` is empty: there is nothing to train on. Received: {name}=[]")
    for i, value in enumerate(values):
        if not isinstance(value, (str, np.str_)):
            raise ValueError(
                f"`{name}` must contain only strings. Received: {name}[{i}]={value!r} "
                f"of type {type(value).__name__}"
            )
    if y is not None and hasattr(y, "__len__") and len(y) != len(values):
        raise ValueError(
            f"`{name}` and its labels must have the same length. "
            f"Received: {len(values)} texts and {len(y)} labels"
        )


def split_last(arrays, fraction):
    """Split `(x, y, sample_weight)` like Keras' `validation_split`: the last
    `fraction` of the rows, before any shuffling, is for validation."""
    if not 0 < fraction < 1:
        raise ValueError(f"`validation_split` must be in (0, 1). Received: {fraction!r}")
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


def shuffled_dataset(x, y, sample_weight=None, batch_size=32):
    """A `tf.data` pipeline of `(texts, labels[, weights])`, reshuffled each epoch.

    Keras seeds it through `keras.utils.set_random_seed`.
    """
    import tensorflow as tf

    columns = [np.asarray(list(x), dtype=object).astype(str), np.asarray(y)]
    if sample_weight is not None:
        columns.append(np.asarray(sample_weight, dtype="float32"))
    ds = tf.data.Dataset.from_tensor_slices(tuple(columns))
    ds = ds.shuffle(len(columns[0]), reshuffle_each_iteration=True)
    return ds.batch(batch_size)
