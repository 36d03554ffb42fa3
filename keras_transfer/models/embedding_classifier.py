"""EmbeddingClassifier: frozen pretrained word vectors -> pooling -> dense head."""

import keras
import numpy as np
from keras import ops

from keras_transfer.checks import check_int, check_rate
from keras_transfer.layers.masked_global_pooling import POOLING_MODES, MaskedGlobalPooling
from keras_transfer.metrics import classification_metrics
from keras_transfer.models.base import TransferModel
from keras_transfer.recipes import RECIPES
from keras_transfer.word_vectors import load_word_vectors

# TextVectorization's reserved ids: 0 is padding, 1 is out-of-vocabulary.
_RESERVED_IDS = 2


def _check_layers(preprocessor, embedding):
    """The `preprocessor`'s fixed sequence length, once both layers are of the right kind."""
    if not isinstance(preprocessor, keras.layers.TextVectorization):
        raise ValueError(
            "`preprocessor` must be a keras.layers.TextVectorization. "
            f"Received: preprocessor={preprocessor!r}"
        )
    max_length = preprocessor.get_config().get("output_sequence_length")
    if not max_length:
        raise ValueError(
            "`preprocessor` needs a fixed `output_sequence_length`. "
            f"Received: output_sequence_length={max_length!r}"
        )
    if not isinstance(embedding, keras.layers.Embedding):
        raise ValueError(
            f"`embedding` must be a keras.layers.Embedding. Received: embedding={embedding!r}"
        )
    return max_length


@keras.saving.register_keras_serializable(package="keras_transfer")
class EmbeddingClassifier(TransferModel):
    """Text classifier on frozen pretrained word vectors (feature extraction).

    text -> `preprocessor` (a `keras.layers.TextVectorization`: lowercase, strip
    punctuation, split on spaces, pad to `max_length`) -> frozen `embedding` ->
    [optional n-gram filters] -> masked mean (or max) pooling, where padding
    and unknown words do not count -> Dense 64 relu -> Dropout 0.5 -> Dense 32
    relu -> Dropout 0.3 -> softmax.

    A mean of word vectors forgets word order, and in a short text the few
    words that decide the class ("how many", "who", "what does ... stand
    for") drown in the content words around them. With `ngram_filters=N`, N
    trainable filters over each window of `ngram_size` consecutive word
    vectors (a `Conv1D`, relu; Kim 2014's CNN-static) come before the
    pooling, so the head sees which short phrases occur; use it with
    `pooling="max"`. On TREC-like questions (6 classes) it lifted macro F1
    from 0.55 to 0.78; on the bundled movie-review snippets it cost 5 points,
    so the `embedding` strategy keeps the plain mean (benchmarks/RESULTS.md).

    Build it with `EmbeddingClassifier.from_word_vectors()`, which loads the
    vectors (the bundled GloVe 6B 50d by default) into the embedding. The
    constructor takes the two layers directly and is what `from_config` uses.

    Args:
        preprocessor: `keras.layers.TextVectorization` with a fixed vocabulary
            and `output_sequence_length`.
        embedding: `keras.layers.Embedding` of `vocabulary_size` rows.
        num_classes: int >= 2.
        label_names: optional names of the classes, in id order (saved with the model).
        pooling: `"mean"` (default) or `"max"`.
        ngram_filters: number of n-gram filters before the pooling; 0
            (default) pools the word vectors themselves.
        ngram_size: words per n-gram filter window (default 3).
        hidden_units: sizes of the head's hidden Dense layers.
        dropout: dropout rate after each hidden layer (same length).
        train_embedding: keep the embedding frozen (default False).

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.EmbeddingClassifier.from_word_vectors(num_classes=2, max_length=16)
    >>> history = model.fit(["a great film", "an awful film"], [1, 0], epochs=1, verbose=0)
    >>> model.predict(["great"], verbose=0).shape
    (1, 2)
    """

    layer_arguments = ("embedding",)

    def __init__(
        self,
        preprocessor,
        embedding,
        num_classes=2,
        pooling="mean",
        ngram_filters=0,
        ngram_size=3,
        hidden_units=(64, 32),
        dropout=(0.5, 0.3),
        train_embedding=False,
        label_names=None,
        **kwargs,
    ):
        max_length = _check_layers(preprocessor, embedding)
        self.check_num_classes(num_classes)
        if pooling not in POOLING_MODES:
            raise ValueError(
                f"`pooling` must be one of {POOLING_MODES}. Received: pooling={pooling!r}"
            )
        check_int("ngram_filters", ngram_filters, minimum=0)
        check_int("ngram_size", ngram_size, minimum=1)
        hidden_units, dropout = tuple(hidden_units), tuple(dropout)
        if len(hidden_units) != len(dropout):
            raise ValueError(
                "`hidden_units` and `dropout` need one entry per hidden layer. "
                f"Received: hidden_units={hidden_units}, dropout={dropout}"
            )
        for i, rate in enumerate(dropout):
            check_rate(f"dropout[{i}]", rate)
        embedding.trainable = bool(train_embedding)

        label_names = self.check_label_names(label_names, num_classes)

        # === Layers ===
        self.embedding = embedding
        self.ngram_conv = None
        if ngram_filters:
            self.ngram_conv = keras.layers.Conv1D(
                ngram_filters, ngram_size, padding="same", activation="relu", name="ngram_conv"
            )
        self.pooler = MaskedGlobalPooling(pooling, name="pooling")
        self.hidden_layers = []
        for i, (units, rate) in enumerate(zip(hidden_units, dropout, strict=True), start=1):
            self.hidden_layers.append(
                keras.layers.Dense(units, activation="relu", name=f"classification_dense{i}")
            )
            self.hidden_layers.append(keras.layers.Dropout(rate, name=f"classification_dropout{i}"))
        self.output_dense = keras.layers.Dense(num_classes, activation="softmax", name="output")

        # === Functional Model ===
        token_ids = keras.Input(shape=(max_length,), dtype="int32", name="token_ids")
        known = ops.greater_equal(token_ids, _RESERVED_IDS)
        x = self.embedding(token_ids)
        if self.ngram_conv is not None:
            x = self.ngram_conv(x)
        x = self.pooler(x, padding_mask=known)
        for layer in self.hidden_layers:
            x = layer(x)
        outputs = self.output_dense(x)
        compile = kwargs.pop("compile", True)
        super().__init__(inputs=token_ids, outputs=outputs, compile=False, **kwargs)
        self.preprocessor = preprocessor

        # === Config ===
        self.num_classes = num_classes
        self.label_names = label_names
        self.pooling = pooling
        self.ngram_filters = ngram_filters
        self.ngram_size = ngram_size
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.train_embedding = bool(train_embedding)
        if compile:
            self.compile()

    @classmethod
    def from_word_vectors(
        cls,
        vectors=None,
        num_classes=2,
        max_length=128,
        max_words=20000,
        **kwargs,
    ):
        """Build the classifier on pretrained vectors (default: bundled GloVe 6B 50d).

        Args:
            vectors: see `keras_transfer.load_word_vectors`.
            num_classes: int >= 2.
            max_length: tokens kept per text (longer texts are truncated).
            max_words: vocabulary size taken from the vectors, most frequent
                first for GloVe.
            **kwargs: passed to the constructor (`pooling`, `hidden_units`, ...).
        """
        check_int("max_length", max_length, minimum=1)
        words, matrix = load_word_vectors(vectors, max_words=max_words)
        preprocessor = keras.layers.TextVectorization(
            vocabulary=words,
            output_mode="int",
            output_sequence_length=max_length,
            name="preprocessor",
        )
        weights = np.zeros((len(words) + _RESERVED_IDS, matrix.shape[1]), dtype="float32")
        weights[_RESERVED_IDS:] = matrix
        embedding = keras.layers.Embedding(
            len(words) + _RESERVED_IDS, matrix.shape[1], name="frozen_embeddings"
        )
        embedding.build((None, max_length))
        embedding.embeddings.assign(weights)
        return cls(
            preprocessor=preprocessor, embedding=embedding, num_classes=num_classes, **kwargs
        )

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: Adam at the `embedding` recipe's learning rate (3e-3,
        `keras_transfer.recipes.RECIPES`), sparse categorical cross-entropy,
        accuracy / precision / recall."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(RECIPES["classification"]["embedding"].learning_rate)
        if loss == "auto":
            loss = "sparse_categorical_crossentropy"
        if metrics == "auto":
            metrics = classification_metrics(self.num_classes)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def _head_layer(self):
        return (self.hidden_layers or [self.output_dense])[0]

    def get_config(self):
        return {
            "preprocessor": keras.layers.serialize(self.preprocessor),
            "embedding": keras.layers.serialize(self.embedding),
            "num_classes": self.num_classes,
            "label_names": self.label_names,
            "pooling": self.pooling,
            "ngram_filters": self.ngram_filters,
            "ngram_size": self.ngram_size,
            "hidden_units": list(self.hidden_units),
            "dropout": list(self.dropout),
            "train_embedding": self.train_embedding,
            "name": self.name,
        }
