"""Load a saved model once and predict labels (or tag words); serve it over HTTP with
the runtime's FastAPI app (`keras_transfer_runtime.server`)."""

import json
import os
import zipfile

import numpy as np

from keras_transfer_runtime import server
from keras_transfer_runtime.predictor import (  # noqa: F401  (PredictionError: the 500)
    PredictionError,
    check_text,
    check_texts,
    result,
)
from keras_transfer_runtime.server import MAX_BATCH_SIZE, MAX_TEXT_CHARS
from keras_transfer_runtime.tagging import TextTagging


def load_model(path):
    """`keras.saving.load_model` with one clear error per way a file can be wrong."""
    import keras

    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be the path of a .keras file. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"The model file does not exist. Received: path={path!r}")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":  # starts as an archive, but its end is missing
                raise ValueError(
                    "The Keras archive is truncated or corrupt (no central directory). Save "
                    f"the model again. Received: path={path!r}"
                )
        raise ValueError(
            "The file is not a Keras archive (.keras, saved with `model.save(...)`). "
            f"Received: path={path!r}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if archive.testzip() is not None or "config.json" not in names:
                raise zipfile.BadZipFile("missing or corrupt entries")
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise _corrupt(path, e) from None
    import keras_transfer.models  # noqa: F401  (registers the toolkit's classes)

    try:
        return keras.saving.load_model(path)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise _corrupt(path, e) from None
    except (ValueError, TypeError) as e:
        # The archive reads, but its configuration or weights do not make the
        # model (an argument the model refuses, a class of another version).
        reason = " ".join(str(e).split())
        raise ValueError(
            f"The model in the file cannot be loaded: {reason[:500]} Received: path={path!r}"
        ) from None


def _corrupt(path, error):
    return ValueError(
        f"The Keras archive is truncated or corrupt ({type(error).__name__}: {error}). Save the "
        f"model again. Received: path={path!r}"
    )


class Predictor:
    """A saved toolkit model, loaded once, predicting label names.

    Args:
        path: a `.keras` file saved from a toolkit model. A model saved
            without `label_names` predicts `LABEL_0`, `LABEL_1`, ... (class
            ids, as Hugging Face pipelines name them); `info` says so.

    Blank texts (empty or whitespace only) are refused with a ValueError, as
    in training.

    Texts longer than the model's `max_length` tokens are truncated by its
    tokenizer (the tail is ignored), as in training.

    Example:
    >>> import keras_transfer as kt
    >>> predictor = kt.Predictor("model.keras")            # doctest: +SKIP
    >>> predictor.predict("Great coffee, fast delivery")   # doctest: +SKIP
    {'label': 'great', 'probabilities': {'great': 0.91, 'other': 0.09}}
    """

    def __init__(self, path):
        self.model = load_model(path)
        self.path = os.fspath(path)
        if hasattr(self.model, "tag_names"):
            raise ValueError(
                "The model is a token classifier (one tag per word); the predictor serves text "
                "classifiers. Load it with `keras_transfer.TokenPredictor`. "
                f"Received: path={self.path!r}"
            )
        from keras_transfer.models.base import TransferModel

        if not isinstance(self.model, TransferModel):
            raise ValueError(
                "The model is not a keras_transfer text classifier (it does not take raw "
                f"texts). Received: path={self.path!r} holding a {type(self.model).__name__}"
            )
        self.label_names = getattr(self.model, "label_names", None)
        self.labels_saved = bool(self.label_names)
        if not self.labels_saved:
            # As Hugging Face pipelines do for a model without id2label.
            count = getattr(self.model, "num_classes", None) or int(self.model.output.shape[-1])
            self.label_names = [f"LABEL_{i}" for i in range(count)]

    @property
    def info(self):
        import keras

        return {
            "model": type(self.model).__name__,
            "name": self.model.name,
            "task": (
                "multi_task_classification"
                if hasattr(self.model, "tasks")
                else "text_classification"
            ),
            "labels": list(self.label_names),
            "backend": keras.config.backend(),
            "strategy": getattr(self.model, "strategy", None),
            "path": self.path,
            **(
                {}
                if self.labels_saved
                else {
                    "labels_note": "The model was saved without label names: LABEL_i is class "
                    "id i. Build the model with `label_names=` to name them."
                }
            ),
        }

    def predict_batch(self, texts, batch_size=32):
        """Predict a list of texts; returns one result dict per text (empty list in, empty out)."""
        texts = check_texts(texts)
        if not texts:
            return []
        # `predict_on_batch` per chunk: `predict` builds a tf.data pipeline and
        # callbacks on every call, which dominates the latency of small requests.
        probabilities = np.concatenate(
            [
                np.asarray(self.model.predict_on_batch(np.array(texts[i : i + batch_size])))
                for i in range(0, len(texts), batch_size)
            ]
        )
        probabilities = np.asarray(probabilities, dtype="float64")
        broken = ~np.isfinite(probabilities).all(axis=1)
        if broken.any():
            raise PredictionError(
                f"The model returned probabilities that are not numbers (NaN or infinite) for "
                f"{int(broken.sum())} of {len(texts)} texts; the model is broken and its "
                f"predictions cannot be trusted. Received: path={self.path!r}"
            )
        return [result(self.label_names, row) for row in probabilities]

    def predict(self, text):
        """Predict one text: `{"label": str, "probabilities": {label: float}}`."""
        return self.predict_batch([check_text(text)])[0]


class TokenPredictor(TextTagging):
    """A saved `keras_transfer.TokenClassifier`, loaded once, tagging words
    and raw texts.

    `predict(words)` is the model's own `predict` (one tag per word, for one
    list of words per sentence). `tag(text)` and `tag_batch(texts)` split raw
    texts into words and punctuation marks and answer, per text, its
    `words`, their `tags` and the `entities` the tags make, with their
    character spans (`keras_transfer_runtime.tagging.tag_texts`, as the
    runtime's `TokenPredictor` for an exported folder).

    Args:
        path: a `.keras` file saved from a `TokenClassifier`.

    Example:
    >>> import keras_transfer as kt
    >>> tagger = kt.TokenPredictor("tagger.keras")           # doctest: +SKIP
    >>> tagger.tag("Ada Lovelace lived in London.")["entities"]  # doctest: +SKIP
    [{'type': 'PER', 'text': 'Ada Lovelace', 'start': 0, 'end': 12},
     {'type': 'LOC', 'text': 'London', 'start': 22, 'end': 28}]
    """

    def __init__(self, path):
        import keras

        self.model = load_model(path)
        self.path = os.fspath(path)
        if not hasattr(self.model, "tag_names"):
            raise ValueError(
                "The model is not a token classifier; serve a text classifier with "
                f"`keras_transfer.Predictor`. Received: path={self.path!r} holding a "
                f"{type(self.model).__name__}"
            )
        # Its `predict` answers tags, not probabilities: a broken model is refused here.
        broken = [
            w.path
            for w in self.model.weights
            if not np.isfinite(keras.ops.convert_to_numpy(w)).all()
        ]
        if broken:
            raise ValueError(
                f"The model's weights hold values that are not numbers (NaN or infinite), in "
                f"{broken[:3]}; its tags cannot be trusted. Received: path={self.path!r}"
            )
        self.tag_names = list(self.model.tag_names)

    @property
    def info(self):
        import keras

        return {
            "model": type(self.model).__name__,
            "name": self.model.name,
            "task": "token_classification",
            "tags": self.tag_names,
            "backend": keras.config.backend(),
            "strategy": getattr(self.model, "strategy", None),
            "path": self.path,
        }

    def predict(self, words, batch_size=32):
        """One tag name per word, for a list of sentences (lists of words)."""
        return self.model.predict(words, batch_size=batch_size)


def open_predictor(path):
    """A predictor for `path`: for a folder written by `keras_transfer.export`,
    `keras_transfer_runtime.Predictor` or `TokenPredictor` (ONNX, no Keras at
    prediction time); for a saved `.keras` model, `Predictor` or, for a token
    classifier, `TokenPredictor`.

    Example:
    >>> from keras_transfer.serving import open_predictor   # doctest: +SKIP
    >>> open_predictor("exported").info["backend"]          # doctest: +SKIP
    'onnxruntime'
    """
    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        return server.open_export(path)  # refuses a folder that is not an export, saying so
    return TokenPredictor(path) if _saved_class(path) == "TokenClassifier" else Predictor(path)


def _saved_class(path):
    """The class name in a `.keras` archive's config (None where it does not
    read: loading it then says what is wrong)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json")).get("class_name")
    except (OSError, ValueError, KeyError, AttributeError, TypeError, zipfile.BadZipFile):
        return None


def create_app(model_path, max_batch_size=MAX_BATCH_SIZE, max_text_chars=MAX_TEXT_CHARS):
    """The FastAPI app serving a saved `.keras` model, or a folder written by
    `keras_transfer.export` (served by `keras_transfer_runtime`): the runtime's
    app (`keras_transfer_runtime.server.create_app`, which says what each route
    answers) around `open_predictor(model_path)`.

    Example:
    >>> from keras_transfer.serving import create_app   # doctest: +SKIP
    >>> app = create_app("model.keras")                 # doctest: +SKIP
    """
    return server.create_app(
        open_predictor(model_path), max_batch_size=max_batch_size, max_text_chars=max_text_chars
    )
