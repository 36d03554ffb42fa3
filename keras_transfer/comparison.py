"""Train transfer strategies side by side on the same data: the toolkit's main job.

`compare` is the entry point (the command line's `compare` calls it): the
task's spec (`keras_transfer.tasks`) loads, samples and splits the data, and
the one runner (`keras_transfer.runner.run`) trains every strategy and seed.
`compare_strategies` and `keras_transfer.compare_ner` run the same on data
taken as given, without sampling.
"""

from keras_transfer.checks import check_int
from keras_transfer.runner import run
from keras_transfer.strategies import DEFAULT_RUN, NER_STRATEGIES, check_strategies
from keras_transfer.tasks import TASKS

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
    "ner": {"tag_column": -1, "word_shape": "auto"},
}
# The runner's own arguments (`keras_transfer.runner.run`); the rest go to the task spec.
RUN_ARGS = (
    "seed",
    "seeds",
    "epochs",
    "out",
    "overwrite",
    "log_root",
    "budget_minutes",
    "save_models",
    "tune",
    "verbose",
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
    word_shape="auto",
    adapt_on=None,
    adapt_epochs=1,
    augment=0,
    seed=0,
    class_weight="balanced",
    truncation="head",
    budget_minutes=DEFAULT_BUDGET_MINUTES,
    save_models=False,
    tune=0,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """Compare transfer strategies on one task; what `python -m keras_transfer compare` runs.

    The task's spec loads and samples `data`, splits it, and every strategy
    trains side by side with its own recipe on the same split, next to
    reference rows (`majority` and `tfidf_logreg`; `most_frequent_tag` for
    NER). The defaults are the command line's: `kt.compare()` gives the
    table of `python -m keras_transfer compare`. Columns, files and the
    recommendation: the documentation's comparison guide.

    Args:
        data: classification: labelled texts (anything `load_texts` reads)
            or a bundled set (default `"rotten_tomatoes"`); NER: a CoNLL
            file, a `(words, tags)` pair or `"wikigold"` (default). A bundled
            set brings its held-out test split.
        task: `"classification"` or `"ner"`.
        strategies: registry names (a list or a comma-separated string);
            default: the task's default run.
        seeds: runs per strategy (seeds `seed`, `seed + 1`, ...): mean and
            `<score>_std` columns.
        train_size: training sample size (0: all); default 640 texts
            (stratified) for classification, all sentences for NER.
        test_size: test sample size (0: all); default 500 texts, all
            sentences for NER.
        few_shot: K examples per class for training and for early stopping.
        test_data: held-out data; default: the bundled test split, else 20 %.
        max_length: tokens per text, or `"auto"` (default for
            classification; 128 for NER): the training texts' 95th percentile
            length, rounded up to 16, capped at the model's limit (printed).
        epochs: most epochs for every strategy (default: each recipe's).
        batch_size: examples per step.
        out: results folder (`"auto"`: `"comparison"` or `"comparison_ner"`;
            None: nothing written), refused if it holds results unless
            `overwrite`.
        preset: the transformer (None: the bundled all-MiniLM-L6-v2).
        unfreeze_last: overrides `last_n`'s default.
        lora_rank: overrides `lora`'s default.
        validation_size: share of training data for early stopping
            (default 0.2, NER 0.15).
        text_column: the texts' column.
        label_column: the labels' column.
        tag_column: the tags' column in CoNLL files.
        word_shape: NER: each word's shape next to its encoder output
            (`TokenClassifier`'s `word_shape`: True, False or `"auto"`).
        adapt_on: unlabelled in-domain texts to adapt the encoder on first
            (masked-LM, `continue_pretraining`); never the test texts.
        adapt_epochs: epochs of that adaptation.
        augment: punctuation/case variants per training text.
        seed: sampling, split, initialisation, shuffling and dropout seed.
        class_weight: `"balanced"` (default), a dict, or None.
        truncation: `"head"`, `"head_tail"` or `"chunks"` for texts over
            `max_length` (see `TransformerClassifier`).
        budget_minutes: each run's time budget (`TimeBudget`; None: none).
        save_models: write each strategy's model (first seed) to out/models.
        tune: settings each strategy tries with KerasTuner before its runs
            (0: none, the recipes as they are): its learning rate and its own
            knobs (`unfreeze_last`, `lora_rank`), scored by the validation
            loss, never on the test split; every seed trains with the best,
            shown in the `tuned` column.
        overwrite: replace the results already in `out`.
        log_root: where the TensorBoard experiment folder goes.
        verbose: 0 silent, 1 a progress line per run, 2 also Keras' lines.

    An argument of one task given to the other raises a `ValueError`.

    Example:
    >>> import keras_transfer as kt
    >>> words = [["Ada", "Lovelace", "wrote"], ["Paris", "is", "big"]] * 8
    >>> tags = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"]] * 8
    >>> table = kt.compare((words, tags), task="ner", strategies=[], out=None, verbose=0)
    >>> table["strategy"].tolist()
    ['most_frequent_tag']
    """
    settings = _settings(dict(locals()))
    train, test = TASKS[task].load(settings)
    return _run(task, train, test, settings)


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
    check_int("tune", settings["tune"], minimum=0)
    strategies = settings["strategies"]
    if isinstance(strategies, str):
        settings["strategies"] = [s.strip() for s in strategies.split(",") if s.strip()]
    elif strategies is None:
        settings["strategies"] = NER_STRATEGIES if task == "ner" else DEFAULT_RUN
    return settings


def _differs(value, default):
    """Whether an argument was given another value than its default."""
    if default is None:
        return value is not None
    return not (type(value) is type(default) and value == default)


def _run(task, train, test, settings):
    """Check the arguments every task shares, prepare the task's split, run."""
    from keras_transfer.time_budget import TimeBudget

    strategies = list(settings["strategies"])
    if task == "ner":
        if strategies:
            check_strategies(strategies)
        wrong = [s for s in strategies if s not in NER_STRATEGIES]
        if wrong:
            raise ValueError(
                f"`strategies` for NER must come from {list(NER_STRATEGIES)}. "
                f"Received: strategies={strategies!r}"
            )
    else:
        strategies = check_strategies(strategies)
    for name in ("batch_size", "seeds"):
        check_int(name, settings[name])
    if settings["max_length"] != "auto":
        check_int("max_length", settings["max_length"])
    check_int("epochs", settings["epochs"], allow_none=True)
    check_int("tune", settings["tune"], minimum=0)
    if settings["budget_minutes"] is not None:
        TimeBudget(settings["budget_minutes"])  # checked before anything runs
    settings = {**settings, "strategies": strategies}
    prepared = TASKS[task].prepare(train, test, settings)
    return run(prepared, strategies, **{key: settings[key] for key in RUN_ARGS})


def compare_strategies(
    train,
    test=None,
    strategies=DEFAULT_RUN,
    epochs=None,
    max_length="auto",
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
    tune=0,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """`compare` for text classification on `train` and `test` as given
    (no sampling; `test` None holds 20 % of `train` out, stratified).

    Args:
        train: labelled texts (anything `keras_transfer.load_texts` reads).
        test: held-out texts, or None.
        strategies: names from `STRATEGIES` (default: all but `scratch`).

    The other arguments are `compare`'s.

    Columns: strategy, description, f1_macro, accuracy, precision_macro,
    recall_macro, train_seconds, inference_examples_per_s, trainable_params,
    total_params, epochs_run, best_epoch, learning_rate, max_epochs,
    at_ceiling (1.0: the best epoch was the last one allowed, still
    improving), seeds, log_dir (and `<score>_std` with `seeds > 1`).
    Confusion matrices, histories and the recommendation are in
    `table.attrs`.

    Example:
    >>> import keras_transfer as kt
    >>> table = kt.compare_strategies("sentiment_en_vi", strategies=["embedding"], epochs=2,
    ...                               out=None, verbose=0)
    >>> table["strategy"].tolist()[-1]
    'majority'
    """
    return _run("classification", train, test, dict(locals()))
