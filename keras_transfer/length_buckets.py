"""Batches by length: token rows cut to the smallest of a few fixed lengths.

Padding is masked out of attention (and its labels are ignored), so a batch
cut to the smallest of 16/32/64/.../`max_length` tokens that holds its longest
row gives the outputs of full padding, for a fraction of the work; the few
fixed lengths keep the compiled shapes few. `bucketed_dataset` builds these
batches for `fit`, `evaluate` and `predict` (Keras' loops);
`predict_by_length` runs a model's `predict_on_batch` over them (the token
classifier's tags, the feature cache's frozen features).
"""

import keras
import numpy as np

from keras_transfer import data
from keras_transfer.distribution import replicas
from keras_transfer.progress import report


def bucketed_dataset(
    inputs,
    lengths,
    batch_size,
    buckets,
    y=None,
    sample_weight=None,
    *,
    seed=None,
    epoch=None,
    top_up=False,
    token_labels=False,
):
    """Token arrays as a `tf.data` pipeline of length-bucketed batches, and
    the order of its rows.

    With a `seed` (and its `epoch` variable, see `data.batched_dataset`) the
    rows are reshuffled every epoch, rows of similar `lengths` grouped per
    batch; without, they go in order of length (the returned order). Each
    batch is cut to the smallest of `buckets` that holds its longest row
    (`data.trim_to_bucket`; with `token_labels`, one label per token, the
    labels too). With `top_up` (inference in order of length) the last batch
    repeats the longest rows up to a fixed number of rows
    (`data.inference_rows`), so batches come in a fixed set of shapes and
    TensorFlow does not trace again; the returned order lists the original
    rows only. `lengths=None` keeps the rows in order and uncut (inputs
    without a `padding_mask`).

    Example:
    >>> import numpy as np
    >>> mask = np.arange(40) < np.array([[30], [3], [9]])
    >>> ds, order = bucketed_dataset({"padding_mask": mask}, mask.sum(1), 2, [16, 40])
    >>> order.tolist(), [x["padding_mask"].shape[1] for (x,) in ds]
    ([1, 2, 0], [16, 40])
    """
    n = len(lengths) if lengths is not None else len(keras.tree.flatten(inputs)[0])
    shuffled = seed is not None
    order = np.arange(n) if shuffled or lengths is None else np.argsort(lengths, kind="stable")
    rows = order
    if top_up and not shuffled and n:
        extra = np.resize(order[::-1], data.inference_rows(n, batch_size))
        rows = np.concatenate([order, extra[: len(extra) - n]])
    ds = data.batched_dataset(
        take_rows(inputs, rows),
        None if y is None else take_rows(y, rows),
        None if sample_weight is None else take_rows(sample_weight, rows),
        batch_size,
        seed=seed,
        epoch=epoch,
        multiple_of=replicas(),
        lengths=lengths if shuffled else None,
    )
    if lengths is not None:
        ds = ds.map(data.trim_to_bucket(buckets, token_labels=token_labels))
    return ds, order


def predict_by_length(predict_on_batch, inputs, lengths, batch_size, buckets, stage=None):
    """`predict_on_batch` over token arrays in order of length, each batch
    cut to its bucket and the last one topped up (`bucketed_dataset`);
    outputs come back as numpy in the input order. Outputs per token are
    zero-padded to the longest batch's length.

    Batches go through `predict_on_batch`, not `predict`: on torch, each
    `predict` call would draw from the global RNG (its DataLoader) and change
    later dropout masks. With a `stage`, progress is reported under that name
    (`keras_transfer.progress.report`).
    """
    ds, order = bucketed_dataset(inputs, lengths, batch_size, buckets, top_up=True)
    outputs, done = [], 0
    for (batch,) in ds.prefetch(2).as_numpy_iterator():
        count = len(keras.tree.flatten(batch)[0])
        # Backend tensors, as `predict` feeds them (torch.compile rejects numpy).
        batch = keras.tree.map_structure(keras.ops.convert_to_tensor, batch)
        # Under TensorFlow's MirroredStrategy each replica runs the whole batch
        # given to `predict_on_batch` and the outputs come back concatenated.
        outputs.append(keras.ops.convert_to_numpy(predict_on_batch(batch))[:count])
        done = min(done + count, len(order))
        if stage is not None:
            report(stage, done, len(order))
    return in_input_order(_concatenate(outputs), order)


def cut_to_bucket(inputs, buckets):
    """Token arrays (numpy, with a `padding_mask`) cut as `data.trim_to_bucket`
    cuts a batch: to the smallest of `buckets` that holds the longest row and,
    with a window axis (`truncation="chunks"`), to the windows the texts use.

    Example:
    >>> mask = np.zeros((1, 4, 40), bool)
    >>> mask[0, :2, :20] = True
    >>> cut_to_bucket({"padding_mask": mask}, [16, 32, 40])["padding_mask"].shape
    (1, 2, 32)
    """
    mask = np.asarray(inputs["padding_mask"]).astype(bool)
    length = min(b for b in buckets if b >= mask.sum(axis=-1).max())
    inputs = {key: np.asarray(value)[..., :length] for key, value in inputs.items()}
    if mask.ndim == 3:
        used = mask.any(axis=-1).sum(axis=-1).max()
        count = min(c for c in data.window_buckets(mask.shape[1]) if c >= used)
        inputs = {key: value[:, :count] for key, value in inputs.items()}
    return inputs


def in_input_order(rows, order):
    """Rows computed in `order` (topped up with extra rows at the end), back in input order."""
    rows = np.asarray(rows)
    result = np.empty((len(order), *rows.shape[1:]), dtype=rows.dtype)
    result[order] = rows[: len(order)]
    return result


def _concatenate(outputs):
    """Batch outputs as one float32 array, zero-padded to the longest per-token axis."""
    if not outputs:
        return np.zeros((0,), dtype="float32")
    shape = np.max([o.shape[1:] for o in outputs], axis=0).astype(int)
    result = np.zeros((sum(len(o) for o in outputs), *shape), dtype="float32")
    start = 0
    for o in outputs:
        result[(slice(start, start + len(o)), *(slice(0, d) for d in o.shape[1:]))] = o
        start += len(o)
    return result


def take_rows(values, rows):
    """`values[rows]` for an array, a list, or a dict of them (token arrays, labels per task)."""
    if isinstance(values, dict):
        return {key: take_rows(value, rows) for key, value in values.items()}
    return np.asarray(values)[rows] if not isinstance(values, list) else [values[i] for i in rows]
