"""Reading CoNLL-style named-entity files, and the bundled NER corpus."""

import lzma
import os
import re

import numpy as np

_TAG = re.compile(r"^(O|[BI]-\S+)$")
BUNDLED_NER = {"wikigold": "wikigold.conll.txt.xz"}


def load_conll(path, tag_column=-1, word_column=0, repair=False):
    """Read a CoNLL-2003-style file: `(words, tags)`, one list per sentence.

    One token per line, columns separated by whitespace (as many on every
    line), a blank line between sentences; a UTF-8 byte-order mark is
    ignored. `-DOCSTART-` lines end a sentence and are skipped. The word and
    the tag are taken from columns `word_column` and `tag_column` (indices
    into each line's columns; the default tag column is the last, as in
    CoNLL-2003's `word POS chunk NER`). Files ending in `.xz` are read
    compressed.

    Tags must be BIO (IOB2): `O`, `B-TYPE` or `I-TYPE`, where an `I-TYPE`
    continues an entity of the same type. A file in IOB1 (an entity starts
    with `I-` and `B-` only separates two adjacent entities of one type)
    breaks that rule, and is refused with the line that breaks it, unless
    `repair=True`: then every `I-TYPE` that does not continue a `TYPE` entity
    becomes `B-TYPE`. That is exactly the IOB1 to IOB2 conversion, and it keeps
    the entities that CoNLL's evaluation (and `seqeval`) reads from the file.

    Args:
        path: the file.
        tag_column: the tag's column index (negative counts from the end).
        word_column: the word's column index (negative counts from the end).
        repair: turn `I-TYPE` tags that start an entity into `B-TYPE` instead
            of raising.

    Returns:
        `(words, tags)`: two lists of lists of strings, one inner list per sentence.

    Raises:
        ValueError: a missing or unreadable file, a line without the columns
            or with more columns than the first token line,
            a tag that is not BIO, an `I-` tag that starts an entity (without
            `repair`), or no sentences at all; the message gives the line number.

    Example:
    >>> import keras_transfer as kt
    >>> with open("tiny.conll", "w") as f:
    ...     _ = f.write("John B-PER\\nlives O\\nin O\\nNew B-LOC\\nYork I-LOC\\n\\nHi O\\n")
    >>> words, tags = kt.load_conll("tiny.conll")
    >>> words[0], tags[0]
    (['John', 'lives', 'in', 'New', 'York'], ['B-PER', 'O', 'O', 'B-LOC', 'I-LOC'])
    """
    for name, value in (("tag_column", tag_column), ("word_column", word_column)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a file path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"No such CoNLL file. Received: path={path!r}")
    opener = lzma.open if path.endswith(".xz") else open
    words, tags, sentence_words, sentence_tags = [], [], [], []

    def end_sentence():
        if sentence_words:
            words.append(list(sentence_words))
            tags.append(list(sentence_tags))
        sentence_words.clear()
        sentence_tags.clear()

    width = None  # the columns of the first token line: every token line has as many
    try:
        # utf-8-sig: a byte-order mark (as some editors write) is not part of the first word.
        with opener(path, "rt", encoding="utf-8-sig") as f:
            for number, line in enumerate(f, start=1):
                columns = line.split()
                if not columns or columns[0] == "-DOCSTART-":
                    end_sentence()
                    continue
                previous = sentence_tags[-1] if sentence_tags else "O"
                width = width or len(columns)
                try:
                    word, tag = _token(columns, (word_column, tag_column), width, previous, repair)
                except _LineError as e:
                    raise ValueError(f"Line {number} of {path}{e}: {line.strip()!r}") from None
                sentence_words.append(word)
                sentence_tags.append(tag)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path} is not UTF-8 text ({e.reason}). Received: path={path!r}"
        ) from None
    except (OSError, EOFError, lzma.LZMAError) as e:
        raise ValueError(f"Cannot read {path}: {e}. Received: path={path!r}") from None
    end_sentence()
    if not words:
        raise ValueError(f"{path} holds no tagged sentences. Received: path={path!r}")
    return words, tags


class _LineError(Exception):
    """What is wrong with one line (`load_conll` adds where, and the line)."""


def _token(columns, column_indices, width, previous, repair):
    """The (word, tag) of one token line, checked; `previous` is the tag before it."""
    word_column, tag_column = column_indices
    try:
        word, tag = columns[word_column], columns[tag_column]
        if word_column % len(columns) == tag_column % len(columns):
            raise IndexError  # one column serves as both: too few
    except IndexError:
        raise _LineError(
            f" has {len(columns)} column(s), too few for word_column={word_column} and "
            f"tag_column={tag_column}"
        ) from None
    if len(columns) != width:
        raise _LineError(
            f" has {len(columns)} columns where the first token line has {width}: one token "
            "per line (two word/tag pairs on one line?)"
        )
    if not _TAG.match(tag):
        raise _LineError(
            f": the tag {tag!r} is not BIO (`O`, `B-TYPE` or `I-TYPE`). Check `tag_column` "
            f"(received {tag_column})"
        )
    if tag.startswith("I-") and previous[2:] != tag[2:]:
        if not repair:
            raise _LineError(
                f": {tag!r} follows {previous!r}, so it starts an entity, which BIO (IOB2) "
                f"marks with `B-`. If the file is IOB1, pass repair=True to read such tags as "
                f"B-{tag[2:]}"
            )
        tag = "B-" + tag[2:]
    return word, tag


def load_bundled_ner(name="wikigold", test_size=0.2, seed=2026):
    """The NER corpus that ships with the package: `((train_words, train_tags),
    (test_words, test_tags))`.

    `"wikigold"`: 1,696 sentences (39,007 tokens) of 145 English Wikipedia
    articles, annotated by hand with CoNLL-2003's four types (PER, LOC, ORG,
    MISC) by Balasuriya et al. (2009); CC-BY 4.0. The file is IOB1 and is read
    with `load_conll(..., repair=True)`, which gives BIO tags. The split is by
    article (`test_size` of them, drawn with `seed`), so test sentences come
    from articles never seen in training (116 / 29 articles, 1,357 / 339
    sentences with the defaults). Source and licence:
    `keras_transfer/datasets/README.md`.

    Example:
    >>> import keras_transfer as kt
    >>> (train_words, train_tags), (test_words, test_tags) = kt.load_bundled_ner()
    >>> len(train_words) + len(test_words)
    1696
    """
    if name not in BUNDLED_NER:
        raise ValueError(f"`name` must be one of {sorted(BUNDLED_NER)}. Received: name={name!r}")
    if not 0 < test_size < 1:
        raise ValueError(f"`test_size` must be between 0 and 1. Received: test_size={test_size!r}")
    path = os.path.join(os.path.dirname(__file__), "datasets", BUNDLED_NER[name])
    documents = _documents(path)
    words, tags = load_conll(path, repair=True)
    rng = np.random.default_rng(seed)
    test_documents = set(
        rng.permutation(max(documents) + 1)[: round(test_size * (max(documents) + 1))]
    )
    test = [i for i, d in enumerate(documents) if d in test_documents]
    train = [i for i, d in enumerate(documents) if d not in test_documents]
    return tuple(([words[i] for i in rows], [tags[i] for i in rows]) for rows in (train, test))


def _documents(path):
    """The document number of each sentence of a CoNLL file split by `-DOCSTART-` lines."""
    documents, document, in_sentence = [], 0, False
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            columns = line.split()
            if not columns or columns[0] == "-DOCSTART-":
                if in_sentence:
                    documents.append(document)
                in_sentence = False
                if columns and documents and documents[-1] == document:
                    document += 1  # a new document, after one with sentences
            else:
                in_sentence = True
    if in_sentence:
        documents.append(document)
    return documents
