"""MultiTaskClassifier: one pretrained encoder, one classification head per task."""

import re

import keras
import numpy as np

from keras_transfer import data
from keras_transfer.metrics import MaskedAccuracy
from keras_transfer.models.base import TransferModel
from keras_transfer.models.sentence_encoder import pooled_output
from keras_transfer.recipes import RECIPES
from keras_transfer.schedules import exponential_decay
from keras_transfer.trainability import check_transformer_backbone, setup_strategy

UNLABELLED = -1
_TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@keras.saving.register_keras_serializable(package="keras_transfer")
class MultiTaskClassifier(TransferModel):
    """Several classification tasks on one pretrained encoder.

    text -> `preprocessor` -> `backbone` -> [CLS] vector (or masked mean) ->
    for each task: Dense 128 relu -> Dropout 0.3 -> softmax over its classes.
    The encoder is shared, so every task's labels shape it; what trains is set
    by `strategy`, as in `TransformerClassifier` (`full`, `frozen`, `last_n`,
    `lora`, `scratch`).

    Labels come as a dict, one array per task. A label of -1 means "not
    labelled for this task": the example is masked out of that task's loss and
    accuracy, so tasks can come from different datasets. `predict` returns a
    dict of probability arrays.

    Args:
        backbone: a `keras_hub.models.Backbone` with `transformer_layers`.
        preprocessor: its `TextClassifierPreprocessor`.
        tasks: `{task_name: num_classes}`, names made of letters, digits and
            `_`, each with 2 or more classes.
        strategy: as in `TransformerClassifier`.
        unfreeze_last: as in `TransformerClassifier`.
        lora_rank: as in `TransformerClassifier`.
        pooling: as in `TransformerClassifier`.
        hidden_units: as in `TransformerClassifier`.
        dropout: as in `TransformerClassifier`.
        loss_weights: optional `{task_name: weight}` (default 1 each).
        label_names: optional `{task_name: [names in id order]}`.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.MultiTaskClassifier.from_preset(
    ...     None, tasks={"sentiment": 2, "topic": 3}, strategy="frozen", max_length=32)
    >>> history = model.fit(["a great film", "an awful meal"],  # doctest: +SKIP
    ...                     {"sentiment": [1, 0], "topic": [0, -1]}, epochs=1, verbose=0)
    >>> sorted(model.predict(["a great film"], verbose=0))
    ['sentiment', 'topic']
    """

    tokenizes_texts = True
    auto_pooling = True  # see `TransferModel.from_preset`

    def __init__(
        self,
        backbone,
        preprocessor,
        tasks,
        strategy="full",
        unfreeze_last=None,
        lora_rank=None,
        pooling="cls",
        hidden_units=128,
        dropout=0.3,
        loss_weights=None,
        label_names=None,
        **kwargs,
    ):
        check_transformer_backbone(backbone)
        tasks = _check_tasks(tasks)
        loss_weights = _check_task_dict("loss_weights", loss_weights, tasks, _positive_number)
        label_names = _check_task_dict(
            "label_names",
            label_names,
            tasks,
            lambda task, names: self.check_label_names(names, tasks[task]),
        )
        if pooling not in ("cls", "mean"):
            raise ValueError(f"`pooling` must be 'cls' or 'mean'. Received: pooling={pooling!r}")
        unfreeze_last, lora_rank = setup_strategy(backbone, strategy, unfreeze_last, lora_rank)

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooler = (
            keras.layers.GlobalAveragePooling1D(name="pooling") if pooling == "mean" else None
        )
        self.heads = {
            task: [
                keras.layers.Dense(hidden_units, activation="relu", name=f"{task}_dense"),
                keras.layers.Dropout(dropout, name=f"{task}_dropout"),
                keras.layers.Dense(n, activation="softmax", name=task),
            ]
            for task, n in tasks.items()
        }

        # === Functional Model ===
        inputs = backbone.input
        pooled = pooled_output(backbone, inputs, self.pooler)
        predictions = {}
        for task, (dense, drop, output) in self.heads.items():
            predictions[task] = output(drop(dense(pooled)))
        compile = kwargs.pop("compile", True)
        super().__init__(inputs=inputs, outputs=predictions, compile=False, **kwargs)

        # === Config ===
        self.tasks = tasks
        self.num_classes = max(tasks.values())
        self.strategy = strategy
        self.unfreeze_last = unfreeze_last
        self.lora_rank = lora_rank
        self.pooling = pooling
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.loss_weights = loss_weights
        self.label_names = label_names
        if compile:
            self.compile()

    @classmethod
    def _check_preset_arguments(cls, kwargs):
        _check_tasks(kwargs.get("tasks"))

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Defaults: Adam with the strategy's learning rate (ExponentialDecay,
        clipnorm 1), per task a sparse cross-entropy that ignores label -1,
        weighted by `loss_weights`, and the accuracy over labelled examples."""
        if optimizer == "auto":
            learning_rate = RECIPES["classification"][self.strategy].learning_rate
            optimizer = keras.optimizers.Adam(exponential_decay(learning_rate), clipnorm=1.0)
        if loss == "auto":
            loss = {
                task: keras.losses.SparseCategoricalCrossentropy(ignore_class=UNLABELLED)
                for task in self.tasks
            }
        if metrics == "auto":
            metrics = {task: [MaskedAccuracy(name="accuracy")] for task in self.tasks}
        kwargs.setdefault("loss_weights", self.loss_weights)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def fit(self, x=None, y=None, *, class_weight=None, **kwargs):
        """`TransferModel.fit` with `y` a dict: `{task_name: labels}`, -1 where
        a text has no label for that task. Other arguments as there; per-task
        weighting is `loss_weights`, so `class_weight` is not taken."""
        if class_weight is not None:
            raise ValueError(
                "A MultiTaskClassifier weighs tasks with `loss_weights`; `class_weight` is not "
                f"taken. Received: class_weight={class_weight!r}"
            )
        data.check_texts(x, name="x")
        if data.is_text_array(x) and isinstance(y, dict):
            for task, labels in y.items():
                if hasattr(labels, "__len__") and len(labels) != len(x):
                    raise ValueError(
                        f"Every task needs one label per text (-1 for none). Received: "
                        f"{len(x)} texts and {len(labels)} labels for y[{task!r}]"
                    )
        return super().fit(x, y, **kwargs)

    def _check_labels(self, y, name):
        if not isinstance(y, dict) or set(y) != set(self.tasks):
            raise ValueError(
                f"`{name}` must be a dict with one label array per task, {sorted(self.tasks)} "
                "(-1 where a text has no label for that task). Received: "
                f"{name}={sorted(y) if isinstance(y, dict) else type(y).__name__}"
            )
        checked = {}
        for task, n in self.tasks.items():
            values = np.asarray(y[task])
            unlabelled = np.zeros(values.shape, bool)
            if values.dtype.kind in "iuf":
                unlabelled = values == UNLABELLED
            ids = data.check_labels(np.where(unlabelled, 0, values), n, name=f"{name}[{task!r}]")
            checked[task] = np.where(unlabelled, UNLABELLED, ids).astype("int32")
        return checked

    def _head_layer(self):
        return self.heads[next(iter(self.tasks))][0]

    def features_are_frozen(self):
        # Several heads read the features: the cached-features path trains one
        # head model whose variable order is not the full model's, which a
        # reloaded optimizer follows. `frozen` runs the whole model instead.
        return False

    def get_config(self):
        return {
            **super().get_config(),
            "tasks": self.tasks,
            "strategy": self.strategy,
            "unfreeze_last": self.unfreeze_last,
            "lora_rank": self.lora_rank,
            "pooling": self.pooling,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "loss_weights": self.loss_weights,
            "label_names": self.label_names,
        }


def _check_tasks(tasks):
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(
            "`tasks` must be a non-empty dict {task_name: num_classes}, e.g. "
            f"{{'sentiment': 2, 'stars': 5}}. Received: tasks={tasks!r}"
        )
    for task, n in tasks.items():
        if not isinstance(task, str) or not _TASK_NAME.match(task):
            raise ValueError(
                "Task names must start with a letter and hold only letters, digits and `_`. "
                f"Received: tasks={tasks!r}"
            )
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ValueError(
                f"Each task needs 2 or more classes. Received: tasks={tasks!r} ({task}={n!r})"
            )
    return {task: int(n) for task, n in tasks.items()}


def _check_task_dict(name, values, tasks, check):
    if values is None:
        return None
    if not isinstance(values, dict) or not set(values) <= set(tasks):
        raise ValueError(
            f"`{name}` must be a dict keyed by task names {sorted(tasks)}. "
            f"Received: {name}={values!r}"
        )
    return {task: check(task, value) for task, value in values.items()}


def _positive_number(task, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(
            f"`loss_weights` must be numbers >= 0. Received: loss_weights[{task!r}]={value!r}"
        )
    return float(value)
