"""Train transfer strategies side by side on the same data: the toolkit's main job."""

import os
import shutil
import tempfile
import time

import numpy as np

from keras_transfer import data as data_lib
from keras_transfer import platform
from keras_transfer.checks import check_int

STRATEGIES = ("embedding", "frozen", "last_n", "lora", "full", "scratch")
DESCRIPTIONS = {
    "embedding": "frozen GloVe 50-d + pooled head",
    "frozen": "frozen transformer, head only",
    "last_n": "top N blocks + head",
    "lora": "LoRA adapters + head",
    "full": "full fine-tuning",
    "scratch": "same architecture, random init",
}
RESULT_FILES = ("results.csv", "results.md", "transfer_learning_comparison.png")


def check_strategies(strategies):
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    strategies = list(strategies)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if not strategies or unknown:
        raise ValueError(
            f"`strategies` must be a non-empty list of {STRATEGIES}. "
            f"Received: strategies={strategies!r}"
        )
    return strategies


def _build(strategy, label_names, max_length, preset, unfreeze_last, lora_rank):
    import keras_transfer as kt

    num_classes = len(label_names)
    if strategy == "embedding":
        return kt.EmbeddingClassifier.from_word_vectors(
            num_classes=num_classes, max_length=max_length, label_names=label_names
        )
    extra = {"unfreeze_last": unfreeze_last} if strategy == "last_n" else {}
    return kt.TransformerClassifier.from_preset(
        preset,
        num_classes=num_classes,
        strategy=strategy,
        max_length=max_length,
        lora_rank=lora_rank,
        label_names=label_names,
        **extra,
    )


def compare_strategies(
    train,
    test=None,
    strategies=STRATEGIES,
    epochs=3,
    max_length=64,
    batch_size=16,
    out="comparison",
    preset=None,
    unfreeze_last=2,
    lora_rank=4,
    validation_size=0.1,
    augment=0,
    seed=0,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """Train each strategy on the same split and seed; return one row per strategy.

    Args:
        train: labelled texts (anything `keras_transfer.load_texts` accepts).
        test: held-out texts; None splits 20 % of `train` off, stratified.
        strategies: from `"embedding", "frozen", "last_n", "lora", "full", "scratch"`.
        epochs, max_length, batch_size: the same for every strategy
            (EarlyStopping may end a run sooner: see `epochs_run`).
        out: folder for results.csv, results.md, reports/<strategy>.txt and
            transfer_learning_comparison.png (300 DPI). Refused if it already
            holds results, unless `overwrite=True`. None writes nothing.
        preset: the transformer (None: the bundled all-MiniLM-L6-v2).
        unfreeze_last, lora_rank: for `last_n` and `lora`.
        validation_size: share of `train` held out for EarlyStopping.
        augment: add this many punctuation/case variants of each training text
            (seed 001's augmentation; validation and test stay untouched).
        seed: split and initialisation seed.
        log_root: where the TensorBoard experiment folder goes (default: the
            platform's log root). All strategies are runs under one folder.

    Columns: strategy, description, accuracy, precision_macro, recall_macro,
    f1_macro, train_seconds, inference_examples_per_s, trainable_params,
    total_params, epochs_run, best_val_loss, log_dir; the confusion matrices
    and per-epoch histories are in `result.attrs`.

    Example:
    >>> import keras_transfer as kt
    >>> table = kt.compare_strategies("sentiment_en_vi", strategies=["embedding"], epochs=2,
    ...                               out=None)
    """
    import keras
    import pandas as pd
    from sklearn.metrics import (
        accuracy_score,
        classification_report,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    from keras_transfer.trainability import trainable_summary

    strategies = check_strategies(strategies)
    for name, value in (("epochs", epochs), ("max_length", max_length), ("batch_size", batch_size)):
        check_int(name, value)
    if out is not None:
        out = os.fspath(out)
        if os.path.isfile(out):
            raise ValueError(f"`out` must be a folder, not a file. Received: out={out!r}")
        existing = [f for f in RESULT_FILES if os.path.exists(os.path.join(out, f))]
        if existing and not overwrite:
            raise ValueError(
                f"The output folder already holds results ({', '.join(existing)}). Choose "
                f"another folder or pass overwrite=True (--overwrite). Received: out={out!r}"
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
    if augment:
        train = data_lib.augment_punctuation(train, copies=augment, seed=seed)
    labels = data_lib.LabelMap(list(train["label"]) + list(test["label"]))
    y_train, y_val, y_test = (labels.encode(f["label"]) for f in (train, validation, test))
    x_train, x_val, x_test = (f["text"].tolist() for f in (train, validation, test))
    experiment_dir = platform.log_dir("compare", root=log_root)

    rows, confusions, histories = [], {}, {}
    for strategy in strategies:
        keras.utils.set_random_seed(seed)
        model = _build(strategy, labels.names, max_length, preset, unfreeze_last, lora_rank)
        start = time.perf_counter()
        history = model.fit(
            x_train,
            y_train,
            validation_data=(x_val, y_val) if len(x_val) else None,
            epochs=epochs,
            batch_size=batch_size,
            experiment=strategy,
            log_root=experiment_dir,
            verbose=verbose,
        )
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        probabilities = model.predict(x_test, batch_size=max(batch_size, 32), verbose=0)
        inference = len(x_test) / (time.perf_counter() - start)
        predicted = np.argmax(probabilities, axis=-1)
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_test, predicted, average="macro", zero_division=0
        )
        params = trainable_summary(model).iloc[-1]
        run_dirs = sorted(d for d in os.listdir(experiment_dir) if d.startswith(f"{strategy}_"))
        row = {
            "strategy": strategy,
            "description": DESCRIPTIONS[strategy],
            "accuracy": accuracy_score(y_test, predicted),
            "precision_macro": precision,
            "recall_macro": recall,
            "f1_macro": f1,
            "train_seconds": train_seconds,
            "inference_examples_per_s": inference,
            "trainable_params": int(params["trainable_params"]),
            "total_params": int(params["total_params"]),
            "epochs_run": len(history.history["loss"]),
            "best_val_loss": float(np.min(history.history.get("val_loss", [np.nan]))),
            "log_dir": os.path.join(experiment_dir, run_dirs[-1]) if run_dirs else experiment_dir,
            "report": classification_report(
                y_test,
                predicted,
                labels=range(len(labels.names)),
                target_names=labels.names,
                zero_division=0,
            ),
        }
        confusions[strategy] = confusion_matrix(y_test, predicted, labels=range(len(labels.names)))
        histories[strategy] = history.history
        rows.append(row)
        if verbose:
            print(
                f"[{strategy}] accuracy {row['accuracy']:.3f}  f1 {row['f1_macro']:.3f}  "
                f"{row['train_seconds']:.0f} s  {row['trainable_params']:,} trainable params  "
                f"{row['epochs_run']} epochs",
                flush=True,
            )
        del model
        keras.backend.clear_session()

    reports = {r["strategy"]: r.pop("report") for r in rows}
    table = pd.DataFrame(rows)
    table.attrs.update(
        confusion_matrices=confusions,
        histories=histories,
        labels=labels.names,
        experiment_dir=experiment_dir,
    )
    if out is not None:
        _write_outputs(table, reports, out, overwrite)
    return table


def markdown_table(table):
    """The comparison as a GitHub-markdown table (rounded)."""
    columns = [
        ("strategy", "strategy", "{}"),
        ("accuracy", "accuracy", "{:.3f}"),
        ("f1_macro", "macro F1", "{:.3f}"),
        ("train_seconds", "train s", "{:.0f}"),
        ("inference_examples_per_s", "infer ex/s", "{:.0f}"),
        ("trainable_params", "trainable params", "{:,}"),
        ("total_params", "total params", "{:,}"),
        ("epochs_run", "epochs", "{}"),
        ("best_val_loss", "best val loss", "{:.3f}"),
    ]
    lines = [
        "| " + " | ".join(title for _, title, _ in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(fmt.format(row[key]) for key, _, fmt in columns) + " |")
    return "\n".join(lines) + "\n"


def _write_outputs(table, reports, out, overwrite):
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".compare-", dir=parent)
    try:
        table.to_csv(os.path.join(staging, "results.csv"), index=False)
        with open(os.path.join(staging, "results.md"), "w", encoding="utf-8") as f:
            f.write(markdown_table(table))
        os.makedirs(os.path.join(staging, "reports"))
        for strategy, report in reports.items():
            with open(
                os.path.join(staging, "reports", f"{strategy}.txt"), "w", encoding="utf-8"
            ) as f:
                f.write(report)
        plot_comparison(table, os.path.join(staging, "transfer_learning_comparison.png"))
        if os.path.exists(out):
            if not overwrite:
                raise ValueError(f"The output folder appeared meanwhile. Received: out={out!r}")
            for name in (*RESULT_FILES, "reports"):
                path = os.path.join(out, name)
                if os.path.isdir(path):
                    shutil.rmtree(path)
                elif os.path.exists(path):
                    os.remove(path)
            for name in os.listdir(staging):
                os.replace(os.path.join(staging, name), os.path.join(out, name))
            os.rmdir(staging)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def plot_comparison(table, path):
    """Accuracy vs training time vs trainable params, confusion matrices and
    per-epoch validation curves, in one 300-DPI figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusions = table.attrs.get("confusion_matrices", {})
    histories = table.attrs.get("histories", {})
    labels = table.attrs.get("labels", [])
    n = len(table)
    fig = plt.figure(figsize=(4 * max(n, 3), 8.5))
    grid = fig.add_gridspec(2, max(n, 3))
    ax = fig.add_subplot(grid[0, 0])
    sizes = 40 + 260 * np.log10(table["trainable_params"].clip(lower=1)) / 8
    ax.scatter(table["train_seconds"], table["accuracy"], s=sizes, alpha=0.7)
    for _, row in table.iterrows():
        ax.annotate(row["strategy"], (row["train_seconds"], row["accuracy"]), fontsize=8)
    ax.set(
        xlabel="training time (s)",
        ylabel="test accuracy",
        title="Accuracy vs time (size: trainable params)",
    )
    ax = fig.add_subplot(grid[0, 1])
    ax.barh(table["strategy"], table["trainable_params"].clip(lower=1))
    ax.set(xscale="log", xlabel="trainable parameters (log)", title="What trains")
    ax = fig.add_subplot(grid[0, 2])
    for strategy, history in histories.items():
        key = "val_loss" if "val_loss" in history else "loss"
        ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=strategy)
    ax.set(xlabel="epoch", ylabel="validation loss", title="Per-epoch validation loss")
    ax.legend(fontsize=7)
    for i, (strategy, matrix) in enumerate(confusions.items()):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(matrix, cmap="Blues")
        for (r, c), v in np.ndenumerate(matrix):
            ax.text(c, r, str(v), ha="center", va="center", fontsize=8)
        ax.set(
            title=strategy,
            xlabel="predicted",
            ylabel="true",
            xticks=range(len(labels)),
            yticks=range(len(labels)),
        )
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_yticklabels(labels, fontsize=7)
    fig.suptitle("Transfer learning strategies compared")
    fig.tight_layout()
    fig.savefig(path, dpi=300)
    plt.close(fig)
