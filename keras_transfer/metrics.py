"""Precision and recall for integer labels against softmax outputs."""

import keras
from keras import ops


class _OneHotLabels:
    """Mixin: one-hot encode integer labels before a Keras confusion metric."""

    def __init__(self, num_classes=2, class_id=1, **kwargs):
        super().__init__(class_id=class_id, **kwargs)
        self.num_classes = num_classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.one_hot(ops.reshape(ops.cast(y_true, "int32"), (-1,)), self.num_classes)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_transfer")
class SparsePrecision(_OneHotLabels, keras.metrics.Precision):
    """`keras.metrics.Precision` of one class, for integer labels and softmax outputs.

    Keras' `Precision` wants labels shaped like the predictions; classifiers
    here take integer labels (`sparse_categorical_crossentropy`). The label is
    one-hot encoded, then the precision of `class_id` (default 1, the positive
    class of a binary task) is computed at a 0.5 threshold.

    Example:
    >>> import numpy as np, keras_transfer as kt
    >>> m = kt.metrics.SparsePrecision(num_classes=2)
    >>> m.update_state(np.array([1, 0]), np.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> float(m.result())
    0.5
    """

    def __init__(self, num_classes=2, class_id=1, name="precision", **kwargs):
        super().__init__(num_classes=num_classes, class_id=class_id, name=name, **kwargs)


@keras.saving.register_keras_serializable(package="keras_transfer")
class SparseRecall(_OneHotLabels, keras.metrics.Recall):
    """`keras.metrics.Recall` of one class, for integer labels and softmax outputs.

    Example:
    >>> import numpy as np, keras_transfer as kt
    >>> m = kt.metrics.SparseRecall(num_classes=2)
    >>> m.update_state(np.array([1, 1]), np.array([[0.2, 0.8], [0.7, 0.3]]))
    >>> float(m.result())
    0.5
    """

    def __init__(self, num_classes=2, class_id=1, name="recall", **kwargs):
        super().__init__(num_classes=num_classes, class_id=class_id, name=name, **kwargs)


@keras.saving.register_keras_serializable(package="keras_transfer")
class MaskedAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy over the examples whose label is not `ignore_class` (-1).

    For multi-task data where not every text has every label, and for token
    classification (labels `(batch, tokens)`, outputs `(batch, tokens,
    classes)`) where only a word's first sub-token is labelled: an unlabelled
    position counts neither as right nor as wrong.

    Example:
    >>> import numpy as np, keras_transfer as kt
    >>> m = kt.metrics.MaskedAccuracy()
    >>> m.update_state(np.array([1, -1, 0]), np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]]))
    >>> float(m.result())
    0.5
    """

    def __init__(self, ignore_class=-1, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ignore_class = ignore_class

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        labelled = ops.cast(ops.not_equal(y_true, self.ignore_class), "float32")
        if sample_weight is not None:
            labelled = labelled * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        y_true = ops.maximum(y_true, 0)
        y_pred = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1]))  # per-token outputs too
        return super().update_state(y_true, y_pred, sample_weight=labelled)

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


def classification_metrics(num_classes):
    """The default metrics: accuracy, and precision/recall of class 1 when binary."""
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if num_classes == 2:
        metrics += [SparsePrecision(num_classes=2), SparseRecall(num_classes=2)]
    return metrics
