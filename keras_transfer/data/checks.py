"""Checks of the texts, labels and weights that users pass to the toolkit."""

import warnings

import numpy as np


def is_text_array(x):
    """True for a list, tuple, 1-D numpy array or pandas Series."""
    if isinstance(x, (list, tuple)):
        return True
    if isinstance(x, np.ndarray):
        return x.ndim == 1
    return type(x).__name__ == "Series"  # pandas, without importing it


def check_texts(x, y=None, name="x", purpose="train on"):
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
        raise ValueError(f"`{name}` is empty: there is nothing to {purpose}. Received: {name}=[]")
    for i, value in enumerate(values):
        if not isinstance(value, (str, np.str_)):
            raise ValueError(
                f"`{name}` must contain only strings. Received: {name}[{i}]={value!r} "
                f"of type {type(value).__name__}"
            )
    if (
        y is not None
        and hasattr(y, "__len__")
        and not isinstance(y, dict)
        and len(y) != len(values)
    ):
        raise ValueError(
            f"`{name}` and its labels must have the same length. "
            f"Received: {len(values)} texts and {len(y)} labels"
        )


def check_labels(y, num_classes, name="y"):
    """Integer class ids in `[0, num_classes)` as an int32 array, or a ValueError.

    Float labels are accepted only when they are whole numbers (`1.0`); `0.5`,
    `-1`, `num_classes` or strings are refused with the first offending value.
    """
    values = np.asarray(y)
    if values.ndim != 1:
        raise ValueError(
            f"`{name}` must be one class id per example (a 1-D list or array). "
            f"Received: {name} with shape {values.shape}"
        )
    if values.dtype.kind not in "iuf":
        bad = next((v for v in values if not isinstance(v, (int, float, np.number))), values[0])
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise ValueError(
            f"`{name}` must hold integer class ids 0..{num_classes - 1} (map label names with "
            f"keras_transfer.LabelMap). Received: {name} containing {bad!r}"
        )
    whole = np.isfinite(values) & (values == np.round(values)) if values.dtype.kind == "f" else None
    if whole is not None and not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise ValueError(
            f"`{name}` must hold integer class ids. Received: {name}[{i}]={values[i].item()!r}"
        )
    outside = (values < 0) | (values >= num_classes)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"`{name}` must hold class ids from 0 to {num_classes - 1} "
            f"(num_classes={num_classes}). Received: {name}[{i}]={values[i].item()!r}"
        )
    return values.astype("int32")


def check_sample_weight(sample_weight, count, name="sample_weight"):
    """Validate per-example weights: one finite number >= 0 per example (None passes)."""
    if sample_weight is None:
        return None
    values = np.asarray(sample_weight)
    if values.ndim != 1 or len(values) != count or not np.issubdtype(values.dtype, np.number):
        raise ValueError(
            f"`{name}` must hold one number per example ({count}). Received: {name} with "
            f"shape {values.shape} and dtype {values.dtype}"
        )
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"`{name}` must hold finite numbers >= 0. Received: {name}[{i}]={values[i].item()!r}"
        )
    return values


def warn_unseen_labels(train_labels, test_labels):
    """Warn, naming them, about test labels that the training labels lack: the
    model gets a class for each that it never learns, and their texts count as
    errors. Returns the unseen labels, sorted."""
    unseen = sorted(set(test_labels) - set(train_labels), key=str)
    if unseen:
        warnings.warn(
            f"The test data holds label(s) {', '.join(repr(u) for u in unseen)} that the "
            "training data does not: the models get a class for each that they never learn, "
            "and those test texts count as errors.",
            stacklevel=2,
        )
    return unseen


def warn_absent_classes(y, num_classes, label_names=None):
    """For `class_weight="balanced"`: warn, naming them, about classes of
    `0..num_classes-1` with no example in `y` (they cannot be balanced, and
    the model never learns them). Returns their ids."""
    counts = np.bincount(np.asarray(y).astype("int64"), minlength=num_classes)
    absent = np.flatnonzero(counts == 0).tolist()
    if absent:
        names = [repr(label_names[c]) if label_names else str(c) for c in absent]
        warnings.warn(
            f"class_weight='balanced': class {', '.join(names)} (of {num_classes}) has no "
            "example in the training labels, so it cannot be balanced and the model never "
            "learns it.",
            stacklevel=3,
        )
    return absent


def check_even_batches(batch_size, multiple_of):
    if multiple_of > 1 and batch_size % multiple_of:
        raise ValueError(
            f"With data parallelism over {multiple_of} devices, `batch_size` (the global batch) "
            f"must be a multiple of {multiple_of}. Received: batch_size={batch_size}"
        )
