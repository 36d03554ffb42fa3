"""Data loss and silent failures: atomic writes, damaged backups and cache entries, bad values."""

import errno
import json
import os
import warnings

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import atomic
from keras_transfer.backup import TrainingBackup
from tests.helpers import sentiment_texts, tiny_vectors

TEXTS, LABELS = sentiment_texts(32)


def embedding_model(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=8, hidden_units=(16,), dropout=(0.0,), **kwargs
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small embedding classifier with label names, trained once and saved."""
    model = embedding_model(label_names=["negative", "positive"])
    root = tmp_path_factory.mktemp("trained")
    model.fit(TEXTS, LABELS, epochs=1, batch_size=8, verbose=0, log_root=str(root / "logs"))
    path = str(root / "model.keras")
    model.save(path)
    return model, path


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# === Atomic writes ===


def test_write_file_keeps_the_previous_file_on_a_full_disk(tmp_path):
    path = tmp_path / "result.txt"
    path.write_text("good")

    def write(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        full_disk()

    with pytest.raises(OSError, match="result.txt.*No space left.*unchanged") as info:
        atomic.write_file(str(path), write)
    assert info.value.errno == errno.ENOSPC
    assert path.read_text() == "good" and os.listdir(tmp_path) == ["result.txt"]


@pytest.mark.parametrize(
    "out, kind, match",
    [
        (".", "folder", "working directory"),
        ("..", "folder", "working directory"),
        ("a_file", "folder", "must be a folder, not a file"),
        ("a_folder", "file", "must be a file, not a folder"),
        ("users_folder", "folder", "did not write"),
        ("", "folder", "must be a folder path"),
    ],
)
def test_check_out_refuses_dangerous_outputs(tmp_path, out, kind, match):
    (tmp_path / "a_file").write_text("mine")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "users_folder").mkdir()
    (tmp_path / "users_folder" / "thesis.tex").write_text("mine")
    with pytest.raises(ValueError, match=match):
        atomic.check_out(out, kind=kind, overwrite=True, marker="adaptation.json")


def test_write_folder_replaces_an_earlier_output_only(tmp_path):
    out = tmp_path / "out"

    def write(text):
        def into(tmp):
            (open(os.path.join(tmp, "marker"), "w")).close()
            with open(os.path.join(tmp, "data.txt"), "w") as f:
                f.write(text)

        return into

    atomic.write_folder(str(out), write("one"), marker="marker")
    atomic.write_folder(str(out), write("two"), overwrite=True, marker="marker")
    assert (out / "data.txt").read_text() == "two"

    def fails(tmp):
        write("three")(tmp)
        full_disk()

    with pytest.raises(OSError, match="No space left"):
        atomic.write_folder(str(out), fails, overwrite=True, marker="marker")
    assert (out / "data.txt").read_text() == "two"
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no temporaries left


def test_save_model_keeps_the_previous_model_on_a_full_disk(trained, tmp_path, monkeypatch):
    from keras_transfer.reports import save_model

    model, _ = trained
    path = str(tmp_path / "model.keras")
    save_model(model, path)
    before = open(path, "rb").read()
    monkeypatch.setattr(type(model), "save", full_disk)
    with pytest.raises(OSError, match="model.keras.*No space left"):
        save_model(model, path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["model.keras"]


def test_save_model_refuses_up_front_without_room(trained, tmp_path, monkeypatch):
    from keras_transfer.reports import save_model

    class Usage:
        free = 1000

    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(OSError, match="Not enough disk space") as info:
        save_model(trained[0], str(tmp_path / "model.keras"))
    assert info.value.errno == errno.ENOSPC and os.listdir(tmp_path) == []


# === 1. continue_pretraining's `out` is checked before training ===


@pytest.mark.parametrize("out", [".", "..", "notes.txt", "mine"])
def test_continue_pretraining_never_touches_the_users_files(tmp_path, monkeypatch, out):
    import keras_transfer.pretraining as pretraining

    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("mine")
    monkeypatch.setattr(pretraining, "masked_lm_preprocessor", full_disk)  # never reached
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match="out="):
        kt.continue_pretraining(TEXTS, out=out, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "mine"


# === 2. Training backups ===


class Crash(keras.callbacks.Callback):
    """Killed as the third epoch begins: two epochs are backed up."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt("killed")


def fit(model, backup, extra=(), epochs=4, stop=None):
    stop = stop or keras.callbacks.EarlyStopping(monitor="loss", patience=100)
    model.fit(
        TEXTS,
        LABELS,
        epochs=epochs,
        batch_size=8,
        verbose=0,
        callbacks=[stop, TrainingBackup(backup, fingerprint="run-a"), *extra],
    )
    return model


def interrupted(backup, stop=None):
    with pytest.raises(KeyboardInterrupt):
        fit(embedding_model(), backup, [Crash()], stop=stop)
    return json.loads(open(os.path.join(backup, "backup.json")).read())


def epochs_seen(backup, stop=None):
    seen = []
    log = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    model = fit(embedding_model(), backup, [log], stop=stop)
    return model, seen


def test_backup_resumes_to_the_same_weights_and_cleans_up(tmp_path):
    reference = fit(embedding_model(), str(tmp_path / "reference"))
    backup = str(tmp_path / "backup")
    state = interrupted(backup)
    assert state["epoch"] == 2 and sorted(os.listdir(backup)) == [
        "backup.json",
        "epoch-2.weights.h5",
    ]
    resumed, seen = epochs_seen(backup)
    assert seen == [2, 3] and not os.path.exists(backup)
    for a, b in zip(reference.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6
        )


def test_resumed_run_stops_early_where_the_uninterrupted_one_does(tmp_path):
    def stop():  # no epoch after the first improves: stops after epoch 3, back to epoch 1
        return keras.callbacks.EarlyStopping(
            monitor="loss", patience=2, min_delta=100, restore_best_weights=True
        )

    reference = fit(embedding_model(), str(tmp_path / "reference"), stop=stop(), epochs=6)
    backup = str(tmp_path / "backup")
    state = interrupted(backup, stop=stop())
    assert state["callbacks"][0]["wait"] == 1 and state["best_weights"]
    resumed, seen = epochs_seen(backup, stop=stop())
    assert seen == [2]  # without the saved state it would run epochs 2 to 4
    for a, b in zip(reference.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-6
        )


def test_full_disk_during_a_backup_keeps_the_last_good_one(tmp_path, monkeypatch):
    backup = str(tmp_path / "backup")
    model = embedding_model()

    class FullDiskAtEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                monkeypatch.setattr(type(model), "save_weights", full_disk)

    with pytest.raises(OSError, match="No space left.*unchanged"):
        fit(model, backup, [FullDiskAtEpoch2()])
    monkeypatch.undo()
    assert sorted(os.listdir(backup)) == ["backup.json", "epoch-1.weights.h5"]
    _, seen = epochs_seen(backup)
    assert seen == [1, 2, 3]


@pytest.mark.parametrize("damage", ["truncate_weights", "truncate_state"])
def test_damaged_backup_is_set_aside_and_training_restarts(tmp_path, damage):
    backup = str(tmp_path / "backup")
    state = interrupted(backup)
    name = state["weights"] if damage == "truncate_weights" else "backup.json"
    path = os.path.join(backup, name)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.warns(UserWarning, match="backup is damaged.*moved to.*first epoch"):
        _, seen = epochs_seen(backup)
    assert seen == [0, 1, 2, 3]
    (aside,) = [p for p in os.listdir(tmp_path) if p.startswith("backup.damaged-")]
    assert name in os.listdir(tmp_path / aside)  # kept, never deleted


def test_backup_of_another_run_is_refused(tmp_path):
    backup = str(tmp_path / "backup")
    interrupted(backup)
    model = embedding_model()
    with pytest.raises(ValueError, match="other data or arguments"):
        model.fit(TEXTS, LABELS, epochs=2, verbose=0, callbacks=[TrainingBackup(backup, "run-b")])


# === 3. ZeroShotClassifier's scale; no null probabilities served ===


@pytest.mark.parametrize("scale", [float("inf"), 1e40, float("nan"), 0, -1.0, 2e4, True])
def test_zero_shot_refuses_an_overflowing_scale(tiny_preset, scale):
    with pytest.raises(ValueError, match="`scale` must be a number in \\(0, 10000\\]"):
        kt.ZeroShotClassifier.from_preset(
            tiny_preset, label_names=["great", "awful"], max_length=16, scale=scale
        )


def test_non_finite_probabilities_are_an_error_not_nulls(trained, monkeypatch):
    from fastapi.testclient import TestClient

    from keras_transfer.serving import PredictionError, create_app

    app = create_app(trained[1])
    model = app.state.predictor.model
    monkeypatch.setattr(model, "predict_on_batch", lambda x: np.full((len(x), 2), np.nan))
    with pytest.raises(PredictionError, match="not numbers"):
        app.state.predictor.predict("great")
    client = TestClient(app, raise_server_exceptions=False)
    for url, body in (("/predict", {"text": "great"}), ("/predict_batch", {"texts": ["a"]})):
        response = client.post(url, json=body)
        assert response.status_code == 500
        assert "not numbers" in response.json()["detail"]


# === 4. evaluate checks labels as fit does ===


@pytest.mark.parametrize(
    "labels, match",
    [([9] * 8, "y\\[0\\]=9"), ([0.5] * 8, "y\\[0\\]=0.5"), ([-1] * 8, "y\\[0\\]=-1")],
)
def test_evaluate_refuses_labels_fit_refuses(trained, labels, match):
    model = trained[0]
    for method in (model.fit, model.evaluate):
        with pytest.raises(ValueError, match=match):
            method(TEXTS[:8], labels, verbose=0)


# === 5. A damaged feature cache entry is recomputed ===


def test_truncated_cache_entry_is_recomputed(tmp_path):
    from keras_transfer.feature_cache import FeatureCache

    model = embedding_model()
    cache = FeatureCache(model, cache_dir=str(tmp_path / "features"))
    expected = cache.features(TEXTS)
    path = cache.path(cache.key(TEXTS))
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    FeatureCache.clear_memory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh = FeatureCache(model, cache_dir=str(tmp_path / "features"))
        again = fresh.features(TEXTS)
    assert fresh.disk and not [w for w in caught if "cache" in str(w.message)]
    np.testing.assert_allclose(again, expected, atol=1e-6)
    FeatureCache.clear_memory()
    with np.load(path) as stored:  # the damaged entry was replaced
        np.testing.assert_allclose(stored["features"], expected, atol=1e-6)
    assert sorted(os.listdir(tmp_path / "features")) == [os.path.basename(path)]


def test_frozen_fit_survives_a_truncated_cache_entry(tmp_path):
    embedding_model().fit(TEXTS, LABELS, epochs=1, verbose=0)
    folder = os.path.join(os.environ["KERAS_TRANSFER_CACHE"], "features")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "r+b") as f:
            f.truncate(100)
    kt.FeatureCache.clear_memory()
    history = embedding_model().fit(TEXTS, LABELS, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# === b. max_length defaults to a preset's lower position limit ===


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SetFitClassifier", {"num_classes": 2}),
        ("ZeroShotClassifier", {"label_names": ["great", "awful"], "scale": 1e4}),
        ("TransformerClassifier", {"strategy": "frozen"}),
    ],
)
def test_from_preset_defaults_to_a_lower_position_limit(tiny_preset, name, kwargs):
    cls = getattr(kt, name)
    model = cls.from_preset(tiny_preset, **kwargs)  # the tiny preset's limit is 64
    assert model.preprocessor.sequence_length == 64
    probabilities = model.predict(TEXTS[:2], verbose=0)  # the largest scale: still finite
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="position limit \\(64\\). Received: max_length=128"):
        cls.from_preset(tiny_preset, max_length=128, **kwargs)
