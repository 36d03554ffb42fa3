"""Word shapes: the spelling cues a lowercasing encoder never sees.

A `keras_transfer.TokenClassifier` built with `word_shape` on reads, next to
each token's encoder output, the shape of the word the token belongs to,
computed from the word as written (before any lowercasing). Both the toolkit
and the runtime compute the shape ids here, so an exported tagger gets the
same inputs as the Keras model.
"""

import numpy as np

# Shape ids: 0 for a position that holds no word (start, end, padding), else
# 1 + the word's four flags as bits: capitalised (1), all caps (2), a digit
# (4), punctuation only (8).
WORD_SHAPES = 17


def word_shape(word):
    """The shape id of one word (see `WORD_SHAPES`).

    Example:
    >>> [word_shape(w) for w in ["paris", "Paris", "NATO", "1984", "B2B", ","]]
    [1, 2, 4, 5, 8, 9]
    """
    letters = [c for c in word if c.isalpha()]
    capitalised = word[:1].isupper()
    all_caps = len(letters) >= 2 and all(c.isupper() for c in letters)
    digit = any(c.isdigit() for c in word)
    punctuation = not any(c.isalnum() for c in word)
    return 1 + capitalised + 2 * all_caps + 4 * digit + 8 * punctuation


def word_shape_ids(words, starts, lengths, sequence_length):
    """`(sentences, sequence_length)` int32 shape ids: every sub-token of a
    word gets its word's shape, other positions 0.

    Args:
        words: one list of words per sentence, as written.
        starts: per sentence, the position of each word's first sub-token
            (-1 for a word cut off, and then for every later word).
        lengths: per sentence, its length in tokens, end token included.
        sequence_length: the padded length.
    """
    ids = np.zeros((len(words), sequence_length), dtype="int32")
    for row, (sentence, positions, length) in enumerate(zip(words, starts, lengths, strict=True)):
        kept = [(w, int(p)) for w, p in zip(sentence, positions, strict=True) if p >= 0]
        ends = [p for _, p in kept[1:]] + [int(length) - 1]  # each word runs to the next
        for (word, start), end in zip(kept, ends, strict=True):
            ids[row, start:end] = word_shape(word)
    return ids
