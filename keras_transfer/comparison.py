"""Train transfer strategies side by side on the same data: the toolkit's main job.

`compare` is the entry point (the command line's `compare` calls it); it
reads and samples the data, then runs `compare_strategies` (text
classification) or `keras_transfer.compare_ner` (named entities).
"""

import contextlib
import logging
import os
import shutil
import time

import numpy as np

from keras_transfer import data as data_lib
from keras_transfer import platform, reports
from keras_transfer.checks import check_int
from keras_transfer.strategies import (
    DEFAULT_RUN,
    STRATEGIES,
    check_strategies,
    strategy_options,
)

RESULT_FILES = ("results.csv", "results.md", "transfer_learning_comparison.png")
RESULT_FOLDERS = ("reports", "models")
# Each strategy's training time budget, in minutes (`keras_transfer.TimeBudget`).
DEFAULT_BUDGET_MINUTES = 20


# Each task's defaults: the bundled data set (with its held-out test split),
# how many training and test examples to sample (0: all), tokens per text,
# the share of training data for early stopping, and the output folder.
TASK_DEFAULTS = {
    "classification": {
        "data": "rotten_tomatoes",
        "train_size": 640,
        "test_size": 500,
        "max_length": "auto",
        "validation_size": 0.2,
        "out": "comparison",
    },
    "ner": {
        "data": "wikigold",
        "train_size": 0,
        "test_size": 0,
        "max_length": 128,
        "validation_size": 0.15,
        "out": "comparison_ner",
    },
}
# The arguments that apply to one task only, with their defaults: another
# value is refused for the other task.
TASK_ONLY = {
    "classification": {
        "few_shot": None,
        "adapt_on": None,
        "adapt_epochs": 1,
        "augment": 0,
        "class_weight": "balanced",
        "text_column": "text",
        "label_column": "label",
        "truncation": "head",
    },
    "ner": {"tag_column": -1},
}
_PASSED_ON = (
    "strategies",
    "epochs",
    "max_length",
    "batch_size",
    "out",
    "preset",
    "unfreeze_last",
    "lora_rank",
    "validation_size",
    "seed",
    "seeds",
    "save_models",
    "overwrite",
    "log_root",
    "verbose",
    "budget_minutes",
)


def compare(
    data=None,
    task="classification",
    strategies=None,
    seeds=1,
    train_size=None,
    test_size=None,
    few_shot=None,
    test_data=None,
    max_length=None,
    epochs=None,
    batch_size=16,
    out="auto",
    preset=None,
    unfreeze_last=None,
    lora_rank=None,
    validation_size=None,
    text_column="text",
    label_column="label",
    tag_column=-1,
    adapt_on=None,
    adapt_epochs=1,
    augment=0,
    seed=0,
    class_weight="balanced",
    truncation="head",
    budget_minutes=DEFAULT_BUDGET_MINUTES,
    save_models=False,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """Compare transfer strategies on one task; what `python -m keras_transfer compare` runs.

    Reads `data`, samples it, and trains every strategy side by side on the
    same split next to reference rows: `compare_strategies` for
    `task="classification"`, `keras_transfer.compare_ner` for `task="ner"`
    (see them for the recipes, the columns and what `out` receives). The
    defaults are the command line's, so `kt.compare()` gives the table of
    `python -m keras_transfer compare` and `kt.compare(task="ner")` that of
    `python -m keras_transfer compare --task ner`.

    Args:
        data: classification: labelled texts (anything
            `keras_transfer.load_texts` reads) or a bundled data set name
            (`keras_transfer.load_bundled`); default `"rotten_tomatoes"`.
            NER: a CoNLL file, a `(words, tags)` pair or `"wikigold"`
            (default). A bundled name brings its held-out test split.
        task: `"classification"` or `"ner"`.
        strategies: names from `keras_transfer.strategies.STRATEGIES` (a list
            or a comma-separated string); default: the task's default run.
        seeds: train each strategy this many times (seeds `seed`,
            `seed + 1`, ...): the table gives the mean and `<score>_std`
            columns.
        train_size: train on a sample of this many examples (stratified by
            label for classification; 0: all). Default 640 for
            classification, 0 for NER.
        test_size: evaluate on a sample of this many held-out examples (0:
            all). Default 500 for classification, 0 for NER.
        few_shot: classification: K examples per class (see
            `compare_strategies`).
        test_data: held-out data, of `data`'s kinds. Default: the bundled
            test split of a bundled set, else 20 % of `data`.
        max_length: tokens per text, or `"auto"`: the 95th percentile of the
            training texts' token lengths, rounded up to a multiple of 16 and
            capped at the model's limit (printed; see
            `keras_transfer.presets.fitted_max_length`). Default `"auto"` for
            classification (48 on the bundled snippets), 128 for NER.
        epochs: most epochs for every strategy (default: each recipe's own).
        batch_size: examples per step.
        out: results folder; `"auto"`: `"comparison"` for classification,
            `"comparison_ner"` for NER; None writes nothing.
        preset: the transformer (None: the bundled all-MiniLM-L6-v2).
        unfreeze_last: overrides the registry's default for `last_n`.
        lora_rank: overrides the registry's default for `lora`.
        validation_size: share of the training data held out for early
            stopping; default 0.2 for classification, 0.15 for NER.
        text_column: classification: the text column of `data`.
        label_column: classification: the label column of `data`.
        tag_column: NER: the tag column of CoNLL files.
        adapt_on: classification only (see `compare_strategies`).
        adapt_epochs: classification only (see `compare_strategies`).
        augment: classification only (see `compare_strategies`).
        seed: sampling, split, initialisation, shuffling and dropout seed.
        class_weight: classification only (see `compare_strategies`).
        truncation: classification only (see `compare_strategies`).
        budget_minutes: each strategy's training time budget (see
            `compare_strategies`).
        save_models: write each strategy's model (first seed) to out/models.
        overwrite: replace the results already in `out`.
        log_root: where the TensorBoard experiment folder goes.
        verbose: 0 silent, 1 one line per strategy, 2 also Keras' epoch lines.

    An argument of one task given to the other (`few_shot` with
    `task="ner"`, say) raises a `ValueError`.

    Example:
    >>> import keras_transfer as kt
    >>> words = [["Ada", "Lovelace", "wrote"], ["Paris", "is", "big"]] * 8
    >>> tags = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"]] * 8
    >>> table = kt.compare((words, tags), task="ner", strategies=[], out=None, verbose=0)
    >>> table["strategy"].tolist()
    ['most_frequent_tag']
    """
    settings = _settings(dict(locals()))
    if task == "ner":
        return _compare_ner(settings)
    train, test = _labelled_texts(settings["data"], test_data, text_column, label_column)
    train = _sample(train, settings["train_size"], seed)
    if test is not None:
        test = _sample(test, settings["test_size"], seed)
    passed_on = ("few_shot", "adapt_on", "adapt_epochs", "augment", "class_weight", "truncation")
    return compare_strategies(
        train, test, **{key: settings[key] for key in (*_PASSED_ON, *passed_on)}
    )


def _settings(arguments):
    """`compare`'s arguments, checked, with the task's defaults filled in."""
    task = arguments["task"]
    if task not in TASK_DEFAULTS:
        raise ValueError(f"`task` must be one of {list(TASK_DEFAULTS)}. Received: task={task!r}")
    for other, only in TASK_ONLY.items():
        wrong = [name for name, default in only.items() if _differs(arguments[name], default)]
        if other != task and wrong:
            received = ", ".join(f"{name}={arguments[name]!r}" for name in wrong)
            raise ValueError(
                f"{', '.join(f'`{name}`' for name in wrong)} only appl"
                f"{'ies' if len(wrong) == 1 else 'y'} to task={other!r}, not to "
                f"task={task!r}. Received: {received}"
            )
    settings = dict(arguments)
    for name, default in TASK_DEFAULTS[task].items():
        unset = settings[name] == "auto" if name == "out" else settings[name] is None
        if unset:
            settings[name] = default
    for name in ("seeds", "batch_size", "adapt_epochs"):
        check_int(name, settings[name])
    if settings["max_length"] != "auto":
        check_int("max_length", settings["max_length"])
    for name in ("train_size", "test_size", "augment"):
        check_int(name, settings[name], minimum=0)
    for name in ("epochs", "few_shot"):
        check_int(name, settings[name], allow_none=True)
    strategies = settings["strategies"]
    if isinstance(strategies, str):
        settings["strategies"] = [s.strip() for s in strategies.split(",") if s.strip()]
    elif strategies is None:
        from keras_transfer.strategies import NER_STRATEGIES

        settings["strategies"] = NER_STRATEGIES if task == "ner" else DEFAULT_RUN
    return settings


def _differs(value, default):
    """Whether an argument was given another value than its default."""
    if default is None:
        return value is not None
    return not (type(value) is type(default) and value == default)


def _labelled_texts(data, test_data, text_column, label_column):
    """(train, test) DataFrames: a bundled set's own test split unless `test_data`."""
    if isinstance(data, str) and data in data_lib.BUNDLED and test_data is None:
        data, test_data = data_lib.load_bundled(data)
    train = data_lib.load_texts(data, text_column, label_column)
    if test_data is None:
        return train, None
    return train, data_lib.load_texts(test_data, text_column, label_column)


def _sample(frame, n, seed):
    """A stratified sample of `n` rows (all of them when `n` is 0 or too many)."""
    if not n or n >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(frame, train_size=n, stratify=frame["label"], random_state=seed)
    return keep.reset_index(drop=True)


def _compare_ner(settings):
    from keras_transfer import ner
    from keras_transfer.conll import BUNDLED_NER, load_bundled_ner

    data, test_data, tag_column = settings["data"], settings["test_data"], settings["tag_column"]
    if isinstance(data, str) and data in BUNDLED_NER:
        train, test = load_bundled_ner(data)
    else:
        train, test = ner.read_sentences(data, "data", tag_column), None
    if test_data is not None:
        test = ner.read_sentences(test_data, "test_data", tag_column)
        ner.check_test_tags(train[1], test[1], f"test_data={ner.describe(test_data)}")
    train, test = (
        _sample_sentences(pair, settings[size], settings["seed"])
        for pair, size in ((train, "train_size"), (test, "test_size"))
    )
    passed_on = {key: settings[key] for key in _PASSED_ON}
    passed_on["max_length"] = fitted_length(
        passed_on["max_length"], [" ".join(words) for words in train[0]], settings
    )
    return ner.compare_ner(train, test, tag_column=tag_column, **passed_on)


def fitted_length(max_length, texts, settings, what="training texts"):
    """`max_length` itself, or for `"auto"` the length fitted to `texts`
    (`keras_transfer.presets.fitted_max_length`), printed when verbose."""
    if max_length != "auto":
        return max_length
    from keras_transfer.presets import fitted_max_length

    max_length, cut = fitted_max_length(texts, settings["preset"])
    if settings["verbose"]:
        print(
            f"max_length auto: {max_length} tokens, the 95th percentile of the {len(texts)} "
            f"{what}' token lengths rounded up to 16 ({cut:.1%} of them are longer and are "
            "cut); pass max_length (--max-length) to choose.",
            flush=True,
        )
    return max_length


def _sample_sentences(pair, n, seed):
    """`n` of the `(words, tags)` sentences, drawn with `seed`, in their order."""
    if pair is None or not n or n >= len(pair[0]):
        return pair
    rows = np.sort(np.random.default_rng(seed).permutation(len(pair[0]))[:n])
    return [pair[0][i] for i in rows], [pair[1][i] for i in rows]


def compare_strategies(
    train,
    test=None,
    strategies=DEFAULT_RUN,
    epochs=None,
    max_length=64,
    batch_size=16,
    out="comparison",
    preset=None,
    unfreeze_last=None,
    lora_rank=None,
    validation_size=0.2,
    few_shot=None,
    adapt_on=None,
    adapt_epochs=1,
    augment=0,
    seed=0,
    seeds=1,
    class_weight="balanced",
    truncation="head",
    budget_minutes=DEFAULT_BUDGET_MINUTES,
    save_models=False,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """Train each strategy on the same split with its own recipe; return one row per strategy.

    Every strategy trains with the recipe registered in
    `keras_transfer.strategies.STRATEGIES` (learning rate, warmup, most epochs;
    the mandatory EarlyStopping picks the best epoch on the validation split),
    with balanced class weights, on the same stratified split. Two reference
    rows are always added on the same split: `majority` (always the most
    frequent training class) and `tfidf_logreg` (scikit-learn TF-IDF of 1-2
    grams + LogisticRegression with balanced class weights, fitted on the
    training and validation texts, untuned). The table is sorted by macro F1.

    Args:
        train: labelled texts (anything `keras_transfer.load_texts` accepts).
        test: held-out texts; None splits 20 % of `train` off, stratified.
        strategies: names from `STRATEGIES` (default: all but `scratch`).
        epochs: most epochs for every strategy (default: each recipe's own).
        max_length: tokens per text, the same for every strategy; `"auto"`
            fits it to the training texts (see `compare`).
        batch_size: the same for every strategy.
        out: folder for results.csv, results.md, reports/<strategy>.txt,
            transfer_learning_comparison.png (300 DPI) and, with
            `save_models`, models/<strategy>.keras. Results are written as each
            strategy finishes. Refused before any training if it holds results
            (unless `overwrite=True`) or cannot be written. None writes nothing.
        preset: the transformer (None: the bundled all-MiniLM-L6-v2).
        unfreeze_last: overrides the registry's default for `last_n`.
        lora_rank: overrides the registry's default for `lora`.
        validation_size: share of `train` held out for EarlyStopping.
        few_shot: K, to train every strategy on K examples per class (a
            stratified, seeded sample of the training split) and to stop early
            on K per class of the validation split, a development set the size
            of the training set (as in Gao et al. 2021). The test set and the
            reference rows use the same examples as the strategies.
        adapt_on: unlabelled in-domain texts (anything
            `keras_transfer.load_unlabelled` reads) to adapt
            the encoder on first, by masked-LM pretraining
            (`keras_transfer.continue_pretraining`, `adapt_epochs` epochs);
            the transformer strategies then start from the adapted encoder,
            written to `out/adapted_encoder`. The held-out masked-LM loss
            before and after is in `table.attrs["adaptation"]`. Never pass the
            test texts.
        augment: add this many punctuation/case variants of each training
            text (validation and test stay untouched).
        seed: split, initialisation, shuffling and dropout seed.
        seeds: train each strategy this many times (seeds `seed`,
            `seed + 1`, ...) on the same split; the table gives the mean and
            `<metric>_std` columns.
        class_weight: `"balanced"` (default), a dict, or None.
        truncation: what the transformer strategies keep of a text longer
            than `max_length`: `"head"` (default) or `"head_tail"` (see
            `keras_transfer.TransformerClassifier`).
        budget_minutes: each strategy's training time budget in minutes
            (`keras_transfer.TimeBudget`; default 20, None: none). A recipe's
            most epochs is a safety ceiling: early stopping, or the budget,
            ends a run first.
        save_models: write each strategy's model (first seed) to out/models.
        log_root: where the TensorBoard experiment folder goes (default: the
            platform's log root). Every strategy is a run under one folder,
            with its hyper-parameters and test metrics on the HParams tab.
        verbose: 0 silent, 1 one line per strategy, 2 also Keras' epoch lines.

    Columns: strategy, description, f1_macro, accuracy, precision_macro,
    recall_macro, train_seconds, inference_examples_per_s, trainable_params,
    total_params, epochs_run, best_epoch, learning_rate, max_epochs, at_ceiling
    (1.0 where the best epoch was the last one allowed: still improving; the
    share of seeds with `seeds > 1`), seeds, log_dir (and `accuracy_std`,
    `f1_macro_std` when `seeds > 1`). Confusion matrices, per-epoch histories
    and the recommendation are in `table.attrs`.

    Example:
    >>> import keras_transfer as kt
    >>> table = kt.compare_strategies("sentiment_en_vi", strategies=["embedding"], epochs=2,
    ...                               out=None, verbose=0)
    >>> table["strategy"].tolist()[-1]
    'majority'
    """
    import keras

    from keras_transfer.time_budget import TimeBudget

    strategies = check_strategies(strategies)
    for name, value in (("batch_size", batch_size), ("seeds", seeds)):
        check_int(name, value)
    if max_length != "auto":
        check_int("max_length", max_length)
    check_int("epochs", epochs, allow_none=True)
    if budget_minutes is not None:
        TimeBudget(budget_minutes)  # checked before anything runs
    for name, value in (("train", train), ("test", test)):
        if not (isinstance(value, (str, os.PathLike)) or hasattr(value, "columns")):
            if name == "train" or value is not None:
                raise ValueError(
                    f"`{name}` must be a DataFrame, a file or folder path, or a bundled dataset "
                    f"name{' (or None)' if name == 'test' else ''}. Received: {name} of type "
                    f"{type(value).__name__}"
                )
    train = data_lib.load_texts(train)
    if test is None:
        train, validation, test = data_lib.stratified_split(
            train, test_size=0.2, validation_size=validation_size, seed=seed
        )
    else:
        test = data_lib.load_texts(test)
        train, validation, _ = data_lib.stratified_split(
            train, test_size=0.0, validation_size=validation_size, seed=seed
        )
    if few_shot is not None:
        check_int("few_shot", few_shot)
        train = data_lib.per_class_sample(train, few_shot, seed=seed, name="few_shot")
        validation = data_lib.per_class_sample(validation, few_shot, seed=seed, name="few_shot")
    if augment:
        train = data_lib.augment_punctuation(train, copies=augment, seed=seed)
    data_lib.warn_unseen_labels(train["label"], test["label"])
    labels = data_lib.LabelMap(list(train["label"]) + list(test["label"]))
    y_train, y_val, y_test = (labels.encode(f["label"]) for f in (train, validation, test))
    x_train, x_val, x_test = (f["text"].tolist() for f in (train, validation, test))
    max_length = fitted_length(max_length, x_train, {"preset": preset, "verbose": verbose})
    options = strategy_options(
        strategies, preset, max_length, unfreeze_last, lora_rank, truncation=truncation
    )
    if adapt_on is not None:
        check_int("adapt_epochs", adapt_epochs)
        adapt_on = data_lib.load_unlabelled(adapt_on)
    if class_weight is not None and not (
        isinstance(class_weight, str) and class_weight == "balanced"
    ):  # checked before anything is written
        data_lib.class_sample_weights(y_train, class_weight, len(labels.names))
    if out is not None:
        out = _prepare_out(out, overwrite)
    try:
        experiment_dir = platform.log_dir("compare", root=log_root)
    except OSError as e:
        raise ValueError(
            f"Cannot create the TensorBoard log folder ({e.strerror}). Choose a writable "
            f"`log_root`. Received: log_root={log_root!r}"
        ) from None
    common = {"batch_size": batch_size, "max_length": max_length, "n_train": len(x_train)}
    reports.write_hparams_config(
        experiment_dir, ["strategy", "learning_rate", "max_epochs", "seed", *common]
    )

    adaptation = None
    if adapt_on is not None and any(STRATEGIES[s].pretrained for s in strategies):
        from keras_transfer.pretraining import continue_pretraining
        from keras_transfer.progress import FitProgress

        with _progress(f"Adapting the encoder: masked-LM on {len(adapt_on)} texts", verbose) as p:
            adaptation = continue_pretraining(
                adapt_on,
                preset=preset,
                out=os.path.join(out if out is not None else experiment_dir, "adapted_encoder"),
                epochs=adapt_epochs,
                max_length=max_length,
                batch_size=batch_size,
                overwrite=True,
                log_root=experiment_dir,
                seed=seed,
                callbacks=[FitProgress()],
                verbose=2 if verbose > 1 else 0,
            )
            if verbose:
                p.finish(
                    f"held-out masked-LM loss {adaptation['mlm_loss_before']:.3f} -> "
                    f"{adaptation['mlm_loss_after']:.3f} (masked-LM head {adaptation['head']})"
                )
        preset = adaptation["out"]
    state = _State(labels.names, experiment_dir, out)
    state.adaptation = adaptation
    for row, predicted in _reference_rows(
        x_train + x_val, np.concatenate([y_train, y_val]), x_test
    ):
        state.add(row, y_test, predicted, seed=seed, hparams=common)
    state.write()
    total = len(strategies) * seeds
    # Every strategy is a new model whose steps TensorFlow traces afresh, by
    # design; its "frequent retracing" notes, which count the traces of all
    # those models together, stay off the console while they train.
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addFilter(_EXPECTED_RETRACING)
    shared = {
        "data": (x_train, y_train, x_val, y_val, x_test),
        "label_names": labels.names,
        "max_length": max_length,
        "preset": preset,
        "batch_size": batch_size,
        "class_weight": class_weight,
        "log_root": experiment_dir,
        "verbose": verbose,
        "budget_minutes": budget_minutes,
    }
    for number, (strategy, run_seed) in enumerate(
        ((s, seed + k) for s in strategies for k in range(seeds)), start=1
    ):
        recipe = STRATEGIES[strategy].recipe
        max_epochs = epochs or recipe.max_epochs
        header = (
            f"[{number}/{total}] {strategy:<9} training (seed {run_seed}, "
            f"lr {recipe.learning_rate:g}, at most {max_epochs} epochs)"
        )
        with _progress(header, verbose) as progress:
            keras.utils.set_random_seed(run_seed)
            experiment = f"{strategy}_seed{run_seed}" if seeds > 1 else strategy
            model, history, row, probabilities = _train_strategy(
                strategy, options[strategy], max_epochs, experiment, shared
            )
            state.add(
                row,
                y_test,
                np.argmax(probabilities, axis=-1),
                seed=run_seed,
                hparams=common,
                history=history.history if history is not None else None,
            )
            if save_models and out is not None and run_seed == seed:
                os.makedirs(os.path.join(out, "models"), exist_ok=True)
                path = os.path.join(out, "models", f"{strategy}.keras")
                reports.save_model(model, path)
            state.write()
            if verbose:
                r = state.rows[-1]
                progress.finish(
                    f"macro F1 {r['f1_macro']:.3f}  accuracy {r['accuracy']:.3f}  "
                    f"{row['train_seconds']:.0f} s  {row['trainable_params']:,} trainable  "
                    f"{row['epochs_run']} epochs (best {row['best_epoch']})"
                    f"{', still improving' if row['at_ceiling'] else ''}"
                )
        del model
        keras.backend.clear_session()
    tf_logger.removeFilter(_EXPECTED_RETRACING)
    state.write(final=True)
    return state.table()


def _progress(header, verbose):
    """The strategy's console line (`keras_transfer.progress.Progress`):
    live progress with an ETA at verbose 1; under Keras' own epoch lines at 2."""
    from keras_transfer.progress import Progress

    if not verbose:
        return contextlib.nullcontext()
    return Progress(header, interval=None if verbose == 1 else float("inf"))


def _train_strategy(strategy, options, max_epochs, experiment, shared):
    """Build, fit and predict one strategy: (model, history, row, test probabilities)."""
    from keras_transfer.progress import FitProgress
    from keras_transfer.time_budget import TimeBudget
    from keras_transfer.trainability import trainable_summary

    x_train, y_train, x_val, y_val, x_test = shared["data"]
    budget = [TimeBudget(shared["budget_minutes"])] if shared["budget_minutes"] is not None else []
    start = time.perf_counter()
    model, history = STRATEGIES[strategy].train(
        x_train,
        y_train,
        shared["label_names"],
        validation_data=(x_val, y_val) if len(x_val) else None,
        max_length=shared["max_length"],
        preset=shared["preset"],
        batch_size=shared["batch_size"],
        epochs=max_epochs,
        class_weight=shared["class_weight"],
        options=options,
        experiment=experiment,
        log_root=shared["log_root"],
        verbose=2 if shared["verbose"] > 1 else 0,
        callbacks=[*budget, FitProgress(shared["budget_minutes"])],
    )
    # Nothing trains without a history (zero_shot): building is not training.
    train_seconds = time.perf_counter() - start if history is not None else 0.0
    predict_batch = max(shared["batch_size"], 32)
    model.predict(x_test[:predict_batch], batch_size=predict_batch, verbose=0)  # compile
    start = time.perf_counter()
    probabilities = model.predict(x_test, batch_size=predict_batch, verbose=0)
    inference = len(x_test) / (time.perf_counter() - start)
    params = trainable_summary(model).iloc[-1]
    row = {
        "strategy": strategy,
        "description": STRATEGIES[strategy].description,
        "train_seconds": train_seconds,
        "inference_examples_per_s": inference,
        "trainable_params": int(params["trainable_params"]),
        "total_params": int(params["total_params"]),
        # zero_shot trains nothing: no history, no epochs.
        **reports.epoch_fields(history, max_epochs, *budget),
        "learning_rate": STRATEGIES[strategy].recipe.learning_rate,
        "log_dir": _newest_run(shared["log_root"], f"{strategy}_"),
    }
    return model, history, row, probabilities


class _State:
    """Rows so far; writes the outputs after each strategy, so that a crash or
    an interrupt later in the run loses nothing already trained."""

    def __init__(self, label_names, experiment_dir, out):
        self.label_names = label_names
        self.experiment_dir = experiment_dir
        self.out = out
        self.rows, self.reports, self.confusions, self.histories = [], {}, {}, {}
        self.adaptation = None

    def add(self, row, y_true, predicted, seed, hparams, history=None):
        from sklearn.metrics import (
            accuracy_score,
            classification_report,
            confusion_matrix,
            precision_recall_fscore_support,
        )

        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, predicted, average="macro", zero_division=0
        )
        row = {
            **row,
            "accuracy": accuracy_score(y_true, predicted),
            "f1_macro": f1,
            "precision_macro": precision,
            "recall_macro": recall,
            "seed": seed,
        }
        self.rows.append(row)
        strategy = row["strategy"]
        ids = range(len(self.label_names))
        if strategy not in self.reports:  # the first seed's
            self.reports[strategy] = classification_report(
                y_true, predicted, labels=ids, target_names=self.label_names, zero_division=0
            )
            self.confusions[strategy] = confusion_matrix(y_true, predicted, labels=ids)
            if history is not None:
                self.histories[strategy] = history
        run_dir = row.get("log_dir") or os.path.join(self.experiment_dir, strategy)
        row["log_dir"] = run_dir
        reports.write_hparams(
            run_dir,
            {
                "strategy": strategy,
                "learning_rate": float(row.get("learning_rate", 0.0)),
                "max_epochs": int(row.get("max_epochs", 0)),
                "seed": int(seed),
                **hparams,
            },
            {
                "test/f1_macro": f1,
                "test/accuracy": row["accuracy"],
                "train_seconds": row.get("train_seconds", 0.0),
                "epochs_run": row.get("epochs_run", 0) or 0,
            },
        )

    def table(self):
        frame = reports.seed_table(self.rows)
        frame.attrs.update(
            confusion_matrices=dict(self.confusions),
            histories=dict(self.histories),
            labels=self.label_names,
            experiment_dir=self.experiment_dir,
            reports=dict(self.reports),
            adaptation=self.adaptation,
        )
        frame.attrs["recommendation"] = reports.recommendation(frame)
        return frame

    def write(self, final=False):
        if self.out is not None:
            reports.write_results(self.out, self.table(), self.reports, final=final)


def _expected_retracing(record):
    """A logging filter: False (drop) for TensorFlow's frequent-retracing notes."""
    return "triggered tf.function retracing" not in record.getMessage()


_EXPECTED_RETRACING = _expected_retracing


def _newest_run(experiment_dir, prefix):
    runs = sorted(d for d in os.listdir(experiment_dir) if d.startswith(prefix))
    return os.path.join(experiment_dir, runs[-1]) if runs else None


def _reference_rows(texts, labels, test_texts):
    """`majority` and `tfidf_logreg` fitted on the training texts: (row, predictions)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    majority = int(np.bincount(labels).argmax())
    yield (
        {
            "strategy": "majority",
            "description": "reference: always the most frequent training class",
            "train_seconds": 0.0,
            "trainable_params": 0,
            "total_params": 0,
        },
        np.full(len(test_texts), majority),
    )
    start = time.perf_counter()
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(class_weight="balanced", max_iter=2000),
    ).fit(texts, labels)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = pipeline.predict(test_texts)
    coefficients = pipeline[-1].coef_.size + pipeline[-1].intercept_.size
    yield (
        {
            "strategy": "tfidf_logreg",
            "description": "reference: TF-IDF 1-2 grams + balanced logistic regression",
            "train_seconds": seconds,
            "inference_examples_per_s": len(test_texts) / (time.perf_counter() - start),
            "trainable_params": coefficients,
            "total_params": coefficients,
        },
        predicted,
    )


def _prepare_out(out, overwrite):
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
