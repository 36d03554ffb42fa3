"""keras_transfer: transfer learning for NLP on Keras 3 (TensorFlow, JAX, PyTorch).

Importing the package imports Keras and keras-hub and registers the toolkit's
serializable classes (models, layers, schedules, optimizers, metrics), so that
`keras.saving.load_model` reads a saved model right after `import
keras_transfer`. TensorFlow's C++ start-up notes are silenced during that
import unless `TF_CPP_MIN_LOG_LEVEL` is set. On the JAX backend it turns on
JAX's persistent compilation cache (`keras_transfer.compilation_cache`).
Everything else loads on first use.
"""

import importlib
import os
import sys

from keras_transfer.platform import detect_platform, log_dir

# Modules whose import registers classes with `keras.saving`.
_SERIALIZABLE = (
    "keras_transfer.layers.masked_global_pooling",
    "keras_transfer.layers.text_windows",
    "keras_transfer.metrics",
    "keras_transfer.schedules",
    "keras_transfer.optimizers",
    "keras_transfer.models.base",
    "keras_transfer.models.embedding_classifier",
    "keras_transfer.models.transformer_classifier",
    "keras_transfer.models.zero_shot_classifier",
    "keras_transfer.models.setfit_classifier",
    "keras_transfer.models.multi_task_classifier",
    "keras_transfer.models.token_classifier_preprocessor",
    "keras_transfer.models.token_classifier",
    "keras_transfer.families.convert_electra",
)


def _import_keras_quietly():
    """Import keras-hub (and with it Keras and TensorFlow) with TensorFlow's C++
    start-up notes (CUDA probing, oneDNN, CPU features) kept off stderr, unless
    the user set TF_CPP_MIN_LOG_LEVEL."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "keras_hub" in sys.modules:
        import keras_hub  # noqa: F401

        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some notebooks, services)
        saved = None
    try:
        if saved is None:
            import keras_hub  # noqa: F401
        else:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                try:
                    import keras_hub  # noqa: F401
                finally:
                    os.dup2(saved, 2)
    finally:
        if saved is not None:
            os.close(saved)
        del os.environ["TF_CPP_MIN_LOG_LEVEL"]  # read once at start-up; not passed on


_import_keras_quietly()
importlib.import_module("keras_transfer.compilation_cache").enable_compilation_cache()
for _module in _SERIALIZABLE:
    importlib.import_module(_module)

from keras_transfer.version import __version__ as __version__  # noqa: E402

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
    "TimeBudget": "keras_transfer.time_budget",
    "adamw_with_warmup": "keras_transfer.optimizers",
    "layerwise_multipliers": "keras_transfer.optimizers",
    "LayerwiseAdam": "keras_transfer.optimizers",
    "LayerwiseAdamW": "keras_transfer.optimizers",
    "compare": "keras_transfer.comparison",
    "compare_strategies": "keras_transfer.comparison",
    "load_texts": "keras_transfer.data",
    "load_bundled": "keras_transfer.data",
    "stratified_split": "keras_transfer.data",
    "class_balance": "keras_transfer.data",
    "augment_punctuation": "keras_transfer.data",
    "LabelMap": "keras_transfer.data",
    "load_unlabelled": "keras_transfer.data",
    "FeatureCache": "keras_transfer.feature_cache",
    "FastTokenizer": "keras_transfer.fast_tokenizer",
    "Predictor": "keras_transfer.serving",
    "TokenPredictor": "keras_transfer.serving",
    "export": "keras_transfer.exporting",
    "load_word_vectors": "keras_transfer.word_vectors",
    "ZeroShotClassifier": "keras_transfer.models.zero_shot_classifier",
    "SetFitClassifier": "keras_transfer.models.setfit_classifier",
    "MultiTaskClassifier": "keras_transfer.models.multi_task_classifier",
    "TokenClassifier": "keras_transfer.models.token_classifier",
    "TokenClassifierPreprocessor": "keras_transfer.models.token_classifier_preprocessor",
    "load_conll": "keras_transfer.conll",
    "load_bundled_ner": "keras_transfer.conll",
    "entity_scores": "keras_transfer.entity",
    "compare_ner": "keras_transfer.ner",
    "continue_pretraining": "keras_transfer.pretraining",
    "data_parallel": "keras_transfer.distribution",
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
