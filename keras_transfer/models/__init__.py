"""Models of keras_transfer."""

from keras_transfer.models.base import TransferModel
from keras_transfer.models.embedding_classifier import EmbeddingClassifier

__all__ = ["TransferModel", "EmbeddingClassifier"]
