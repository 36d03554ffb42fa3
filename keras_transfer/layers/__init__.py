"""Layers of keras_transfer."""

from keras_transfer.layers.masked_global_pooling import MaskedGlobalPooling
from keras_transfer.layers.text_windows import WindowMean, WindowsToRows

__all__ = ["MaskedGlobalPooling", "WindowMean", "WindowsToRows"]
