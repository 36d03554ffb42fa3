"""JAX's persistent compilation cache: on under the toolkit's cache folder,
left alone where the user chose otherwise."""

import os

import jax
import pytest

from keras_transfer.compilation_cache import enable_compilation_cache


@pytest.fixture
def jax_config():
    names = (
        "jax_compilation_cache_dir",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_compilation_cache_max_size",
    )
    saved = {name: getattr(jax.config, name) for name in names}
    jax.config.update("jax_compilation_cache_dir", None)
    yield
    for name, value in saved.items():
        jax.config.update(name, value)


def test_on_for_jax_under_the_cache_root(tmp_path, monkeypatch, jax_config):
    monkeypatch.setenv("KERAS_TRANSFER_CACHE", str(tmp_path))
    folder = enable_compilation_cache(backend="jax")
    assert folder == os.path.join(str(tmp_path), "jax") and os.path.isdir(folder)
    assert jax.config.jax_compilation_cache_dir == folder
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0


@pytest.mark.parametrize("backend", ["tensorflow", "torch"])
def test_other_backends_are_untouched(tmp_path, monkeypatch, jax_config, backend):
    monkeypatch.setenv("KERAS_TRANSFER_CACHE", str(tmp_path))
    assert enable_compilation_cache(backend=backend) is None
    assert jax.config.jax_compilation_cache_dir is None


def test_the_users_own_cache_and_the_switch_win(tmp_path, monkeypatch, jax_config):
    monkeypatch.setenv("KERAS_TRANSFER_CACHE", str(tmp_path))
    monkeypatch.setenv("KERAS_TRANSFER_COMPILATION_CACHE", "0")
    assert enable_compilation_cache(backend="jax") is None
    monkeypatch.delenv("KERAS_TRANSFER_COMPILATION_CACHE")
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
    assert enable_compilation_cache(backend="jax") is None
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "mine")
