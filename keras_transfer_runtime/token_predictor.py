"""TokenPredictor: an exported token classifier, tagging lists of words."""

import numpy as np

from keras_transfer_runtime.predictor import (
    PredictionError,
    _open_export,
    length_batches,
)
from keras_transfer_runtime.tagging import TextTagging
from keras_transfer_runtime.word_shape import word_shape_ids


class TokenPredictor(TextTagging):
    """An exported token classifier (`keras_transfer.export` of a
    `TokenClassifier`), loaded once, giving one tag per word as the Keras
    model's `predict(words)` does.

    Each sentence (a list of words) is tokenized with the folder's
    `tokenizer.json` reading the words as pre-split (Hugging Face `tokenizers`'
    `is_pretokenized=True`; a word is the sub-tokens whose `word_ids` name it,
    a word with none reads as the unknown token), packed between the start
    and end tokens, and each word takes the tag of its first sub-token. Words
    that do not fit in `max_length` tokens, and every later word of their
    sentence, are tagged `"O"` (the first tag where there is no `"O"`).

    Args:
        path: the exported folder.
        precision: `"float32"` or `"int8"` (a folder exported with
            `quantize="int8"`); default: the folder's default graph.
        threads: onnxruntime intra-op threads (default: onnxruntime's).

    `tag(text)` and `tag_batch(texts)` tag raw texts: each is split into
    words and punctuation marks (`keras_transfer_runtime.tagging.split_words`)
    and answers its `words`, their `tags` and the `entities` the tags make,
    with their character spans (`keras_transfer_runtime.tagging.tag_texts`).

    Example:
    >>> from keras_transfer_runtime import TokenPredictor        # doctest: +SKIP
    >>> tagger = TokenPredictor("exported")                      # doctest: +SKIP
    >>> tagger.predict([["Ada", "Lovelace", "wrote"]])           # doctest: +SKIP
    [['B-PER', 'I-PER', 'O']]
    >>> tagger.tag("Ada Lovelace wrote.")["entities"]            # doctest: +SKIP
    [{'type': 'PER', 'text': 'Ada Lovelace', 'start': 0, 'end': 12}]
    """

    def __init__(self, path, precision=None, threads=None):
        _open_export(self, path, precision, threads)
        if self.config.get("task") != "token_classification":
            raise ValueError(
                "`path` holds a text classifier: serve it with "
                f"`keras_transfer_runtime.Predictor`. Received: path={self.path!r}"
            )
        self.tag_names = list(self.config["tags"])
        names = self.tag_names
        self.outside = names.index("O") if "O" in names else 0

    @property
    def info(self):
        return {
            "model": self.config.get("model"),
            "name": self.config.get("name"),
            "task": "token_classification",
            "tags": self.tag_names,
            "backend": "onnxruntime",
            "precision": self.precision,
            "strategy": self.config.get("strategy"),
            "path": self.path,
        }

    def align(self, words):
        """Token arrays for `words` (one list of words per sentence), padded
        to `max_length` (`word_shapes` too, for a model that reads them),
        their `lengths`, and `starts`: per sentence, the position of each
        word's first sub-token (-1 for a word cut off)."""
        special = self.config["special_tokens"]
        encodings = self.tokenizer.encode_batch(
            words, is_pretokenized=True, add_special_tokens=False
        )
        n, length = len(words), self.max_length
        token_ids = np.full((n, length), special["pad"], dtype="int64")
        lengths, starts = np.empty(n, dtype="int64"), []
        for i, (sentence, encoding) in enumerate(zip(words, encodings, strict=True)):
            pieces = [[] for _ in sentence]
            for token_id, word in zip(encoding.ids, encoding.word_ids, strict=True):
                if word is not None:
                    pieces[word].append(token_id)
            row, positions = [special["start"]], np.full(len(sentence), -1, dtype="int64")
            for w, word_pieces in enumerate(pieces):
                word_pieces = word_pieces or [special["unknown"]]
                if len(row) + len(word_pieces) > length - 1:
                    break  # no room for this word, nor for any later one
                positions[w] = len(row)
                row.extend(word_pieces)
            row.append(special["end"])
            token_ids[i, : len(row)] = row
            lengths[i] = len(row)
            starts.append(positions)
        return {
            "token_ids": token_ids,
            "padding_mask": np.arange(length)[None, :] < lengths[:, None],
            "segment_ids": np.zeros((n, length), dtype="int64"),
            "word_shapes": word_shape_ids(words, starts, lengths, length),
            "lengths": lengths,
            "starts": starts,
        }

    def probabilities(self, words, batch_size=32):
        """Per sentence, a `(words, tags)` array: each word's tag probabilities
        (its first sub-token's); a word cut off by `max_length` gets zeros."""
        words = check_word_lists(words)
        aligned = self.align(words)
        lengths, starts = aligned.pop("lengths"), aligned.pop("starts")
        order = np.argsort(lengths, kind="stable")
        results = [None] * len(words)
        for rows in length_batches(lengths, order, batch_size):
            length = lengths[rows].max()
            feed = {
                name: aligned[name][rows, :length].astype(dtype)
                for name, dtype in self._input_types.items()
            }
            (tokens,) = self.session.run(None, feed)
            for row, values in zip(rows, tokens, strict=True):
                kept = starts[row] >= 0
                per_word = np.zeros((len(kept), len(self.tag_names)))
                per_word[kept] = values[starts[row][kept]]
                results[row] = per_word
        return results

    def predict(self, words, batch_size=32):
        """One tag name per word, for a list of sentences (lists of words)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}"
            )
        tagged = []
        for values in self.probabilities(words, batch_size):
            if not np.isfinite(values).all():
                raise PredictionError(
                    "The model returned probabilities that are not numbers (NaN or infinite); "
                    f"its tags cannot be trusted. Received: path={self.path!r}"
                )
            ids = np.where(values.any(axis=1), values.argmax(axis=1), self.outside)
            tagged.append([self.tag_names[i] for i in ids])
        return tagged


def check_word_lists(words):
    """`words` as a list of sentences, each a list of non-empty word strings,
    or a `ValueError` saying what was received."""
    if isinstance(words, (str, bytes)) or not isinstance(words, (list, tuple)):
        raise ValueError(
            "`words` must be a list of sentences, each a list of words (split texts into "
            f"words first, e.g. text.split()). Received: words={words!r:.80}"
        )
    for i, sentence in enumerate(words):
        if isinstance(sentence, str) or not isinstance(sentence, (list, tuple)):
            raise ValueError(
                "`words` must hold one list of words per sentence. "
                f"Received: words[{i}]={sentence!r:.80}"
            )
        for word in sentence:
            if not isinstance(word, str) or not word:
                raise ValueError(
                    f"Words must be non-empty strings. Received: {word!r} in words[{i}]"
                )
    return [list(sentence) for sentence in words]
