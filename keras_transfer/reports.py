"""What a comparison writes: the markdown table, the plot, the recommendation, HParams."""

import os
import re
import tempfile

import numpy as np

from keras_transfer.atomic import check_free_space, write_file

REFERENCE_ROWS = ("majority", "tfidf_logreg", "most_frequent_tag")
CEILING_NOTE = "* best epoch was the last one allowed: still improving when it stopped"
# (column, heading) of the two scores a table shows first.
CLASSIFICATION_SCORES = (("f1_macro", "macro F1"), ("accuracy", "accuracy"))


def _fmt_metric(row, key):
    std = row.get(f"{key}_std")
    if std is not None and not (isinstance(std, float) and np.isnan(std)):
        return f"{row[key]:.3f} ± {std:.3f}"
    return f"{row[key]:.3f}"


def markdown_table(table, scores=CLASSIFICATION_SCORES):
    """The comparison as a GitHub-markdown table (rounded; mean ± std over seeds).

    `scores` are the `(column, heading)` pairs of the two score columns.

    An epoch count marked `*` is a run whose best epoch was the last one
    allowed (`at_ceiling`): it was still improving when it stopped.

    Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame([{"strategy": "majority", "f1_macro": 0.33, "accuracy": 0.5,
    ...                    "train_seconds": 0.0, "trainable_params": 0, "epochs_run": 0}])
    >>> print(markdown_table(t).splitlines()[2])
    | majority | 0.330 | 0.500 | 0 | 0 | - |
    """
    (first, first_heading), (second, second_heading) = scores
    lines = [
        f"| strategy | {first_heading} | {second_heading} | train s | trainable params | epochs |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in table.iterrows():
        row = row.to_dict()
        epochs = row.get("epochs_run")
        epochs = "-" if not epochs or (isinstance(epochs, float) and np.isnan(epochs)) else epochs
        if isinstance(epochs, float):
            epochs = f"{epochs:.1f}".rstrip("0").rstrip(".")
        if _at_ceiling(row):
            epochs = f"{epochs}*"
        lines.append(
            f"| {row['strategy']} | {_fmt_metric(row, first)} | "
            f"{_fmt_metric(row, second)} | {row['train_seconds']:.0f} | "
            f"{int(row['trainable_params']):,} | {epochs} |"
        )
    if any(_at_ceiling(row) for _, row in table.iterrows()):
        lines += ["", CEILING_NOTE]
    return "\n".join(lines) + "\n"


def seed_table(rows, scores=CLASSIFICATION_SCORES):
    """One row per strategy from one row per run (each with its `seed`), best first.

    A strategy trained with several seeds gets the mean of its numeric
    columns, a `<column>_std` column for each of the `scores` (the
    `(column, heading)` pairs; the first one sorts the table) and its other
    columns from its first run. `seeds` counts the runs.

    Example:
    >>> rows = [{"strategy": "a", "f1_macro": f, "accuracy": 0.5, "seed": s}
    ...         for s, f in enumerate((0.6, 0.8))]
    >>> seed_table(rows)[["f1_macro", "seeds"]].values.tolist()
    [[0.7, 2.0]]
    """
    import pandas as pd

    frame = pd.DataFrame(rows)
    groups = frame.groupby("strategy", sort=False)
    seeds = groups["seed"].count()
    if seeds.max() > 1:
        numeric = frame.select_dtypes("number").columns.drop("seed")
        spread = [column for column, _ in scores]
        std = groups[spread].std()
        frame = groups.first().drop(columns=numeric).join(groups[list(numeric)].mean())
        for column in spread:
            frame[f"{column}_std"] = std[column]
        frame = frame.reset_index()
    frame["seeds"] = frame["strategy"].map(seeds)
    return (
        frame.drop(columns="seed")
        .sort_values(scores[0][0], ascending=False, kind="stable")
        .reset_index(drop=True)
    )


def _at_ceiling(row):
    value = row.get("at_ceiling")
    return bool(value) and not (isinstance(value, float) and np.isnan(value))


def epoch_fields(history, max_epochs, budget=None):
    """A trained row's epoch columns from its Keras `History` (or None: nothing
    trained): epochs run, best epoch and loss on the monitored split
    (`val_loss`, else `loss`), the most epochs allowed, `budget_stop` (1.0
    when the `keras_transfer.TimeBudget` `budget` ended the run), and
    `at_ceiling`, 1.0 when the best epoch was the last one the run was allowed
    (by the most epochs or the budget: it was still improving when it
    stopped), else 0.0. Over seeds, the table's means of both are the shares
    of runs that stopped so.

    Example:
    >>> epoch_fields({"loss": [0.9, 0.7, 0.5], "val_loss": [0.8, 0.6, 0.4]}, 3)["at_ceiling"]
    1.0
    """
    history = getattr(history, "history", history) or {}
    losses = history.get("loss", [])
    monitored = history.get("val_loss", losses)
    best = int(np.argmin(monitored)) + 1 if len(monitored) else 0
    budget_stop = budget is not None and budget.stopped_epoch is not None
    last_allowed = len(losses) if budget_stop else max_epochs
    return {
        "epochs_run": len(losses),
        "best_epoch": best,
        "best_val_loss": float(np.min(monitored)) if len(monitored) else float("nan"),
        "max_epochs": max_epochs,
        "budget_stop": float(budget_stop),
        "at_ceiling": float(bool(best) and best == last_allowed),
    }


def ceiling_warning(table):
    """A sentence naming the strategies whose best epoch was their last allowed
    one (`at_ceiling`), or "" when every run stopped before its ceiling."""
    if "at_ceiling" not in table.columns:
        return ""
    names = [
        row["strategy"]
        for _, row in table.iterrows()
        if row["strategy"] not in REFERENCE_ROWS and _at_ceiling(row)
    ]
    if not names:
        return ""
    return (
        f"Still improving when stopped: {', '.join(names)} (best epoch = the last one "
        "allowed); their scores are not their best. Allow more epochs (`epochs`, "
        "--epochs) or time (`budget_minutes`, --budget-minutes) to see it."
    )


CLASSIFICATION_REFERENCE = ("tfidf_logreg", "TF-IDF + logistic regression", "TF-IDF")


def recommendation(table, score=CLASSIFICATION_SCORES[0], reference=CLASSIFICATION_REFERENCE):
    """A few sentences computed from a comparison table: what each strategy buys.

    Names the best strategy by the `score` column (default macro F1), the
    cheapest one within 3 % of it, and how the best compares with the
    `reference` row (`(row name, long name, short name)`; default TF-IDF +
    logistic regression), saying so plainly when the reference is as good.
    """
    column, heading = score
    row_name, long_name, short_name = reference
    trained = table[~table["strategy"].isin(REFERENCE_ROWS)].sort_values(column, ascending=False)
    if trained.empty:
        return ""
    best = trained.iloc[0]
    lines = [f"Best: {best['strategy']} ({heading} {best[column]:.3f})."]
    close = trained[
        (trained[column] >= 0.97 * best[column])
        & (trained["trainable_params"] < best["trainable_params"])
    ]
    named = {best["strategy"]}
    if len(close):
        alt = close.sort_values("trainable_params").iloc[0]
        named.add(alt["strategy"])
        lines.append(
            f"{alt['strategy']} gets {100 * alt[column] / best[column]:.0f} % of "
            f"{best['strategy']}'s {heading} with "
            f"{_percent(alt['trainable_params'], best['trainable_params'])} of its trainable "
            f"parameters in {_percent(alt['train_seconds'], best['train_seconds'])} of its "
            "training time."
        )
    quick = trained[trained[column] >= 0.9 * best[column]].sort_values("train_seconds")
    if len(quick) and quick.iloc[0]["strategy"] not in named:
        fast = quick.iloc[0]
        lines.append(
            f"The quickest within 10 %: {fast['strategy']}, "
            f"{100 * fast[column] / best[column]:.0f} % of the best {heading} in "
            f"{_percent(fast['train_seconds'], best['train_seconds'])} of the time."
        )
    ref = table[table["strategy"] == row_name]
    if len(ref):
        gap = 100 * (best[column] - ref.iloc[0][column])
        if gap >= 1:
            lines.append(
                f"{best['strategy']} beats {long_name} by {gap:.1f} points of "
                f"{heading}: here the pretrained model pays for itself."
            )
        elif gap > -1:
            lines.append(
                f"{_capital(long_name)} is within {abs(gap):.1f} points of "
                f"{best['strategy']}: on this data {short_name} is enough, in a fraction of a "
                "second."
            )
        else:
            lines.append(
                f"{_capital(long_name)} beats {best['strategy']} by {-gap:.1f} points of "
                f"{heading}: on this data {short_name} is enough, in a fraction of a second."
            )
    note = word_vector_note(table, score, reference)
    if note:
        lines.append(note)
    warning = ceiling_warning(table)
    if warning:
        lines.append(warning)
    return " ".join(lines)


# How far (points of the score) the `embedding` row may fall below the reference
# row before the recommendation says where word vectors do not fit.
WORD_VECTOR_GAP = 10.0


def word_vector_note(table, score=CLASSIFICATION_SCORES[0], reference=CLASSIFICATION_REFERENCE):
    """A sentence when the `embedding` row is `WORD_VECTOR_GAP` points or more
    below the `reference` row (TF-IDF by default), saying where pooled word
    vectors do not fit; else "".

    Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"strategy": ["tfidf_logreg", "embedding"], "f1_macro": [0.88, 0.56]})
    >>> word_vector_note(table).split(":")[0]
    'embedding is 32.0 points of macro F1 below TF-IDF + logistic regression'
    """
    column, heading = score
    row_name, long_name, short_name = reference
    rows = dict(zip(table["strategy"], table[column], strict=True))
    if "embedding" not in rows or row_name not in rows:
        return ""
    gap = 100 * (rows[row_name] - rows["embedding"])
    if gap < WORD_VECTOR_GAP:
        return ""
    note = (
        f"embedding is {gap:.1f} points of {heading} below {long_name}: pooled word "
        "vectors keep which words a text has and little of their order, so they do not fit texts "
        "whose class hangs on a few function words and their order (question types, "
        f"intents); there use {short_name} or a transformer strategy"
    )
    row = table[table["strategy"] == "embedding"].iloc[0]
    chosen = re.search(r"\bngram_filters=(\d+)", str(row.get("tuned", "")))
    if chosen and int(chosen.group(1)) > 0:  # tuning gave the word vectors n-gram filters
        return note + "."
    return note + (
        ", or give the word vectors n-gram filters: tuning tries them (--tune 4, "
        "tune=4), as does EmbeddingClassifier.from_word_vectors(ngram_filters=100)."
    )


def _capital(text):
    return text[:1].upper() + text[1:]


def _percent(part, whole):
    share = 100 * float(part) / max(float(whole), 1e-12)
    return f"{share:.1f} %" if share < 10 else f"{share:.0f} %"


def write_results(out, table, report_texts, scores=CLASSIFICATION_SCORES, final=False):
    """A comparison's files in `out`: results.csv, results.md (the table and
    its recommendation), reports/<strategy>.txt from `report_texts` and, when
    `final`, transfer_learning_comparison.png. Each file is written atomically."""
    write_file(os.path.join(out, "results.csv"), lambda tmp: table.to_csv(tmp, index=False))

    def markdown(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(markdown_table(table, scores))
            if table.attrs["recommendation"]:
                f.write(f"\n{table.attrs['recommendation']}\n")

    write_file(os.path.join(out, "results.md"), markdown)
    os.makedirs(os.path.join(out, "reports"), exist_ok=True)
    for strategy, text in report_texts.items():

        def report(tmp, text=text):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)

        write_file(os.path.join(out, "reports", f"{strategy}.txt"), report)
    if final:
        plot_comparison(table, os.path.join(out, "transfer_learning_comparison.png"), scores[0])


def check_writable(folder):
    """Create `folder` if needed and make sure a file can be written in it (OSError if not)."""
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass


def save_model(model, path):
    """`model.save(path)`, atomically: a full disk or a crash never leaves a
    half-written `.keras` file at `path`, and an existing one stays intact."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    check_free_space(folder, variables_bytes(model), path)
    write_file(path, model.save, suffix=".keras")  # Keras wants the extension


def variables_bytes(model):
    """About the bytes a model's weights and optimizer state take on disk (4 a number)."""
    variables = [*model.weights]
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return 4 * sum(int(np.prod(v.shape)) for v in variables)


def plot_comparison(table, path, score=CLASSIFICATION_SCORES[0]):
    """The `score` column (default macro F1; error bars over seeds, reference
    rows in grey), score vs training time, per-epoch validation loss and the
    confusion matrices (when the table has them), in one 300-DPI figure.
    Drawn on a `matplotlib.figure.Figure`: the process's plotting backend (a
    notebook's, say) is left alone."""
    from matplotlib.figure import Figure

    confusions = table.attrs.get("confusion_matrices", {})
    histories = table.attrs.get("histories", {})
    labels = table.attrs.get("labels", [])
    column, heading = score
    columns = max(len(confusions), 3)
    rows = 2 if confusions else 1
    fig = Figure(figsize=(4 * columns, 4.25 * rows))
    grid = fig.add_gridspec(rows, columns)

    ordered = table.sort_values(column)
    reference = ordered["strategy"].isin(REFERENCE_ROWS)
    std = ordered[f"{column}_std"].fillna(0) if f"{column}_std" in ordered else None
    ax = fig.add_subplot(grid[0, 0])
    ax.barh(
        ordered["strategy"],
        ordered[column],
        xerr=std,
        color=np.where(reference, "0.7", "tab:blue"),
        capsize=3,
    )
    ax.set(xlabel=f"{heading} (test)", xlim=(0, 1), title=f"{heading} (grey: reference rows)")

    ax = fig.add_subplot(grid[0, 1])
    trained = table[~table["strategy"].isin(REFERENCE_ROWS)]
    sizes = 40 + 260 * np.log10(trained["trainable_params"].clip(lower=1)) / 8
    ax.scatter(trained["train_seconds"].clip(lower=0.01), trained[column], s=sizes, alpha=0.7)
    for _, row in trained.iterrows():
        ax.annotate(row["strategy"], (max(row["train_seconds"], 0.01), row[column]), fontsize=8)
    for _, row in table[table["strategy"].isin(REFERENCE_ROWS)].iterrows():
        ax.axhline(row[column], color="0.6", linestyle="--", linewidth=1)
        ax.annotate(
            row["strategy"],
            (0.01, row[column]),
            fontsize=7,
            color="0.4",
            xycoords=("axes fraction", "data"),
        )
    ax.set(
        xscale="log",
        xlabel="training time (s, log)",
        ylabel=heading,
        title=f"{heading} vs time (size: trainable params)",
    )

    ax = fig.add_subplot(grid[0, 2])
    for strategy, history in histories.items():
        key = "val_loss" if "val_loss" in history else "loss"
        ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=strategy)
    ax.set(xlabel="epoch", ylabel="validation loss", title="Per-epoch validation loss")
    if histories:
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
    write_file(path, lambda tmp: fig.savefig(tmp, dpi=300, format="png"))


HPARAM_METRICS = ("test/f1_macro", "test/accuracy", "train_seconds", "epochs_run")


def write_hparams_config(experiment_dir, hparams, metrics=HPARAM_METRICS):
    """Declare the experiment's hyper-parameters and metric tags for TensorBoard's
    HParams dashboard (one sortable table of all runs)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    with tf.summary.create_file_writer(experiment_dir).as_default():
        hp.hparams_config(
            hparams=[hp.HParam(name) for name in hparams],
            metrics=[hp.Metric(tag) for tag in metrics],
        )


def write_hparams(run_dir, hparams, metrics):
    """One run's hyper-parameters and final metrics (`{tag: value}`), for the
    HParams dashboard."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    os.makedirs(run_dir, exist_ok=True)
    with tf.summary.create_file_writer(run_dir).as_default():
        hp.hparams(hparams)
        for tag, value in metrics.items():
            tf.summary.scalar(tag, float(value), step=0)
