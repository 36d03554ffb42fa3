"""Predictor: an exported ONNX folder, loaded once, predicting label names."""

import json
import os

import numpy as np

EXPORT_FORMAT = "keras_transfer_export"
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
PRECISIONS = (None, "float32", "int8")


class PredictionError(ValueError):
    """The model gave no usable prediction (non-finite probabilities): the
    model, not the request, is at fault (HTTP 500)."""


def is_export(path):
    """True when `path` is a folder written by `keras_transfer.export`.

    Example:
    >>> is_export("model.keras")
    False
    """
    return _export_config(path) is not None


def export_task(path):
    """The task of a folder written by `keras_transfer.export`
    (`"text_classification"`, `"multi_task_classification"` or
    `"token_classification"`); None for any other path.

    Example:
    >>> export_task("model.keras") is None
    True
    """
    return (_export_config(path) or {}).get("task")


def _export_config(path):
    config = os.path.join(os.fspath(path), CONFIG_FILE)
    if not os.path.isfile(config):
        return None
    try:
        with open(config, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) and config.get("format") == EXPORT_FORMAT else None


class Predictor:
    """An exported ONNX folder (`keras_transfer.export(model, path)`), loaded
    once, predicting label names as `keras_transfer.Predictor` does.

    Texts are tokenized with the folder's `tokenizer.json` (Hugging Face's
    `tokenizers`), truncated to the model's `max_length` tokens, sorted by
    length, batched (at most `batch_size` texts of similar lengths, see
    `length_batches`), padded per batch to the batch's longest text (padding is masked,
    so the probabilities are those of full padding; onnxruntime runs any
    length without recompiling), and run through an `onnxruntime` session.

    Args:
        path: the exported folder.
        precision: `"float32"` or `"int8"` (a folder exported with
            `quantize="int8"`); default: the folder's default graph (int8
            where exported).
        threads: onnxruntime intra-op threads (default: onnxruntime's).

    Blank texts (empty or whitespace only) are refused with a ValueError.

    Example:
    >>> from keras_transfer_runtime import Predictor          # doctest: +SKIP
    >>> predictor = Predictor("exported")                     # doctest: +SKIP
    >>> predictor.predict_batch(["Great coffee", "Cold soup"])  # doctest: +SKIP
    [{'label': 'great', 'probabilities': {...}}, {'label': 'other', ...}]
    """

    def __init__(self, path, precision=None, threads=None):
        _open_export(self, path, precision, threads)
        if self.config.get("task") == "token_classification":
            raise ValueError(
                "`path` holds a token classifier (one tag per word): serve it with "
                f"`keras_transfer_runtime.TokenPredictor`. Received: path={self.path!r}"
            )
        self.multi_task = self.config.get("task") == "multi_task_classification"
        if self.multi_task:
            self.label_names = {t: list(n) for t, n in self.config["tasks"].items()}
        else:
            self.label_names = list(self.config["labels"])

    @property
    def info(self):
        labels_saved = self.config.get("labels_saved")
        saved = all(labels_saved.values()) if isinstance(labels_saved, dict) else labels_saved
        return {
            "model": self.config.get("model"),
            "name": self.config.get("name"),
            "task": self.config.get("task"),
            "labels": self.label_names,
            "backend": "onnxruntime",
            "precision": self.precision,
            "strategy": self.config.get("strategy"),
            "path": self.path,
            **(
                {}
                if saved
                else {
                    "labels_note": "The model was saved without label names: LABEL_i is class "
                    "id i. Build the model with `label_names=` to name them."
                }
            ),
        }

    def tokenize(self, texts):
        """Token arrays for `texts`, padded to `max_length`, and `lengths`:
        as `keras_transfer.FastTokenizer` packs them."""
        special = self.config["special_tokens"]
        encodings = self.tokenizer.encode_batch([str(t) for t in texts], add_special_tokens=False)
        n, length = len(encodings), self.max_length
        token_ids = np.full((n, length), special["pad"], dtype="int64")
        lengths = np.empty(n, dtype="int64")
        for row, encoding in enumerate(encodings):
            body = encoding.ids[: length - 2]
            token_ids[row, 0] = special["start"]
            token_ids[row, 1 : len(body) + 1] = body
            token_ids[row, len(body) + 1] = special["end"]
            lengths[row] = len(body) + 2
        return {
            "token_ids": token_ids,
            "padding_mask": np.arange(length)[None, :] < lengths[:, None],
            "segment_ids": np.zeros((n, length), dtype="int64"),
            "lengths": lengths,
        }

    def probabilities(self, texts, batch_size=32):
        """The model's probabilities for `texts` (a list of strings), in input
        order: an array, or a dict of arrays (one per task) for a multi-task model."""
        tokens = self.tokenize(texts)
        lengths = tokens.pop("lengths")
        order = np.argsort(lengths, kind="stable")
        outputs = []
        for rows in length_batches(lengths, order, batch_size):
            length = lengths[rows].max()
            feed = {
                name: tokens[name][rows, :length].astype(dtype)
                for name, dtype in self._input_types.items()
            }
            outputs.append(self.session.run(None, feed))
        names = self.config["output_names"]
        result = {}
        for i, name in enumerate(names):
            sorted_rows = np.concatenate([out[i] for out in outputs]).astype("float64")
            rows = np.empty_like(sorted_rows)
            rows[order] = sorted_rows
            result[name] = rows
        return result if self.multi_task else result[names[0]]

    def predict_batch(self, texts, batch_size=32):
        """Predict a list of texts; returns one result dict per text (empty list in, empty out).

        A multi-task model gives `{task: {"label": ..., "probabilities": {...}}}` per text."""
        texts = check_texts(texts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}"
            )
        if not texts:
            return []
        probabilities = self.probabilities(texts, batch_size)
        per_task = probabilities if self.multi_task else {None: probabilities}
        for values in per_task.values():
            broken = ~np.isfinite(values).all(axis=1)
            if broken.any():
                raise PredictionError(
                    f"The model returned probabilities that are not numbers (NaN or infinite) "
                    f"for {int(broken.sum())} of {len(texts)} texts; the model is broken and "
                    f"its predictions cannot be trusted. Received: path={self.path!r}"
                )
        if not self.multi_task:
            return [result(self.label_names, row) for row in probabilities]
        return [
            {task: result(self.label_names[task], values[i]) for task, values in per_task.items()}
            for i in range(len(texts))
        ]

    def predict(self, text):
        """Predict one text: `{"label": str, "probabilities": {label: float}}`."""
        return self.predict_batch([check_text(text)])[0]


def length_batches(lengths, order, batch_size, waste=0.25):
    """`order` (row indices sorted by length) cut into batches of at most
    `batch_size` rows, each closed before padding to its longest row would
    add more than `waste` of its real tokens: on a CPU, padding costs as much
    as text, and a smaller batch costs little more per row."""
    batches, rows, total = [], [], 0
    for row in order:
        longest = lengths[row]  # sorted: the new row is the batch's longest
        padded = longest * (len(rows) + 1)
        if rows and (len(rows) == batch_size or padded > (1 + waste) * (total + longest)):
            batches.append(np.asarray(rows))
            rows, total = [], 0
        rows.append(row)
        total += longest
    return batches + ([np.asarray(rows)] if rows else [])


def _open_export(predictor, path, precision, threads):
    """Set `predictor`'s path, config, precision, tokenizer, onnxruntime
    session, input types and max length from an exported folder."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be an exported folder. Received: path={path!r}")
    predictor.path = os.fspath(path)
    if not is_export(predictor.path):
        raise ValueError(
            "`path` must be a folder written by `keras_transfer.export` (with its "
            f"config.json). Received: path={predictor.path!r}"
        )
    with open(os.path.join(predictor.path, CONFIG_FILE), encoding="utf-8") as f:
        predictor.config = json.load(f)
    if predictor.config.get("graph_format") != "onnx":
        raise ValueError(
            "The runtime serves ONNX exports; this folder holds a "
            f"{predictor.config.get('graph_format')!r} graph. Export with format='onnx'. "
            f"Received: path={predictor.path!r}"
        )
    graphs = predictor.config["graphs"]
    if precision not in PRECISIONS or (precision is not None and precision not in graphs):
        raise ValueError(
            f"`precision` must be None or one of {sorted(graphs)} (what the folder holds). "
            f"Received: precision={precision!r}"
        )
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)):
        raise ValueError(f"`threads` must be a positive int. Received: threads={threads!r}")
    if threads is not None and threads < 1:
        raise ValueError(f"`threads` must be a positive int. Received: threads={threads!r}")
    predictor.precision = precision or (
        "int8" if graphs.get("int8") == predictor.config["graph"] else "float32"
    )
    from tokenizers import Tokenizer

    predictor.tokenizer = Tokenizer.from_file(os.path.join(predictor.path, TOKENIZER_FILE))
    predictor.tokenizer.no_padding()
    predictor.tokenizer.no_truncation()
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    # Idle threads sleep instead of spinning: on shared cores spinning threads take time
    # from the working ones (single-text latency doubled on two busy cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    predictor.session = onnxruntime.InferenceSession(
        os.path.join(predictor.path, graphs[predictor.precision]),
        options,
        providers=["CPUExecutionProvider"],
    )
    predictor._input_types = {i.name: _numpy_type(i.type) for i in predictor.session.get_inputs()}
    predictor.max_length = int(predictor.config["max_length"])


def check_text(text):
    """`text` itself when it is a non-blank string, else a `ValueError` saying
    what was received (the same rule for `keras_transfer.Predictor`)."""
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a string. Received: text={text!r}")
    if not text.strip():
        raise ValueError(
            "`text` must not be blank (empty or whitespace only): there is nothing to "
            f"classify. Received: text={text!r}"
        )
    return text


def result(label_names, row):
    """One prediction: the most probable label and every label's probability."""
    return {
        "label": label_names[int(np.argmax(row))],
        "probabilities": {n: float(p) for n, p in zip(label_names, row, strict=True)},
    }


def _numpy_type(onnx_type):
    types = {
        "tensor(bool)": "bool",
        "tensor(int32)": "int32",
        "tensor(int64)": "int64",
        "tensor(float)": "float32",
    }
    if onnx_type not in types:
        raise ValueError(f"The graph takes an input of an unexpected type: {onnx_type}")
    return types[onnx_type]


def check_texts(texts):
    """`texts` as a list of non-blank strings, or a `ValueError` saying what was
    received (the same rule for `keras_transfer.Predictor` and this runtime)."""
    if isinstance(texts, (str, bytes)):
        raise ValueError(
            "`texts` must be a list of texts, not a single string (use `predict(text)`). "
            f"Received: texts={texts!r:.80}"
        )
    if texts is None or not hasattr(texts, "__iter__") or isinstance(texts, dict):
        raise ValueError(f"`texts` must be a list of texts. Received: texts={texts!r:.80}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"`texts` must be strings. Received: texts[{i}]={text!r} of type "
                f"{type(text).__name__}"
            )
        if not text.strip():
            raise ValueError(
                "`texts` must not be blank (empty or whitespace only): there is nothing to "
                f"classify. Received: texts[{i}]={text!r}"
            )
    return texts
