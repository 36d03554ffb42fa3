"""keras_transfer: transfer learning for NLP on Keras 3 (TensorFlow, JAX, PyTorch).

Importing the package is cheap; Keras loads on first use of a model, callback
or schedule.
"""

import importlib

from keras_transfer.platform import detect_platform, log_dir

__version__ = "0.1.0"

_LAZY = {
    "training_callbacks": "keras_transfer.callbacks",
    "ReduceLROnPlateau": "keras_transfer.callbacks",
    "PlateauSchedule": "keras_transfer.schedules",
    "WarmupLinearDecay": "keras_transfer.schedules",
    "TransferModel": "keras_transfer.models.base",
    "EmbeddingClassifier": "keras_transfer.models.embedding_classifier",
    "TransformerClassifier": "keras_transfer.models.transformer_classifier",
    "trainable_summary": "keras_transfer.trainability",
    "GradualUnfreezing": "keras_transfer.callbacks",
    "adamw_with_warmup": "keras_transfer.optimizers",
    "layerwise_multipliers": "keras_transfer.optimizers",
    "LayerwiseAdam": "keras_transfer.optimizers",
    "LayerwiseAdamW": "keras_transfer.optimizers",
    "compare_strategies": "keras_transfer.compare",
    "load_texts": "keras_transfer.data",
    "load_bundled": "keras_transfer.data",
    "stratified_split": "keras_transfer.data",
    "class_balance": "keras_transfer.data",
    "augment_punctuation": "keras_transfer.data",
    "LabelMap": "keras_transfer.data",
    "FeatureCache": "keras_transfer.feature_cache",
    "Predictor": "keras_transfer.serving",
    "load_word_vectors": "keras_transfer.word_vectors",
    "callbacks": "keras_transfer.callbacks",
    "schedules": "keras_transfer.schedules",
    "layers": "keras_transfer.layers",
    "metrics": "keras_transfer.metrics",
    "optimizers": "keras_transfer.optimizers",
    "serving": "keras_transfer.serving",
    "models": "keras_transfer.models",
}

__all__ = ["detect_platform", "log_dir", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'keras_transfer' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__.endswith(name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
