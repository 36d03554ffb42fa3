"""ZeroShotClassifier: classes from their names alone, with a sentence encoder."""

import keras
import numpy as np

from keras_transfer.models.base import TransferModel
from keras_transfer.models.sentence_encoder import (
    check_encoder_inputs,
    encode_texts,
    sentence_embedding,
)

# Logits are `scale` times a cosine similarity: at most this, so that the
# softmax never overflows (float32 holds e^88, and keeps the max subtracted).
MAX_SCALE = 1e4


@keras.saving.register_keras_serializable(package="keras_transfer")
class ZeroShotClassifier(TransferModel):
    """Classify texts by their similarity to the classes' names: no training.

    Each label name goes through `template` (for example
    `"This review is {}."`) and the sentence encoder; a text gets the softmax
    of `scale` times its cosine similarity to each label. The label embeddings
    are computed once, when the model is built, and saved with it. Nothing
    trains: `fit` raises, and the model has 0 trainable parameters. Label names
    must mean something ("positive", not "1").

    Args:
        backbone: a keras-hub backbone (a sentence-transformers encoder such as
            the bundled all-MiniLM-L6-v2 gives meaningful similarities).
        preprocessor: its `TextClassifierPreprocessor`.
        label_names: the classes, in id order (two or more distinct strings).
        template: a format string with one `{}` for the label name.
        scale: the inverse temperature applied to the cosine similarities
            (20 by default: a similarity gap of 0.1 gives odds of e^2 ≈ 7.4);
            at most 1e4.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.ZeroShotClassifier.from_preset(
    ...     None, label_names=["sports", "cooking"], template="This text is about {}.",
    ...     max_length=32)
    >>> probabilities = model.predict(["The striker scored twice."], verbose=0)
    >>> model.label_names[int(probabilities.argmax())]
    'sports'
    """

    fit_uses_optimizer = False  # see TransferModel
    tokenizes_texts = True  # as Hugging Face tokenizes, in length buckets (see TransferModel)

    def __init__(
        self,
        backbone,
        preprocessor,
        label_names,
        template="{}",
        scale=20.0,
        **kwargs,
    ):
        check_encoder_inputs(backbone)
        _check_label_list(label_names)
        label_names = self.check_label_names(list(label_names), len(label_names))
        if not isinstance(template, str) or template.count("{}") != 1:
            raise ValueError(
                "`template` must be a string with exactly one `{}` for the label name. "
                f"Received: template={template!r}"
            )
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float))
            or not 0 < scale <= MAX_SCALE  # also refuses NaN and infinity
        ):
            raise ValueError(
                f"`scale` must be a number in (0, {MAX_SCALE:g}]: larger scales overflow the "
                f"softmax. Received: scale={scale!r}"
            )
        backbone.trainable = False

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooler = keras.layers.GlobalAveragePooling1D(name="pooling")
        self.normalize = keras.layers.UnitNormalization(name="normalize")
        self.similarity = keras.layers.Dense(
            len(label_names), use_bias=False, trainable=False, name="label_similarity"
        )
        self.softmax = keras.layers.Softmax(name="predictions")

        # === Functional Model ===
        inputs = backbone.input
        embedding = sentence_embedding(backbone, inputs, self.pooler, self.normalize)
        outputs = self.softmax(self.similarity(embedding))
        compile = kwargs.pop("compile", True)
        super().__init__(inputs=inputs, outputs=outputs, compile=False, **kwargs)

        # === Config ===
        self.num_classes = len(label_names)
        self.label_names = label_names
        self.template = template
        self.scale = float(scale)

        # The label embeddings, once. A model being reloaded has no vocabulary
        # yet (keras-hub loads it after construction) and loads the saved ones.
        tokenizer = getattr(preprocessor, "tokenizer", None)
        if getattr(tokenizer, "vocabulary", True) is not None:
            labels = [template.format(name) for name in label_names]
            vectors = encode_texts(keras.Model(inputs, embedding), preprocessor, labels)
            self.similarity.set_weights([np.asarray(vectors.T * self.scale, dtype="float32")])
        if compile:
            self.compile()

    @classmethod
    def _check_preset_arguments(cls, kwargs):
        _check_label_list(kwargs.get("label_names"))

    def compile(self, loss="sparse_categorical_crossentropy", metrics=("accuracy",), **kwargs):
        """For `evaluate`: cross-entropy and accuracy. There is nothing to optimise."""
        super().compile(loss=loss, metrics=list(metrics), **kwargs)

    def fit(self, *args, **kwargs):
        raise ValueError(
            "A ZeroShotClassifier does not train: it predicts from the label names. With a few "
            "labelled examples per class, use keras_transfer.SetFitClassifier. "
            f"Received: fit with {len(args)} positional argument(s)"
        )

    def _head_layer(self):
        return self.similarity

    def get_config(self):
        return {
            **super().get_config(),
            "label_names": self.label_names,
            "template": self.template,
            "scale": self.scale,
        }


def _check_label_list(label_names):
    if not isinstance(label_names, (list, tuple)) or len(label_names) < 2:
        raise ValueError(
            "`label_names` must be a list of two or more class names, each a phrase that "
            f"means the class. Received: label_names={label_names!r}"
        )
