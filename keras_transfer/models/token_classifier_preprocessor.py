"""TokenClassifierPreprocessor: words -> sub-word token ids, with one label per word."""

import keras
import keras_hub
import numpy as np

from keras_transfer.checks import check_int

IGNORE = -1  # the label of positions that carry no word's tag


@keras.saving.register_keras_serializable(package="keras_transfer")
class TokenClassifierPreprocessor(keras_hub.models.Preprocessor):
    """Tokenize pre-split words for token classification and align their labels.

    Each word is tokenized on its own. A sentence becomes
    `[CLS] sub-tokens of word 1 ... [SEP]`, padded to `sequence_length`. The
    first sub-token of each word carries the word's label; every other
    position (later sub-tokens, `[CLS]`, `[SEP]`, padding) gets label -1,
    which the loss and the metrics ignore. A word the tokenizer turns into
    nothing becomes `[UNK]`. Words that do not fit in `sequence_length` are
    left out whole and counted, so that the caller can warn.

    This runs in Python over all sentences at once (one tokenizer call over
    the distinct words), before the `tf.data` pipeline.

    Args:
        tokenizer: a keras-hub word-piece tokenizer with `cls_token_id`,
            `sep_token_id` and `pad_token_id` (BERT-style).
        sequence_length: tokens per sentence, `[CLS]` and `[SEP]` included.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TokenClassifier.from_preset(None, tag_names=["O", "B-PER", "I-PER"],
    ...                                        max_length=16)
    >>> aligned = model.preprocessor.align([["Ada", "Lovelace", "wrote"]], [[1, 2, 0]])
    >>> # [CLS] ada love ##lace wrote [SEP]: "Lovelace" is two sub-tokens
    >>> aligned["labels"][0][:6].tolist()
    [-1, 1, 2, -1, 0, -1]
    """

    def __init__(self, tokenizer, sequence_length=128, **kwargs):
        super().__init__(**kwargs)
        check_int("sequence_length", sequence_length, minimum=3)
        self.tokenizer = tokenizer
        self.sequence_length = sequence_length

    def align(self, words, tags=None):
        """Token inputs and per-position labels for a batch of word lists.

        Args:
            words: a list of sentences, each a list of words (strings).
            tags: None, or one list of integer tag ids per sentence, as long
                as its sentence.

        Returns:
            A dict: `token_ids`, `padding_mask`, `segment_ids` (all zero)
            (`(n, sequence_length)` arrays), `labels` (the same shape; -1 where no word starts, or
            None without `tags`), `starts` (per sentence, the position of each
            word's first sub-token, -1 for a word cut off) and `cut` (how many
            words did not fit).
        """
        tokenizer = self.tokenizer
        for attribute in ("cls_token_id", "sep_token_id", "pad_token_id"):
            # Checked here, not at construction: a reloaded tokenizer gets its
            # vocabulary (and its special ids) after the layer is built.
            if getattr(tokenizer, attribute, None) is None:
                raise ValueError(
                    "The tokenizer must be a BERT-style word-piece tokenizer with "
                    f"`{attribute}`. Received: tokenizer={type(tokenizer).__name__}"
                )
        distinct = sorted({word for sentence in words for word in sentence})
        pieces = dict(
            zip(distinct, _as_lists(tokenizer(distinct)) if distinct else [], strict=True)
        )
        unknown = [_unknown_id(tokenizer)]
        n, length = len(words), self.sequence_length
        token_ids = np.full((n, length), tokenizer.pad_token_id, dtype="int32")
        padding_mask = np.zeros((n, length), dtype=bool)
        labels = None if tags is None else np.full((n, length), IGNORE, dtype="int32")
        starts, cut = [], 0
        for i, sentence in enumerate(words):
            row, positions, full = [tokenizer.cls_token_id], [], False
            for word in sentence:
                word_pieces = pieces[word] or unknown
                full = full or len(row) + len(word_pieces) > length - 1
                if full:  # no room for this word, nor for any later one
                    positions.append(-1)
                    continue
                positions.append(len(row))
                row.extend(word_pieces)
            row.append(tokenizer.sep_token_id)
            token_ids[i, : len(row)] = row
            padding_mask[i, : len(row)] = True
            positions = np.asarray(positions, dtype="int64")
            cut += int(np.sum(positions < 0))
            if labels is not None:
                kept = positions >= 0
                labels[i, positions[kept]] = np.asarray(tags[i], dtype="int32")[kept]
            starts.append(positions)
        return {
            "token_ids": token_ids,
            "padding_mask": padding_mask,
            "segment_ids": np.zeros_like(token_ids),
            "labels": labels,
            "starts": starts,
            "cut": cut,
        }

    def call(self, x, y=None, sample_weight=None):
        aligned = self.align(x, y)
        inputs = {key: aligned[key] for key in ("token_ids", "padding_mask", "segment_ids")}
        return keras.utils.pack_x_y_sample_weight(inputs, aligned["labels"], sample_weight)

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length}


def _as_lists(outputs):
    return outputs if isinstance(outputs, list) else outputs.to_list()


def _unknown_id(tokenizer):
    unknown = getattr(tokenizer, "unk_token_id", None)
    if unknown is None:
        unknown = tokenizer.token_to_id("[UNK]")
    return unknown
