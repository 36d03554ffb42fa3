"""Tuning on the validation split: `compare(tune=N)` (`--tune N`).

Each strategy's search space is data: its learning rate, log-uniform from a
third of its recipe's to three times it, and the knobs its registry entry
lists in `Strategy.tunable` (`unfreeze_last` for last_n, `lora_rank` for
lora, `ngram_filters` for embedding). KerasTuner tries `N` settings, the
recipe's first and then random ones (`RandomSearch`'s oracle), each a model built by
the task's own builder and fitted by its own training path (the mandatory
callbacks included), and keeps the one with the lowest validation loss. The
test split is never seen: the task's `train` fits on the training split and
early-stops on the validation split, both carved from the training data.
"""

import os

from keras_transfer.checks import check_int
from keras_transfer.strategies import STRATEGIES

OBJECTIVE = "val_loss"


def search_space(task, strategy):
    """`{name: ("log", low, high, default) or ("choice", values, default)}`:
    what tuning searches for `strategy` on `task`; the defaults are the
    recipe's (its learning rate, the strategy's options), tried first.

    Example:
    >>> from keras_transfer.recipes import RECIPES
    >>> class Task:
    ...     options = {"lora": {}}
    ...     settings = {"preset": None}
    ...     def recipe(self, strategy):
    ...         return RECIPES["classification"][strategy]
    >>> search_space(Task(), "lora")["lora_rank"]
    ('choice', (2, 4, 8, 16), 8)
    """
    from keras_transfer.trainability import DEFAULT_OPTIONS

    rate = task.recipe(strategy).learning_rate
    space = {"learning_rate": ("log", rate / 3, rate * 3, rate)}
    options = {**DEFAULT_OPTIONS.get(strategy, {}), **task.options.get(strategy, {})}
    for name, choices in STRATEGIES[strategy].tunable.items():
        default = options.get(name)
        if name == "unfreeze_last":
            choices, default = _within_blocks(choices, default, task.settings["preset"])
        values = tuple(sorted({*choices} | ({default} if default is not None else set())))
        space[name] = ("choice", values, default if default is not None else values[0])
    return space


def _within_blocks(choices, default, preset):
    from keras_transfer.presets import preset_limits

    blocks = preset_limits(preset)[1]
    if blocks is None:
        return choices, default
    kept = [n for n in choices if n <= blocks] or [blocks]
    return kept, None if default is None else min(default, blocks)


def describe(values):
    """The chosen values as the table shows them: `"lr=3.2e-05, unfreeze_last=2"`.

    Example:
    >>> describe({"learning_rate": 3.2e-05, "unfreeze_last": 2})
    'lr=3.2e-05, unfreeze_last=2'
    """
    return ", ".join(
        f"lr={value:.2g}" if name == "learning_rate" else f"{name}={value}"
        for name, value in values.items()
    )


def tune(task, strategy, trials, epochs, directory, seed=0, verbose=0):
    """The best values (`{"learning_rate": ..., option: ...}`) of `trials`
    settings of `strategy`, scored by the lowest validation loss.

    Args:
        task: a prepared task spec (`keras_transfer.tasks`).
        strategy: a registered strategy that trains.
        trials: settings to try (KerasTuner's `max_trials`).
        epochs: most epochs per trial.
        directory: KerasTuner's folder (its trials are replaced).
        seed: the search's seed.
        verbose: 2 shows Keras' epoch lines.
    """
    import keras_tuner

    check_int("tune", trials)
    if not STRATEGIES[strategy].trains:
        raise ValueError(
            f"`tune` applies to strategies that train; {strategy!r} does not. "
            f"Received: strategies including {strategy!r}, tune={trials}"
        )
    space = search_space(task, strategy)
    trial_numbers = iter(range(trials))

    class StrategyHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            task.use(strategy, {name: _value(hp, name, spec) for name, spec in space.items()})
            return task.build(strategy)

        def fit(self, hp, model, callbacks=(), **kwargs):
            _, history = task.train(
                strategy,
                epochs,
                model=model,
                experiment=f"{strategy}_trial{next(trial_numbers, trials)}",
                log_root=os.path.join(directory, "logs"),
                callbacks=list(callbacks),
                verbose=2 if verbose > 1 else 0,
            )
            if OBJECTIVE not in history.history:
                raise keras_tuner.errors.FatalValueError(
                    "`tune` scores on the validation split, and there is none. Choose "
                    f"validation_size > 0. Received: tune={trials}"
                )
            return {OBJECTIVE: min(history.history[OBJECTIVE])}

    class RecipeFirst(keras_tuner.oracles.RandomSearchOracle):
        """Random settings after the recipe's own, so that tuning never keeps a
        setting that scores worse on the validation split than the recipe."""

        def populate_space(self, trial_id):
            if not self.trials:
                return {"status": "RUNNING", "values": self.hyperparameters.values}
            return super().populate_space(trial_id)

    options = dict(task.options[strategy])
    objective = keras_tuner.Objective(OBJECTIVE, "min")
    tuner = keras_tuner.Tuner(
        oracle=RecipeFirst(objective=objective, max_trials=trials, seed=seed),
        hypermodel=StrategyHyperModel(),
        directory=directory,
        project_name=strategy,
        overwrite=True,
    )
    try:
        tuner.search(verbose=0)
    finally:  # the task trains with the recipe unless the caller `use`s the result
        task.learning_rates.pop(strategy, None)
        task.options[strategy] = options
    best = tuner.get_best_hyperparameters(1)[0]
    return {name: best.get(name) for name in space}


def _value(hp, name, spec):
    if spec[0] == "log":
        return hp.Float(name, spec[1], spec[2], sampling="log", default=spec[3])
    return hp.Choice(name, list(spec[1]), default=spec[2])
