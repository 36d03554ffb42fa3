"""Compiled programs kept between fits, models and runs (JAX's persistent cache).

On the JAX backend every new model compiles its train, test and predict steps
with XLA, and on a CPU that compilation costs seconds per step function: more
than the training itself for a small data set. The programs of two models with
the same architecture and batch shapes are the same, so the toolkit turns on
JAX's persistent compilation cache: the second fit of a strategy (another seed,
the next strategy with the same graph, the next run of the same command)
loads its programs instead of compiling them. Outputs are unchanged: the cache
holds the very programs XLA would build.

The cache lives in `$KERAS_TRANSFER_CACHE/jax` (default
`~/.cache/keras_transfer/jax`) and holds at most 1 GiB (least recently used
programs go first). It is left alone when the user configured JAX's cache
(`JAX_COMPILATION_CACHE_DIR` or `jax.config`), and off with
`KERAS_TRANSFER_COMPILATION_CACHE=0`. Other backends are untouched.
"""

import importlib.util
import os

CACHE_ENV = "KERAS_TRANSFER_COMPILATION_CACHE"
MAX_BYTES = 1 << 30


def enable_compilation_cache(backend=None):
    """Turn on JAX's persistent compilation cache under the toolkit's cache folder.

    Returns the folder in use, or None where nothing was changed (another
    backend, the user's own JAX cache, `KERAS_TRANSFER_COMPILATION_CACHE=0`, or
    a folder that cannot be created).

    Example:
    >>> from keras_transfer.compilation_cache import enable_compilation_cache
    >>> enable_compilation_cache(backend="torch") is None
    True
    """
    import keras

    backend = backend or keras.backend.backend()
    if backend != "jax":
        return None
    value = os.environ.get(CACHE_ENV, "1").strip().lower()
    if value in ("0", "false", "off", "no"):
        return None
    import jax

    if jax.config.jax_compilation_cache_dir:
        return None
    from keras_transfer.platform import cache_root

    folder = os.path.join(cache_root(), "jax")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    # A small model's step compiles in well under JAX's default threshold of
    # one second, and is still worth keeping: it is paid at every new model.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if importlib.util.find_spec("filelock") is not None:  # JAX's eviction needs it
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return folder
