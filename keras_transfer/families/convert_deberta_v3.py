"""DeBERTa-v3 from a Hugging Face folder (`model_type: deberta-v2`), as keras-hub converts.

keras-hub 0.32 has the DeBERTa-v3 model but no converter for its Hugging
Face checkpoints; this is that converter (the weight map of keras-hub's own
checkpoint-conversion script for DeBERTa-v3).
"""

import keras_hub
import numpy as np

backbone_cls = keras_hub.models.DebertaV3Backbone
preprocessor_cls = keras_hub.models.DebertaV3TextClassifierPreprocessor
TOKENIZER_FILE = "spm.model"


def convert_backbone_config(transformers_config):
    if not transformers_config.get("relative_attention", False) or transformers_config.get(
        "position_biased_input", True
    ):
        raise ValueError(
            "Only DeBERTa-v3-style models (relative attention, no absolute positions) load. "
            f"Received: relative_attention={transformers_config.get('relative_attention')}, "
            f"position_biased_input={transformers_config.get('position_biased_input')}"
        )
    return {
        "vocabulary_size": transformers_config["vocab_size"],
        "num_layers": transformers_config["num_hidden_layers"],
        "num_heads": transformers_config["num_attention_heads"],
        "hidden_dim": transformers_config["hidden_size"],
        "intermediate_dim": transformers_config["intermediate_size"],
        "dropout": transformers_config.get("hidden_dropout_prob", 0.1),
        "max_sequence_length": transformers_config["max_position_embeddings"],
        "bucket_size": transformers_config.get("position_buckets", 256),
    }


def _heads(hf_tensor, shape):
    return np.reshape(np.transpose(hf_tensor), shape)


def _reshape(hf_tensor, shape):
    return np.reshape(hf_tensor, shape)


def _transpose(hf_tensor, _):
    return np.transpose(hf_tensor)


def convert_weights(backbone, loader, transformers_config):
    loader.port_weight(
        backbone.get_layer("token_embedding").embeddings, "embeddings.word_embeddings.weight"
    )
    norm = backbone.get_layer("embeddings_layer_norm")
    loader.port_weight(norm.gamma, "embeddings.LayerNorm.weight")
    loader.port_weight(norm.beta, "embeddings.LayerNorm.bias")
    relative = backbone.get_layer("rel_embedding")
    loader.port_weight(relative.rel_embeddings, "encoder.rel_embeddings.weight")
    loader.port_weight(relative.layer_norm.gamma, "encoder.LayerNorm.weight")
    loader.port_weight(relative.layer_norm.beta, "encoder.LayerNorm.bias")
    for i in range(backbone.num_layers):
        block = backbone.get_layer(f"disentangled_attention_encoder_layer_{i}")
        attention = block._self_attention_layer
        prefix = f"encoder.layer.{i}."
        for dense, name in (
            (attention._query_dense, "query_proj"),
            (attention._key_dense, "key_proj"),
            (attention._value_dense, "value_proj"),
        ):
            loader.port_weight(dense.kernel, f"{prefix}attention.self.{name}.weight", _heads)
            loader.port_weight(dense.bias, f"{prefix}attention.self.{name}.bias", _reshape)
        for keras_layer, hf_name in (
            (attention._output_dense, "attention.output.dense"),
            (block._feedforward_intermediate_dense, "intermediate.dense"),
            (block._feedforward_output_dense, "output.dense"),
        ):
            loader.port_weight(keras_layer.kernel, f"{prefix}{hf_name}.weight", _transpose)
            loader.port_weight(keras_layer.bias, f"{prefix}{hf_name}.bias")
        for keras_layer, hf_name in (
            (block._self_attention_layer_norm, "attention.output.LayerNorm"),
            (block._feedforward_layer_norm, "output.LayerNorm"),
        ):
            loader.port_weight(keras_layer.gamma, f"{prefix}{hf_name}.weight")
            loader.port_weight(keras_layer.beta, f"{prefix}{hf_name}.bias")


def convert_tokenizer(preset_file, tokenizer_config):
    return keras_hub.models.DebertaV3Tokenizer(proto=preset_file(TOKENIZER_FILE))
