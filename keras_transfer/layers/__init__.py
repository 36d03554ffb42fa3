"""Layers of keras_transfer."""

from keras_transfer.layers.masked_global_pooling import MaskedGlobalPooling

__all__ = ["MaskedGlobalPooling"]
