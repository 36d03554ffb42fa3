"""The one experiment runner: every strategy, every seed, one row each.

A task spec (`keras_transfer.tasks`) says how its data is split, which
reference rows it adds, how a strategy's model is built and trained, how it
predicts and how it is scored. `run` does the rest, the same way for every
task: for each strategy and seed it seeds, fits with the recipe under the
time budget, predicts the test split, scores it, writes the row, its
TensorBoard HParams and the result files, and shows the progress.
"""

import contextlib
import logging
import os
import shutil
import time
import warnings

from keras_transfer import platform, reports

RESULT_FILES = ("results.csv", "results.md", "transfer_learning_comparison.png")
RESULT_FOLDERS = ("reports", "models", "tuning")


def run(
    task,
    strategies,
    seed=0,
    seeds=1,
    epochs=None,
    out=None,
    overwrite=False,
    log_root=None,
    budget_minutes=None,
    save_models=False,
    tune=0,
    verbose=1,
):
    """Train `strategies` (each `seeds` times) on the task's prepared split;
    returns the table (`keras_transfer.reports.seed_table`, best first).

    Args:
        task: a prepared task spec (`keras_transfer.tasks`).
        strategies: names from `keras_transfer.strategies.STRATEGIES`.
        seed: the first seed (initialisation, shuffling, dropout).
        seeds: runs per strategy, seeds `seed`, `seed + 1`, ...
        epochs: most epochs for every strategy (default: each recipe's own).
        out: the results folder (checked before anything trains), or None.
        overwrite: replace the results already in `out`.
        log_root: where the TensorBoard experiment folder goes.
        budget_minutes: each run's time budget (`keras_transfer.TimeBudget`).
        save_models: write each strategy's model (first seed) to out/models.
        tune: settings each strategy tries on the validation split before its
            first seed (`keras_transfer.tuning`); every seed trains with the
            best. 0: each recipe as it is.
        verbose: 0 silent, 1 a progress line per run, 2 also Keras' epoch lines.

    Example:
    >>> from keras_transfer.runner import run   # doctest: +SKIP
    >>> from keras_transfer.tasks import NerTask   # doctest: +SKIP
    >>> run(NerTask.prepare(train=(words, tags)), ["frozen"], out=None)  # doctest: +SKIP
    """
    import keras

    if out is not None:
        out = prepare_out(out, overwrite)
    experiment_dir = _experiment_dir(task.EXPERIMENT, log_root)
    reports.write_hparams_config(
        experiment_dir,
        ["strategy", "learning_rate", "max_epochs", "seed", *task.hparams]
        + (["tuned"] if tune else []),
        [tag for tag, _ in task.hparam_metrics],
    )
    results = Results(task, experiment_dir, out)
    tuned = {}
    task.before_training(results, verbose)
    for row, predicted in task.reference_rows():
        results.add(row, predicted, seed)
    results.write()
    runs = [(s, seed + k) for s in strategies for k in range(seeds)]
    with _quiet_tensorflow(), warnings.catch_warnings():
        for number, (strategy, run_seed) in enumerate(runs, start=1):
            if tune and strategy not in tuned:
                tuned[strategy] = _tune(task, strategy, tune, epochs, out, seed, verbose)
            recipe = task.recipe(strategy)
            max_epochs = epochs or recipe.max_epochs
            header = (
                f"[{number}/{len(runs)}] {strategy:<9} training (seed {run_seed}, "
                f"lr {recipe.learning_rate:g}, at most {max_epochs} epochs)"
            )
            with progress_line(header, verbose) as progress:
                keras.utils.set_random_seed(run_seed)
                experiment = f"{strategy}_seed{run_seed}" if seeds > 1 else strategy
                model, history, row, predicted = _train_one(
                    task, strategy, max_epochs, experiment, experiment_dir, budget_minutes, verbose
                )
                if tune:
                    row["tuned"] = tuned[strategy]
                results.add(row, predicted, run_seed, history)
                if save_models and out is not None and run_seed == seed:
                    os.makedirs(os.path.join(out, "models"), exist_ok=True)
                    reports.save_model(model, os.path.join(out, "models", f"{strategy}.keras"))
                results.write()
                if verbose:
                    progress.finish(_summary(task, results.rows[-1]))
            del model
            keras.backend.clear_session()
            task.after_run()
    results.write(final=True)
    return results.table()


def _tune(task, strategy, trials, epochs, out, seed, verbose):
    """Search `strategy`'s settings on the validation split, make the task
    train with the best from now on, and describe them for the table."""
    import tempfile

    import keras

    from keras_transfer import tuning

    header = f"      {strategy:<9} tuning ({trials} trials on the validation split)"
    with progress_line(header, verbose) as progress, tempfile.TemporaryDirectory() as temp:
        keras.utils.set_random_seed(seed)
        directory = os.path.join(out, "tuning") if out is not None else temp
        max_epochs = epochs or task.recipe(strategy).max_epochs
        values = tuning.tune(task, strategy, trials, max_epochs, directory, seed, verbose)
        task.use(strategy, values)
        if verbose:
            progress.finish(tuning.describe(values))
    keras.backend.clear_session()
    return tuning.describe(values)


def _train_one(task, strategy, max_epochs, experiment, experiment_dir, budget_minutes, verbose):
    """Fit one strategy and predict the test split: (model, history, row, predictions)."""
    from keras_transfer.callbacks import tensorboard_callback
    from keras_transfer.progress import FitProgress
    from keras_transfer.strategies import STRATEGIES
    from keras_transfer.time_budget import TimeBudget
    from keras_transfer.trainability import trainable_summary

    budget = [TimeBudget(budget_minutes)] if budget_minutes is not None else []
    # The run's TensorBoard callback (the mandatory one, made here so that its
    # folder is known): the row and its HParams point at it.
    tensorboard = tensorboard_callback(experiment, root=experiment_dir)
    start = time.perf_counter()
    model, history = task.train(
        strategy,
        max_epochs,
        experiment=experiment,
        log_root=experiment_dir,
        verbose=2 if verbose > 1 else 0,
        callbacks=[tensorboard, *budget, FitProgress(budget_minutes)],
    )
    # Nothing trains without a history (zero_shot): building is not training.
    train_seconds = time.perf_counter() - start if history is not None else 0.0
    predicted, per_second = task.predict(model)
    params = trainable_summary(model).iloc[-1]
    row = {
        "strategy": strategy,
        "description": STRATEGIES[strategy].description,
        "train_seconds": train_seconds,
        task.INFERENCE_COLUMN: per_second,
        "trainable_params": int(params["trainable_params"]),
        "total_params": int(params["total_params"]),
        **reports.epoch_fields(history, max_epochs, *budget),
        "learning_rate": task.recipe(strategy).learning_rate,
        "log_dir": tensorboard.log_dir,
    }
    return model, history, row, predicted


def _summary(task, row):
    scores = "  ".join(f"{heading} {row[column]:.3f}" for column, heading in task.SCORES)
    return (
        f"{scores}  {row['train_seconds']:.0f} s  {row['trainable_params']:,} trainable  "
        f"{row['epochs_run']} epochs (best {row['best_epoch']})"
        f"{', still improving' if row['at_ceiling'] else ''}"
    )


class Results:
    """The rows so far, and the files written from them after every run, so
    that a crash or an interrupt later loses nothing already trained."""

    def __init__(self, task, experiment_dir, out):
        self.task = task
        self.experiment_dir = experiment_dir
        self.out = out
        self.rows, self.reports, self.extras, self.histories = [], {}, {}, {}

    def add(self, row, predicted, seed, history=None):
        scores, report, extras = self.task.score(predicted)
        row = {**row, **scores, "seed": seed}
        strategy = row["strategy"]
        row["log_dir"] = row.get("log_dir") or os.path.join(self.experiment_dir, strategy)
        self.rows.append(row)
        if strategy not in self.reports:  # the first seed's
            self.reports[strategy] = report
            self.extras[strategy] = extras
            if history is not None:
                self.histories[strategy] = history.history
        reports.write_hparams(
            row["log_dir"],
            {
                "strategy": strategy,
                "learning_rate": float(row.get("learning_rate", 0.0)),
                "max_epochs": int(row.get("max_epochs", 0)),
                "seed": int(seed),
                **self.task.hparams,
                **({"tuned": row["tuned"]} if "tuned" in row else {}),
            },
            {tag: float(row.get(column) or 0.0) for tag, column in self.task.hparam_metrics},
        )

    def table(self):
        frame = reports.seed_table(self.rows, self.task.SCORES)
        frame.attrs.update(
            histories=dict(self.histories),
            reports=dict(self.reports),
            experiment_dir=self.experiment_dir,
            **self.task.attrs(self.extras),
        )
        frame.attrs["recommendation"] = reports.recommendation(
            frame, self.task.SCORES[0], self.task.REFERENCE
        )
        return frame

    def write(self, final=False):
        if self.out is not None:
            reports.write_results(
                self.out, self.table(), self.reports, self.task.SCORES, final=final
            )


def progress_line(header, verbose):
    """The run's console line (`keras_transfer.progress.Progress`): live
    progress with an ETA at verbose 1; under Keras' own epoch lines at 2."""
    from keras_transfer.progress import Progress

    if not verbose:
        return contextlib.nullcontext()
    return Progress(header, interval=None if verbose == 1 else float("inf"))


def _expected_retracing(record):
    """A logging filter: False (drop) for TensorFlow's frequent-retracing notes."""
    return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_tensorflow():
    """Every strategy is a new model whose steps TensorFlow traces afresh, by
    design; its "frequent retracing" notes, which count the traces of all
    those models together, stay off the console while they train."""
    logger = logging.getLogger("tensorflow")
    logger.addFilter(_expected_retracing)
    try:
        yield
    finally:
        logger.removeFilter(_expected_retracing)


def _experiment_dir(name, log_root):
    try:
        return platform.log_dir(name, root=log_root)
    except OSError as e:
        raise ValueError(
            f"Cannot create the TensorBoard log folder ({e.strerror}). Choose a writable "
            f"`log_root`. Received: log_root={log_root!r}"
        ) from None


def prepare_out(out, overwrite):
    """Check the output folder before training: a folder, writable, and not
    holding results unless `overwrite` (then the old results are removed)."""
    out = os.fspath(out)
    if os.path.isfile(out):
        raise ValueError(f"`out` must be a folder, not a file. Received: out={out!r}")
    existing = [f for f in (*RESULT_FILES, *RESULT_FOLDERS) if os.path.exists(os.path.join(out, f))]
    if existing and not overwrite:
        raise ValueError(
            f"The output folder already holds results ({', '.join(existing)}). Choose "
            f"another folder or pass overwrite=True (--overwrite). Received: out={out!r}"
        )
    try:
        reports.check_writable(out)
    except OSError as e:
        raise ValueError(
            f"The output folder cannot be written ({e.strerror}). Choose a writable folder. "
            f"Received: out={out!r}"
        ) from None
    for name in existing:
        path = os.path.join(out, name)
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    return out
