"""Global pooling over a sequence that ignores padding."""

import keras
from keras import ops

POOLING_MODES = ("mean", "max")


@keras.saving.register_keras_serializable(package="keras_transfer")
class MaskedGlobalPooling(keras.layers.Layer):
    """Mean or max over the time axis, counting only the unmasked positions.

    `keras.layers.GlobalAveragePooling1D` with a mask does the mean, and the
    transformer models use it. This layer adds what it lacks: a masked max,
    and a row with no valid position pools to zeros instead of NaN (a text
    made only of words outside a word-vector vocabulary has no valid position).

    Args:
        mode: `"mean"` (default) or `"max"`.

    Call arguments:
        inputs: float tensor `(batch, length, dim)`.
        padding_mask: bool/int tensor `(batch, length)`, true where valid.
            Defaults to the Keras mask of `inputs`, else all positions.

    Example:
    >>> import numpy as np, keras_transfer as kt
    >>> x = np.array([[[1.0], [3.0], [100.0]]])
    >>> mask = np.array([[True, True, False]])
    >>> float(kt.layers.MaskedGlobalPooling("mean")(x, padding_mask=mask)[0, 0])
    2.0
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"`mode` must be one of {POOLING_MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, padding_mask=None, mask=None):
        if padding_mask is None:
            padding_mask = mask
        if padding_mask is None:
            padding_mask = ops.ones(ops.shape(inputs)[:-1], dtype="bool")
        valid = ops.expand_dims(ops.cast(padding_mask, inputs.dtype), axis=-1)
        if self.mode == "mean":
            total = ops.sum(inputs * valid, axis=1)
            count = ops.maximum(ops.sum(valid, axis=1), 1.0)
            return total / count
        lowest = ops.cast(-1e9, inputs.dtype) if inputs.dtype != "float16" else -6e4
        pooled = ops.max(ops.where(valid > 0, inputs, lowest), axis=1)
        any_valid = ops.sum(valid, axis=1) > 0
        return ops.where(any_valid, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
