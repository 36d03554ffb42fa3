"""Tagging raw texts: split into words, tag them with a token classifier,
group the tags into entities with their character spans."""

import re

from keras_transfer_runtime.predictor import check_text, check_texts

# Words and punctuation marks, as CoNLL data and BERT's basic tokenizer split them.
WORD = re.compile(r"\w+|[^\w\s]")


def split_words(text):
    """`text`'s words and punctuation marks, and each one's `(start, end)`
    character span: runs of letters, digits and `_`, and every other
    non-space character on its own.

    Example:
    >>> split_words("Ada Lovelace, London.")
    (['Ada', 'Lovelace', ',', 'London', '.'], [(0, 3), (4, 12), (12, 13), (14, 20), (20, 21)])
    """
    matches = list(WORD.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


def entity_spans(tags):
    """The entities in one sentence's tags: `(type, first, end)` word indices
    (`end` excluded), read as the CoNLL evaluation script (and
    `keras_transfer.entity_scores`) reads them: `B-X` and `S-X` start an
    entity, `I-X` and `E-X` continue an entity of type `X` or start one,
    `E-X` and `S-X` end it, `O` is outside. A tag without a prefix (`PER`,
    IO tagging) reads as `I-PER`.

    Example:
    >>> entity_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    """
    spans, kind, first = [], None, 0
    for i, tag in enumerate(tags):
        prefix, _, name = tag.partition("-")
        if tag == "O":
            prefix, name = "O", None
        elif not name or prefix not in ("B", "I", "E", "S"):
            prefix, name = "I", tag
        if kind is not None and (prefix in ("B", "S", "O") or name != kind):
            spans.append((kind, first, i))
            kind = None
        if prefix != "O" and kind is None:
            kind, first = name, i
        if prefix in ("E", "S"):
            spans.append((kind, first, i + 1))
            kind = None
    if kind is not None:
        spans.append((kind, first, len(tags)))
    return spans


def tag_texts(predict, texts, batch_size=32):
    """Tag raw `texts` with `predict` (lists of words -> one tag per word):
    per text, its `words`, their `tags` and the `entities`, each with its
    `type`, its `text` and its `start` and `end` characters in the text.

    Example:
    >>> tag = lambda words, batch_size: [["B-PER", "I-PER", "O"]]
    >>> [result] = tag_texts(tag, ["Ada  Lovelace!"])
    >>> result["words"], result["tags"]
    (['Ada', 'Lovelace', '!'], ['B-PER', 'I-PER', 'O'])
    >>> result["entities"]
    [{'type': 'PER', 'text': 'Ada  Lovelace', 'start': 0, 'end': 13}]
    """
    texts = check_texts(texts)
    if not texts:
        return []
    split = [split_words(text) for text in texts]
    tagged = predict([words for words, _ in split], batch_size=batch_size)
    results = []
    for text, (words, spans), tags in zip(texts, split, tagged, strict=True):
        entities = []
        for kind, first, end in entity_spans(tags):
            start, stop = spans[first][0], spans[end - 1][1]
            entities.append({"type": kind, "text": text[start:stop], "start": start, "end": stop})
        results.append({"words": words, "tags": list(tags), "entities": entities})
    return results


class TextTagging:
    """`tag` and `tag_batch` on raw texts, for a predictor whose `predict`
    takes word lists (the toolkit's and the runtime's `TokenPredictor`)."""

    def tag_batch(self, texts, batch_size=32):
        """Tag raw texts: per text, `{"words": [...], "tags": [...], "entities":
        [{"type", "text", "start", "end"}, ...]}` (empty list in, empty out)."""
        return tag_texts(self.predict, texts, batch_size)

    def tag(self, text):
        """Tag one raw text (see `tag_batch`)."""
        return self.tag_batch([check_text(text)])[0]
