"""Train the transformer strategies side by side on named-entity recognition."""

import collections
import logging
import os
import time
import warnings

import numpy as np

from keras_transfer import platform, reports
from keras_transfer.checks import check_int
from keras_transfer.comparison import _newest_run, _prepare_out, _progress
from keras_transfer.strategies import (
    NER_STRATEGIES,
    STRATEGIES,
    check_strategies,
    strategy_options,
)

SCORES = (("entity_f1", "entity F1"), ("token_accuracy", "token accuracy"))
REFERENCE = ("most_frequent_tag", "the most-frequent-tag baseline", "that baseline")
HPARAM_METRICS = ("test/entity_f1", "test/entity_f1_macro", "train_seconds", "epochs_run")


def compare_ner(
    train=None,
    test=None,
    strategies=NER_STRATEGIES,
    epochs=None,
    max_length=128,
    batch_size=16,
    out="comparison_ner",
    preset=None,
    unfreeze_last=None,
    lora_rank=None,
    validation_size=0.15,
    tag_column=-1,
    seed=0,
    seeds=1,
    budget_minutes=None,
    save_models=False,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """Train each strategy as a `TokenClassifier` on the same split; one row per strategy.

    Every strategy trains with its token-classification recipe
    (`STRATEGIES[name].token_recipe`: learning rate, warmup, most epochs; the
    mandatory EarlyStopping picks the best epoch on the validation split).
    The headline score is entity-level micro F1 on the test sentences
    (`keras_transfer.entity_scores`, CoNLL semantics). A reference row,
    `most_frequent_tag`, tags each word with its most frequent tag in the
    training and validation sentences (`O` for unseen words).

    Args:
        train: None for the bundled Wikigold corpus (split by article; see
            `keras_transfer.load_bundled_ner`), a CoNLL file path
            (`keras_transfer.load_conll`, tags from `tag_column`), or a
            `(words, tags)` pair.
        test: the same kinds; None with your own `train` holds 20 % of its
            sentences out (seeded).
        strategies: names from `NER_STRATEGIES` (default: all five).
        epochs: most epochs for every strategy (default: each recipe's own).
        max_length: sub-word tokens per sentence; longer sentences lose
            their last words (with a warning).
        batch_size: sentences per step.
        out: folder for results.csv, results.md, reports/<strategy>.txt (the
            per-type entity report), transfer_learning_comparison.png and,
            with `save_models`, models/<strategy>.keras. None writes nothing.
        preset: the transformer (None: the bundled all-MiniLM-L6-v2).
        unfreeze_last: overrides the default of `last_n`.
        lora_rank: overrides the default of `lora`.
        validation_size: share of the training sentences held out for
            EarlyStopping (seeded).
        tag_column: the tag column of CoNLL files.
        seed: split, initialisation, shuffling and dropout seed.
        seeds: train each strategy this many times (seeds `seed`,
            `seed + 1`, ...) on the same split; the table gives the mean and
            `entity_f1_std`, `token_accuracy_std` columns.
        budget_minutes: each strategy's training time budget in minutes
            (`keras_transfer.TimeBudget`; None: none).
        save_models: write each strategy's model (first seed) to out/models.
        log_root: where the TensorBoard experiment folder goes.
        verbose: 0 silent, 1 one line per strategy, 2 also Keras' epoch lines.

    Columns: strategy, description, entity_f1, entity_precision,
    entity_recall, entity_f1_macro (mean over entity types), token_accuracy
    (over words), train_seconds, inference_sentences_per_s,
    trainable_params, total_params, epochs_run, best_epoch, learning_rate,
    max_epochs, at_ceiling (1.0: the best epoch was the last one allowed; the
    share of seeds with `seeds > 1`), seeds, log_dir. Per-type reports and
    histories (first seed's) are in `table.attrs`.

    Example:
    >>> import keras_transfer as kt
    >>> words = [["Ada", "Lovelace", "wrote"], ["Paris", "is", "big"]] * 8
    >>> tags = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"]] * 8
    >>> table = kt.compare_ner((words, tags), strategies=[], out=None, verbose=0)
    >>> table["strategy"].tolist()
    ['most_frequent_tag']
    """
    import keras

    from keras_transfer.conll import load_bundled_ner
    from keras_transfer.entity import entity_scores
    from keras_transfer.models.token_classifier import TokenClassifier
    from keras_transfer.progress import FitProgress
    from keras_transfer.time_budget import TimeBudget
    from keras_transfer.trainability import trainable_summary

    if budget_minutes is not None:
        TimeBudget(budget_minutes)  # checked before anything runs

    strategies = list(strategies)
    if strategies:
        strategies = check_strategies(strategies)
    wrong = [s for s in strategies if s not in NER_STRATEGIES]
    if wrong:
        raise ValueError(
            f"`strategies` for NER must come from {list(NER_STRATEGIES)}. "
            f"Received: strategies={strategies!r}"
        )
    for name, value in (("max_length", max_length), ("batch_size", batch_size), ("seeds", seeds)):
        check_int(name, value)
    check_int("epochs", epochs, allow_none=True)
    if not 0 < validation_size < 1:
        raise ValueError(
            "`validation_size` must be between 0 and 1. "
            f"Received: validation_size={validation_size!r}"
        )
    options = strategy_options(strategies, preset, max_length, unfreeze_last, lora_rank)
    rng = np.random.default_rng(seed)
    test_source = test
    if train is None:
        (words, tags), bundled_test = load_bundled_ner()
        test = bundled_test if test is None else read_sentences(test, "test", tag_column)
    else:
        words, tags = read_sentences(train, "train", tag_column)
        if test is None:
            rows = rng.permutation(len(words))
            cut = max(1, round(0.2 * len(words)))
            test = ([words[i] for i in rows[:cut]], [tags[i] for i in rows[:cut]])
            words, tags = [words[i] for i in rows[cut:]], [tags[i] for i in rows[cut:]]
        else:
            test = read_sentences(test, "test", tag_column)
    rows = rng.permutation(len(words))
    cut = max(1, round(validation_size * len(words)))
    if len(words) - cut < 1:
        raise ValueError(f"Too few training sentences to split: {len(words)}.")
    val_words, val_tags = [words[i] for i in rows[:cut]], [tags[i] for i in rows[:cut]]
    train_words, train_tags = [words[i] for i in rows[cut:]], [tags[i] for i in rows[cut:]]
    test_words, test_tags = test
    tag_names = sorted({t for sentence in tags for t in sentence} | {"O"})
    check_test_tags(tags, test_tags, f"test={describe(test_source)}")

    if out is not None:
        out = _prepare_out(out, overwrite)
    experiment_dir = platform.log_dir("compare_ner", root=log_root)
    common = {"batch_size": batch_size, "max_length": max_length, "n_train": len(train_words)}
    reports.write_hparams_config(
        experiment_dir, ["strategy", "learning_rate", "max_epochs", "seed", *common], HPARAM_METRICS
    )
    rows_out, texts, histories = [], {}, {}

    def add(row, predicted, history=None, run_seed=seed):
        scores = entity_scores(test_tags, predicted)
        words_total = sum(len(s) for s in test_tags)
        right = sum(
            t == p
            for true, pred in zip(test_tags, predicted, strict=True)
            for t, p in zip(true, pred, strict=True)
        )
        types = scores.drop(index=["micro avg", "macro avg", "weighted avg"], errors="ignore")
        row = {
            **row,
            "entity_f1": float(scores.loc["micro avg", "f1-score"]),
            "entity_precision": float(scores.loc["micro avg", "precision"]),
            "entity_recall": float(scores.loc["micro avg", "recall"]),
            "entity_f1_macro": float(types["f1-score"].mean()) if len(types) else 0.0,
            "token_accuracy": right / max(words_total, 1),
        }
        row["log_dir"] = row.get("log_dir") or os.path.join(experiment_dir, row["strategy"])
        row["seed"] = run_seed
        rows_out.append(row)
        if row["strategy"] not in texts:  # the first seed's
            texts[row["strategy"]] = scores.round(3).to_string()
            if history is not None:
                histories[row["strategy"]] = history
        reports.write_hparams(
            row["log_dir"],
            {
                "strategy": row["strategy"],
                "learning_rate": float(row.get("learning_rate", 0.0)),
                "max_epochs": int(row.get("max_epochs", 0)),
                "seed": int(run_seed),
                **common,
            },
            {
                "test/entity_f1": row["entity_f1"],
                "test/entity_f1_macro": row["entity_f1_macro"],
                "train_seconds": row.get("train_seconds", 0.0),
                "epochs_run": row.get("epochs_run", 0) or 0,
            },
        )
        _write(table(), texts, out)

    def table():
        frame = reports.seed_table(rows_out, SCORES)
        frame.attrs.update(
            histories=dict(histories),
            reports=dict(texts),
            tag_names=tag_names,
            experiment_dir=experiment_dir,
        )
        frame.attrs["recommendation"] = reports.recommendation(frame, SCORES[0], REFERENCE)
        return frame

    start = time.perf_counter()
    baseline = most_frequent_tags(train_words + val_words, train_tags + val_tags)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = [[baseline.get(w, "O") for w in sentence] for sentence in test_words]
    add(
        {
            "strategy": "most_frequent_tag",
            "description": "reference: each word's most frequent training tag (O if unseen)",
            "train_seconds": seconds,
            "inference_sentences_per_s": len(test_words) / (time.perf_counter() - start),
            "trainable_params": 0,
            "total_params": len(baseline),
        },
        predicted,
    )
    steps = -(-len(train_words) // batch_size)
    # The same sentences are cut for every strategy: the first strategy's
    # warnings say so, the later ones stay quiet. The few bucket lengths make
    # TensorFlow retrace each new model's step a few times by design; its
    # retracing notes stay off the console meanwhile.
    tf_logger = logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            runs = [(s, seed + k) for s in strategies for k in range(seeds)]
            for number, (strategy, run_seed) in enumerate(runs, start=1):
                recipe = STRATEGIES[strategy].token_recipe
                max_epochs = epochs or recipe.max_epochs
                header = (
                    f"[{number}/{len(runs)}] {strategy:<8} training ("
                    f"{f'seed {run_seed}, ' if seeds > 1 else ''}lr "
                    f"{recipe.learning_rate:g}, at most {max_epochs} epochs)"
                )
                with _progress(header, verbose) as progress:
                    keras.utils.set_random_seed(run_seed)
                    budget = [TimeBudget(budget_minutes)] if budget_minutes is not None else []
                    start = time.perf_counter()
                    model = TokenClassifier.from_preset(
                        preset,
                        tag_names=tag_names,
                        strategy=strategy,
                        max_length=max_length,
                        **options[strategy],
                    )
                    model.compile(optimizer=recipe.optimizer(steps, max_epochs))
                    history = model.fit(
                        train_words,
                        train_tags,
                        validation_data=(val_words, val_tags),
                        epochs=max_epochs,
                        batch_size=batch_size,
                        experiment=f"{strategy}_seed{run_seed}" if seeds > 1 else strategy,
                        log_root=experiment_dir,
                        verbose=2 if verbose > 1 else 0,
                        callbacks=[*budget, FitProgress(budget_minutes)],
                    )
                    train_seconds = time.perf_counter() - start
                    start = time.perf_counter()
                    predicted = model.predict(test_words, batch_size=max(batch_size, 32))
                    inference = len(test_words) / (time.perf_counter() - start)
                    params = trainable_summary(model).iloc[-1]
                    add(
                        {
                            "strategy": strategy,
                            "description": STRATEGIES[strategy].description,
                            "train_seconds": train_seconds,
                            "inference_sentences_per_s": inference,
                            "trainable_params": int(params["trainable_params"]),
                            "total_params": int(params["total_params"]),
                            **reports.epoch_fields(history, max_epochs, *budget),
                            "learning_rate": recipe.learning_rate,
                            "log_dir": _newest_run(experiment_dir, f"{strategy}_"),
                        },
                        predicted,
                        history.history,
                        run_seed,
                    )
                    if save_models and out is not None and run_seed == seed:
                        os.makedirs(os.path.join(out, "models"), exist_ok=True)
                        reports.save_model(model, os.path.join(out, "models", f"{strategy}.keras"))
                    if verbose:
                        r = rows_out[-1]
                        progress.finish(
                            f"entity F1 {r['entity_f1']:.3f}  "
                            f"token accuracy {r['token_accuracy']:.3f}  "
                            f"{train_seconds:.0f} s  {r['trainable_params']:,} trainable  "
                            f"{r['epochs_run']} epochs (best {r['best_epoch']})"
                            f"{', still improving' if r['at_ceiling'] else ''}"
                        )
                del model
                keras.backend.clear_session()
                warnings.filterwarnings(
                    "ignore", message=".*do not fit in max_length", category=UserWarning
                )
    finally:
        tf_logger.setLevel(tf_level)
    result = table()
    _write(result, texts, out, final=True)
    return result


def read_sentences(source, name, tag_column=-1):
    """`(words, tags)` from a CoNLL file path (tags from `tag_column`) or a `(words, tags)` pair."""
    from keras_transfer.conll import load_conll

    if isinstance(source, (str, os.PathLike)):
        return load_conll(source, tag_column=tag_column)
    if isinstance(source, (tuple, list)) and len(source) == 2:
        return list(source[0]), list(source[1])
    raise ValueError(
        f"`{name}` must be a CoNLL file path or a (words, tags) pair. "
        f"Received: {name} of type {type(source).__name__}"
    )


def check_test_tags(train_tags, test_tags, received):
    """Refuse test sentences with a tag that no training sentence has
    (`received` ends the error: the argument and its value)."""
    known = {t for sentence in train_tags for t in sentence} | {"O"}
    unknown = sorted({t for sentence in test_tags for t in sentence} - known)
    if unknown:
        raise ValueError(
            f"The test sentences use tags that no training sentence has: {unknown}: the model "
            "could never predict them, and every such entity would count as missed. Add "
            "training sentences with them, or drop them from the test data. Training tags: "
            f"{sorted(known)}. Received: {received}"
        )


def describe(source):
    """How an error shows a `train`/`test` argument: a path, or a sentence count."""
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    if source is None:
        return "None (sentences held out of train)"
    return f"{len(source[0])} sentences"


def most_frequent_tags(words, tags):
    """`{word: its most frequent tag}` over tagged sentences (ties: the tag seen first).

    Example:
    >>> most_frequent_tags([["Paris", "Paris", "is"]], [["B-LOC", "B-PER", "O"]])["Paris"]
    'B-LOC'
    """
    counts = collections.defaultdict(collections.Counter)
    for sentence, sentence_tags in zip(words, tags, strict=True):
        for word, tag in zip(sentence, sentence_tags, strict=True):
            counts[word][tag] += 1
    return {word: c.most_common(1)[0][0] for word, c in counts.items()}


def _write(table, texts, out, final=False):
    if out is not None:
        texts = {strategy: text + "\n" for strategy, text in texts.items()}
        reports.write_results(out, table, texts, SCORES, final=final)
