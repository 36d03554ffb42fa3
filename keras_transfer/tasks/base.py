"""What every task spec shares: the strategies' build options, the run's hyper-parameters."""

import dataclasses

from keras_transfer.strategies import strategy_options


class Task:
    """The part of a task spec (`keras_transfer.tasks`) that every task shares.

    A subclass sets `EXPERIMENT` (the TensorBoard experiment's name),
    `SCORES` (`(column, heading)` pairs, the first one ranks), `REFERENCE`
    (the reference row the recommendation compares with), `TEST_METRICS`
    (`(HParams tag, column)` pairs) and `INFERENCE_COLUMN`, and implements
    `load`, `prepare`, `recipe`, `reference_rows`, `train`, `predict`,
    `score` and `attrs`.

    Args:
        settings: `keras_transfer.compare`'s checked arguments.
        n_train: the number of training examples.
        truncation: passed on to the strategies that build a transformer.

    Example:
    >>> from keras_transfer.tasks import NerTask
    >>> [tag for tag, _ in NerTask.TEST_METRICS + Task.RUN_METRICS][-1]
    'epochs_run'
    """

    RUN_METRICS = (("train_seconds", "train_seconds"), ("epochs_run", "epochs_run"))

    def __init__(self, settings, n_train, truncation="head"):
        self.settings = settings
        self.options = strategy_options(
            settings["strategies"],
            settings["preset"],
            settings["max_length"],
            settings["unfreeze_last"],
            settings["lora_rank"],
            truncation=truncation,
        )
        self.hparams = {
            "batch_size": settings["batch_size"],
            "max_length": settings["max_length"],
            "n_train": n_train,
        }
        self.learning_rates = {}  # tuned ones (`use`)

    def recipe(self, strategy):
        """The strategy's recipe for this task, with its tuned learning rate if any."""
        recipe = self.base_recipe(strategy)
        if strategy in self.learning_rates:
            recipe = dataclasses.replace(recipe, learning_rate=self.learning_rates[strategy])
        return recipe

    def use(self, strategy, values):
        """Train `strategy` from now on with `values` (`{"learning_rate": ...,
        option: ...}`, `keras_transfer.tuning`) instead of its recipe's and defaults."""
        values = dict(values)
        self.learning_rates[strategy] = values.pop("learning_rate")
        self.options[strategy] = {**self.options[strategy], **values}

    @property
    def hparam_metrics(self):
        """`(HParams tag, row column)` of every metric a run logs."""
        return self.TEST_METRICS + self.RUN_METRICS

    def before_training(self, results, verbose):
        """A step before the first strategy trains (none by default)."""

    def after_run(self):
        """A step after each strategy's run (none by default)."""
