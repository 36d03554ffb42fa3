import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test runs in its own folder, on the local platform, with fixed seeds."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "KERAS_TRANSFER_PLATFORM",
        "KAGGLE_KERNEL_RUN_TYPE",
        "COLAB_RELEASE_TAG",
        "COLAB_GPU",
    ):
        monkeypatch.delenv(var, raising=False)
    import keras

    keras.utils.set_random_seed(1234)
    yield
