"""Texts in windows (`truncation="chunks"`): windows through the encoder as rows, then pooled."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transfer")
class WindowsToRows(keras.layers.Layer):
    """Token inputs with a window axis, `(texts, windows, length)`, as one row
    per window, `(texts * windows, length)`, for an encoder.

    A window with no token (all padding: a text that needs fewer windows)
    gets its first position unmasked, so that no attention row is empty (an
    all-masked row can give NaN in fused attention); `WindowMean` leaves such
    windows out.

    Example:
    >>> import numpy as np
    >>> tokens = {"token_ids": np.ones((2, 3, 4), "int32"),
    ...           "padding_mask": np.zeros((2, 3, 4), "int32")}
    >>> rows = WindowsToRows()(tokens)
    >>> tuple(rows["token_ids"].shape), np.asarray(rows["padding_mask"])[0].tolist()
    ((6, 4), [1, 0, 0, 0])
    """

    def call(self, inputs):
        length = ops.shape(inputs["padding_mask"])[-1]
        rows = {key: ops.reshape(value, (-1, length)) for key, value in inputs.items()}
        mask = ops.cast(rows["padding_mask"], "bool")
        empty = ops.logical_not(ops.any(mask, axis=-1, keepdims=True))
        first = ops.expand_dims(ops.equal(ops.arange(length), 0), 0)
        rows["padding_mask"] = ops.cast(
            ops.logical_or(mask, ops.logical_and(empty, first)), "int32"
        )
        return rows

    def compute_output_spec(self, inputs):
        return {
            key: keras.KerasTensor((None, value.shape[-1]), dtype=value.dtype)
            for key, value in inputs.items()
        }


@keras.saving.register_keras_serializable(package="keras_transfer")
class WindowMean(keras.layers.Layer):
    """The mean of each text's window vectors over the windows that hold
    tokens: `(texts * windows, dim)` vectors (from `WindowsToRows` rows) and
    the `(texts, windows, length)` padding mask give `(texts, dim)`. Every
    window with a token weighs the same; windows of padding only weigh
    nothing.

    Example:
    >>> import numpy as np
    >>> vectors = np.array([[1.0], [3.0], [100.0]])  # 1 text, 3 windows
    >>> mask = np.array([[[1, 1], [1, 0], [0, 0]]])
    >>> float(WindowMean()(vectors, mask)[0, 0])
    2.0
    """

    def call(self, vectors, padding_mask):
        windows = ops.shape(padding_mask)[1]
        vectors = ops.reshape(vectors, (-1, windows, ops.shape(vectors)[-1]))
        holds_tokens = ops.any(ops.cast(padding_mask, "bool"), axis=-1)
        weights = ops.expand_dims(ops.cast(holds_tokens, vectors.dtype), -1)
        total = ops.sum(vectors * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, vectors_shape, padding_mask_shape):
        return (padding_mask_shape[0], vectors_shape[-1])
