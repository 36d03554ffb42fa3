"""Models of keras_transfer."""

from keras_transfer.models.base import TransferModel
from keras_transfer.models.embedding_classifier import EmbeddingClassifier
from keras_transfer.models.multi_task_classifier import MultiTaskClassifier
from keras_transfer.models.setfit_classifier import SetFitClassifier
from keras_transfer.models.token_classifier import TokenClassifier
from keras_transfer.models.token_classifier_preprocessor import TokenClassifierPreprocessor
from keras_transfer.models.transformer_classifier import TransformerClassifier
from keras_transfer.models.zero_shot_classifier import ZeroShotClassifier

__all__ = [
    "EmbeddingClassifier",
    "MultiTaskClassifier",
    "SetFitClassifier",
    "TokenClassifier",
    "TokenClassifierPreprocessor",
    "TransferModel",
    "TransformerClassifier",
    "ZeroShotClassifier",
]
