"""`python -m keras_transfer train`: a model for predict/serve, resumable after a kill."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.helpers import NEGATIVE, NEUTRAL, POSITIVE, sentiment_texts, tiny_backbone


def run_main(capsys, *args):
    from keras_transfer.__main__ import main

    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    import pandas as pd

    texts, labels = sentiment_texts(96, seed=4)
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    pd.DataFrame({"review": texts, "mood": np.where(labels, "pos", "neg")}).to_csv(path)
    return str(path)


@pytest.fixture(scope="module")
def dropout_free_preset(tmp_path_factory):
    """A tiny BERT with no dropout: an interrupted run can match an uninterrupted one."""
    import keras_hub

    keras.utils.set_random_seed(5)
    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    path = str(tmp_path_factory.mktemp("tiny_bert_no_dropout"))
    tiny_backbone(len(vocab), dropout=0.0).save_to_preset(path)
    keras_hub.models.BertTokenizer(vocabulary=vocab).save_to_preset(path)
    return path


def train_args(data_file, preset, out, *extra):
    return [
        "train",
        "--data", data_file,
        "--text-column", "review",
        "--label-column", "mood",
        "--preset", preset,
        "--max-length", "8",
        "--batch-size", "8",
        "--out", str(out),
        *extra,
    ]  # fmt: skip


def test_train_writes_a_model_that_predict_takes(tmp_path, capsys, data_file, tiny_preset):
    out = tmp_path / "models" / "lora.keras"
    code, stdout, stderr = run_main(
        capsys, *train_args(data_file, tiny_preset, out, "--strategy", "lora", "--epochs", "2")
    )
    assert code == 0, stderr[-3000:]
    assert out.exists() and not (tmp_path / "models" / "lora_run").exists()
    assert "python -m keras_transfer serve --model" in stdout
    code, stdout, _ = run_main(capsys, "predict", "--model", str(out), "good film")
    assert code == 0 and json.loads(stdout)["label"] in ("neg", "pos")
    # An existing model is not replaced without --overwrite.
    code, _, stderr = run_main(
        capsys, *train_args(data_file, tiny_preset, out, "--strategy", "lora")
    )
    assert code == 2 and "--overwrite" in stderr


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--strategy", "frozen", "--out", "model.txt"], "must name a .keras file"),
        (["--strategy", "frozen", "--epochs", "0"], "--epochs must be positive"),
        (["--strategy", "frozen", "--label-column", "nope"], "label_column='nope'"),
        (["--strategy", "last_n", "--max-length", "999"], "max_length"),
    ],
)
def test_train_bad_input(tmp_path, capsys, data_file, tiny_preset, extra, match):
    code, _, stderr = run_main(
        capsys, *train_args(data_file, tiny_preset, tmp_path / "m.keras"), *extra
    )
    assert code == 2 and match in stderr, stderr[-2000:]
    assert sorted(os.listdir(tmp_path)) == []  # nothing half-written


def test_killed_train_resumes_to_the_same_weights(tmp_path, data_file, dropout_free_preset):
    def command(out):
        args = train_args(data_file, dropout_free_preset, out)
        args += ["--strategy", "full", "--epochs", "3", "--dropout", "0"]
        return [sys.executable, "-m", "keras_transfer", *args]

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    reference = tmp_path / "reference.keras"
    # The uninterrupted reference runs alongside the killed and resumed run.
    done = subprocess.Popen(
        command(reference), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )

    resumed = tmp_path / "resumed.keras"
    process = subprocess.Popen(command(resumed), env=env, stdout=subprocess.PIPE, text=True)
    metadata = tmp_path / "resumed_run" / "backup" / "backup.json"
    deadline = time.time() + 240
    while not metadata.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # mid-epoch, after the first backup
    process.wait()
    assert process.returncode == -signal.SIGKILL and not resumed.exists()
    again = subprocess.run(command(resumed), env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.startswith("Resuming from epoch 1: full")
    _, stderr = done.communicate(timeout=300)
    assert done.returncode == 0, stderr[-3000:]

    a, b = keras.saving.load_model(reference), keras.saving.load_model(resumed)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(wa), keras.ops.convert_to_numpy(wb), atol=1e-5,
            err_msg=wa.path,
        )  # fmt: skip


def test_train_data_parallel(tmp_path, capsys, data_file, tiny_preset):
    """The switch on every backend: this process's devices (one CPU here; two-device runs
    are in distribution_test.py), or on torch a one-line error saying what to use."""
    out = tmp_path / "frozen.keras"
    args = train_args(data_file, tiny_preset, out, "--strategy", "frozen", "--epochs", "1")
    code, _, stderr = run_main(capsys, *args, "--data-parallel")
    if keras.backend.backend() == "torch":
        assert code == 2 and "KERAS_BACKEND=jax" in stderr and not out.exists()
    else:
        assert code == 0 and out.exists(), stderr[-3000:]


def test_train_zero_shot_saves_the_model_built_from_the_label_names(
    tmp_path, capsys, data_file, tiny_preset
):
    out = tmp_path / "zero_shot.keras"
    args = train_args(data_file, tiny_preset, out, "--strategy", "zero_shot")
    args.remove("--max-length")
    args.remove("8")  # the default: auto, fitted to the training texts
    code, stdout, stderr = run_main(capsys, *args)
    assert code == 0, stderr[-3000:]
    assert "nothing to train" in stdout and not (tmp_path / "zero_shot_run").exists()
    fitted = int(re.search(r"max_length auto: (\d+) tokens", stdout).group(1))
    model = keras.saving.load_model(out)
    assert model.label_names == ["neg", "pos"] and model.preprocessor.sequence_length == fitted


def test_train_refuses_a_backup_of_another_run_unless_restart(
    tmp_path, capsys, data_file, tiny_preset
):
    out = tmp_path / "frozen.keras"
    backup = tmp_path / "frozen_run" / "backup"
    backup.mkdir(parents=True)
    state = {"epoch": 1, "weights": "epoch-1.weights.h5", "sha256": "0", "fingerprint": "other"}
    (backup / "backup.json").write_text(json.dumps(state))
    (backup / "epoch-1.weights.h5").write_bytes(b"weights of another run")
    args = train_args(data_file, tiny_preset, out, "--strategy", "frozen", "--epochs", "1")
    code, stdout, stderr = run_main(capsys, *args)
    assert code == 2 and "other data or arguments" in stderr and "--restart" in stderr
    assert (backup / "backup.json").exists() and not out.exists()
    code, stdout, stderr = run_main(capsys, *args, "--restart")
    assert code == 0, stderr[-3000:]
    assert stdout.startswith("Training frozen") and out.exists()
    assert not (tmp_path / "frozen_run").exists()


def test_train_reports_a_full_disk_in_one_line(
    tmp_path, capsys, data_file, tiny_preset, monkeypatch
):
    import errno

    from keras_transfer import atomic

    class Usage:
        free = 1000

    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda path: Usage)
    out = tmp_path / "frozen.keras"
    args = train_args(data_file, tiny_preset, out, "--strategy", "frozen", "--epochs", "1")
    code, _, stderr = run_main(capsys, *args)
    assert code == 1 and f"[Errno {errno.ENOSPC}]" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: Not enough disk space")
    assert not out.exists()
