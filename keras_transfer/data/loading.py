"""Loading labelled and unlabelled texts: files, folders, bundled sets, label ids."""

import lzma
import os
import zlib
from importlib import resources

import numpy as np

from keras_transfer.data.checks import check_texts

BUNDLED = {
    "rotten_tomatoes": ("rotten_tomatoes_train.csv.xz", "rotten_tomatoes_test.csv.xz"),
    "fine_foods": ("fine_foods_train.csv.xz", "fine_foods_test.csv.xz"),
    "sentiment_en_vi": ("sentiment_en_vi.csv", None),
}


def _read_file(path):
    import pandas as pd

    lower = path.lower()
    try:
        if lower.endswith((".jsonl", ".jsonl.gz", ".jsonl.xz")):
            return pd.read_json(path, lines=True, encoding="utf-8")
        if lower.endswith((".json", ".json.gz")):
            return pd.read_json(path, encoding="utf-8")
        if lower.endswith((".tsv", ".tsv.gz", ".tsv.xz")):
            return pd.read_csv(path, sep="\t", encoding="utf-8")
        if lower.endswith((".csv", ".csv.gz", ".csv.xz")):
            return pd.read_csv(path, encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"The data file is not valid UTF-8 ({e.reason} at byte {e.start}). Re-save it as "
            f"UTF-8. Received: data={path!r}"
        ) from None
    except ValueError as e:
        raise ValueError(f"Could not parse the data file ({e}). Received: data={path!r}") from None
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:  # truncated or corrupt archive
        raise ValueError(
            f"Could not read the data file: it is truncated or corrupt ({type(e).__name__}: "
            f"{e}). Received: data={path!r}"
        ) from None
    raise ValueError(
        "The data file must be .csv, .tsv, .json or .jsonl (optionally .gz/.xz), or a folder "
        f"with one sub-folder of .txt files per class. Received: data={path!r}"
    )


def _read_folder(path):
    import pandas as pd

    rows = []
    classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    for label in classes:
        folder = os.path.join(path, label)
        for name in sorted(os.listdir(folder)):
            file = os.path.join(folder, name)
            if not os.path.isfile(file) or name.startswith("."):
                continue
            try:
                with open(file, encoding="utf-8") as f:
                    rows.append({"text": f.read().strip(), "label": label})
            except UnicodeDecodeError:
                raise ValueError(
                    f"A text file is not valid UTF-8. Re-save it as UTF-8. Received: {file!r}"
                ) from None
    if not rows:
        raise ValueError(
            "The data folder must hold one sub-folder per class with one text file per "
            f"example. Found none. Received: data={path!r}"
        )
    return pd.DataFrame(rows)


def load_texts(data, text_column="text", label_column="label"):
    """Load labelled texts into a DataFrame with columns `text` and `label`.

    Args:
        data: a pandas DataFrame; a .csv/.tsv/.json/.jsonl file (optionally
            .gz/.xz); a folder with one sub-folder per class holding one text
            file per example; or a bundled dataset name (`"rotten_tomatoes"`,
            `"fine_foods"`, `"sentiment_en_vi"`; see `load_bundled`).
        text_column: the text column (ignored for folders).
        label_column: the label column (ignored for folders).

    Rows are checked: the columns exist, no text is empty or missing, no label
    is missing, and there are at least two classes.

    Example:
    >>> import keras_transfer as kt
    >>> df = kt.load_texts("sentiment_en_vi")
    >>> sorted(df["label"].unique())
    ['negative', 'positive']
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame, where = data, "the DataFrame"
    elif isinstance(data, str) and data in BUNDLED:
        return load_bundled(data)[0]
    elif isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if os.path.isdir(path):
            frame = _read_folder(path)
            text_column, label_column = "text", "label"
        elif os.path.isfile(path):
            frame = _read_file(path)
        else:
            raise ValueError(
                "The data file or folder does not exist (bundled datasets: "
                f"{sorted(BUNDLED)}). Received: data={path!r}"
            )
        where = repr(path)
    else:
        raise ValueError(
            "`data` must be a DataFrame, a file or folder path, or a bundled dataset name. "
            f"Received: data={type(data).__name__}"
        )
    return _text_label_frame(frame, where, text_column, label_column)


def _text_label_frame(frame, where, text_column, label_column):
    """`frame`'s text and label columns as `text` and `label`, checked: no
    text empty or missing, no label missing, at least two classes."""
    import pandas as pd

    for arg, column in (("text_column", text_column), ("label_column", label_column)):
        if column not in frame.columns:
            raise ValueError(
                f"`{arg}` names a column that {where} does not have (columns: "
                f"{list(frame.columns)}). Received: {arg}={column!r}"
            )
    out = pd.DataFrame(
        {"text": frame[text_column].to_numpy(), "label": frame[label_column].to_numpy()}
    )
    texts_missing = out["text"].isna() | ~out["text"].map(lambda t: isinstance(t, str))
    if texts_missing.any():
        row = int(np.flatnonzero(texts_missing.to_numpy())[0])
        raise ValueError(
            f"Every text must be a string; row {row} of {where} has "
            f"{out['text'].iloc[row]!r}. Received: text_column={text_column!r}"
        )
    empty = out["text"].str.strip() == ""
    if empty.any():
        raise ValueError(
            f"{int(empty.sum())} texts in {where} are empty (first: row "
            f"{int(np.flatnonzero(empty.to_numpy())[0])}). Drop them first. "
            f"Received: text_column={text_column!r}"
        )
    if out["label"].isna().any():
        raise ValueError(
            f"{int(out['label'].isna().sum())} labels in {where} are missing (NaN). Drop or "
            f"fill them first. Received: label_column={label_column!r}"
        )
    if out["label"].nunique() < 2:
        raise ValueError(
            f"Classification needs at least two classes; {where} has only "
            f"{out['label'].unique().tolist()}. Received: label_column={label_column!r}"
        )
    return out


def load_unlabelled(data, text_column="text"):
    """Unlabelled texts, as a list: for masked-LM adaptation.

    Args:
        data: a list of strings; a .txt file (one text per line, blank lines
            skipped); a .csv/.tsv/.json/.jsonl file (its `text_column`); or a
            bundled dataset name (its training texts only, never its test
            split).

    Example:
    >>> import keras_transfer as kt
    >>> len(kt.load_unlabelled("rotten_tomatoes"))
    3613
    """
    if isinstance(data, (list, tuple)):
        texts = list(data)
    elif isinstance(data, str) and data in BUNDLED:
        texts = load_bundled(data)[0]["text"].tolist()
    elif isinstance(data, (str, os.PathLike)) and os.path.isfile(data):
        path = os.fspath(data)
        if path.lower().endswith(".txt"):
            try:
                with open(path, encoding="utf-8") as f:
                    texts = [line.strip() for line in f if line.strip()]
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"The text file is not valid UTF-8 ({e.reason} at byte {e.start}). "
                    f"Received: data={path!r}"
                ) from None
        else:
            frame = _read_file(path)
            if text_column not in frame.columns:
                raise ValueError(
                    f"`text_column` names a column that {path!r} does not have (columns: "
                    f"{list(frame.columns)}). Received: text_column={text_column!r}"
                )
            texts = frame[text_column].dropna().astype(str).tolist()
    else:
        raise ValueError(
            "Unlabelled texts must be a list, an existing .txt/.csv/.tsv/.json/.jsonl file or a "
            f"bundled dataset name ({sorted(BUNDLED)}). Received: data={data!r}"
        )
    check_texts(texts, name="texts")
    return texts


def load_bundled(name="rotten_tomatoes"):
    """A dataset that ships with the package: `(train, test)` DataFrames.

    - `"rotten_tomatoes"`: 3,613 / 1,250 real Rotten Tomatoes critic snippets
      (Pang & Lee 2004), labels `positive` (fresh) / `negative` (rotten),
      about balanced, one to two sentences each. Test movies are unseen in
      training.
    - `"fine_foods"`: 4,000 / 1,000 real Amazon fine-food reviews, labels
      `great` (5 stars) / `other`. Test products are unseen in training.
    - `"sentiment_en_vi"`: 238 short English/Vietnamese sentences written for
      this project, `positive` / `negative`; `test` is None (split it).

    Sources and licences: `keras_transfer/datasets/README.md`.
    """
    import pandas as pd

    if name not in BUNDLED:
        raise ValueError(f"`name` must be one of {sorted(BUNDLED)}. Received: name={name!r}")
    folder = resources.files("keras_transfer.datasets")
    train_file, test_file = BUNDLED[name]
    train = pd.read_csv(folder / train_file, encoding="utf-8")
    test = None if test_file is None else pd.read_csv(folder / test_file, encoding="utf-8")
    return train, test


class LabelMap:
    """Labels (strings or ints) <-> ids 0..K-1, in sorted order of the labels.

    A thin layer over scikit-learn's `LabelEncoder` that adds the label names as
    strings and errors that say what was received. The labels must be all
    strings or all numbers.

    Example:
    >>> m = LabelMap(["pos", "neg", "pos"])
    >>> m.names, m.encode(["pos"]).tolist(), m.decode([0])
    (['neg', 'pos'], [1], ['neg'])
    """

    def __init__(self, labels):
        from sklearn.preprocessing import LabelEncoder

        labels = list(labels)
        if not labels:
            raise ValueError(
                "`labels` is empty: there are no label names to map. Received: labels=[]"
            )
        kinds = {isinstance(v, (str, np.str_)) for v in labels}
        if len(kinds) > 1:
            raise ValueError(
                "Labels must be all strings or all numbers. Received: labels mixing "
                f"{sorted({type(v).__name__ for v in labels})}"
            )
        self._encoder = LabelEncoder().fit(labels)
        self.names = [str(v) for v in self._encoder.classes_]

    def encode(self, labels):
        labels = list(labels)
        try:
            return self._encoder.transform(labels).astype("int32")
        except (TypeError, ValueError):
            known = set(self._encoder.classes_.tolist())
            unknown = next((v for v in labels if v not in known), labels)
            raise ValueError(f"Unknown label {unknown!r}; known labels: {self.names}") from None

    def decode(self, ids):
        return [self.names[int(i)] for i in ids]
