"""Export a trained text classifier to one self-describing folder for light serving.

The folder holds the model's graph (ONNX, TensorFlow SavedModel), the
Hugging Face `tokenizer.json` the model tokenizes with, and a `config.json`
(labels, maximum length, input names, special tokens), so
`keras_transfer_runtime.Predictor` serves an ONNX export with numpy,
`tokenizers` and `onnxruntime` only: no Keras, TensorFlow, JAX or PyTorch.
"""

import json
import os
import subprocess
import sys
import tempfile
import warnings

FORMATS = ("onnx", "tf_saved_model", "litert", "openvino")
QUANTIZATIONS = (None, "int8")
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
SAVED_MODEL_FOLDER = "saved_model"
# `config.json["format"]`: what marks a folder as this writer's output.
EXPORT_FORMAT = "keras_transfer_export"
EXPORT_FORMAT_VERSION = 1
# What Keras' `model.export(format=...)` needs beyond Keras, per format and
# backend, as (module, pip package): OpenVINO IR needs `openvino` everywhere;
# LiteRT converts with TensorFlow's converter on TensorFlow, with `litert-torch`
# on PyTorch, and not at all on JAX.
KERAS_EXPORT_PACKAGES = {
    ("openvino", "tensorflow"): ("openvino", "openvino"),
    ("openvino", "jax"): ("openvino", "openvino"),
    ("openvino", "torch"): ("openvino", "openvino"),
    ("litert", "torch"): ("litert_torch", "litert-torch"),
}


def supported_formats(backend=None):
    """The export formats that work on `backend` (default: Keras' current one).

    ONNX is written by PyTorch's exporter (dynamic batch and sequence
    dimensions); on TensorFlow and JAX the model is reloaded under the PyTorch
    backend in a subprocess for that step (Keras' own ONNX export there needs
    `tf2onnx` or `jax2onnx`). A TensorFlow SavedModel is Keras' own
    `model.export(..., format="tf_saved_model")`, on TensorFlow and JAX (on
    PyTorch Keras exports static shapes only). `"litert"` and `"openvino"`
    are refused on every backend for now: LiteRT on PyTorch takes static
    shapes only, and neither is wired to the runtime; where Keras' exporter
    for them needs a package that is not installed (`openvino`, or
    `litert-torch` on PyTorch), `export` says which to install.

    Example:
    >>> supported_formats("torch")
    ('onnx',)
    """
    import importlib.util

    if backend is None:
        import keras

        backend = keras.config.backend()
    has_torch = importlib.util.find_spec("torch") is not None
    if backend == "torch":
        return ("onnx",)
    if backend in ("tensorflow", "jax"):
        return ("tf_saved_model", "onnx") if has_torch else ("tf_saved_model",)
    return ()


def export(model, path, format="onnx", quantize=None, overwrite=False):
    """Export a text classifier to a folder that a small runtime can serve.

    The folder holds the graph (`model.onnx` or `saved_model/`), the Hugging
    Face `tokenizer.json`, and `config.json`: labels (the model's
    `label_names`, else `LABEL_0`, `LABEL_1`, ... as `keras_transfer.Predictor`
    names them), `max_length`,
    pooling, strategy, task, input names and special token ids, toolkit
    version. The graph takes dynamic batch and sequence dimensions, so a
    runtime feeds it length-bucketed batches. LoRA models export as they are
    (the adapters are part of the graph).

    Serve an ONNX export with `keras_transfer_runtime.Predictor(path)`
    (numpy, `tokenizers` and `onnxruntime` only) or
    `python -m keras_transfer serve --model path`.

    Args:
        model: a fitted `TransformerClassifier`, `MultiTaskClassifier`
            (one output per task) or `TokenClassifier` (its tags, served by
            `keras_transfer_runtime.TokenPredictor`). Models that do not
            tokenize texts (embedding, zero-shot, SetFit) are refused, and
            so are models whose `truncation` is not `"head"` (the runtime
            keeps a text's first `max_length` tokens).
        path: the folder to write (written whole, or not at all).
        format: `"onnx"` (default) or `"tf_saved_model"`; see
            `supported_formats()` for those that work on the current backend.
        quantize: None, or `"int8"` (ONNX only): also write
            `model.int8.onnx`, weights quantized to int8 (per output channel) by onnxruntime's
            dynamic quantizer; the runtime then loads it by default.
        overwrite: replace an earlier export at `path`.

    Returns:
        `path`.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TransformerClassifier.from_preset(None, num_classes=2)  # doctest: +SKIP
    >>> kt.export(model, "exported", format="onnx")                        # doctest: +SKIP
    >>> from keras_transfer_runtime import Predictor                       # doctest: +SKIP
    >>> Predictor("exported").predict("A great film")                      # doctest: +SKIP
    {'label': 'LABEL_1', 'probabilities': {'LABEL_0': 0.31, 'LABEL_1': 0.69}}
    """
    import keras

    from keras_transfer.atomic import check_out, write_folder

    backend = keras.config.backend()
    if getattr(model, "truncation", "head") != "head":
        raise ValueError(
            "The exported runtime keeps the first `max_length` tokens of a text, so it exports "
            "models with truncation='head' only; serve this model from its .keras file "
            f"(`keras_transfer.Predictor`). Received: model with truncation={model.truncation!r}"
        )
    if format not in FORMATS:
        raise ValueError(
            f"`format` must be one of {FORMATS}. Received: format={format!r}. On the "
            f"{backend} backend these work: {supported_formats(backend)}"
        )
    _check_keras_format(format, backend)
    if format not in supported_formats(backend):
        raise ValueError(
            f"`format={format!r}` is not exported on the {backend} backend (not with dynamic "
            f"batch and sequence dimensions, or not without a converter that is not a "
            f"dependency). Formats that work on {backend}: {supported_formats(backend)}. "
            f"Received: format={format!r}"
        )
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"`quantize` must be None or 'int8'. Received: quantize={quantize!r}")
    if quantize is not None and format != "onnx":
        raise ValueError(
            "`quantize='int8'` quantizes an ONNX graph (onnxruntime's dynamic quantizer); "
            f"export with format='onnx'. Received: quantize={quantize!r}, format={format!r}"
        )
    if format == "onnx":
        _check_installed(("onnx", "onnxscript") + (("onnxruntime",) if quantize else ()))
    config, tokenizer_json = _describe(model)
    path = check_out(path, name="path", overwrite=overwrite, marker=CONFIG_FILE)

    def write(folder):
        with open(os.path.join(folder, TOKENIZER_FILE), "w", encoding="utf-8") as f:
            f.write(tokenizer_json)
        if format == "onnx":
            _export_onnx(model, os.path.join(folder, ONNX_FILE), config)
            config["graph"] = ONNX_FILE
            config["graphs"] = {"float32": ONNX_FILE}
            if quantize == "int8":
                _quantize_int8(
                    os.path.join(folder, ONNX_FILE), os.path.join(folder, ONNX_INT8_FILE)
                )
                config["graph"] = ONNX_INT8_FILE
                config["graphs"]["int8"] = ONNX_INT8_FILE
        else:
            _export_keras(model, os.path.join(folder, SAVED_MODEL_FOLDER), format, config)
            config["graph"] = SAVED_MODEL_FOLDER
            config["graphs"] = {"float32": SAVED_MODEL_FOLDER}
        config["graph_format"] = format
        config["exported_on"] = backend
        with open(os.path.join(folder, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, ensure_ascii=False)
            f.write("\n")

    write_folder(path, write, overwrite=overwrite, marker=CONFIG_FILE)
    return path


def _check_keras_format(format, backend):
    """One clear `ValueError` when Keras' exporter for `format` needs a package
    that is not installed (Keras would fail deep in its export otherwise)."""
    import importlib.util

    module, package = KERAS_EXPORT_PACKAGES.get((format, backend), (None, None))
    if module and importlib.util.find_spec(module) is None:
        raise ValueError(
            f"`format={format!r}` needs the `{package}` package on the {backend} backend, "
            f"and it is not installed: pip install {package}. Or export with format='onnx' "
            f"(served by keras_transfer_runtime). Received: format={format!r}"
        )


def _check_installed(packages):
    import importlib.util

    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise ImportError(
            f"The ONNX export needs {', '.join(missing)}: "
            f"pip install {' '.join(missing)}  (or pip install 'keras_transfer[export]')"
        )


def _describe(model):
    """The export's `config.json` (without the graph entries) and `tokenizer.json` text."""
    import keras

    from keras_transfer.fast_tokenizer import FastTokenizer, special_ids
    from keras_transfer.models.base import TransferModel
    from keras_transfer.version import __version__

    name = type(model).__name__
    if hasattr(model, "tag_names"):
        return _describe_tagger(model)
    if not isinstance(model, TransferModel) or not model.tokenizes_texts:
        raise ValueError(
            "`model` must be a keras_transfer TransformerClassifier or MultiTaskClassifier "
            "(a model that tokenizes texts for a transformer encoder). "
            f"Received: model of type {name}"
        )
    preprocessor = model.preprocessor
    tokenizer = FastTokenizer(preprocessor)
    if not tokenizer.is_fast:
        raise ValueError(
            "`model`'s tokenizer has no Hugging Face `tokenizers` equivalent (a SentencePiece "
            "model keras-hub tokenizes itself), so the runtime could not tokenize as the model "
            f"does. Received: model {model.name!r} with a "
            f"{type(preprocessor.tokenizer).__name__}"
        )
    start, end, pad = special_ids(preprocessor)
    inputs = list(model.backbone.input)
    config = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "model": name,
        "name": model.name,
        "max_length": int(preprocessor.sequence_length),
        "pooling": getattr(model, "pooling", None),
        "strategy": getattr(model, "strategy", None),
        "input_names": inputs,
        "special_tokens": {"start": int(start), "end": int(end), "pad": int(pad)},
        "toolkit_version": __version__,
        "keras_version": keras.version(),
    }
    if hasattr(model, "tasks"):
        names = model.label_names or {}
        config["task"] = "multi_task_classification"
        config["tasks"] = {
            task: names.get(task) or [f"LABEL_{i}" for i in range(n)]
            for task, n in model.tasks.items()
        }
        config["labels_saved"] = {task: bool(names.get(task)) for task in model.tasks}
        config["output_names"] = list(model.tasks)
    else:
        labels = model.label_names
        count = getattr(model, "num_classes", None) or int(model.output.shape[-1])
        config["task"] = "text_classification"
        config["labels"] = list(labels) if labels else [f"LABEL_{i}" for i in range(count)]
        config["labels_saved"] = bool(labels)
        config["output_names"] = ["probabilities"]
    return config, tokenizer._reference_tokenizer.to_str()


def _describe_tagger(model):
    """`_describe` for a `TokenClassifier`: its tags and how its words become
    tokens (the Hugging Face tokenizer reading pre-split words, each word
    tagged at its first sub-token), for `keras_transfer_runtime.TokenPredictor`."""
    import keras

    from keras_transfer.version import __version__

    preprocessor = model.preprocessor
    reference = preprocessor.reference_tokenizer()
    if reference is None:
        raise ValueError(
            "`model`'s tokenizer has no Hugging Face `tokenizers` equivalent, so the runtime "
            f"could not split words as the model does. Received: model {model.name!r} with a "
            f"{type(preprocessor.tokenizer).__name__}"
        )
    start, end, pad, unknown = preprocessor.special_ids()
    config = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "model": type(model).__name__,
        "name": model.name,
        "task": "token_classification",
        "tags": list(model.tag_names),
        "word_alignment": "first_sub_token",
        "word_shape": bool(model.word_shape),
        "max_length": int(preprocessor.sequence_length),
        "strategy": getattr(model, "strategy", None),
        "input_names": list(model.input),
        "output_names": ["probabilities"],
        "special_tokens": {
            "start": int(start),
            "end": int(end),
            "pad": int(pad),
            "unknown": int(unknown),
        },
        "toolkit_version": __version__,
        "keras_version": keras.version(),
    }
    return config, reference.to_str()


def _export_onnx(model, file, config):
    """`model.onnx` through PyTorch's exporter: here on the PyTorch backend, else
    in a subprocess that reloads the model under it."""
    import keras

    if keras.config.backend() == "torch":
        onnx_from_torch_model(model, file, config["input_names"], config["output_names"])
        return
    with tempfile.TemporaryDirectory(prefix="keras_transfer_export_") as tmp:
        saved = os.path.join(tmp, "model.keras")
        model.save(saved)
        env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run(
            [sys.executable, "-m", "keras_transfer.exporting", saved, file],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not os.path.isfile(file):
            raise RuntimeError(
                "The ONNX export under the PyTorch backend failed:\n" + done.stderr[-3000:]
            )


def onnx_from_torch_model(model, file, input_names, output_names):
    """Write `model` (on the PyTorch backend) as ONNX with dynamic batch and sequence dims.

    Keras' own `model.export(format="onnx")` takes PyTorch's TorchScript
    exporter when a dimension is dynamic, which cannot trace the layer
    normalization of a dynamic-length input; this takes PyTorch's `torch.export`
    based exporter (the one Keras takes for static shapes) with the batch and
    sequence dimensions declared dynamic.
    """
    import torch

    from keras_transfer.onnx_graph import einsum_to_matmul

    class _Graph(torch.nn.Module):
        def __init__(self, wrapped):
            super().__init__()
            self.wrapped = wrapped

        def forward(self, *tokens):
            outputs = self.wrapped(dict(zip(input_names, tokens, strict=True)), training=False)
            if isinstance(outputs, dict):
                return tuple(outputs[name] for name in output_names)
            return outputs

    length = int(model.preprocessor.sequence_length)
    sample_length = min(16, length)
    sample = []
    for name in input_names:
        if name == "padding_mask":
            sample.append(torch.ones((2, sample_length), dtype=torch.bool))
        else:
            sample.append(torch.zeros((2, sample_length), dtype=torch.int32))
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    sequence = torch.export.Dim("sequence", min=2, max=length)
    graph = _Graph(model)
    graph.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            graph,
            tuple(sample),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_shapes=(tuple({0: batch, 1: sequence} for _ in input_names),),
            dynamo=True,
            verbose=False,
        )
        program.optimize()
        program.save(file)
    einsum_to_matmul(file)


def _export_keras(model, folder, format, config):
    """Keras' own `model.export`; on JAX, with one symbolic sequence length
    for every input, at most `max_length` (keras-hub's position embedding
    compares it with its table's length)."""
    import keras

    kwargs = {}
    if keras.config.backend() == "jax":
        kwargs["jax2tf_kwargs"] = {
            "polymorphic_shapes": [{name: "(batch, sequence)" for name in config["input_names"]}],
            "polymorphic_constraints": (f"sequence <= {config['max_length']}",),
            "with_gradient": False,  # inference only (the dropout seeds have no gradient)
        }
    with warnings.catch_warnings():
        # Keras passes jax2tf's `native_serialization`, which JAX deprecates.
        warnings.filterwarnings(
            "ignore", message=".*native_serialization", category=DeprecationWarning
        )
        model.export(folder, format=format, verbose=False, **kwargs)


def _quantize_int8(source, target):
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process the graph first, on the root logger
    try:
        quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def _main(argv):
    """`python -m keras_transfer.exporting MODEL.keras OUT.onnx` under `KERAS_BACKEND=torch`."""
    model_path, file = argv
    from keras_transfer.serving import load_model

    model = load_model(model_path)
    config, _ = _describe(model)
    onnx_from_torch_model(model, file, config["input_names"], config["output_names"])


if __name__ == "__main__":
    _main(sys.argv[1:])
