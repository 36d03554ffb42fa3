"""Train transfer strategies side by side on the same data: the toolkit's main job."""

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
        max_length: tokens per text, the same for every strategy.
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

    from keras_transfer.trainability import trainable_summary

    strategies = check_strategies(strategies)
    for name, value in (("max_length", max_length), ("batch_size", batch_size), ("seeds", seeds)):
        check_int(name, value)
    check_int("epochs", epochs, allow_none=True)
    options = strategy_options(strategies, preset, max_length, unfreeze_last, lora_rank)
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

        if verbose:
            print(f"Adapting the encoder: masked-LM on {len(adapt_on)} texts ...", flush=True)
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
            verbose=2 if verbose > 1 else 0,
        )
        preset = adaptation["out"]
        if verbose:
            print(
                f"Held-out masked-LM loss {adaptation['mlm_loss_before']:.3f} -> "
                f"{adaptation['mlm_loss_after']:.3f} (masked-LM head {adaptation['head']})",
                flush=True,
            )
    state = _State(labels.names, experiment_dir, out)
    state.adaptation = adaptation
    for row, predicted in _reference_rows(
        x_train + x_val, np.concatenate([y_train, y_val]), x_test
    ):
        state.add(row, y_test, predicted, seed=seed, hparams=common)
    state.write()
    total = len(strategies) * seeds
    for number, (strategy, run_seed) in enumerate(
        ((s, seed + k) for s in strategies for k in range(seeds)), start=1
    ):
        recipe = STRATEGIES[strategy].recipe
        max_epochs = epochs or recipe.max_epochs
        if verbose:
            print(
                f"[{number}/{total}] {strategy:<9} training (seed {run_seed}, "
                f"lr {recipe.learning_rate:g}, at most {max_epochs} epochs) ...",
                end="",
                flush=True,
            )
        keras.utils.set_random_seed(run_seed)
        start = time.perf_counter()
        model, history = STRATEGIES[strategy].train(
            x_train,
            y_train,
            labels.names,
            validation_data=(x_val, y_val) if len(x_val) else None,
            max_length=max_length,
            preset=preset,
            batch_size=batch_size,
            epochs=max_epochs,
            class_weight=class_weight,
            options=options[strategy],
            experiment=f"{strategy}_seed{run_seed}" if seeds > 1 else strategy,
            log_root=experiment_dir,
            verbose=2 if verbose > 1 else 0,
        )
        # Nothing trains without a history (zero_shot): building is not training.
        train_seconds = time.perf_counter() - start if history is not None else 0.0
        predict_batch = max(batch_size, 32)
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
            **reports.epoch_fields(history, max_epochs),
            "learning_rate": recipe.learning_rate,
            "log_dir": _newest_run(experiment_dir, f"{strategy}_"),
        }
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
            print(
                f" macro F1 {r['f1_macro']:.3f}  accuracy {r['accuracy']:.3f}  "
                f"{train_seconds:.0f} s  {row['trainable_params']:,} trainable  "
                f"{row['epochs_run']} epochs (best {row['best_epoch']})"
                f"{', still improving' if row['at_ceiling'] else ''}",
                flush=True,
            )
        del model
        keras.backend.clear_session()
    state.write(final=True)
    return state.table()


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
        import pandas as pd

        frame = pd.DataFrame(self.rows)
        seeds = frame.groupby("strategy", sort=False)["seed"].count()
        if seeds.max() > 1:
            numeric = frame.select_dtypes("number").columns.drop("seed")
            first = frame.groupby("strategy", sort=False).first()
            mean = frame.groupby("strategy", sort=False)[list(numeric)].mean()
            std = frame.groupby("strategy", sort=False)[["accuracy", "f1_macro"]].std()
            frame = first.drop(columns=numeric).join(mean)
            frame["accuracy_std"], frame["f1_macro_std"] = std["accuracy"], std["f1_macro"]
            frame = frame.reset_index()
        frame["seeds"] = frame["strategy"].map(seeds)
        frame = (
            frame.drop(columns="seed")
            .sort_values("f1_macro", ascending=False, kind="stable")
            .reset_index(drop=True)
        )
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
