"""keras_transfer_runtime: serve a `keras_transfer.export` ONNX folder with
numpy, Hugging Face `tokenizers` and `onnxruntime` only.

It never imports TensorFlow, JAX, PyTorch, Keras, keras-hub or
`keras_transfer`: a serving image needs a few tens of megabytes, and a process
starts in well under a second.

Example:
>>> from keras_transfer_runtime import Predictor   # doctest: +SKIP
>>> Predictor("exported").predict("A great film")  # doctest: +SKIP
{'label': 'positive', 'probabilities': {'negative': 0.08, 'positive': 0.92}}

An exported `TokenClassifier` is served by `TokenPredictor`: one tag per word,
or per raw text its words, tags and entities (`TokenPredictor.tag`).

Over HTTP (FastAPI and uvicorn, `keras_transfer_runtime.server`):
`python -m keras_transfer_runtime serve --model exported`.
"""

from keras_transfer_runtime.predictor import (
    EXPORT_FORMAT,
    PredictionError,
    Predictor,
    export_task,
    is_export,
)
from keras_transfer_runtime.token_predictor import TokenPredictor

__all__ = [
    "EXPORT_FORMAT",
    "PredictionError",
    "Predictor",
    "TokenPredictor",
    "export_task",
    "is_export",
]
