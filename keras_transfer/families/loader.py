"""Loading the Hugging Face families keras-hub has models for but no converter."""

import json
import os

from keras_transfer import _keras_compat as compat
from keras_transfer.families import convert_deberta_v3, convert_electra
from keras_transfer.families.hf_folder import model_type

# model_type in config.json -> converter module (backbone_cls, preprocessor_cls,
# convert_backbone_config, convert_weights, convert_tokenizer).
CONVERTERS = {"deberta-v2": convert_deberta_v3, "electra": convert_electra}


def has_converter(folder):
    return model_type(folder) in CONVERTERS


def load_converted(folder, sequence_length, load_weights=True):
    """`(backbone, preprocessor)` from a Hugging Face folder through the
    toolkit's converter for its `model_type`."""
    converter = CONVERTERS[model_type(folder)]
    config = _json(folder, "config.json")
    backbone = converter.backbone_cls(**converter.convert_backbone_config(config))
    if load_weights:
        with compat.safetensor_loader(folder) as loader:
            converter.convert_weights(backbone, loader, config)
    tokenizer = converter.convert_tokenizer(
        lambda name: os.path.join(folder, name), _json(folder, "tokenizer_config.json")
    )
    preprocessor = converter.preprocessor_cls(tokenizer=tokenizer, sequence_length=sequence_length)
    return backbone, preprocessor


def _json(folder, name):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fold_token_type_embedding(backbone, folder):
    """RoBERTa: add the token-type row every token reads to the position
    embeddings, which keras-hub's converter drops (its XLM-R converter does
    the same fold), so that outputs equal Hugging Face's."""
    if model_type(folder) != "roberta":
        return
    with compat.safetensor_loader(folder) as loader:
        try:
            row = loader.get_tensor("embeddings.token_type_embeddings.weight")[0]
        except Exception:  # no token-type table: nothing to fold
            return
    variable = backbone.embeddings.position_embedding.position_embeddings
    variable.assign(variable + row)
