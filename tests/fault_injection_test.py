"""Faults at every write and read point: a full disk, a read-only folder, a kill,
a truncated or corrupt file.

Under each fault: a clear one-line error that names the file (an `OSError` or
a `ValueError`), or a clean recovery; the previous good state byte for byte
intact; and the process still running.
"""

import errno
import gzip
import hashlib
import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import types
import warnings
import zipfile

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import atomic
from keras_transfer.backup import TrainingBackup, read_state
from keras_transfer.feature_cache import FeatureCache
from keras_transfer.ner import SCORES
from keras_transfer.pretraining import _write_preset
from keras_transfer.reports import save_model, write_results
from tests.helpers import sentiment_texts, tiny_vectors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS, LABELS = sentiment_texts(16)
NER_PAIR = ([["Ada", "wrote"], ["Paris", "is"]] * 4, [["B-PER", "O"], ["B-LOC", "O"]] * 4)


def embedding_model(seed):
    keras.utils.set_random_seed(seed)
    return kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=8, hidden_units=(8,), dropout=(0.0,)
    )


@pytest.fixture(scope="module")
def ctx(tmp_path_factory, tiny_preset):
    """Two models with different weights, the tiny preset's encoder and
    tokenizer, and a small comparison table: built once."""
    import keras_hub

    logs = tmp_path_factory.mktemp("logs")
    table = kt.compare_ner(NER_PAIR, strategies=[], out=None, verbose=0, log_root=str(logs))
    return types.SimpleNamespace(
        models=[embedding_model(0), embedding_model(1)],
        encoder=types.SimpleNamespace(backbone=keras_hub.models.Backbone.from_preset(tiny_preset)),
        tokenizer=types.SimpleNamespace(
            tokenizer=keras_hub.tokenizers.Tokenizer.from_preset(tiny_preset)
        ),
        preset=tiny_preset,
        table=table,
    )


def snapshot(folder):
    """{relative path: bytes} of every file under `folder`, temporaries included."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


# === Write points: each writes a good version, then a second one under the fault ===


def model_save(tmp, ctx):
    path = str(tmp / "model.keras")
    return "model.keras", lambda i: save_model(ctx.models[i], path)


def preset_save(tmp, ctx):
    # continue_pretraining's output: the adapted encoder and tokenizer as a preset folder.
    out = str(tmp / "adapted")

    def write(i):
        _write_preset(ctx.encoder, ctx.tokenizer, ctx.preset, out, "cls", {"version": i})

    return "adapted", write


def training_backup(tmp, ctx):
    backup = TrainingBackup(str(tmp / "backup"), fingerprint="run")
    backup.set_model(ctx.models[0])
    return "backup", lambda i: backup.on_epoch_end(i)


def comparison_results(tmp, ctx):
    out = str(tmp / "results")

    def write(i):
        table = ctx.table.copy()
        table.attrs = dict(ctx.table.attrs)
        table["train_seconds"] = float(i)
        write_results(out, table, {"most_frequent_tag": f"report {i}\n"}, SCORES)

    return "results", write


def feature_cache_entry(tmp, ctx):
    folder = str(tmp / "features")
    parts = [TEXTS[:8], TEXTS[8:]]

    def write(i):
        FeatureCache.clear_memory()
        return FeatureCache(ctx.models[0], cache_dir=folder).features(parts[i])

    return "features", write


WRITE_POINTS = {
    "model save": model_save,
    "preset save (continue_pretraining output)": preset_save,
    "training backup": training_backup,
    "comparison results and reports": comparison_results,
    "feature cache entry": feature_cache_entry,
}


def inject(monkeypatch, fault, folder):
    """Make writes under `folder` fail as a full disk or a read-only folder would."""
    folder = str(folder)
    if fault == "disk full":
        # Data accepted into the page cache, then refused when flushed: where
        # a full disk shows up on file systems with delayed allocation.
        def fsync(path):
            if str(path).startswith(folder):
                raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(atomic, "_fsync_file", fsync)
    elif fault == "read-only folder":
        for name in ("mkstemp", "mkdtemp"):
            real = getattr(tempfile, name)

            def refuse(*args, real=real, **kwargs):
                if str(kwargs.get("dir", "")).startswith(folder):
                    raise OSError(errno.EROFS, "Read-only file system")
                return real(*args, **kwargs)

            monkeypatch.setattr(tempfile, name, refuse)
    else:  # a real read-only folder; root writes anyway, hence the skip
        if os.geteuid() == 0:
            pytest.skip("running as root: file permissions do not stop root")
        for root, dirs, _ in os.walk(folder):
            for name in [*dirs, ""]:
                os.chmod(os.path.join(root, name), 0o555)


@pytest.mark.parametrize("fault", ["disk full", "read-only folder", "chmod read-only"])
@pytest.mark.parametrize("point", list(WRITE_POINTS))
def test_write_fault_keeps_the_previous_version(tmp_path, ctx, monkeypatch, point, fault):
    name, write = WRITE_POINTS[point](tmp_path, ctx)
    expected = write(0)
    if point == "feature cache entry":
        FeatureCache.clear_memory()
        expected = FeatureCache(ctx.models[0], disk=False).features(TEXTS[8:])
    before = snapshot(tmp_path)
    assert before  # the good version is there
    inject(monkeypatch, fault, tmp_path)
    try:
        if point == "feature cache entry":  # a cache recovers: memory only, with a warning
            with pytest.warns(UserWarning, match="cannot be written.*memory only"):
                features = write(1)
            np.testing.assert_allclose(features, expected, atol=1e-6)
        else:
            with pytest.raises(OSError) as info:
                write(1)
            message = str(info.value)
            assert name in message and "unchanged" in message and "\n" not in message, message
            assert info.value.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES)
    finally:
        for root, dirs, _ in os.walk(tmp_path):
            for d in [*dirs, ""]:
                os.chmod(os.path.join(root, d), 0o755)
    assert snapshot(tmp_path) == before  # byte for byte, and no temporaries left
    monkeypatch.undo()
    write(1)  # once the fault is gone, the same write goes through
    assert snapshot(tmp_path) != before


# === Read points: a truncated or corrupt file ===


def truncate(path, keep=0.5):
    with open(path, "r+b") as f:
        f.truncate(int(os.path.getsize(path) * keep))


def rewrite_entry(path, entry, content):
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    entries[entry] = content
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in entries.items():
            archive.writestr(n, data)


def saved_model(damage):
    def build(tmp, ctx):
        path = str(tmp / "model.keras")
        save_model(ctx.models[0], path)
        if damage == "truncated":
            truncate(path)
        elif damage == "bytes flipped":
            with open(path, "r+b") as f:
                f.seek(os.path.getsize(path) // 2)
                chunk = f.read(64)
                f.seek(-len(chunk), 1)
                f.write(bytes(b ^ 0xFF for b in chunk))
        else:
            rewrite_entry(path, damage, b"{not json" if damage.endswith(".json") else b"garbage")
        return path, lambda: kt.Predictor(path)

    return build


def preset_file(name):
    def build(tmp, ctx):
        folder = str(tmp / "preset")
        shutil.copytree(ctx.preset, folder)
        path = os.path.join(folder, name)
        truncate(path)
        return path, lambda: kt.TransformerClassifier.from_preset(folder, max_length=8)

    return build


def backup_state(tmp, ctx):
    backup = TrainingBackup(str(tmp / "backup"), fingerprint="run")
    backup.set_model(ctx.models[0])
    backup.on_epoch_end(0)
    path = str(tmp / "backup" / "backup.json")
    truncate(path)
    return path, lambda: read_state(str(tmp / "backup"))


def text_file(name, content, reader):
    def build(tmp, ctx):
        path = str(tmp / name)
        raw = content.encode()
        if name.endswith(".xz"):
            raw = lzma.compress(raw)
        elif name.endswith(".gz"):
            raw = gzip.compress(raw)
        with open(path, "wb") as f:
            f.write(raw[: len(raw) // 2] if name.endswith((".xz", ".gz")) else raw)
        return path, lambda: reader(path)

    return build


CONLL = "".join(f"Ada B-PER\nwrote O\nline{i} O\n\n" for i in range(50))
CSV = "text,label\n" + "".join(f'"a good film, {i}",1\n"a bad film",0\n' for i in range(50))

READ_POINTS = {
    "saved model truncated": (saved_model("truncated"), "truncated or corrupt"),
    "saved model bytes flipped": (saved_model("bytes flipped"), "truncated or corrupt"),
    "saved model weights garbage": (
        saved_model("model.weights.h5"),
        "truncated or corrupt|cannot be loaded",
    ),
    "saved model config garbage": (
        saved_model("config.json"),
        "truncated or corrupt|cannot be loaded",
    ),
    "preset config.json": (preset_file("config.json"), "preset file .*config.json"),
    "preset metadata.json": (preset_file("metadata.json"), "preset file .*metadata.json"),
    "preset tokenizer.json": (preset_file("tokenizer.json"), "preset file .*tokenizer.json"),
    "preset weights": (preset_file("model.weights.h5"), "preset file .*model.weights.h5"),
    "backup state": (backup_state, "backup state .*backup.json.* cannot be read"),
    "CoNLL cut mid-line": (
        text_file("data.conll", CONLL[: CONLL.index("line25") + 4], kt.load_conll),
        "Line .* of .*data.conll",
    ),
    "CoNLL .xz truncated": (
        text_file("data.conll.xz", CONLL, kt.load_conll),
        "Cannot read .*data.conll.xz",
    ),
    "CSV cut inside a quote": (
        text_file("data.csv", CSV[: CSV.index('"a good film, 7') + 5], kt.load_texts),
        "Could not parse .*data.csv",
    ),
    "CSV .xz truncated": (text_file("data.csv.xz", CSV, kt.load_texts), "corrupt.*data.csv.xz"),
    "CSV .gz truncated": (text_file("data.csv.gz", CSV, kt.load_texts), "corrupt.*data.csv.gz"),
}


@pytest.mark.parametrize("point", list(READ_POINTS))
def test_damaged_file_is_refused_naming_it(tmp_path, ctx, point):
    build, match = READ_POINTS[point]
    path, read = build(tmp_path, ctx)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=match) as info:
        read()
    message = str(info.value)
    assert os.path.basename(path) in message or os.path.dirname(path) in message, message
    assert "\n" not in message and "Traceback" not in message
    assert snapshot(tmp_path) == before  # the damaged file is left for the user to inspect


@pytest.mark.parametrize("damage", ["state", "weights"])
def test_damaged_backup_is_set_aside_and_training_restarts(tmp_path, ctx, damage):
    backup = TrainingBackup(str(tmp_path / "backup"), fingerprint="run")
    backup.set_model(ctx.models[0])
    backup.on_epoch_end(0)
    truncate(
        str(tmp_path / "backup" / ("backup.json" if damage == "state" else "epoch-1.weights.h5"))
    )
    before = snapshot(tmp_path / "backup")
    with pytest.warns(UserWarning, match="backup is damaged.*moved to"):
        backup.on_train_begin()
    (aside,) = [p for p in os.listdir(tmp_path) if p.startswith("backup.damaged-")]
    assert snapshot(tmp_path / aside) == before  # kept as it was, never deleted


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_cache_entry_is_recomputed(tmp_path, ctx, damage):
    folder = str(tmp_path / "features")
    cache = FeatureCache(ctx.models[0], cache_dir=folder)
    expected = cache.features(TEXTS)
    path = cache.path(cache.key(TEXTS))
    if damage == "truncated":
        truncate(path)
    else:
        with open(path, "wb") as f:
            f.write(os.urandom(os.path.getsize(path)))
    FeatureCache.clear_memory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = FeatureCache(ctx.models[0], cache_dir=folder).features(TEXTS)
    assert not [w for w in caught if "cache" in str(w.message)]  # quietly recomputed
    np.testing.assert_allclose(again, expected, atol=1e-6)
    with np.load(path) as stored:  # and replaced by a good entry
        np.testing.assert_allclose(stored["features"], expected, atol=1e-6)


# === A kill (SIGKILL) during an epoch and during the final save ===

SCRIPT = """
import json, os, signal, sys
import keras
import keras_transfer as kt
from keras_transfer.backup import TrainingBackup
from keras_transfer.reports import save_model
from tests.helpers import sentiment_texts, tiny_vectors

mode, folder = sys.argv[1], sys.argv[2]
texts, labels = sentiment_texts(32)
keras.utils.set_random_seed(0)
model = kt.EmbeddingClassifier.from_word_vectors(
    tiny_vectors(), max_length=8, hidden_units=(16,), dropout=(0.0,)
)
seen = []


class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        seen.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        if mode == "kill in epoch" and seen[-1] == 2 and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)


model.fit(
    texts, labels, epochs=4, batch_size=8, verbose=0, log_root=os.path.join(folder, "logs"),
    callbacks=[
        keras.callbacks.EarlyStopping(monitor="loss", patience=100),
        TrainingBackup(os.path.join(folder, "backup"), fingerprint="run"),
        Kill(),
    ],
)
print(json.dumps(seen), flush=True)
if mode == "kill in save":
    save = type(model).save

    def half_save(self, path, *args, **kwargs):
        save(self, path, *args, **kwargs)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        os.kill(os.getpid(), signal.SIGKILL)  # half written, never moved into place

    type(model).save = half_save
save_model(model, os.path.join(folder, "model.keras"))
"""


def test_sigkill_in_an_epoch_and_in_the_final_save(tmp_path, ctx):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    folder = tmp_path / "run"
    model_path = folder / "model.keras"
    save_model(ctx.models[1], str(model_path))  # the previous good model
    good = model_path.read_bytes()
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run(mode):
        return subprocess.run(
            [sys.executable, str(script), mode, str(folder)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
        )

    killed = run("kill in epoch")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    state = read_state(str(folder / "backup"))  # two whole epochs backed up, intact
    assert state["epoch"] == 2
    with open(folder / "backup" / state["weights"], "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == state["sha256"]
    assert model_path.read_bytes() == good

    resumed = run("kill in save")  # resumes at the third epoch, then dies saving
    assert resumed.returncode == -signal.SIGKILL, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1]) == [2, 3]
    assert model_path.read_bytes() == good  # the half-written file never replaced it
    kt.Predictor(str(model_path))
    leftovers = set(os.listdir(folder)) - {"model.keras", "logs"}
    assert all(name.startswith(".tmp-") for name in leftovers), leftovers

    done = run("complete")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [0, 1, 2, 3]
    assert model_path.read_bytes() != good and not (folder / "backup").exists()
    result = kt.Predictor(str(model_path)).predict("a great film")
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
