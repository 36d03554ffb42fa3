import atexit
import os
import shutil
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One cache folder for the session, read when `keras_transfer` is imported: on
# JAX it keeps compiled programs, so the many tiny models of the suite that
# share an architecture compile once. Each test still gets its own feature
# cache (`_isolated`).
_SESSION_CACHE = tempfile.mkdtemp(prefix="keras_transfer_test_cache_")
os.environ["KERAS_TRANSFER_CACHE"] = _SESSION_CACHE
atexit.register(shutil.rmtree, _SESSION_CACHE, ignore_errors=True)
# The same programs for the processes a test starts (a CLI run, a reload in a fresh
# process), which get a test's own feature cache: JAX reads these at start-up.
os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(_SESSION_CACHE, "jax")
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
# XLA compiles the tiny models' steps at optimisation level 0 and with its older loop
# emitters instead of the fusion emitters: they run in milliseconds either way, and
# compiling them is most of the JAX suite's time (2-3x less at level 0; then half the
# compile time again without the fusion emitters: a tiny BERT's train step 1.4 -> 0.7 s).
# TensorFlow (no XLA on a CPU) and PyTorch are unaffected.
os.environ["XLA_FLAGS"] = " ".join(
    [
        os.environ.get("XLA_FLAGS", ""),
        "--xla_backend_optimization_level=0",
        "--xla_cpu_use_fusion_emitters=false",
    ]
).strip()


def pytest_configure(config):
    # The same for TensorFlow: its graph optimiser (Grappler) rewrites every traced step
    # before the first call, which costs more than the tiny models' few steps (a 2-step
    # fit: 7 s -> 4 s). The steps compute the same values without the rewrites.
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test (and doctest) runs in its own folder, on the local platform, with fixed seeds
    and an empty feature cache."""
    monkeypatch.chdir(tmp_path)
    for var in (
        "KERAS_TRANSFER_PLATFORM",
        "KAGGLE_KERNEL_RUN_TYPE",
        "COLAB_RELEASE_TAG",
        "COLAB_GPU",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KERAS_TRANSFER_CACHE", str(tmp_path / "cache"))
    import keras

    from keras_transfer.feature_cache import FeatureCache

    FeatureCache.clear_memory()
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory):
    """A randomly initialised 2-block, hidden-32 BERT saved as a local keras-hub preset."""
    import keras
    import keras_hub

    from tests.helpers import NEGATIVE, NEUTRAL, POSITIVE, tiny_backbone

    keras.utils.set_random_seed(7)
    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    vocab += [f"tok{i}" for i in range(300 - len(vocab))]
    backbone = tiny_backbone(len(vocab))
    path = str(tmp_path_factory.mktemp("tiny_bert"))
    backbone.save_to_preset(path)
    keras_hub.models.BertTokenizer(vocabulary=vocab).save_to_preset(path)
    return path


# Docstring examples that load the bundled pretrained encoder (22 M weights):
# they run with the `large` tests (`pytest -m large`), not in the default suite.
REAL_MODEL_DOCTESTS = (
    "keras_transfer.models.transformer_classifier.TransformerClassifier",
    "keras_transfer.models.zero_shot_classifier.ZeroShotClassifier",
    "keras_transfer.models.multi_task_classifier.MultiTaskClassifier",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in REAL_MODEL_DOCTESTS:
            item.add_marker(pytest.mark.large)
