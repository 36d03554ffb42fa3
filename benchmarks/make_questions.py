"""A seeded 6-class question set in the style of TREC question classification.

    python benchmarks/make_questions.py OUT_FOLDER [--seed 0]

It stands in for a user's short-text, many-class data (TREC itself is not
bundled and this machine has no internet): 1,000 labelled questions
(`questions_train.csv`) and 500 held-out ones (`questions_test.csv`), columns
`text` and `label`, as `python -m keras_transfer compare --data ... --test-data
...` takes them. The classes are TREC's coarse ones (ABBR, DESC, ENTY, HUM,
LOC, NUM); every question is a class template filled with content words, a
median of 9 words.

The class is carried by the question words and their order ("how many" vs
"how does", "what does X stand for" vs "what does X mean", "what X did Y
..." vs "what did Y ..."), never by the content words: every slot of every
template draws from one shared pool of 5,720 words of the bundled
Rotten Tomatoes reviews (question and function words removed), so a content
word says nothing about the class. As in real annotated data, some questions
are ambiguous: 5 % of the labels are redrawn at random.
"""

import argparse
import os
import re
import sys
from collections import Counter

import numpy as np

# Question and function words: kept out of the content-word pool so that only
# the templates carry them.
FUNCTION_WORDS = set(
    """a about after all an and any are as at be been being but by can could did do does for
    from had has have he her him his how i if in into is it its me mean means my name named of
    on one or our short stand stands she so some than that the their them they this those to
    two up us was we were what when where which who whom whose why will with would you your
    many much long far year years first kind type sort called abbreviation full form define
    describe come came country city place state born person people number old big cost
    percentage population date origin meaning there then""".split()
)

# {w}: one content word; {p}: a phrase of one to three content words.
TEMPLATES = {
    "ABBR": (
        "what does {p} stand for",
        "what does the {w} in {p} stand for",
        "what is the abbreviation for {p}",
        "what is {p} short for",
        "what is the full form of {p}",
        "{p} is an abbreviation of what",
        "what do the letters {w} stand for in {p}",
    ),
    "DESC": (
        "what is {p}",
        "what does {p} mean",
        "what is the meaning of {p}",
        "why do {p} {w}",
        "why is the {w} {w}",
        "how does {p} {w}",
        "how do you {w} a {p}",
        "what did {p} do",
        "where did the {w} {p} come from",
        "what is the origin of {p}",
        "define {p}",
    ),
    "ENTY": (
        "what {w} did {p} {w}",
        "what kind of {w} is {p}",
        "what {w} is used to {w} {p}",
        "what is the name of the {w} that {p}",
        "which {w} does {p} {w}",
        "what type of {w} do {p} {w}",
        "what {w} is {p} made of",
        "name a {w} that {p}",
    ),
    "HUM": (
        "who {w} the {p}",
        "who was the first {w} to {w} {p}",
        "who is the {w} of {p}",
        "what is the name of the person who {p}",
        "whose {w} is {p}",
        "who did {p} {w}",
        "name the {w} who {p}",
        "which person {w} the {p}",
    ),
    "LOC": (
        "where is {p}",
        "where did {p} {w}",
        "what country is {p} in",
        "in which city is the {p}",
        "where can i {w} {p}",
        "what state has the most {p}",
        "where was the {w} {p} born",
        "which country {w} the most {p}",
    ),
    "NUM": (
        "how many {p} are there",
        "how many {w} does a {p} have",
        "how much does a {p} cost",
        "when did {p} {w}",
        "what year did the {p} {w}",
        "how long is a {p}",
        "how far is {p} from {w}",
        "how old was {p} when {w}",
        "what percentage of {p} {w}",
        "when was the {w} {p} born",
    ),
}
# Clauses any question may end with (half of them do), shared by all classes: their question
# words ("who", "where", "when", "how") sit after the one that carries the class.
CLAUSES = (
    "in the {p}",
    "of the {p}",
    "for {p}",
    "with the {p}",
    "after the {p}",
    "that {p} {w}",
    "who {w} the {p}",
    "where the {p} {w}",
    "when the {w} {p}",
    "how the {p} {w}",
    "which {w} the {p}",
)
# Template words that a question may swap for one of its variants (each does with
# probability 1/2), so that the same question comes in several forms.
VARIANTS = {
    "is": ("is", "was", "are", "were"),
    "was": ("was", "is", "were"),
    "does": ("does", "do", "did", "can", "would"),
    "do": ("do", "does", "did", "can", "should"),
    "did": ("did", "does", "do", "can", "will"),
    "the": ("the", "a", "this", "that", "its", "their"),
    "a": ("a", "the", "one", "any"),
    "most": ("most", "largest", "fewest", "best"),
}
LABEL_NOISE = 0.05


def content_words(min_count=2):
    """The shared slot-filler pool: words of the bundled Rotten Tomatoes reviews seen at least
    `min_count` times, alphabetic, 3+ letters, question and function words removed; sorted."""
    from keras_transfer.data import load_bundled

    train, test = load_bundled("rotten_tomatoes")
    counts = Counter()
    for text in list(train["text"]) + list(test["text"]):
        counts.update(re.findall(r"[a-z]{3,}", text.lower()))
    return sorted(w for w, c in counts.items() if c >= min_count and w not in FUNCTION_WORDS)


def _fill(template, pool, rng):
    words = template.split()
    for i, word in enumerate(words):
        if word in VARIANTS and rng.random() < 0.5:
            words[i] = VARIANTS[word][rng.integers(len(VARIANTS[word]))]
    template = " ".join(words)

    def phrase(_):
        return " ".join(rng.choice(pool, size=rng.integers(1, 4)))

    text = re.sub(r"\{p\}", phrase, template)
    text = re.sub(r"\{w\}", lambda _: rng.choice(pool), text)
    return text[0].upper() + text[1:] + "?"


def make_questions(size, seed=0, pool=None):
    """A DataFrame of `size` questions (`text`, `label`), classes sampled uniformly at random,
    each a random template of its class; `LABEL_NOISE` of the labels redrawn at random."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    pool = content_words() if pool is None else pool
    classes = sorted(TEMPLATES)
    rows = []
    for _ in range(size):
        label = classes[rng.integers(len(classes))]
        template = TEMPLATES[label][rng.integers(len(TEMPLATES[label]))]
        if rng.random() < 0.5:
            template += " " + CLAUSES[rng.integers(len(CLAUSES))]
        text = _fill(template, pool, rng)
        if rng.random() < LABEL_NOISE:
            label = classes[rng.integers(len(classes))]
        rows.append({"text": text, "label": label})
    return pd.DataFrame(rows)


def write_questions(folder, seed=0, train_size=1000, test_size=500):
    """Write `questions_train.csv` and `questions_test.csv` in `folder`; return their paths.
    The two splits come from independent seeds (no text is shared by design)."""
    os.makedirs(folder, exist_ok=True)
    pool = content_words()
    paths = []
    for name, size, offset in (("train", train_size, 0), ("test", test_size, 1)):
        path = os.path.join(folder, f"questions_{name}.csv")
        make_questions(size, seed=2 * seed + offset, pool=pool).to_csv(path, index=False)
        paths.append(path)
    return tuple(paths)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for path in write_questions(args.folder, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
