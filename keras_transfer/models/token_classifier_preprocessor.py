"""TokenClassifierPreprocessor: words -> sub-word token ids, with one label per word."""

import keras
import keras_hub
import numpy as np

from keras_transfer.checks import check_int
from keras_transfer_runtime.word_shape import word_shape_ids

IGNORE = -1  # the label of positions that carry no word's tag


@keras.saving.register_keras_serializable(package="keras_transfer")
class TokenClassifierPreprocessor(keras_hub.models.Preprocessor):
    """Tokenize pre-split words for token classification and align their labels.

    The words are tokenized as Hugging Face tokenizes pre-split words for the
    model (its `word_ids`), for every family: WordPiece, byte-level BPE (a
    space before each word) and SentencePiece. A sentence becomes
    `[CLS] sub-tokens of word 1 ... [SEP]` (`<s> ... </s>` for RoBERTa-style
    models), padded to `sequence_length`. The
    first sub-token of each word carries the word's label; every other
    position (later sub-tokens, `[CLS]`, `[SEP]`, padding) gets label -1,
    which the loss and the metrics ignore. A word the tokenizer turns into
    nothing becomes `[UNK]`. Words that do not fit in `sequence_length` are
    left out whole and counted, so that the caller can warn.

    This runs in Python over all sentences at once (one tokenizer call over
    the distinct words), before the `tf.data` pipeline.

    Args:
        tokenizer: a keras-hub tokenizer with start, end and padding tokens
            (`[CLS]`/`[SEP]`/`[PAD]` or `<s>`/`</s>`/`<pad>`).
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
            A dict: `token_ids`, `padding_mask`, `segment_ids` (all zero),
            `word_shapes` (each sub-token's word shape, from the words as
            written, see `keras_transfer_runtime.word_shape`; 0 where no
            word is) (`(n, sequence_length)` arrays), `labels` (the same
            shape; -1 where no word starts, or None without `tags`), `starts`
            (per sentence, the position of each word's first sub-token, -1
            for a word cut off) and `cut` (how many words did not fit).
        """
        start, end, pad, unknown = self.special_ids()
        word_pieces = self.word_pieces(words)
        n, length = len(words), self.sequence_length
        token_ids = np.full((n, length), pad, dtype="int32")
        padding_mask = np.zeros((n, length), dtype=bool)
        labels = None if tags is None else np.full((n, length), IGNORE, dtype="int32")
        starts, cut = [], 0
        for i, sentence in enumerate(word_pieces):
            row, positions, full = [start], [], False
            for pieces in sentence:
                pieces = pieces or [unknown]
                full = full or len(row) + len(pieces) > length - 1
                if full:  # no room for this word, nor for any later one
                    positions.append(-1)
                    continue
                positions.append(len(row))
                row.extend(pieces)
            row.append(end)
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
            "word_shapes": word_shape_ids(words, starts, padding_mask.sum(axis=1), length),
            "labels": labels,
            "starts": starts,
            "cut": cut,
        }

    def special_ids(self):
        """`(start, end, pad, unknown)` token ids: [CLS]/[SEP] or <s>/</s>, by family.

        keras-hub names every family's [CLS] or <s> `start_token` and its
        [SEP] or </s> `end_token`, as the text-classifier packer reads them."""
        tokenizer = self.tokenizer
        names = ("start_token_id", "end_token_id", "pad_token_id", "unk_token_id")
        ids = [getattr(tokenizer, n) if _has_id(tokenizer, n) else None for n in names]
        if ids[3] is None:
            ids[3] = _unknown_id(tokenizer)
        if None in ids[:3]:
            # Checked here, not at construction: a reloaded tokenizer gets its
            # vocabulary (and its special ids) after the layer is built.
            raise ValueError(
                "The tokenizer must have start, end and padding tokens ([CLS]/[SEP]/[PAD] "
                f"or <s>/</s>/<pad>). Received: tokenizer={type(tokenizer).__name__}"
            )
        return tuple(int(i) for i in ids)

    def word_pieces(self, words):
        """Per sentence, the token ids of each word, from the model's Hugging
        Face tokenizer reading the words as pre-split (its own word ids), or
        from keras-hub's tokenizer word by word where there is none."""
        reference = self.reference_tokenizer()
        if reference is None:
            distinct = sorted({word for sentence in words for word in sentence})
            pieces = dict(
                zip(distinct, _as_lists(self.tokenizer(distinct)) if distinct else [], strict=True)
            )
            return [[list(pieces[word]) for word in sentence] for sentence in words]
        encodings = reference.encode_batch(
            [list(sentence) for sentence in words], is_pretokenized=True, add_special_tokens=False
        )
        out = []
        for sentence, encoding in zip(words, encodings, strict=True):
            per_word = [[] for _ in sentence]
            for token_id, word in zip(encoding.ids, encoding.word_ids, strict=True):
                if word is not None:
                    per_word[word].append(token_id)
            out.append(per_word)
        return out

    def lowercases(self):
        """Whether the model reads its words lowercased: its Hugging Face
        tokenizer's normalizer turns "A" into "a" (BERT uncased, ALBERT), or,
        without one, the keras-hub tokenizer's `lowercase`."""
        reference = self.reference_tokenizer()
        if reference is not None:
            normalizer = reference.normalizer
            return normalizer is not None and normalizer.normalize_str("A") == "a"
        return bool(getattr(self.tokenizer, "lowercase", False))

    def reference_tokenizer(self):
        """Hugging Face's `tokenizers.Tokenizer` this preprocessor aligns words
        with (the model folder's `tokenizer.json`, or the one Hugging Face
        builds from the vocabulary); `keras_transfer.export` writes it."""
        from keras_transfer.families.tokenization import (
            HF_TOKENIZER_ATTRIBUTE,
            reference_tokenizer,
        )

        key = id(getattr(self.tokenizer, HF_TOKENIZER_ATTRIBUTE, None))
        cached = self.__dict__.get("_kt_reference")
        if cached is None or cached[0] != key:
            reference = reference_tokenizer(self.tokenizer)
            if reference is not None:
                _prefix_space_for_words(reference)
            cached = (key, reference)
            self.__dict__["_kt_reference"] = cached  # a helper, not a tracked attribute
        return cached[1]

    def call(self, x, y=None, sample_weight=None):
        aligned = self.align(x, y)
        inputs = {key: aligned[key] for key in ("token_ids", "padding_mask", "segment_ids")}
        return keras.utils.pack_x_y_sample_weight(inputs, aligned["labels"], sample_weight)

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length}


def _as_lists(outputs):
    return outputs if isinstance(outputs, list) else outputs.to_list()


def _has_id(tokenizer, name):
    try:
        return getattr(tokenizer, name, None) is not None
    except Exception:  # keras-hub raises before its vocabulary is loaded
        return False


def _prefix_space_for_words(reference):
    """Byte-level BPE reads each pre-split word as if a space preceded it, as
    Hugging Face asks for token classification (`add_prefix_space=True`)."""
    from tokenizers import pre_tokenizers

    if isinstance(reference.pre_tokenizer, pre_tokenizers.ByteLevel):
        reference.pre_tokenizer.add_prefix_space = True


def _unknown_id(tokenizer):
    """The unknown token's id ([UNK] or <unk>); for a byte-level BPE without
    one (every word has pieces there), the end token's."""
    for name in ("[UNK]", "<unk>"):
        try:
            return int(tokenizer.token_to_id(name))
        except (ValueError, TypeError, KeyError):
            continue
    return tokenizer.end_token_id
