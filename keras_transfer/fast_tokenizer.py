"""FastTokenizer: a keras-hub text preprocessor's token arrays for many texts at once."""

import numpy as np

# Words longer than this many UTF-8 bytes are the unknown token in keras-hub
# (tf-text's FastWordpieceTokenizer limit).
MAX_BYTES_PER_WORD = 100
# keras-hub's punctuation (ASCII ranges): kept as words of their own.
_ASCII_PUNCTUATION = r"!-/:-@\[-`{-~"
_CHUNK = 2048


class FastTokenizer:
    """Tokenize raw texts as a keras-hub text preprocessor does, all at once,
    before the training or inference pipeline.

    For a WordPiece model (BERT, DistilBERT, MiniLM, ...) the words are split
    exactly as keras-hub splits them (whitespace, punctuation, CJK characters,
    accents and case as the tokenizer is set) and Hugging Face's Rust
    `tokenizers` library maps them to ids on the same vocabulary: the ids are
    identical to keras-hub's, several times faster, and tokenization never
    shares a training step with the model. For other tokenizers the
    preprocessor itself runs, once over all the texts.

    Nothing is saved: a reloaded model builds its `FastTokenizer` again from
    the vocabulary its preprocessor carries.

    Args:
        preprocessor: a keras-hub `TextClassifierPreprocessor` (a `tokenizer`
            and a `sequence_length`).

    Calling it on a list of texts returns numpy arrays: the preprocessor's
    inputs (`token_ids`, `padding_mask`, and `segment_ids` where the model
    takes them), padded to `sequence_length`, and `lengths` (tokens per text,
    special tokens included).

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TransformerClassifier.from_preset(None, num_classes=2, max_length=16)
    >>> tokens = kt.FastTokenizer(model.preprocessor)(["A great film!"])
    >>> tokens["token_ids"][0, :6].tolist(), tokens["lengths"].tolist()
    ([101, 1037, 2307, 2143, 999, 102], [6])
    """

    def __init__(self, preprocessor):
        if getattr(preprocessor, "sequence_length", None) is None:
            raise ValueError(
                "`preprocessor` must be a keras-hub text preprocessor with a `sequence_length`. "
                f"Received: preprocessor of type {type(preprocessor).__name__}"
            )
        self.preprocessor = preprocessor
        self.sequence_length = preprocessor.sequence_length
        probe = ["A probe, with punctuation!", "naïve café 東京 ß", "x"]
        reference = self._reference(probe)
        self._segment_ids = "segment_ids" in reference
        self._wordpiece = _wordpiece(preprocessor)
        if self._wordpiece is not None and not _same(self._pack(probe), reference):
            self._wordpiece = None  # a packer we do not mirror: the preprocessor's own way

    @property
    def is_fast(self):
        """True when the Rust WordPiece path applies; False for the preprocessor fallback."""
        return self._wordpiece is not None

    def __call__(self, texts):
        texts = [str(t) for t in texts]
        if self._wordpiece is not None:
            return self._pack(texts)
        return self._reference(texts)

    def _reference(self, texts):
        """The preprocessor itself, in chunks, as numpy."""
        import keras

        parts = []
        for start in range(0, len(texts), _CHUNK):
            out = self.preprocessor(np.asarray(texts[start : start + _CHUNK]))
            parts.append({k: keras.ops.convert_to_numpy(v) for k, v in out.items()})
        tokens = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        tokens["lengths"] = tokens["padding_mask"].astype("int32").sum(axis=1)
        return tokens

    def _pack(self, texts):
        tokenizer, encoder = self.preprocessor.tokenizer, self._wordpiece
        words = [_words(tokenizer, text) for text in texts]
        ids = encoder.encode_batch(words, is_pretokenized=True, add_special_tokens=False)
        n, length = len(texts), self.sequence_length
        token_ids = np.zeros((n, length), dtype="int32")
        if tokenizer.pad_token_id:
            token_ids[:] = tokenizer.pad_token_id
        lengths = np.empty(n, dtype="int32")
        start, end = tokenizer.start_token_id, tokenizer.end_token_id
        for row, encoding in enumerate(ids):
            body = encoding.ids[: length - 2]
            token_ids[row, 0] = start
            token_ids[row, 1 : len(body) + 1] = body
            token_ids[row, len(body) + 1] = end
            lengths[row] = len(body) + 2
        tokens = {
            "token_ids": token_ids,
            "padding_mask": np.arange(length)[None, :] < lengths[:, None],
        }
        if self._segment_ids:
            tokens["segment_ids"] = np.zeros((n, length), dtype="int32")
        tokens["lengths"] = lengths
        return tokens


def _wordpiece(preprocessor):
    """A `tokenizers` WordPiece on the preprocessor's vocabulary, or None where
    the fast path does not apply."""
    import keras_hub

    tokenizer = getattr(preprocessor, "tokenizer", None)
    if not isinstance(tokenizer, keras_hub.tokenizers.WordPieceTokenizer):
        return None
    if not tokenizer.split or tokenizer.special_tokens_in_strings:
        return None
    if None in (tokenizer.start_token_id, tokenizer.end_token_id):
        return None
    try:
        from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize_python  # noqa: F401
        from tokenizers import Tokenizer, models
    except ImportError:
        return None
    vocabulary = {word: i for i, word in enumerate(tokenizer.get_vocabulary())}
    return Tokenizer(
        models.WordPiece(
            vocabulary,
            unk_token=tokenizer.oov_token,
            continuing_subword_prefix=tokenizer.suffix_indicator,
            max_input_chars_per_word=10**9,  # the byte limit is applied in `_words`
        )
    )


def _ascii_words():
    import regex

    if not hasattr(_ascii_words, "pattern"):
        # keras-hub's split for ASCII text: control characters and spaces
        # separate words; each punctuation mark is a word.
        _ascii_words.pattern = regex.compile(
            rf"[{_ASCII_PUNCTUATION}]|[^\x00-\x20\x7f{_ASCII_PUNCTUATION}]+"
        )
    return _ascii_words.pattern


def _words(tokenizer, text):
    """keras-hub's pre-tokenization of one text: its list of words."""
    if text.isascii():
        # No accents, no CJK; case folding of ASCII is lowercasing.
        words = _ascii_words().findall(text.lower() if tokenizer.lowercase else text)
    else:
        from keras_hub.src.tokenizers.word_piece_tokenizer import pretokenize_python

        words = pretokenize_python(
            text, tokenizer.lowercase, tokenizer.strip_accents, True, tokenizer.split_on_cjk
        )
    return [
        w if len(w.encode("utf-8")) <= MAX_BYTES_PER_WORD else tokenizer.oov_token
        for w in words
        if w
    ]


def _same(a, b):
    return set(a) == set(b) and all(
        np.array_equal(np.asarray(a[k]).astype("int64"), np.asarray(b[k]).astype("int64"))
        for k in a
    )
