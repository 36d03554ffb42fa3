"""Models of keras_transfer."""

from keras_transfer.models.base import TransferModel
from keras_transfer.models.embedding_classifier import EmbeddingClassifier
from keras_transfer.models.transformer_classifier import TransformerClassifier

__all__ = ["EmbeddingClassifier", "TransferModel", "TransformerClassifier"]
