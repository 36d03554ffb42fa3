import os
import re

import pytest

import keras_transfer as kt
from keras_transfer import platform


def test_local_by_default():
    assert kt.detect_platform() == "local"


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, "kaggle"),
        ({"COLAB_RELEASE_TAG": "release-colab"}, "colab"),
        ({"KERAS_TRANSFER_PLATFORM": "Kaggle"}, "kaggle"),
        ({"KERAS_TRANSFER_PLATFORM": "local", "COLAB_RELEASE_TAG": "x"}, "local"),
    ],
)
def test_detection_from_environment(monkeypatch, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert kt.detect_platform() == expected


def test_unknown_override_is_rejected(monkeypatch):
    monkeypatch.setenv("KERAS_TRANSFER_PLATFORM", "sagemaker")
    with pytest.raises(ValueError, match="KERAS_TRANSFER_PLATFORM='sagemaker'"):
        kt.detect_platform()


@pytest.mark.parametrize(
    "name, root",
    [("colab", "/content/tensorflow_logs"), ("kaggle", "./tensorflow_logs")],
)
def test_platform_roots(name, root):
    assert platform.log_root(name) == root


def test_local_log_dir_under_cwd(tmp_path):
    path = kt.log_dir("imdb_full_ft")
    assert os.path.isdir(path)
    assert os.path.dirname(path) == os.path.join(str(tmp_path), "tensorflow_logs")
    assert re.fullmatch(r"imdb_full_ft_\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}", os.path.basename(path))


def test_kaggle_log_dir_is_relative(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_TRANSFER_PLATFORM", "kaggle")
    path = kt.log_dir("exp")
    assert path.startswith("./tensorflow_logs/exp_")
    assert os.path.isdir(tmp_path / path)


def test_same_second_runs_get_distinct_folders(tmp_path):
    paths = [kt.log_dir("same", root=tmp_path) for _ in range(5)]
    assert len(set(paths)) == 5
    assert all(os.path.isdir(p) for p in paths)


@pytest.mark.parametrize("name", ["", "   ", "a/b", "..", " padded", None, 3])
def test_invalid_experiment_names(name):
    with pytest.raises(ValueError, match="experiment"):
        kt.log_dir(name)


def test_unwritable_root(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="root="):
        kt.log_dir("exp", root=blocker / "logs")
