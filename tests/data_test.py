import json

import numpy as np
import pandas as pd
import pytest

import keras_transfer as kt
from keras_transfer import data


@pytest.fixture
def frame():
    return pd.DataFrame(
        {"review": [f"text number {i}" for i in range(40)], "stars": ["pos", "neg"] * 20}
    )


def test_load_dataframe_with_chosen_columns(frame):
    out = kt.load_texts(frame, text_column="review", label_column="stars")
    assert list(out.columns) == ["text", "label"] and len(out) == 40


def test_load_csv_jsonl_and_folder(tmp_path, frame):
    frame.to_csv(tmp_path / "d.csv", index=False)
    with open(tmp_path / "d.jsonl", "w", encoding="utf-8") as f:
        for _, row in frame.iterrows():
            f.write(json.dumps({"review": row["review"], "stars": row["stars"]}) + "\n")
    for name in ("d.csv", "d.jsonl"):
        out = kt.load_texts(str(tmp_path / name), "review", "stars")
        assert out["text"].tolist() == frame["review"].tolist()
    for label in ("neg", "pos"):
        (tmp_path / "folder" / label).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "folder" / label / f"{i}.txt").write_text(f"{label} {i} ünïcode")
    out = kt.load_texts(str(tmp_path / "folder"))
    assert sorted(out["label"].unique()) == ["neg", "pos"] and len(out) == 6


def test_bundled_datasets_are_real_and_labelled():
    train, test = kt.load_bundled("fine_foods")
    assert (len(train), len(test)) == (4000, 1000)
    assert set(train["label"]) == {"great", "other"}
    assert train["text"].str.len().min() > 20
    en_vi, none = kt.load_bundled("sentiment_en_vi")
    assert none is None and set(en_vi["language"]) == {"en", "vi"}
    assert (en_vi.groupby("pair_id")["label"].nunique() == 1).all()  # pairs share labels


def test_label_map_round_trip():
    labels = kt.LabelMap(["b", "a", "c", "a"])
    assert labels.names == ["a", "b", "c"]
    np.testing.assert_array_equal(labels.encode(["c", "a"]), [2, 0])
    assert labels.decode([1, 2]) == ["b", "c"]
    ints = kt.LabelMap(np.array([3, 1, 3]))
    assert ints.names == ["1", "3"] and ints.encode([3]).tolist() == [1]
    with pytest.raises(ValueError, match="Unknown label 'z'"):
        labels.encode(["z"])


def test_stratified_split_is_stratified_and_seeded(frame):
    df = kt.load_texts(frame, "review", "stars")
    train, val, test = kt.stratified_split(df, test_size=0.25, validation_size=0.25, seed=3)
    assert (len(train), len(val), len(test)) == (20, 10, 10)
    for part in (train, val, test):
        assert part["label"].value_counts().nunique() == 1  # balanced like the whole
    again = kt.stratified_split(df, test_size=0.25, validation_size=0.25, seed=3)
    assert again[2]["text"].tolist() == test["text"].tolist()
    assert kt.class_balance(df)["share"].tolist() == [0.5, 0.5]


def test_augmentation_adds_punctuation_variants(frame):
    df = kt.load_texts(frame, "review", "stars")
    out = kt.augment_punctuation(df, copies=2)
    assert len(out) == 3 * len(df)
    assert out["label"].tolist() == df["label"].tolist() * 3
    assert set(out["text"].iloc[40:]) != set(df["text"])


@pytest.mark.parametrize(
    "make, kwargs, match",
    [
        (lambda p: str(p / "missing.csv"), {}, "does not exist"),
        (lambda p: pd.DataFrame({"t": ["a", "b"], "label": [0, 1]}), {}, "text_column='text'"),
        (lambda p: pd.DataFrame({"text": ["a", "b"]}), {}, "label_column='label'"),
        (
            lambda p: pd.DataFrame({"text": ["a", "  "], "label": [0, 1]}),
            {},
            "1 texts .* are empty",
        ),
        (lambda p: pd.DataFrame({"text": ["a", None], "label": [0, 1]}), {}, "row 1"),
        (
            lambda p: pd.DataFrame({"text": ["a", "b"], "label": [0, np.nan]}),
            {},
            "missing \\(NaN\\)",
        ),
        (lambda p: pd.DataFrame({"text": ["a", "b"], "label": [1, 1]}), {}, "at least two classes"),
    ],
)
def test_bad_data(tmp_path, make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kt.load_texts(make(tmp_path), **kwargs)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncaf\xe9 au lait,1\nthé,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        kt.load_texts(str(path))


def test_class_too_small_to_split():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(12)], "label": ["a"] * 10 + ["b"] * 2})
    with pytest.raises(ValueError, match="Class 'b' has 2 example"):
        kt.stratified_split(df, test_size=0.2, validation_size=0.2)


def test_split_sizes_are_checked(frame):
    with pytest.raises(ValueError, match="test_size=0.6, validation_size=0.5"):
        data.stratified_split(kt.load_texts(frame, "review", "stars"), 0.6, 0.5)


def test_bundled_default_data_is_real_and_balanced():
    train, test = kt.load_bundled("rotten_tomatoes")
    assert (len(train), len(test)) == (3613, 1250)
    assert set(train["label"]) == set(test["label"]) == {"positive", "negative"}
    assert 0.45 < (train["label"] == "positive").mean() < 0.55
    assert not set(train["movie"]) & set(test["movie"])  # unseen movies in test


def test_shuffled_order_follows_seed_and_epoch():
    x = np.arange(20).reshape(20, 1)  # features, as the cached path feeds them
    epoch, counter = data.epoch_counter()
    ds = data.batched_dataset(x, x[:, 0] % 2, batch_size=20, seed=3, epoch=epoch)

    def order():
        return next(iter(ds))[0].numpy()[:, 0].tolist()

    first = order()
    assert first == order() and sorted(first) == list(range(20)) and first != list(range(20))
    counter.on_epoch_begin(1)
    second = order()
    assert second != first and sorted(second) == list(range(20))
    counter.on_epoch_begin(0)
    assert order() == first  # epoch 0's order again, as after a resume
    assert data.batched_dataset(x, x, batch_size=8).cardinality().numpy() == 3  # no seed: in order


def test_label_map_rejects_mixed_and_unknown_labels():
    with pytest.raises(ValueError, match="all strings or all numbers"):
        kt.LabelMap(["a", 1])
    with pytest.raises(ValueError, match="Unknown label 2;"):
        kt.LabelMap([1, 3]).encode([3, 2])


def test_the_package_keeps_every_name_and_ships():
    import importlib.util

    from setuptools import find_packages

    # Every name that code used from the old data.py, defined in one of the modules.
    modules = {f"keras_transfer.data.{m}" for m in ("checks", "loading", "pipeline", "sampling")}
    for name in data.__all__:
        if callable(getattr(data, name)):
            assert getattr(data, name).__module__ in modules, name
    assert data.load_texts is kt.load_texts and data.LabelMap is kt.LabelMap
    # The bundled files resolve from the moved code, and setuptools ships the package.
    assert set(data.BUNDLED) == {"rotten_tomatoes", "fine_foods", "sentiment_en_vi"}
    assert len(kt.load_unlabelled("sentiment_en_vi")) == 238
    root = importlib.util.find_spec("keras_transfer").submodule_search_locations[0]
    found = find_packages(f"{root}/..", include=["keras_transfer*"])
    assert {"keras_transfer.data", "keras_transfer.datasets"} <= set(found)
