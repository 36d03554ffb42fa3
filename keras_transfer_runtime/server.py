"""The HTTP app that serves a predictor (FastAPI): the page at `GET /`, `/health`, `/info`,
`/predict` and `/predict_batch` (or `/tag` and `/tag_batch`), with its limits and errors.

It imports FastAPI, pydantic and the runtime only: `python -m keras_transfer_runtime serve
--model EXPORTED_FOLDER` serves an export in a process that never imports TensorFlow, JAX,
PyTorch, Keras, keras-hub or `keras_transfer`. `keras_transfer.serving.create_app` serves a
saved `.keras` model with the same app.
"""

import os
import pathlib

from keras_transfer_runtime.predictor import PredictionError, Predictor, export_task
from keras_transfer_runtime.token_predictor import TokenPredictor

PAGE = pathlib.Path(__file__).with_name("serve_page.html")
MAX_BATCH_SIZE = 64
MAX_TEXT_CHARS = 20_000


def open_export(path):
    """The runtime predictor of a folder written by `keras_transfer.export`:
    `TokenPredictor` for a token classifier, else `Predictor` (which refuses a
    folder that is not an export, saying so). A `.keras` file is refused with
    the command that serves it.

    Example:
    >>> open_export("model.keras")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `path` is a saved Keras model ...
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(
            f"`path` must be the path of a folder written by `keras_transfer.export`. "
            f"Received: path={path!r}"
        )
    if os.fspath(path).endswith(".keras") and not os.path.isdir(path):
        raise ValueError(
            "`path` is a saved Keras model (.keras); the runtime serves folders written by "
            "`keras_transfer.export`. Serve it with `python -m keras_transfer serve --model "
            f"{os.fspath(path)}` (needs Keras), or export it first. Received: path={path!r}"
        )
    if export_task(path) == "token_classification":
        return TokenPredictor(path)
    return Predictor(path)


def create_app(predictor, max_batch_size=MAX_BATCH_SIZE, max_text_chars=MAX_TEXT_CHARS):
    """The FastAPI app serving `predictor`: an object with `info` and
    `predict` / `predict_batch` (a text classifier) or `tag` / `tag_batch` (a
    token classifier), or the path of a folder written by `keras_transfer.export`
    (opened with `open_export`).

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
    >>> from keras_transfer_runtime.server import create_app   # doctest: +SKIP
    >>> app = create_app("exported")                           # doctest: +SKIP
    """
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    if isinstance(predictor, (str, os.PathLike)):
        predictor = open_export(predictor)
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
