"""Per-family loading and tokenization: any encoder a user brings, read as Hugging Face reads it.

- `hf_folder.keras_hub_folder`: a Hugging Face folder as `transformers`
  writes it today (`tokenizer.json` only, tensors with or without the model
  prefix) made loadable by keras-hub's converters.
- `tokenization.reference_tokenizer`: the Hugging Face `tokenizers` pipeline
  of a model, which the toolkit tokenizes with, so that ids equal Hugging
  Face's for the same folder.
"""

from keras_transfer.families.hf_folder import keras_hub_folder
from keras_transfer.families.tokenization import (
    attach_hf_tokenizer,
    reference_tokenizer,
    transformer_blocks,
)

__all__ = ["attach_hf_tokenizer", "keras_hub_folder", "reference_tokenizer", "transformer_blocks"]
