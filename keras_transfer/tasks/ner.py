"""The named-entity task spec: sentence splits, the most-frequent-tag row, entity F1."""

import collections
import os
import time
import warnings

import numpy as np

from keras_transfer.callbacks import with_early_stopping
from keras_transfer.strategies import STRATEGIES
from keras_transfer.tasks.base import Task

NER_SCORES = (("entity_f1", "entity F1"), ("token_accuracy", "token accuracy"))


class NerTask(Task):
    """Named entities (one BIO tag per word), as `keras_transfer.compare(task="ner")` runs it.

    `prepare` splits the sentences (seeded) into training, validation and
    test sentences; the runner (`keras_transfer.runner.run`) trains each
    strategy as a `keras_transfer.TokenClassifier` with its token recipe and
    scores it with entity-level micro F1 (`keras_transfer.entity_scores`,
    CoNLL semantics) next to the `most_frequent_tag` reference row.

    Example:
    >>> from keras_transfer.tasks import NerTask
    >>> NerTask.SCORES[0]
    ('entity_f1', 'entity F1')
    """

    EXPERIMENT = "compare_ner"
    SCORES = NER_SCORES
    REFERENCE = ("most_frequent_tag", "the most-frequent-tag baseline", "that baseline")
    TEST_METRICS = (("test/entity_f1", "entity_f1"), ("test/entity_f1_macro", "entity_f1_macro"))
    INFERENCE_COLUMN = "inference_sentences_per_s"

    def __init__(self, train, validation, test, settings):
        (self.train_words, self.train_tags), (self.val_words, self.val_tags) = train, validation
        self.test_words, self.test_tags = test
        tags = self.train_tags + self.val_tags
        self.tag_names = sorted({t for sentence in tags for t in sentence} | {"O"})
        super().__init__(settings, len(self.train_words))

    @classmethod
    def load(cls, settings):
        """(train, test) `(words, tags)` pairs from `compare`'s `data` and
        `test_data` (a bundled corpus brings its own test articles), each a
        seeded sample of `train_size` / `test_size` sentences (0: all)."""
        from keras_transfer.conll import BUNDLED_NER, load_bundled_ner

        data, test_data, tag_column = (
            settings["data"],
            settings["test_data"],
            settings["tag_column"],
        )
        if isinstance(data, str) and data in BUNDLED_NER:
            train, test = load_bundled_ner(data)
        else:
            train, test = read_sentences(data, "data", tag_column), None
        if test_data is not None:
            test = read_sentences(test_data, "test_data", tag_column)
            check_test_tags(train[1], test[1], f"test_data={describe(test_data)}")
        return tuple(
            _sample(pair, settings[size], settings["seed"])
            for pair, size in ((train, "train_size"), (test, "test_size"))
        )

    @classmethod
    def prepare(cls, train, test, settings):
        """Split the sentences as the comparison uses them: `train` None is the
        bundled Wikigold corpus with its test articles; `test` None with your
        own `train` holds 20 % of its sentences out (seeded)."""
        from keras_transfer.conll import load_bundled_ner

        validation_size, tag_column = settings["validation_size"], settings["tag_column"]
        if not 0 < validation_size < 1:
            raise ValueError(
                "`validation_size` must be between 0 and 1. "
                f"Received: validation_size={validation_size!r}"
            )
        rng = np.random.default_rng(settings["seed"])
        test_source = test
        if train is None:
            (words, tags), bundled_test = load_bundled_ner()
            test = bundled_test if test is None else read_sentences(test, "test", tag_column)
        else:
            words, tags = read_sentences(train, "train", tag_column)
            if test is None:
                test, (words, tags) = _cut((words, tags), rng, 0.2)
            else:
                test = read_sentences(test, "test", tag_column)
        from keras_transfer.presets import fitted_length

        settings = dict(settings)
        texts = [" ".join(sentence) for sentence in words]
        settings["max_length"] = fitted_length(settings["max_length"], texts, settings)
        validation, train = _cut((words, tags), rng, validation_size)
        if not train[0]:
            raise ValueError(f"Too few training sentences to split: {len(words)}.")
        check_test_tags(tags, test[1], f"test={describe(test_source)}")
        return cls(train, validation, test, settings)

    def base_recipe(self, strategy):
        return STRATEGIES[strategy].token_recipe

    def reference_rows(self):
        """`most_frequent_tag`: each word's most frequent tag in the training
        and validation sentences (`O` if unseen): (row, test predictions)."""
        start = time.perf_counter()
        baseline = most_frequent_tags(
            self.train_words + self.val_words, self.train_tags + self.val_tags
        )
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        predicted = [[baseline.get(w, "O") for w in sentence] for sentence in self.test_words]
        yield (
            {
                "strategy": "most_frequent_tag",
                "description": "reference: each word's most frequent training tag (O if unseen)",
                "train_seconds": seconds,
                "inference_sentences_per_s": len(self.test_words) / (time.perf_counter() - start),
                "trainable_params": 0,
                "total_params": len(baseline),
            },
            predicted,
        )

    def build(self, strategy):
        """A new `TokenClassifier` with `strategy` and this task's options."""
        from keras_transfer.models.token_classifier import TokenClassifier

        return TokenClassifier.from_preset(
            self.settings["preset"],
            tag_names=self.tag_names,
            strategy=strategy,
            max_length=self.settings["max_length"],
            word_shape=self.settings["word_shape"],
            **self.options[strategy],
        )

    def train(self, strategy, epochs, model=None, **fit_kwargs):
        """A `TokenClassifier` with `strategy` (or `model`, from `build`),
        compiled with its token recipe and fitted."""
        batch_size = self.settings["batch_size"]
        if model is None:
            model = self.build(strategy)
        steps = -(-len(self.train_words) // batch_size)
        recipe = self.recipe(strategy)
        model.compile(optimizer=recipe.optimizer(steps, epochs))
        fit_kwargs["callbacks"] = with_early_stopping(fit_kwargs.get("callbacks"), recipe.patience)
        history = model.fit(
            self.train_words,
            self.train_tags,
            validation_data=(self.val_words, self.val_tags),
            epochs=epochs,
            batch_size=batch_size,
            **fit_kwargs,
        )
        return model, history

    def predict(self, model):
        """Test-split tags per word, and sentences per second."""
        start = time.perf_counter()
        predicted = model.predict(self.test_words, batch_size=max(self.settings["batch_size"], 32))
        return predicted, len(self.test_words) / (time.perf_counter() - start)

    def score(self, predicted):
        """(scores, per-type entity report, {}) on the test split."""
        from keras_transfer.entity import entity_scores

        scores = entity_scores(self.test_tags, predicted)
        words_total = sum(len(s) for s in self.test_tags)
        right = sum(
            t == p
            for true, pred in zip(self.test_tags, predicted, strict=True)
            for t, p in zip(true, pred, strict=True)
        )
        types = scores.drop(index=["micro avg", "macro avg", "weighted avg"], errors="ignore")
        values = {
            "entity_f1": float(scores.loc["micro avg", "f1-score"]),
            "entity_precision": float(scores.loc["micro avg", "precision"]),
            "entity_recall": float(scores.loc["micro avg", "recall"]),
            "entity_f1_macro": float(types["f1-score"].mean()) if len(types) else 0.0,
            "token_accuracy": right / max(words_total, 1),
        }
        return values, scores.round(3).to_string() + "\n", {}

    def attrs(self, extras):
        return {"tag_names": self.tag_names}

    def after_run(self):
        # The same sentences are cut for every strategy: the first strategy's
        # warnings say so, the later ones stay quiet.
        warnings.filterwarnings(
            "ignore", message=".*do not fit in max_length", category=UserWarning
        )


def _sample(pair, n, seed):
    """`n` of the `(words, tags)` sentences, drawn with `seed`, in their order."""
    if pair is None or not n or n >= len(pair[0]):
        return pair
    rows = np.sort(np.random.default_rng(seed).permutation(len(pair[0]))[:n])
    return [pair[0][i] for i in rows], [pair[1][i] for i in rows]


def _cut(pair, rng, share):
    """(`share` of the sentences, the rest), drawn with `rng`, at least one in the share."""
    words, tags = pair
    rows = rng.permutation(len(words))
    cut = max(1, round(share * len(words)))
    first = ([words[i] for i in rows[:cut]], [tags[i] for i in rows[:cut]])
    return first, ([words[i] for i in rows[cut:]], [tags[i] for i in rows[cut:]])


def read_sentences(source, name, tag_column=-1):
    """`(words, tags)` from a CoNLL file path (tags from `tag_column`) or a `(words, tags)` pair."""
    from keras_transfer.conll import load_conll

    if isinstance(source, (str, os.PathLike)):
        return load_conll(source, tag_column=tag_column)
    if isinstance(source, (tuple, list)) and len(source) == 2:
        return list(source[0]), list(source[1])
    raise ValueError(
        f"`{name}` must be a CoNLL file path or a (words, tags) pair. "
        f"Received: {name} of type {type(source).__name__}"
    )


def check_test_tags(train_tags, test_tags, received):
    """Refuse test sentences with a tag that no training sentence has
    (`received` ends the error: the argument and its value)."""
    known = {t for sentence in train_tags for t in sentence} | {"O"}
    unknown = sorted({t for sentence in test_tags for t in sentence} - known)
    if unknown:
        raise ValueError(
            f"The test sentences use tags that no training sentence has: {unknown}: the model "
            "could never predict them, and every such entity would count as missed. Add "
            "training sentences with them, or drop them from the test data. Training tags: "
            f"{sorted(known)}. Received: {received}"
        )


def describe(source):
    """How an error shows a `train`/`test` argument: a path, or a sentence count."""
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    if source is None:
        return "None (sentences held out of train)"
    return f"{len(source[0])} sentences"


def most_frequent_tags(words, tags):
    """`{word: its most frequent tag}` over tagged sentences (ties: the tag seen first).

    Example:
    >>> most_frequent_tags([["Paris", "Paris", "is"]], [["B-LOC", "B-PER", "O"]])["Paris"]
    'B-LOC'
    """
    counts = collections.defaultdict(collections.Counter)
    for sentence, sentence_tags in zip(words, tags, strict=True):
        for word, tag in zip(sentence, sentence_tags, strict=True):
            counts[word][tag] += 1
    return {word: c.most_common(1)[0][0] for word, c in counts.items()}
