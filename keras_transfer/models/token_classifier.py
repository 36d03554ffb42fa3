"""TokenClassifier: a pretrained keras-hub encoder -> one tag per word (NER)."""

import warnings

import keras
import numpy as np

from keras_transfer import _keras_compat as compat
from keras_transfer import data
from keras_transfer.checks import check_max_length
from keras_transfer.length_buckets import bucketed_dataset, predict_by_length
from keras_transfer.metrics import MaskedAccuracy
from keras_transfer.models.base import TransferModel
from keras_transfer.models.token_classifier_preprocessor import (
    IGNORE,
    TokenClassifierPreprocessor,
)
from keras_transfer.recipes import RECIPES
from keras_transfer.schedules import exponential_decay
from keras_transfer.trainability import check_transformer_backbone, setup_strategy
from keras_transfer_runtime.word_shape import WORD_SHAPES


@keras.saving.register_keras_serializable(package="keras_transfer")
class TokenClassifier(TransferModel):
    """Tag every word of a sentence (named entities, BIO tags) with a pretrained encoder.

    words -> `preprocessor` (each word to sub-tokens, `[CLS] ... [SEP]`) ->
    `backbone` -> Dropout -> Dense softmax over `tag_names`, at every token.
    With `word_shape`, each token's encoder output goes to the head next to
    the one-hot shape of its word as written (capitalised, all caps, digits,
    punctuation: `keras_transfer_runtime.word_shape`), the cue for names that
    a lowercasing encoder never sees; the model then takes a `word_shapes`
    input beside the token arrays (`preprocessor.align` makes it).
    The first sub-token of each word carries the word's tag; the other
    positions are left out of the loss and the metrics (label -1). What
    trains is set by `strategy`, as for `TransformerClassifier`: `full`,
    `frozen` (the head only), `last_n` (top `unfreeze_last` blocks), `lora`
    (rank `lora_rank` adapters) or `scratch` (random init).

    `fit(words, tags)` and `evaluate(words, tags)` take one list of words and
    one list of tags (names or ids) per sentence (as
    `keras_transfer.load_conll` returns them), `validation_data` a
    `(words, tags)` pair; `predict(words)` returns one tag per word, as many
    as the input. Token arrays or a dataset go to Keras as they are. `fit` is
    `keras_transfer.TransferModel.fit`: the mandatory callbacks, the rows
    reshuffled every epoch, and with `cache_features` (default) and nothing
    below the head trainable (`strategy="frozen"`) the encoder runs once per
    sentence and the head trains on its token outputs, kept in memory.
    `class_weight` is not taken.
    Batches are padded to the smallest of a few lengths (16, 32, 64, ...,
    `max_length`) that holds their longest sentence: padding is masked, so the
    outputs are those of full padding, for less work. Words beyond
    `max_length` sub-tokens are left out of training and predicted `O`, with a
    warning. Entity-level scores: `keras_transfer.entity_scores`.

    Args:
        backbone: a `keras_hub.models.Backbone` with `transformer_layers`.
        preprocessor: a `keras_transfer.models.TokenClassifierPreprocessor`.
        tag_names: the tags, e.g. `["O", "B-PER", "I-PER", ...]` (saved with
            the model).
        strategy: what trains (see above).
        unfreeze_last: blocks that train under `last_n` (see above).
        lora_rank: the adapters' rank under `lora` (see above).
        dropout: dropout rate before the per-token classifier.
        word_shape: `True` to give the head each word's shape, `False` not
            to, or `"auto"`: on when the encoder lowercases its input
            (`preprocessor.lowercases()`). Saved resolved, as a bool.

    Example:
    >>> import keras_transfer as kt
    >>> tags = ["O", "B-PER", "I-PER", "B-LOC"]
    >>> model = kt.TokenClassifier.from_preset(None, tag_names=tags, strategy="lora",
    ...                                        max_length=32)
    >>> # model.fit([["Ada", "Lovelace", "lived", "in", "London"]],
    >>> #           [["B-PER", "I-PER", "O", "O", "B-LOC"]], epochs=4)
    >>> len(model.predict([["Alan", "Turing", "was", "born", "in", "London"]])[0])
    6
    """

    def __init__(
        self,
        backbone,
        preprocessor,
        tag_names,
        strategy="full",
        unfreeze_last=None,
        lora_rank=None,
        dropout=0.1,
        word_shape="auto",
        **kwargs,
    ):
        check_transformer_backbone(backbone)
        if not isinstance(preprocessor, TokenClassifierPreprocessor):
            raise ValueError(
                "`preprocessor` must be a keras_transfer TokenClassifierPreprocessor. "
                f"Received: preprocessor={preprocessor!r}"
            )
        tag_names = check_tag_names(tag_names)
        check_max_length(
            preprocessor.sequence_length, getattr(backbone, "max_sequence_length", None)
        )
        unfreeze_last, lora_rank = setup_strategy(backbone, strategy, unfreeze_last, lora_rank)
        word_shape = resolve_word_shape(word_shape, preprocessor)

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        # A fixed one-hot of the word's shape: the Dense head learns a weight
        # per shape and tag, and the features below the head stay frozen.
        self.word_shape_encoding = (
            keras.layers.Embedding(
                WORD_SHAPES,
                WORD_SHAPES,
                embeddings_initializer="identity",
                trainable=False,
                name="word_shape_one_hot",
            )
            if word_shape
            else None
        )
        self.head_dropout = keras.layers.Dropout(dropout, name="token_dropout")
        self.output_dense = keras.layers.Dense(
            len(tag_names), activation="softmax", name="token_predictions"
        )

        # === Functional Model ===
        inputs = dict(backbone.input)
        sequence = backbone(backbone.input)
        sequence = sequence["sequence_output"] if isinstance(sequence, dict) else sequence
        if word_shape:
            inputs["word_shapes"] = keras.Input(shape=(None,), dtype="int32", name="word_shapes")
            shapes = self.word_shape_encoding(inputs["word_shapes"])
            sequence = keras.layers.Concatenate(name="word_shape_features")([sequence, shapes])
        outputs = self.output_dense(self.head_dropout(sequence))
        compile = kwargs.pop("compile", True)
        super().__init__(inputs=inputs, outputs=outputs, compile=False, **kwargs)

        # === Config ===
        self.tag_names = tag_names
        self.num_classes = len(tag_names)
        self.strategy = strategy
        self.unfreeze_last = unfreeze_last
        self.lora_rank = lora_rank
        self.dropout = dropout
        self.word_shape = word_shape
        if compile:
            self.compile()

    # `[CLS]`, one word and `[SEP]` at least (see `TransferModel.from_preset`).
    min_max_length = 3

    @classmethod
    def _check_preset_arguments(cls, kwargs):
        check_tag_names(kwargs.get("tag_names"))
        check_word_shape(kwargs.get("word_shape", "auto"))

    @classmethod
    def _preset_preprocessor(cls, preprocessor, max_length):
        return TokenClassifierPreprocessor(preprocessor.tokenizer, sequence_length=max_length)

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: Adam with an ExponentialDecay (0.96 every 100 steps) from
        the strategy's token-classification learning rate in
        `keras_transfer.recipes.RECIPES["ner"]`, gradient clipping at norm 1,
        sparse categorical cross-entropy that ignores label -1, and the
        accuracy over the labelled positions."""
        if optimizer == "auto":
            recipe = RECIPES["ner"][self.strategy]
            optimizer = keras.optimizers.Adam(exponential_decay(recipe.learning_rate), clipnorm=1.0)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORE)
        if metrics == "auto":
            metrics = [MaskedAccuracy(ignore_class=IGNORE)]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # === The steps of `fit` (see `TransferModel.fit`) ===

    def _is_examples(self, x):
        # Lists go through the word-list path (and its checks); arrays and
        # datasets to Keras.
        return isinstance(x, (list, tuple))

    def _check_examples(self, x, y, x_name, y_name):
        words = check_word_lists(x, x_name)
        if y is None:
            raise ValueError(f"`{y_name}` is required: one list of tags per sentence.")
        return words, self._tag_ids(words, y, y_name)

    def _check_validation_data(self, validation_data, examples):
        if not examples or validation_data is None:
            return super()._check_validation_data(validation_data, examples)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(
                "`validation_data` must be a (words, tags) pair. "
                f"Received: validation_data of type {type(validation_data).__name__}"
            )
        return self._check_examples(*validation_data, "validation_data[0]", "validation_data[1]")

    def _add_class_weight(self, x, y, class_weight, examples, kwargs):
        if class_weight is not None:
            raise ValueError(
                "`class_weight` is not supported for token classification. "
                f"Received: class_weight={class_weight!r}"
            )

    def _example_features(self, x, y, batch_size, cache):
        # The encoder's token outputs, kept in memory (`cache` is for texts).
        return self._token_features(x, y, batch_size)

    def _token_features(self, words, tag_ids, batch_size):
        """The head's input per token `(n, longest, features)`: the encoder's
        outputs, and the word shapes' one-hot with `word_shape` (zero beyond
        each sentence), the labels `(n, longest)` and the sentence lengths in tokens."""
        aligned = self.preprocessor.align(words, tag_ids)
        self._warn_cut(aligned, words, "are left out of the loss")
        outputs = self._predict_aligned(aligned, batch_size, self.feature_model())
        longest = max(len(o) for o in outputs)
        features = np.zeros((len(outputs), longest, outputs[0].shape[-1]), dtype="float32")
        for row, output in enumerate(outputs):
            features[row, : len(output)] = output
        return features, aligned["labels"][:, :longest], aligned["padding_mask"].sum(axis=1)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        """`keras.Model.evaluate` (loss, token accuracy) on word lists, or on
        whatever Keras takes. For entity-level precision, recall and F1 use
        `keras_transfer.entity_scores(tags, model.predict(words))`."""
        if not self._is_examples(x):
            return super().evaluate(x, y, batch_size=batch_size, **kwargs)
        words, tags = self._check_examples(x, y, "x", "y")
        ds = self._examples_dataset(words, tags, batch_size=batch_size or 32)
        return super().evaluate(ds, **kwargs)

    def predict(self, x=None, batch_size=None, verbose="auto", **kwargs):
        """One tag name per word for word lists (a list per sentence); Keras'
        per-token probabilities for token arrays or a dataset.

        Sentences go through the model in order of length, each batch cut to
        the smallest bucket length that holds it."""
        if not self._is_examples(x):
            return super().predict(x, batch_size=batch_size, verbose=verbose, **kwargs)
        words = check_word_lists(x, "x")
        aligned = self.preprocessor.align(words)
        self._warn_cut(aligned, words, "are predicted 'O'")
        probabilities = self._predict_aligned(aligned, batch_size or 32)
        outside = self.tag_names.index("O") if "O" in self.tag_names else 0
        predicted = []
        for starts, rows in zip(aligned["starts"], probabilities, strict=True):
            ids = np.full(len(starts), outside)
            kept = starts >= 0
            ids[kept] = np.argmax(rows[starts[kept]], axis=-1)
            predicted.append([self.tag_names[i] for i in ids])
        return predicted

    def preprocess_samples(self, x, y=None, sample_weight=None):
        # Aligned before the pipeline (`TokenClassifierPreprocessor.align`).
        x = compat.integer_padding_mask(x)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def _check_labels(self, y, name):
        return y

    def _head_layer(self):
        return self.head_dropout

    # === Helpers ===

    def _tag_ids(self, words, tags, name):
        if not isinstance(tags, (list, tuple)) or len(tags) != len(words):
            raise ValueError(
                f"`{name}` must hold one list of tags per sentence ({len(words)}). "
                f"Received: {type(tags).__name__} of length {_length(tags)}"
            )
        index = {tag: i for i, tag in enumerate(self.tag_names)}
        ids = []
        for i, (sentence, sentence_tags) in enumerate(zip(words, tags, strict=True)):
            if not isinstance(sentence_tags, (list, tuple)) or len(sentence_tags) != len(sentence):
                raise ValueError(
                    f"Sentence {i} has {len(sentence)} words but {_length(sentence_tags)} tags "
                    f"in `{name}`. Received: {name}[{i}]={sentence_tags!r:.200}"
                )
            row = []
            for tag in sentence_tags:
                if isinstance(tag, (int, np.integer)) and not isinstance(tag, bool):
                    if not 0 <= tag < len(self.tag_names):
                        raise ValueError(
                            f"Tag id {tag} in sentence {i} of `{name}` is outside 0.."
                            f"{len(self.tag_names) - 1}. Received: {name}[{i}]={sentence_tags!r}"
                        )
                    row.append(int(tag))
                elif tag in index:
                    row.append(index[tag])
                else:
                    raise ValueError(
                        f"Unknown tag {tag!r} in sentence {i} of `{name}`; the model's tags are "
                        f"{self.tag_names}. Received: {name}[{i}]={sentence_tags!r:.200}"
                    )
            ids.append(row)
        return ids

    def _warn_cut(self, aligned, words, consequence):
        if aligned["cut"]:
            sentences = sum(int(np.any(starts < 0)) for starts in aligned["starts"])
            warnings.warn(
                f"{aligned['cut']} word(s) in {sentences} of {len(words)} sentence(s) do not fit "
                f"in max_length={self.preprocessor.sequence_length} sub-word tokens and "
                f"{consequence}. Build the model with a larger `max_length` to keep them.",
                stacklevel=3,
            )

    def _examples_dataset(
        self, words, tag_ids, sample_weight=None, batch_size=32, seed=None, epoch=None
    ):
        """Sentences as length-bucketed batches of token inputs and per-token
        labels (`keras_transfer.length_buckets.bucketed_dataset`): reshuffled
        with a `seed`, similar lengths grouped per batch; else in order of
        length, which leaves the metrics unchanged."""
        aligned = self.preprocessor.align(words, tag_ids)
        self._warn_cut(aligned, words, "are left out of the loss")
        return bucketed_dataset(
            {key: aligned[key] for key in self.input},
            aligned["padding_mask"].sum(axis=1),
            batch_size,
            data.bucket_lengths(self.preprocessor.sequence_length),
            aligned["labels"],
            sample_weight,
            seed=seed,
            epoch=epoch,
            token_labels=True,
        )[0]

    def _predict_aligned(self, aligned, batch_size, model=None):
        """Per-token outputs of `model` (default: this one, its probabilities)
        for each sentence (its own length), by length buckets."""
        model = model or self
        lengths = aligned["padding_mask"].sum(axis=1)
        outputs = predict_by_length(
            model.predict_on_batch,
            {key: aligned[key] for key in self.input},
            lengths,
            batch_size,
            data.bucket_lengths(self.preprocessor.sequence_length),
        )
        return [row[:length] for row, length in zip(outputs, lengths, strict=True)]

    @classmethod
    def from_config(cls, config):
        # A model saved before `word_shape` existed had no shapes: it reloads
        # without them, whatever its encoder.
        return super().from_config({"word_shape": False, **config})

    def get_config(self):
        return {
            **super().get_config(),
            "tag_names": self.tag_names,
            "strategy": self.strategy,
            "unfreeze_last": self.unfreeze_last,
            "lora_rank": self.lora_rank,
            "dropout": self.dropout,
            "word_shape": self.word_shape,
        }


def check_tag_names(tag_names):
    """At least two distinct tag names, as a list of strings."""
    if (
        tag_names is None
        or isinstance(tag_names, str)
        or len(list(tag_names)) < 2
        or len(set(tag_names)) != len(list(tag_names))
        or not all(isinstance(t, str) and t for t in tag_names)
    ):
        raise ValueError(
            "`tag_names` must be at least two distinct tag names, e.g. "
            f"['O', 'B-PER', 'I-PER']. Received: tag_names={tag_names!r}"
        )
    return list(tag_names)


def check_word_shape(word_shape):
    """`word_shape` as given, if it is True, False or "auto"; else a ValueError."""
    if not isinstance(word_shape, bool) and word_shape != "auto":
        raise ValueError(
            f"`word_shape` must be True, False or 'auto'. Received: word_shape={word_shape!r}"
        )
    return word_shape


def resolve_word_shape(word_shape, preprocessor):
    """`word_shape` as a bool: `"auto"` is on when the encoder lowercases."""
    if check_word_shape(word_shape) == "auto":
        return preprocessor.lowercases()
    return word_shape


def check_word_lists(x, name="x"):
    """A list of sentences, each a list of word strings, or a ValueError."""
    if not isinstance(x, (list, tuple)) or not x:
        raise ValueError(
            f"`{name}` must be a non-empty list of sentences, each a list of words. "
            f"Received: {name} of type {type(x).__name__}"
        )
    for i, sentence in enumerate(x):
        if isinstance(sentence, str) or not isinstance(sentence, (list, tuple)):
            raise ValueError(
                f"`{name}` must hold one list of words per sentence (split texts into words "
                f"first, e.g. text.split()). Received: {name}[{i}]={sentence!r:.100}"
            )
        for word in sentence:
            if not isinstance(word, str) or not word:
                raise ValueError(
                    f"Words must be non-empty strings. Received: {word!r} in {name}[{i}]"
                )
    return [list(sentence) for sentence in x]


def _length(value):
    return len(value) if hasattr(value, "__len__") else "?"
