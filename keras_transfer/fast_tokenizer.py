"""FastTokenizer: a keras-hub text preprocessor's token arrays for many texts at once."""

import numpy as np

from keras_transfer.checks import check_int

_CHUNK = 2048


class FastTokenizer:
    """Tokenize raw texts as Hugging Face tokenizes them for the model, all at
    once, before the training or inference pipeline, packed as the model's
    keras-hub preprocessor packs them (special tokens, padding).

    Hugging Face's Rust `tokenizers` library does the work
    (`keras_transfer.families.reference_tokenizer`): with the `tokenizer.json`
    of the Hugging Face folder the model came from, or, for a keras-hub
    preset, the pipeline Hugging Face builds from the same WordPiece or
    byte-level BPE vocabulary (accents stripped when lowercasing, as in
    Hugging Face). A SentencePiece model from a keras-hub preset is tokenized
    by its preprocessor, once over all the texts.

    A reloaded model builds its `FastTokenizer` again from what it saved (the
    vocabulary, and the `tokenizer.json` where it has one).

    Args:
        preprocessor: a keras-hub `TextClassifierPreprocessor` (a `tokenizer`
            and a `sequence_length`).
        truncation: what a text longer than `sequence_length` keeps: `"head"`
            (default) its first tokens; `"head_tail"` its first quarter and
            last three quarters of the room, as in Sun et al. (2019), "How to
            Fine-Tune BERT for Text Classification" (128 + 382 of 510 there),
            where the end of a review often says the most; `"chunks"` all
            of it, in overlapping windows (see below).
        max_chunks: with `truncation="chunks"`, the most windows per text
            (default 4); the rest of a longer text is left out. Only for
            `"chunks"`.

    Calling it on a list of texts returns numpy arrays: the preprocessor's
    inputs (`token_ids`, `padding_mask`, and `segment_ids` where the model
    takes them), padded to `sequence_length`, and `lengths` (tokens per text,
    special tokens included).

    With `truncation="chunks"` each input has a window axis,
    `(texts, max_chunks, sequence_length)`: a text's tokens in windows of
    `sequence_length - 2`, each packed with its own special tokens, each
    starting `(sequence_length - 2) - (sequence_length - 2) // 2` tokens after
    the one before, so consecutive windows overlap by half a window (Hugging
    Face's `return_overflowing_tokens` with `stride=(sequence_length - 2) // 2`
    makes the same windows). A text that fits takes one window; the windows it
    does not need are all padding (`padding_mask` false). `lengths` counts the
    tokens of all its windows.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TransformerClassifier.from_preset(None, num_classes=2, max_length=16)
    >>> tokens = kt.FastTokenizer(model.preprocessor)(["A great film!"])
    >>> tokens["token_ids"][0, :6].tolist(), tokens["lengths"].tolist()
    ([101, 1037, 2307, 2143, 999, 102], [6])
    """

    def __init__(self, preprocessor, truncation="head", max_chunks=None):
        if getattr(preprocessor, "sequence_length", None) is None:
            raise ValueError(
                "`preprocessor` must be a keras-hub text preprocessor with a `sequence_length`. "
                f"Received: preprocessor of type {type(preprocessor).__name__}"
            )
        self.max_chunks = check_max_chunks(truncation, max_chunks)
        self.truncation = truncation
        self.preprocessor = preprocessor
        self.sequence_length = preprocessor.sequence_length
        # Plain lowercase ASCII, where every tokenizer of a model agrees: checks
        # that the packing (special tokens, padding) is the preprocessor's.
        probe = ["a probe, with punctuation!", "x"]
        reference = self._reference(probe)
        self._segment_ids = "segment_ids" in reference
        self._reference_tokenizer = _reference_tokenizer(preprocessor)
        packed = None if self._reference_tokenizer is None else self._pack(probe, "head")
        if packed is not None and not _same(packed, reference):
            # A packer we do not mirror: the preprocessor's own way.
            self._reference_tokenizer = None
        if truncation != "head" and self._reference_tokenizer is None:
            raise ValueError(
                f"`truncation={truncation!r}` needs Hugging Face's `tokenizers` for this "
                f"model's tokenizer ({type(preprocessor.tokenizer).__name__}), which has no "
                "`tokenizer.json` here; use truncation='head', or load the model from its "
                f"Hugging Face folder. Received: truncation={truncation!r}"
            )

    @property
    def is_fast(self):
        """True when Hugging Face's `tokenizers` runs; False for the preprocessor fallback."""
        return self._reference_tokenizer is not None

    def __call__(self, texts):
        texts = [str(t) for t in texts]
        if self._reference_tokenizer is not None:
            return self._pack(texts, self.truncation)
        return self._reference(texts)

    def _reference(self, texts):
        """The preprocessor itself, in chunks, as numpy."""
        import keras

        parts = []
        for start in range(0, len(texts), _CHUNK):
            # A list, which every keras-hub tokenizer takes (byte-level BPE takes no array).
            out = self.preprocessor(list(texts[start : start + _CHUNK]))
            parts.append({k: keras.ops.convert_to_numpy(v) for k, v in out.items()})
        tokens = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        tokens["lengths"] = tokens["padding_mask"].astype("int32").sum(axis=1)
        return tokens

    def _pack(self, texts, truncation):
        start, end, pad = special_ids(self.preprocessor)
        encodings = self._reference_tokenizer.encode_batch(texts, add_special_tokens=False)
        n, length = len(texts), self.sequence_length
        count = self.max_chunks if truncation == "chunks" else 1
        token_ids = np.full((n, count, length), pad, dtype="int32")
        sizes = np.zeros((n, count), dtype="int32")
        for row, encoding in enumerate(encodings):
            bodies = _windows(encoding.ids, length - 2, truncation, count)
            for window, body in enumerate(bodies):
                token_ids[row, window, 0] = start
                token_ids[row, window, 1 : len(body) + 1] = body
                token_ids[row, window, len(body) + 1] = end
                sizes[row, window] = len(body) + 2
        tokens = {
            "token_ids": token_ids,
            "padding_mask": np.arange(length) < sizes[..., None],
        }
        if self._segment_ids:
            tokens["segment_ids"] = np.zeros((n, count, length), dtype="int32")
        if truncation != "chunks":
            tokens = {key: value[:, 0] for key, value in tokens.items()}
        tokens["lengths"] = sizes.sum(axis=1, dtype="int32")
        return tokens


def _windows(ids, room, truncation, max_chunks):
    """The token ids of a text (no special tokens) that go in its windows of `room` tokens."""
    if len(ids) <= room or room == 0:
        return [ids[:room]]
    if truncation == "head":
        return [ids[:room]]
    if truncation == "head_tail":
        head = room // 4
        return [ids[:head] + ids[len(ids) - (room - head) :]]
    step = room - room // 2  # consecutive windows share room // 2 tokens
    windows = []
    for start in range(0, len(ids), step):
        windows.append(ids[start : start + room])
        if start + room >= len(ids) or len(windows) == max_chunks:
            break
    return windows


TRUNCATIONS = ("head", "head_tail", "chunks")
DEFAULT_MAX_CHUNKS = 4


def check_truncation(truncation):
    if truncation not in TRUNCATIONS:
        raise ValueError(
            f"`truncation` must be one of {TRUNCATIONS}. Received: truncation={truncation!r}"
        )


def check_max_chunks(truncation, max_chunks):
    """`max_chunks` for `truncation`, checked: None (default 4) or an int >= 1
    with `"chunks"`, None with the other truncations."""
    check_truncation(truncation)
    if truncation != "chunks":
        if max_chunks is not None:
            raise ValueError(
                "`max_chunks` sets the windows per text of truncation='chunks' only. "
                f"Received: max_chunks={max_chunks!r} with truncation={truncation!r}"
            )
        return None
    if max_chunks is None:
        return DEFAULT_MAX_CHUNKS
    check_int("max_chunks", max_chunks, minimum=1)
    return max_chunks


def special_ids(preprocessor):
    """`(start, end, pad)` token ids the preprocessor packs a text with."""
    packer = getattr(preprocessor, "packer", None)
    tokenizer = preprocessor.tokenizer
    if packer is not None and getattr(packer, "start_value", None) is not None:
        values = [_single(packer.start_value), _single(packer.end_value)]
        if None not in values:
            return values[0], values[1], _single(packer.pad_value) or 0
    return tokenizer.start_token_id, tokenizer.end_token_id, tokenizer.pad_token_id or 0


def _single(value):
    if isinstance(value, (int, np.integer)) or value is None:
        return value
    values = list(value)
    return int(values[0]) if len(values) == 1 else None


def _reference_tokenizer(preprocessor):
    from keras_transfer.families import reference_tokenizer

    tokenizer = getattr(preprocessor, "tokenizer", None)
    if tokenizer is None:
        return None
    return reference_tokenizer(tokenizer)


def _same(a, b):
    return set(a) == set(b) and all(
        np.array_equal(np.asarray(a[k]).astype("int64"), np.asarray(b[k]).astype("int64"))
        for k in a
    )
