"""Text classification data: loading, checks, labels, splits, bundled sets, augmentation."""

import lzma
import os
import warnings
import zlib

import numpy as np

from keras_transfer.checks import check_int

BUNDLED = {
    "rotten_tomatoes": ("rotten_tomatoes_train.csv.xz", "rotten_tomatoes_test.csv.xz"),
    "fine_foods": ("fine_foods_train.csv.xz", "fine_foods_test.csv.xz"),
    "sentiment_en_vi": ("sentiment_en_vi.csv", None),
}


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


def class_sample_weights(y, class_weight, num_classes, sample_weight=None, label_names=None):
    """Per-example weights from `class_weight`, times `sample_weight` if given.

    `class_weight` is `"balanced"` (scikit-learn's rule: class c weighs
    `n_examples / (num_classes_present * n_c)`, so every class contributes the
    same total weight) or a `{class_id: weight}` dict (missing ids weigh 1).
    With `"balanced"`, a class that has no example in `y` cannot be balanced:
    a warning names it (by `label_names` where given).

    Example:
    >>> [round(float(w), 3) for w in class_sample_weights([0, 0, 0, 1], "balanced", 2)]
    [0.667, 0.667, 0.667, 2.0]
    """
    y = np.asarray(y).astype("int64")
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.bincount(y, minlength=num_classes).astype("float64")
        present = counts > 0
        table = np.zeros(num_classes)
        table[present] = len(y) / (present.sum() * counts[present])
        warn_absent_classes(y, num_classes, label_names)
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
    else:
        raise ValueError(
            "`class_weight` must be 'balanced', a {class_id: weight} dict or None. "
            f"Received: class_weight={class_weight!r}"
        )
    weights = table[y].astype("float32")
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


def shuffle_seed():
    """A shuffle seed from numpy's global generator (seeded by
    `keras.utils.set_random_seed`)."""
    return int(np.random.randint(0, 2**31 - 1))


def batched_dataset(
    x, y, sample_weight=None, batch_size=32, seed=None, epoch=None, multiple_of=1, lengths=None
):
    """A `tf.data` pipeline of `(x, labels[, weights])` batches.

    `x` is texts or an array of features. With a `seed` the rows are shuffled
    each epoch, in an order drawn from `(seed, epoch)`, where `epoch` is a
    `tf.Variable` that `EpochCounter` sets as each epoch begins. The order of
    epoch k is thus the same whether the run started at epoch 0 or resumed at
    epoch k (BackupAndRestore), and the same for texts and for their cached
    features. Without a seed the rows stay in order.

    `multiple_of` (the data-parallel replicas, see `even_indices`) makes every
    batch split evenly: the last batch is topped up with the epoch's first rows.

    `lengths` (one per row; with a `seed`) groups rows of similar length into
    a batch, so that batches cut to their longest row (`trim_to_bucket`) carry
    little padding: the shuffled epoch is sorted by length within windows of
    32 batches, then the order of the full batches is shuffled again.
    """
    import tensorflow as tf

    check_even_batches(batch_size, multiple_of)
    if is_text_array(x):
        x = np.asarray(list(x), dtype=object).astype(str)
    # `y` may be a dict of label arrays (one per output of a multi-task model),
    # or None (inference).
    y = {k: np.asarray(v) for k, v in y.items()} if isinstance(y, dict) else y
    # `x` may be a dict of token arrays (tokenized texts).
    x = {k: np.asarray(v) for k, v in x.items()} if isinstance(x, dict) else np.asarray(x)
    columns = [x] if y is None else [x, np.asarray(y) if not isinstance(y, dict) else y]
    if sample_weight is not None:
        columns.append(np.asarray(sample_weight, dtype="float32"))
    columns = tuple(columns)
    n = len(tf.nest.flatten(x)[0])
    pad = -n % multiple_of
    if seed is None:
        rows = even_indices(n, multiple_of)
        columns = tf.nest.map_structure(lambda c: c[rows], columns)
        return tf.data.Dataset.from_tensor_slices(columns).batch(batch_size)
    if epoch is None:
        raise ValueError("A shuffled dataset needs its `epoch` variable (see EpochCounter).")
    tensors = tf.nest.map_structure(tf.constant, columns)

    row_lengths = None if lengths is None else tf.constant(np.asarray(lengths), tf.int64)

    def order(_):
        pair = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
        shuffled = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed=pair)
        shuffled = tf.concat([shuffled, shuffled[:pad]], axis=0) if pad else shuffled
        if row_lengths is None:
            return shuffled
        window, total = 32 * batch_size, n + pad
        shuffled = tf.concat(
            [
                tf.gather(part, tf.argsort(tf.gather(row_lengths, part), stable=True))
                for part in (shuffled[i : i + window] for i in range(0, total, window))
            ],
            axis=0,
        )
        full = total // batch_size
        batches = tf.reshape(shuffled[: full * batch_size], (full, batch_size))
        batches = tf.gather(
            batches, tf.random.experimental.stateless_shuffle(tf.range(full), seed=pair + 1)
        )
        return tf.concat([tf.reshape(batches, (-1,)), shuffled[full * batch_size :]], axis=0)

    indices = tf.data.Dataset.from_tensors(0).map(order).unbatch().batch(batch_size)
    return indices.map(lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), tensors))


def bucket_lengths(sequence_length):
    """The padded lengths batches are cut to: 16, 32, 64, ... below
    `sequence_length`, and `sequence_length` itself.

    Example:
    >>> bucket_lengths(100)
    [16, 32, 64, 100]
    """
    lengths, length = [], 16
    while length < sequence_length:
        lengths.append(length)
        length *= 2
    return [*lengths, sequence_length]


def trim_to_bucket(lengths, token_labels=True):
    """A `tf.data` map function that cuts a batch of token inputs (a dict with
    a `padding_mask`) to the smallest of `lengths` that holds the batch's
    longest row; with `token_labels` (one label per token) the labels too.

    Padding is masked out of attention (and its labels are ignored), so the
    outputs are those of full padding for less work; the few fixed lengths
    keep the compiled shapes few.
    """
    import tensorflow as tf

    buckets = tf.constant(sorted(lengths), dtype=tf.int32)

    def trim(x, y=None, *rest):
        longest = tf.reduce_max(tf.reduce_sum(tf.cast(x["padding_mask"], tf.int32), axis=1))
        length = tf.reduce_min(tf.boolean_mask(buckets, buckets >= longest))
        x = {key: value[:, :length] for key, value in x.items()}
        if y is None:
            return (x,)
        return (x, y[:, :length] if token_labels else y, *rest)

    return trim


def length_batches(lengths, batch_size, buckets, multiple_of=1):
    """`(rows, length)` per batch for inference by length: the rows in order of
    length (topped up to even batches across `multiple_of` devices, see
    `even_indices`), each batch with the smallest of `buckets` that holds it.

    Example:
    >>> [(rows.tolist(), n) for rows, n in length_batches([20, 3, 9], 2, [16, 32])]
    [([1, 2], 16), ([0], 32)]
    """
    lengths = np.asarray(lengths)
    check_even_batches(batch_size, multiple_of)
    order = np.argsort(lengths, kind="stable")
    order = order[even_indices(len(order), multiple_of)]
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield rows, min(b for b in buckets if b >= lengths[rows].max())


def inference_rows(n, batch_size):
    """How many rows `n` inference rows become once the last batch is topped
    up: to a whole batch after full ones, or to a power of two when there is
    only one batch (a few texts stay a few rows). Batches then come in a fixed
    set of shapes, so a compiled step is reused instead of traced again for
    every remainder.

    Example:
    >>> inference_rows(300, 32), inference_rows(5, 32), inference_rows(64, 32)
    (320, 8, 64)
    """
    if n <= batch_size:
        return min(batch_size, 1 << (n - 1).bit_length()) if n else 0
    return n + (-n % batch_size)


def even_indices(n, multiple_of=1):
    """Row indices `0..n-1`, topped up with the first rows to a multiple of `multiple_of`.

    Keras' JAX data parallelism splits each batch evenly across the devices and
    fails on a batch it cannot split. As Hugging Face Accelerate does with
    `even_batches`, the last batch then repeats a few of the first rows.

    Example:
    >>> even_indices(5, 2).tolist()
    [0, 1, 2, 3, 4, 0]
    """
    return np.resize(np.arange(n), n + (-n % multiple_of)) if n else np.arange(0)


def check_even_batches(batch_size, multiple_of):
    if multiple_of > 1 and batch_size % multiple_of:
        raise ValueError(
            f"With data parallelism over {multiple_of} devices, `batch_size` (the global batch) "
            f"must be a multiple of {multiple_of}. Received: batch_size={batch_size}"
        )


def epoch_counter():
    """`(variable, callback)`: the callback keeps the variable at the current
    epoch number, for `batched_dataset(..., epoch=variable)`."""
    import keras
    import tensorflow as tf

    variable = tf.Variable(0, dtype=tf.int64, trainable=False)

    class EpochCounter(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            variable.assign(epoch)

    return variable, EpochCounter()


# === Loading ===


def _read_file(path):
    import pandas as pd

    lower = path.lower()
    try:
        if lower.endswith((".jsonl", ".jsonl.gz", ".jsonl.xz")):
            return pd.read_json(path, lines=True, encoding="utf-8")
        if lower.endswith((".json", ".json.gz")):
            return pd.read_json(path, encoding="utf-8")
        if lower.endswith((".tsv", ".tsv.gz", ".tsv.xz")):
            return pd.read_csv(path, sep="\t", encoding="utf-8")
        if lower.endswith((".csv", ".csv.gz", ".csv.xz")):
            return pd.read_csv(path, encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"The data file is not valid UTF-8 ({e.reason} at byte {e.start}). Re-save it as "
            f"UTF-8. Received: data={path!r}"
        ) from None
    except ValueError as e:
        raise ValueError(f"Could not parse the data file ({e}). Received: data={path!r}") from None
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:  # truncated or corrupt archive
        raise ValueError(
            f"Could not read the data file: it is truncated or corrupt ({type(e).__name__}: "
            f"{e}). Received: data={path!r}"
        ) from None
    raise ValueError(
        "The data file must be .csv, .tsv, .json or .jsonl (optionally .gz/.xz), or a folder "
        f"with one sub-folder of .txt files per class. Received: data={path!r}"
    )


def _read_folder(path):
    import pandas as pd

    rows = []
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    for label in classes:
        folder = os.path.join(path, label)
        for name in sorted(os.listdir(folder)):
            file = os.path.join(folder, name)
            if not os.path.isfile(file) or name.startswith("."):
                continue
            try:
                with open(file, encoding="utf-8") as f:
                    rows.append({"text": f.read().strip(), "label": label})
            except UnicodeDecodeError:
                raise ValueError(
                    f"A text file is not valid UTF-8. Re-save it as UTF-8. Received: {file!r}"
                ) from None
    if not rows:
        raise ValueError(
            "The data folder must hold one sub-folder per class with one text file per "
            f"example. Found none. Received: data={path!r}"
        )
    return pd.DataFrame(rows)


def load_texts(data, text_column="text", label_column="label"):
    """Load labelled texts into a DataFrame with columns `text` and `label`.

    Args:
        data: a pandas DataFrame; a .csv/.tsv/.json/.jsonl file (optionally
            .gz/.xz); a folder with one sub-folder per class holding one text
            file per example; or a bundled dataset name (`"rotten_tomatoes"`,
            `"fine_foods"`, `"sentiment_en_vi"`; see `load_bundled`).
        text_column: the text column (ignored for folders).
        label_column: the label column (ignored for folders).

    Rows are checked: the columns exist, no text is empty or missing, no label
    is missing, and there are at least two classes.

    Example:
    >>> import keras_transfer as kt
    >>> df = kt.load_texts("sentiment_en_vi")
    >>> sorted(df["label"].unique())
    ['negative', 'positive']
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame, where = data, "the DataFrame"
    elif isinstance(data, str) and data in BUNDLED:
        return load_bundled(data)[0]
    elif isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if os.path.isdir(path):
            frame = _read_folder(path)
            text_column, label_column = "text", "label"
        elif os.path.isfile(path):
            frame = _read_file(path)
        else:
            raise ValueError(
                "The data file or folder does not exist (bundled datasets: "
                f"{sorted(BUNDLED)}). Received: data={path!r}"
            )
        where = repr(path)
    else:
        raise ValueError(
            "`data` must be a DataFrame, a file or folder path, or a bundled dataset name. "
            f"Received: data={type(data).__name__}"
        )
    for arg, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in frame.columns:
            raise ValueError(
                f"`{arg}` names a column that {where} does not have (columns: "
                f"{list(frame.columns)}). Received: {arg}={column!r}"
            )
    out = pd.DataFrame(
        {"text": frame[text_column].to_numpy(), "label": frame[label_column].to_numpy()}
    )
    texts_missing = out["text"].isna() | ~out["text"].map(lambda t: isinstance(t, str))
    if texts_missing.any():
        row = int(np.flatnonzero(texts_missing.to_numpy())[0])
        raise ValueError(
            f"Every text must be a string; row {row} of {where} has "
            f"{out['text'].iloc[row]!r}. Received: text_column={text_column!r}"
        )
    empty = out["text"].str.strip() == ""
    if empty.any():
        raise ValueError(
            f"{int(empty.sum())} texts in {where} are empty (first: row "
            f"{int(np.flatnonzero(empty.to_numpy())[0])}). Drop them first. "
            f"Received: text_column={text_column!r}"
        )
    if out["label"].isna().any():
        raise ValueError(
            f"{int(out['label'].isna().sum())} labels in {where} are missing (NaN). Drop or "
            f"fill them first. Received: label_column={label_column!r}"
        )
    if out["label"].nunique() < 2:
        raise ValueError(
            f"Classification needs at least two classes; {where} has only "
            f"{out['label'].unique().tolist()}. Received: label_column={label_column!r}"
        )
    return out


def load_unlabelled(data, text_column="text"):
    """Unlabelled texts, as a list: for masked-LM adaptation.

    Args:
        data: a list of strings; a .txt file (one text per line, blank lines
            skipped); a .csv/.tsv/.json/.jsonl file (its `text_column`); or a
            bundled dataset name (its training texts only, never its test
            split).

    Example:
    >>> import keras_transfer as kt
    >>> len(kt.load_unlabelled("rotten_tomatoes"))
    3613
    """
    if isinstance(data, (list, tuple)):
        texts = list(data)
    elif isinstance(data, str) and data in BUNDLED:
        texts = load_bundled(data)[0]["text"].tolist()
    elif isinstance(data, (str, os.PathLike)) and os.path.isfile(data):
        path = os.fspath(data)
        if path.lower().endswith(".txt"):
            try:
                with open(path, encoding="utf-8") as f:
                    texts = [line.strip() for line in f if line.strip()]
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"The text file is not valid UTF-8 ({e.reason} at byte {e.start}). "
                    f"Received: data={path!r}"
                ) from None
        else:
            frame = _read_file(path)
            if text_column not in frame.columns:
                raise ValueError(
                    f"`text_column` names a column that {path!r} does not have (columns: "
                    f"{list(frame.columns)}). Received: text_column={text_column!r}"
                )
            texts = frame[text_column].dropna().astype(str).tolist()
    else:
        raise ValueError(
            "Unlabelled texts must be a list, an existing .txt/.csv/.tsv/.json/.jsonl file or a "
            f"bundled dataset name ({sorted(BUNDLED)}). Received: data={data!r}"
        )
    check_texts(texts, name="texts")
    return texts


def load_bundled(name="rotten_tomatoes"):
    """A dataset that ships with the package: `(train, test)` DataFrames.

    - `"rotten_tomatoes"`: 3,613 / 1,250 real Rotten Tomatoes critic snippets
      (Pang & Lee 2004), labels `positive` (fresh) / `negative` (rotten),
      about balanced, one to two sentences each. Test movies are unseen in
      training.
    - `"fine_foods"`: 4,000 / 1,000 real Amazon fine-food reviews, labels
      `great` (5 stars) / `other`. Test products are unseen in training.
    - `"sentiment_en_vi"`: 238 short English/Vietnamese sentences written for
      this project, `positive` / `negative`; `test` is None (split it).

    Sources and licences: `keras_transfer/datasets/README.md`.
    """
    import pandas as pd

    if name not in BUNDLED:
        raise ValueError(f"`name` must be one of {sorted(BUNDLED)}. Received: name={name!r}")
    folder = os.path.join(os.path.dirname(os.path.dirname(__file__)), "datasets")
    train_file, test_file = BUNDLED[name]
    train = pd.read_csv(os.path.join(folder, train_file), encoding="utf-8")
    test = (
        None
        if test_file is None
        else pd.read_csv(os.path.join(folder, test_file), encoding="utf-8")
    )
    return train, test


# === Labels, splits, balance ===


class LabelMap:
    """Labels (strings or ints) <-> ids 0..K-1, in sorted order of the labels.

    A thin layer over scikit-learn's `LabelEncoder` that adds the label names as
    strings and errors that say what was received. The labels must be all
    strings or all numbers.

    Example:
    >>> m = LabelMap(["pos", "neg", "pos"])
    >>> m.names, m.encode(["pos"]).tolist(), m.decode([0])
    (['neg', 'pos'], [1], ['neg'])
    """

    def __init__(self, labels):
        from sklearn.preprocessing import LabelEncoder

        labels = list(labels)
        if not labels:
            raise ValueError(
                "`labels` is empty: there are no label names to map. Received: labels=[]"
            )
        kinds = {isinstance(v, (str, np.str_)) for v in labels}
        if len(kinds) > 1:
            raise ValueError(
                "Labels must be all strings or all numbers. Received: labels mixing "
                f"{sorted({type(v).__name__ for v in labels})}"
            )
        self._encoder = LabelEncoder().fit(labels)
        self.names = [str(v) for v in self._encoder.classes_]

    def encode(self, labels):
        labels = list(labels)
        try:
            return self._encoder.transform(labels).astype("int32")
        except (TypeError, ValueError):
            known = set(self._encoder.classes_.tolist())
            unknown = next((v for v in labels if v not in known), labels)
            raise ValueError(f"Unknown label {unknown!r}; known labels: {self.names}") from None

    def decode(self, ids):
        return [self.names[int(i)] for i in ids]


def per_class_sample(frame, k, seed=0, name="k"):
    """`k` rows of each label of a `load_texts` DataFrame, drawn with `seed`.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"text": list("abcdef"), "label": [0, 0, 0, 1, 1, 1]})
    >>> per_class_sample(frame, 2)["label"].tolist()
    [0, 0, 1, 1]
    """
    counts = frame["label"].value_counts()
    small = counts[counts < k]
    if len(small):
        raise ValueError(
            f"`{name}` asks for {k} examples per class, but class {small.index[0]!r} has "
            f"{int(small.iloc[0])} here. Received: {name}={k}"
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
    counts = frame["label"].value_counts()
    small = counts[counts < parts]
    if len(small):
        raise ValueError(
            f"Class {small.index[0]!r} has {int(small.iloc[0])} example(s): too few to appear in "
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
