"""SetFitClassifier: few-shot classification by contrastive tuning of a sentence encoder."""

import keras
import numpy as np

from keras_transfer import data
from keras_transfer._keras_compat import clip_after_all_reduce
from keras_transfer.callbacks import monitor_for, with_mandatory_callbacks
from keras_transfer.checks import check_int
from keras_transfer.distribution import replicas
from keras_transfer.models.base import TransferModel
from keras_transfer.models.sentence_encoder import (
    check_encoder_inputs,
    encode_texts,
    sentence_embedding,
)
from keras_transfer.optimizers import adamw_with_warmup
from keras_transfer.recipes import RECIPES
from keras_transfer.trainability import apply_strategy


def sentence_pairs(labels, num_iterations=20, seed=0):
    """SetFit's pairs: per iteration, each example with a random example of its
    own class (target 1) and one of another class (target 0).

    Returns `(first, second, target)` index arrays; half the pairs are
    positive. A class with one example pairs it with itself.

    Example:
    >>> first, second, target = sentence_pairs([0, 0, 1, 1], num_iterations=1)
    >>> len(first), float(target.mean())
    (8, 0.5)
    """
    labels = np.asarray(labels)
    check_int("num_iterations", num_iterations)
    if len(np.unique(labels)) < 2:
        raise ValueError(
            "SetFit needs examples of at least two classes to make pairs. "
            f"Received: labels of one class ({labels[:1].tolist()})"
        )
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    others = {c: np.flatnonzero(labels != c) for c in members}
    first, second, target = [], [], []
    for _ in range(num_iterations):
        for i, label in enumerate(labels):
            first += [i, i]
            second += [rng.choice(members[label]), rng.choice(others[label])]
            target += [1.0, 0.0]
    return np.array(first), np.array(second), np.array(target, dtype="float32")


@keras.saving.register_keras_serializable(package="keras_transfer")
class SetFitClassifier(TransferModel):
    """Few-shot text classification with SetFit (Tunstall et al. 2022).

    `fit(texts, labels)` runs SetFit's two stages:

    1. Contrastive tuning of the sentence encoder on pairs made from the
       labelled examples (`sentence_pairs`): same class -> cosine similarity
       1, different classes -> 0, mean squared error, AdamW with warmup
       (`learning_rate` 2e-5), `num_iterations` pairs per example and side.
       This is a Keras `fit` with the mandatory callbacks.
    2. A logistic-regression head (scikit-learn, as in SetFit) on the tuned,
       unit-length embeddings, copied into the model's softmax layer.

    With 8 examples per class it is competitive with fine-tuning on
    thousands, because the pairs multiply the signal the few examples carry.

    Args:
        backbone: a keras-hub backbone; a sentence-transformers encoder (the
            bundled all-MiniLM-L6-v2) is what SetFit is designed around.
        preprocessor: its `TextClassifierPreprocessor`.
        num_classes: int >= 2.
        label_names: optional names of the classes, in id order.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.SetFitClassifier.from_preset(None, num_classes=2, max_length=16)
    >>> history = model.fit(["a great film", "loved it", "an awful film", "hated it"],
    ...                     [1, 1, 0, 0], num_iterations=2, verbose=0)  # doctest: +SKIP
    >>> model.predict(["a great film"], verbose=0).shape
    (1, 2)
    """

    fit_uses_optimizer = False  # see TransferModel
    tokenizes_texts = True  # as Hugging Face tokenizes, in length buckets (see TransferModel)

    def __init__(self, backbone, preprocessor, num_classes=2, label_names=None, **kwargs):
        check_encoder_inputs(backbone)
        self.check_num_classes(num_classes)
        label_names = self.check_label_names(label_names, num_classes)
        apply_strategy(backbone, "full", None, None)  # the whole encoder tunes (pooler aside)

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooler = keras.layers.GlobalAveragePooling1D(name="pooling")
        self.normalize = keras.layers.UnitNormalization(name="normalize")
        self.head = keras.layers.Dense(num_classes, activation="softmax", name="predictions")

        # === Functional Model ===
        inputs = backbone.input
        embedding = sentence_embedding(backbone, inputs, self.pooler, self.normalize)
        outputs = self.head(embedding)
        compile = kwargs.pop("compile", True)
        super().__init__(inputs=inputs, outputs=outputs, compile=False, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.label_names = label_names
        if compile:
            self.compile()

    def compile(self, loss="sparse_categorical_crossentropy", metrics=("accuracy",), **kwargs):
        """For `evaluate` (fit trains with its own two stages)."""
        super().compile(loss=loss, metrics=list(metrics), **kwargs)

    def encoder(self):
        """A functional view from the token inputs to the unit-length sentence embedding."""
        return keras.Model(self.input, self.head.input, name=f"{self.name}_encoder")

    def fit(
        self,
        x=None,
        y=None,
        *,
        validation_data=None,
        epochs=1,
        batch_size=16,
        num_iterations=20,
        learning_rate=RECIPES["classification"]["setfit"].learning_rate,
        class_weight=None,
        callbacks=None,
        experiment=None,
        log_root=None,
        seed=None,
        verbose="auto",
    ):
        """Both SetFit stages; returns stage 1's `History`.

        Args:
            x: texts (a few per class is the point).
            y: their integer labels.
            validation_data: `(texts, labels)`; stage 1 then also reports and
                monitors the contrastive loss on pairs made from them.
            epochs: passes over the pairs (SetFit's default, 1).
            batch_size: pairs per step (16).
            num_iterations: pairs per example and side (20: 40 pairs each).
            learning_rate: peak AdamW rate of stage 1 (the `setfit` recipe's, 2e-5), 10 % warmup.
            class_weight: `"balanced"` or None, for the stage-2 head.
            callbacks: as `TransferModel.fit`; the mandatory callbacks are
                added.
            experiment: as `TransferModel.fit`.
            log_root: as `TransferModel.fit`.
            seed: pair sampling (default: drawn from numpy's global generator,
                which `keras.utils.set_random_seed` seeds).
        """
        data.check_texts(x, y, name="x")
        if y is None:
            raise ValueError("SetFit needs labels: fit(texts, labels). Received: y=None")
        y = self._check_labels(y, "y")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            check_int(name, value)
        if class_weight not in (None, "balanced"):
            raise ValueError(
                "`class_weight` must be 'balanced' or None for the logistic-regression head. "
                f"Received: class_weight={class_weight!r}"
            )
        if class_weight == "balanced":
            data.warn_absent_classes(y, self.num_classes, self.label_names)
        texts = [str(t) for t in x]
        seed = data.shuffle_seed() if seed is None else seed
        pairs = self._pairs(texts, y, num_iterations, seed, batch_size)
        validation = None
        if validation_data is not None:
            val_texts, val_labels = validation_data[0], validation_data[1]
            data.check_texts(val_texts, val_labels, name="validation_data[0]")
            val_labels = self._check_labels(val_labels, "validation_data[1]")
            val_texts = [str(t) for t in val_texts]
            validation = self._pairs(val_texts, val_labels, 1, seed + 1, batch_size)
        steps = len(pairs) * epochs
        pair_model = self._pair_model()
        pair_model.compile(
            optimizer=adamw_with_warmup(steps, learning_rate=learning_rate), loss="mse"
        )
        clip_after_all_reduce(pair_model.optimizer)
        callbacks = with_mandatory_callbacks(
            callbacks,
            experiment if experiment is not None else self.name,
            root=log_root,
            monitor=monitor_for(validation),
        )
        history = pair_model.fit(
            pairs,
            validation_data=validation,
            epochs=epochs,
            callbacks=callbacks,
            shuffle=False,  # the pairs are shuffled once, with the seed
            verbose=verbose,
        )
        self._fit_head(texts, y, class_weight)
        return history

    def _pairs(self, texts, labels, num_iterations, seed, batch_size):
        import tensorflow as tf

        first, second, target = sentence_pairs(labels, num_iterations, seed)
        # Even batches across data-parallel devices (see `data.even_indices`).
        data.check_even_batches(batch_size, replicas())
        rows = data.even_indices(len(first), replicas())
        first, second, target = first[rows], second[rows], target[rows]
        # Tokenized once, as Hugging Face tokenizes for this model (`FastTokenizer`).
        tokens = self.tokenize(texts)
        arrays = {key: np.asarray(tokens[key]).astype("int32") for key in self.input}
        ds = tf.data.Dataset.from_tensor_slices(
            (
                (
                    {k: v[first] for k, v in arrays.items()},
                    {k: v[second] for k, v in arrays.items()},
                ),
                target,
            )
        )
        return data.without_autotuning(ds.shuffle(len(first), seed=seed).batch(batch_size))

    def _pair_model(self):
        """Two texts -> the cosine similarity of their embeddings (the encoder is shared)."""
        encoder = self.encoder()

        def side(prefix):
            return {
                key: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=f"{prefix}{key}")
                for key, tensor in self.input.items()
            }

        first, second = side("first_"), side("second_")
        similarity = keras.layers.Dot(axes=1, name="cosine")([encoder(first), encoder(second)])
        return keras.Model((first, second), similarity, name=f"{self.name}_pairs")

    def _fit_head(self, texts, labels, class_weight):
        from sklearn.linear_model import LogisticRegression

        features = encode_texts(self.encoder(), self.preprocessor, texts)
        classes = np.unique(labels)
        head = LogisticRegression(max_iter=1000, class_weight=class_weight)
        head.fit(features, labels)
        kernel = np.zeros((features.shape[1], self.num_classes), dtype="float32")
        bias = np.zeros(self.num_classes, dtype="float32")
        if len(classes) == 2:  # one logit, for the second class: softmax([0, z]) = sigmoid(z)
            kernel[:, classes[1]], bias[classes[1]] = head.coef_[0], head.intercept_[0]
        else:
            kernel[:, classes], bias[classes] = head.coef_.T, head.intercept_
        if len(classes) < self.num_classes:  # a class never seen in training is never predicted
            bias[np.setdiff1d(np.arange(self.num_classes), classes)] = -1e9
        self.head.set_weights([kernel, bias])

    def _head_layer(self):
        return self.head

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "label_names": self.label_names,
        }
