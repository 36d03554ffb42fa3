"""Load a saved model once and predict labels (or tag words); serve it over HTTP with FastAPI."""

import json
import os
import pathlib
import zipfile

import numpy as np

from keras_transfer_runtime.predictor import PredictionError, check_text, check_texts, result
from keras_transfer_runtime.tagging import tag_texts

PAGE = pathlib.Path(__file__).with_name("serve_page.html")
MAX_BATCH_SIZE = 64
MAX_TEXT_CHARS = 20_000


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


class TokenPredictor:
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

    def tag_batch(self, texts, batch_size=32):
        """Tag raw texts: per text, `{"words": [...], "tags": [...], "entities":
        [{"type", "text", "start", "end"}, ...]}` (empty list in, empty out)."""
        return tag_texts(self.predict, texts, batch_size)

    def tag(self, text):
        """Tag one raw text (see `tag_batch`)."""
        return self.tag_batch([check_text(text)])[0]


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
        import keras_transfer_runtime as runtime

        if runtime.export_task(path) == "token_classification":
            return runtime.TokenPredictor(path)
        return runtime.Predictor(path)  # refuses a folder that is not an export, saying so
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
    """The FastAPI app serving a saved model, or a folder written by
    `keras_transfer.export` (served by `keras_transfer_runtime`).

    Endpoints: `GET /`, a page to try the model in (type or paste texts, see the label and a
    bar per class, or the tagged words); `GET /health`; `GET /info` (the task, labels or tags,
    backend, model name); `GET /docs`, FastAPI's API page. A text classifier answers `POST
    /predict` `{"text": str}` and `POST /predict_batch` `{"texts": [str, ...]}` (at most
    `max_batch_size`); a token classifier answers `POST /tag` and `POST /tag_batch` with the
    same bodies: per text, its `words` (words and punctuation marks), their `tags` and the
    `entities` they make, each with its `type`, `text` and `start` / `end` characters. The
    other task's routes get a 404 that names the right ones. Invalid bodies (missing, empty or
    blank text, wrong types, text that is not valid Unicode) get a 422, a batch of more than
    `max_batch_size` texts or a text longer than `max_text_chars` characters a 413; the
    answer says why and never echoes the input. A model that returns probabilities that are
    not numbers gets a 500 that says so, never a 200 with null probabilities.

    Example:
    >>> from keras_transfer.serving import create_app   # doctest: +SKIP
    >>> app = create_app("model.keras")                 # doctest: +SKIP
    """
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    predictor = open_predictor(model_path)
    TextIn, TextsIn = _request_schemas(max_batch_size, max_text_chars)
    Result, Results = _answer_schemas(predictor)
    app = FastAPI(title="keras_transfer", description=f"Serving {predictor.info['name']}")
    app.state.predictor = predictor
    _error_handlers(app)
    tagging = predictor.info["task"] == "token_classification"
    one, many = (
        (predictor.tag, predictor.tag_batch)
        if tagging
        else (predictor.predict, predictor.predict_batch)
    )
    route, other = ("/tag", "/predict") if tagging else ("/predict", "/tag")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return PAGE.read_text(encoding="utf-8")

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/info")
    def info():
        return {
            **predictor.info,
            "max_batch_size": max_batch_size,
            "max_text_chars": max_text_chars,
        }

    @app.post(route, response_model=Result, name=route[1:])
    def answer_one(body: TextIn):
        return one(body.text)

    @app.post(f"{route}_batch", response_model=Results, name=f"{route[1:]}_batch")
    def answer_batch(body: TextsIn):
        return {"predictions": many(body.texts)}

    _wrong_task_routes(app, other, route, tagging)
    return app


def _wrong_task_routes(app, other, route, tagging):
    """`other` and `{other}_batch` answer a 404 that names the routes this model answers."""
    from fastapi.responses import JSONResponse

    served = "a token classifier (one tag per word)" if tagging else "a text classifier"
    message = (
        f'This server serves {served}: POST {route} {{"text": ...}} or {route}_batch '
        f'{{"texts": [...]}}. {other} and {other}_batch answer '
        f"{'text classifiers' if tagging else 'token classifiers'}."
    )
    for path in (other, f"{other}_batch"):

        @app.post(path, include_in_schema=False)
        def wrong_task():
            return JSONResponse({"detail": message}, status_code=404)


def _request_schemas(max_batch_size, max_text_chars):
    """The request bodies: (TextIn, TextsIn)."""
    from typing import Annotated

    from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

    def encodable(text):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid Unicode (it holds a lone surrogate)") from None
        if not text.strip():
            raise ValueError("text is blank (whitespace only): there is nothing to classify")
        return text

    Text = Annotated[
        str,
        StringConstraints(strip_whitespace=False, min_length=1, max_length=max_text_chars),
        AfterValidator(encodable),
    ]

    class TextIn(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        text: Text

    class TextsIn(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        texts: Annotated[list[Text], Field(min_length=1, max_length=max_batch_size)]

    return TextIn, TextsIn


def _answer_schemas(predictor):
    """The answers: (Result, Results), one text's and a batch's."""
    from pydantic import BaseModel

    class Prediction(BaseModel):
        label: str
        probabilities: dict[str, float]

    class Entity(BaseModel):
        type: str
        text: str
        start: int
        end: int

    class Tagged(BaseModel):
        words: list[str]
        tags: list[str]
        entities: list[Entity]

    task = predictor.info["task"]
    # An exported multi-task model answers one prediction per task.
    Result = {
        "token_classification": Tagged,
        "multi_task_classification": dict[str, Prediction],
    }.get(task, Prediction)

    class Results(BaseModel):
        predictions: list[Result]

    return Result, Results


def _error_handlers(app):
    """422 / 413 for bad bodies (saying what is wrong, never echoing the input),
    500 for a model whose probabilities are not numbers."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request, exc):
        # Say what is wrong and where, never echo the input back: it may be a
        # megabyte long, or not encodable at all.
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        too_large = any(e["type"] in ("string_too_long", "too_long") for e in errors)
        return JSONResponse({"detail": errors}, status_code=413 if too_large else 422)

    @app.exception_handler(PredictionError)
    async def broken_model(request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=500)
