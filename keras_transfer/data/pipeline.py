"""The `tf.data` engine: shuffled, length-bucketed and evenly split batches."""

import numpy as np

from keras_transfer.data.checks import check_even_batches, is_text_array


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
        return without_autotuning(tf.data.Dataset.from_tensor_slices(columns).batch(batch_size))
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
    batches = indices.map(lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), tensors))
    return without_autotuning(batches)


def without_autotuning(dataset):
    """`dataset` with `tf.data`'s autotuning off (`options.autotune.enabled`).

    Autotuning runs a thread per iterator that models the pipeline and tunes
    it, and Keras makes a new iterator for every epoch and every validation
    pass. On a small machine these threads took CPU from training, and
    deleting an iterator waited for its thread: the training loop stood
    still, for up to 8 s at the start of an epoch, later in a run. The
    toolkit's pipelines gather rows of in-memory arrays: there is nothing to
    tune.

    Example:
    >>> import tensorflow as tf
    >>> without_autotuning(tf.data.Dataset.range(3)).options().autotune.enabled
    False
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def bucket_lengths(sequence_length):
    """The padded lengths batches are cut to: 16, 32, 64, ... below
    `sequence_length`, and `sequence_length` itself.

    Example:
    >>> bucket_lengths(100)
    [16, 32, 64, 100]
    """
    return _doublings(16, sequence_length)


def window_buckets(max_windows):
    """The window counts batches of windowed texts (`truncation="chunks"`) are
    cut to: 1, 2, 4, ... below `max_windows`, and `max_windows` itself.

    Example:
    >>> window_buckets(6)
    [1, 2, 4, 6]
    """
    return _doublings(1, max_windows)


def _doublings(start, stop):
    """`start`, twice it, ... below `stop`, then `stop`."""
    values = []
    while start < stop:
        values.append(start)
        start *= 2
    return [*values, stop]


def trim_to_bucket(lengths, token_labels=True):
    """A `tf.data` map function that cuts a batch of token inputs (a dict with
    a `padding_mask`) to the smallest of `lengths` that holds the batch's
    longest row; with `token_labels` (one label per token) the labels too.
    Inputs with a window axis, `(texts, windows, length)` (see
    `keras_transfer.FastTokenizer`'s `"chunks"`), are also cut to the
    smallest of `window_buckets` that holds the windows the batch's texts use.

    Padding is masked out of attention (and its labels are ignored), so the
    outputs are those of full padding for less work; the few fixed lengths
    keep the compiled shapes few.
    """
    import tensorflow as tf

    buckets = tf.constant(sorted(lengths), dtype=tf.int32)

    def trim(x, y=None, *rest):
        mask = tf.cast(x["padding_mask"], tf.int32)
        longest = tf.reduce_max(tf.reduce_sum(mask, axis=-1))
        length = tf.reduce_min(tf.boolean_mask(buckets, buckets >= longest))
        x = {key: value[..., :length] for key, value in x.items()}
        if mask.shape.rank == 3:
            counts = tf.constant(window_buckets(mask.shape[1]), dtype=tf.int32)
            used = tf.reduce_max(tf.reduce_sum(tf.reduce_max(mask, axis=-1), axis=-1))
            count = tf.reduce_min(tf.boolean_mask(counts, counts >= used))
            x = {key: value[:, :count] for key, value in x.items()}
        if y is None:
            return (x,)
        return (x, y[:, :length] if token_labels else y, *rest)

    return trim


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
