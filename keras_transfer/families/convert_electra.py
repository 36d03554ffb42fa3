"""ELECTRA from a Hugging Face folder, in the shape of keras-hub's converters.

keras-hub 0.32 has the ELECTRA backbone and tokenizer but neither a
converter for Hugging Face checkpoints nor a classifier preprocessor. The
blocks are BERT's, so keras-hub's BERT weight map ports them (ELECTRA has no
pooler: keras-hub's pooled dense, which the toolkit's heads do not read,
keeps its initial values); the embedding projection is ported here. The
preprocessor is keras-hub's BERT one ([CLS] text [SEP]) for the ELECTRA
tokenizer.
"""

import keras
import keras_hub
import numpy as np

from keras_transfer import _keras_compat as compat

backbone_cls = keras_hub.models.ElectraBackbone
TOKENIZER_FILE = "vocab.txt"


@keras.saving.register_keras_serializable(package="keras_transfer")
class ElectraTextClassifierPreprocessor(keras_hub.models.BertTextClassifierPreprocessor):
    """keras-hub's BERT classifier preprocessing ([CLS] text [SEP]) for ELECTRA,
    which keras-hub lacks; found by `TextClassifierPreprocessor.from_preset`
    for ELECTRA presets.

    Example:
    >>> import keras
    >>> import keras_hub
    >>> tokenizer = keras_hub.models.ElectraTokenizer(
    ...     vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good"])
    >>> tokens = ElectraTextClassifierPreprocessor(tokenizer, sequence_length=4)(["good"])
    >>> keras.ops.convert_to_numpy(tokens["token_ids"]).tolist()
    [[2, 5, 3, 0]]
    """

    backbone_cls = keras_hub.models.ElectraBackbone
    tokenizer_cls = keras_hub.models.ElectraTokenizer


preprocessor_cls = ElectraTextClassifierPreprocessor


def convert_backbone_config(transformers_config):
    return {
        "vocab_size": transformers_config["vocab_size"],
        "num_layers": transformers_config["num_hidden_layers"],
        "num_heads": transformers_config["num_attention_heads"],
        "hidden_dim": transformers_config["hidden_size"],
        "embedding_dim": transformers_config["embedding_size"],
        "intermediate_dim": transformers_config["intermediate_size"],
        "dropout": transformers_config.get("hidden_dropout_prob", 0.1),
        "max_sequence_length": transformers_config["max_position_embeddings"],
        "num_segments": transformers_config.get("type_vocab_size", 2),
    }


class _WithoutPooler:
    """The loader, skipping the pooler BERT's weight map asks for."""

    def __init__(self, loader):
        self.loader = loader

    def get_tensor(self, key):
        return self.loader.get_tensor(key)

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        if not hf_weight_key.startswith("pooler."):
            self.loader.port_weight(keras_variable, hf_weight_key, hook_fn)


def convert_weights(backbone, loader, transformers_config):
    compat.keras_hub_bert_weights(backbone, _WithoutPooler(loader), transformers_config)
    if backbone.embedding_dim != backbone.hidden_dim:
        projection = backbone.get_layer("embeddings_projection")
        loader.port_weight(
            projection.kernel,
            "embeddings_project.weight",
            lambda hf_tensor, _: np.transpose(hf_tensor),
        )
        loader.port_weight(projection.bias, "embeddings_project.bias")


def convert_tokenizer(preset_file, tokenizer_config):
    return keras_hub.models.ElectraTokenizer(
        vocabulary=preset_file(TOKENIZER_FILE),
        lowercase=tokenizer_config.get("do_lower_case", True),
    )
