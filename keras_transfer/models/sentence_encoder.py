"""Sentence embeddings from a keras-hub encoder: masked mean of the tokens, unit length.

The building block of the few-shot and zero-shot classifiers: the way
sentence-transformers models such as all-MiniLM-L6-v2 were trained to embed.
"""

import keras
import keras_hub
import numpy as np


def check_encoder_inputs(backbone):
    if not isinstance(backbone, keras_hub.models.Backbone):
        raise ValueError(
            f"`backbone` must be a keras-hub Backbone. Received: backbone={backbone!r}"
        )


def pooled_output(backbone, inputs, pooler=None):
    """`backbone`'s token outputs for `inputs`, pooled: the [CLS] vector when
    `pooler` is None, else `pooler` (a masked mean) over the unpadded tokens."""
    outputs = backbone(inputs)
    sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
    if pooler is None:
        return sequence[:, 0, :]
    return pooler(sequence, mask=inputs["padding_mask"])


def sentence_embedding(backbone, inputs, pooler, normalize):
    """The unit-length masked mean of `backbone`'s token outputs for `inputs`."""
    return normalize(pooled_output(backbone, inputs, pooler))


def encode_texts(encoder, preprocessor, texts, batch_size=64):
    """`encoder` (token inputs -> embeddings) over `texts`, in inference mode, as
    numpy; texts tokenized as Hugging Face tokenizes them (`FastTokenizer`)."""
    from keras_transfer.fast_tokenizer import FastTokenizer

    tokens = FastTokenizer(preprocessor)(list(texts))
    keys = list(encoder.input) if isinstance(encoder.input, dict) else list(tokens)
    rows = []
    for start in range(0, len(texts), batch_size):
        batch = {k: tokens[k][start : start + batch_size].astype("int32") for k in keys}
        batch = keras.tree.map_structure(keras.ops.convert_to_tensor, batch)
        rows.append(keras.ops.convert_to_numpy(encoder(batch, training=False)))
    return np.concatenate(rows)
