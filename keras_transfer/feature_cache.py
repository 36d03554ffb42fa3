"""Frozen-feature caching: run a frozen encoder once, train the head on its output.

When nothing below a model's head can train (the frozen embedding classifier,
`TransformerClassifier(strategy="frozen")`), every epoch of a plain `fit`
recomputes the same pooled vectors. `FeatureCache` computes them once per set
of texts, in inference mode, and keeps them in memory and on disk, keyed by
everything they depend on: the model class and architecture, the frozen
weights, the preprocessor (with its vocabulary and `max_length`) and the texts.
A changed weight, vocabulary, length or text gives a new key, never a stale hit.

The disk cache lives in `$KERAS_TRANSFER_CACHE/features` (default
`~/.cache/keras_transfer/features`), one `.npz` file per key holding the
features and their SHA-256 (a file that does not match, or cannot be read at
all, such as one cut short, is recomputed and replaced, never trusted). Entries
are written atomically. It holds at most `$KERAS_TRANSFER_CACHE_MAX_MB` megabytes (default
2048); the least recently used entries go first. A cache folder that cannot be
written (read-only, full disk) is not an error: the features stay in memory and
one warning says so. Delete the folder to clear it. `TransferModel.fit` uses
this class; users turn it off with `fit(..., cache_features=False)`.
"""

import collections
import hashlib
import json
import os
import warnings
import zipfile

import keras
import numpy as np

from keras_transfer import _keras_compat as compat
from keras_transfer import data
from keras_transfer.atomic import write_file
from keras_transfer.length_buckets import predict_by_length

# In-memory cache shared by all models of the process, newest last.
_MEMORY = collections.OrderedDict()
_MEMORY_LIMIT_BYTES = 1 << 30
CACHE_MODES = (True, False, "memory")
DEFAULT_DISK_LIMIT_MB = 2048
ENCODING = "encoding texts (frozen features)"
_WARNED_FOLDERS = set()


def disk_limit_bytes():
    """`$KERAS_TRANSFER_CACHE_MAX_MB` (default 2048) in bytes."""
    value = os.environ.get("KERAS_TRANSFER_CACHE_MAX_MB", str(DEFAULT_DISK_LIMIT_MB))
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = -1
    if not megabytes >= 0:
        raise ValueError(
            "KERAS_TRANSFER_CACHE_MAX_MB must be a number of megabytes >= 0. "
            f"Received: KERAS_TRANSFER_CACHE_MAX_MB={value!r}"
        )
    return int(megabytes * (1 << 20))


def default_cache_dir():
    """`$KERAS_TRANSFER_CACHE/features`, or `~/.cache/keras_transfer/features`."""
    from keras_transfer.platform import cache_root

    return os.path.join(cache_root(), "features")


def check_cache_mode(cache_features):
    if not any(cache_features is mode or cache_features == mode for mode in CACHE_MODES):
        raise ValueError(
            "`cache_features` must be True (memory and disk), 'memory' or False. "
            f"Received: cache_features={cache_features!r}"
        )


def _strip_names(config):
    """A layer config without the fields that do not change its output."""
    if isinstance(config, dict):
        return {
            k: _strip_names(v)
            for k, v in config.items()
            if k not in ("name", "trainable", "build_config", "compile_config")
        }
    if isinstance(config, (list, tuple)):
        return [_strip_names(v) for v in config]
    return config


def _vocabulary(preprocessor):
    tokenizer = getattr(preprocessor, "tokenizer", preprocessor)
    if hasattr(tokenizer, "get_vocabulary"):
        return [str(word) for word in tokenizer.get_vocabulary()]
    return None


def _sha256(features):
    return hashlib.sha256(np.ascontiguousarray(features).tobytes()).hexdigest()


def preprocessed_texts(model, texts, batch_size):
    """`texts` through `model.preprocess_samples` (in a `tf.data` pipeline) as
    numpy arrays, with their lengths in tokens (None without a `padding_mask`)
    and the bucket lengths to cut batches to (`data.bucket_lengths`)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(np.asarray([str(t) for t in texts], dtype=str))
    ds = ds.batch(batch_size).map(model.preprocess_samples, num_parallel_calls=tf.data.AUTOTUNE)
    batches = list(ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator())
    inputs = keras.tree.map_structure(lambda *parts: np.concatenate(parts), *batches)
    if not isinstance(inputs, dict) or "padding_mask" not in inputs:
        return inputs, None, None
    mask = inputs["padding_mask"]
    return inputs, mask.sum(axis=1), data.bucket_lengths(mask.shape[1])


class FeatureCache:
    """Pooled features of a model's frozen part, computed once per set of texts.

    Args:
        model: a `keras_transfer.TransferModel` whose layers below the head
            have no trainable weights.
        disk: also keep the features on disk (default True).
        cache_dir: folder of the disk cache (default `default_cache_dir()`).
        batch_size: texts per forward pass when computing features.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.EmbeddingClassifier.from_word_vectors(num_classes=2, max_length=16)
    >>> cache = kt.FeatureCache(model, disk=False)
    >>> cache.features(["a great film", "an awful film"]).shape
    (2, 50)
    """

    def __init__(self, model, disk=True, cache_dir=None, batch_size=64):
        if not callable(getattr(model, "feature_model", None)):
            raise ValueError(
                "`model` must be a keras_transfer model (with `feature_model()`). "
                f"Received: model of type {type(model).__name__}"
            )
        from keras_transfer.checks import check_int

        check_int("batch_size", batch_size)
        self._extractor = model.feature_model()
        if self._extractor.trainable_weights:
            raise ValueError(
                "FeatureCache needs a model whose layers below the head do not train "
                "(e.g. strategy='frozen'). Received: a model with "
                f"{len(self._extractor.trainable_weights)} trainable weights below its head"
            )
        self.model = model
        self.disk = bool(disk)
        self.cache_dir = cache_dir or default_cache_dir()
        self.batch_size = batch_size
        self._model_digest = None

    def model_digest(self):
        """Hash of the model class, architecture, frozen weights, preprocessor
        and truncation (with its windows per text for `"chunks"`)."""
        if self._model_digest is None:
            h = hashlib.sha256(type(self.model).__name__.encode())
            layers = [_strip_names(layer.get_config()) for layer in self._extractor.layers]
            preprocessor = self.model.preprocessor
            parts = {
                "layers": layers,
                "preprocessor": _strip_names(preprocessor.get_config()),
                "vocabulary": _vocabulary(preprocessor),
                "truncation": getattr(self.model, "truncation", "head"),
            }
            if getattr(self.model, "max_chunks", None) is not None:
                parts["max_chunks"] = self.model.max_chunks
            h.update(json.dumps(parts, sort_keys=True, default=str).encode())
            for weight in self._extractor.weights:
                value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
                h.update(f"{value.dtype}{value.shape}".encode())
                h.update(value.tobytes())
            self._model_digest = h.hexdigest()
        return self._model_digest

    def key(self, texts):
        """The cache key of these texts under this model."""
        h = hashlib.sha256(self.model_digest().encode())
        for text in texts:
            encoded = str(text).encode("utf-8")
            h.update(len(encoded).to_bytes(8, "little"))
            h.update(encoded)
        return h.hexdigest()[:40]

    def path(self, key):
        return os.path.join(self.cache_dir, f"{key}.npz")

    def features(self, texts):
        """The features of `texts` (a list or array of strings), as float32 numpy."""
        texts = [str(t) for t in texts]
        key = self.key(texts)
        if key in _MEMORY:
            _MEMORY.move_to_end(key)
            features = _MEMORY[key]
            if self.disk and not os.path.exists(self.path(key)):
                self._save(key, features)
            return features
        features = self._load(key, len(texts)) if self.disk else None
        if features is None:
            features = self.compute(texts)
            if self.disk:
                self._save(key, features)
        self._remember(key, features)
        return features

    def compute(self, texts):
        """Run the preprocessor and the frozen layers on `texts` (no cache),
        in order of length (`keras_transfer.length_buckets.predict_by_length`)."""
        if self.model.tokenizes_texts:
            inputs = self.model.tokenize(texts)
            lengths = inputs.pop("lengths")
            buckets = data.bucket_lengths(self.model.preprocessor.sequence_length)
        else:
            inputs, lengths, buckets = preprocessed_texts(self.model, texts, self.batch_size)
        return predict_by_length(
            self._extractor.predict_on_batch, inputs, lengths, self.batch_size, buckets, ENCODING
        )

    def _load(self, key, count):
        path = self.path(key)
        if not os.path.exists(path):
            return None
        try:
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as stored:
                features, digest = stored["features"], str(stored["sha256"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None  # a truncated or foreign file: recompute and overwrite
        if digest != _sha256(features) or len(features) != count:
            return None  # corrupt: recompute, never trust it
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
        return features

    def _save(self, key, features):
        try:
            write_file(
                self.path(key),
                lambda tmp: np.savez(tmp, features=features, sha256=np.array(_sha256(features))),
            )
            self._evict(keep=self.path(key))
        except OSError as e:
            self.disk = False
            if self.cache_dir not in _WARNED_FOLDERS:
                _WARNED_FOLDERS.add(self.cache_dir)
                warnings.warn(
                    f"The feature cache folder {self.cache_dir!r} cannot be written "
                    f"({e.strerror or e}); features are kept in memory only. Set "
                    "KERAS_TRANSFER_CACHE to a writable folder to keep them between runs.",
                    stacklevel=2,
                )

    def _evict(self, keep):
        """Delete the least recently used entries beyond the disk limit."""
        limit = disk_limit_bytes()
        entries = []
        for name in os.listdir(self.cache_dir):
            path = os.path.join(self.cache_dir, name)
            if name.endswith(".npz") and os.path.isfile(path):
                stat = os.stat(path)
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= limit:
                break
            if path != keep:
                os.remove(path)
                total -= size

    @staticmethod
    def _remember(key, features):
        _MEMORY[key] = features
        while len(_MEMORY) > 1 and sum(f.nbytes for f in _MEMORY.values()) > _MEMORY_LIMIT_BYTES:
            _MEMORY.popitem(last=False)

    @staticmethod
    def clear_memory():
        """Forget the in-memory features of every model (the disk cache stays)."""
        _MEMORY.clear()


def fit_head(model, features, y, callbacks, validation_data, seed, lengths=None, **kwargs):
    """Train `model.head_model()` on precomputed `features` (and
    `validation_data` as `(features, labels)`), reshuffled each epoch from
    `seed` (rows of similar `lengths` batched together, as
    `data.batched_dataset` does), as a fit of `model` itself: the fast path
    of `TransferModel.fit` (see the module docstring).

    The head's functional view trains with the model's own optimizer and
    compile arguments; the callbacks (the mandatory ones included) see
    `model` itself, so TensorBoard, EarlyStopping's `restore_best_weights`,
    `model.history` and BackupAndRestore behave as in a plain fit. Returns
    the History."""
    from keras_transfer.distribution import replicas

    batch_size = kwargs.pop("batch_size", None) or 32
    sample_weight = kwargs.pop("sample_weight", None)
    # tf.data on every backend, as keras-hub feeds the plain path (Keras'
    # array adapter would draw from torch's RNG and change dropout there).
    epoch, counter = data.epoch_counter()
    train = data.batched_dataset(
        features,
        y,
        sample_weight,
        batch_size,
        seed=seed if kwargs.get("shuffle", True) else None,
        epoch=epoch,
        multiple_of=replicas(),
        lengths=lengths,
    )
    callbacks = [counter, *callbacks]
    kwargs["shuffle"] = False  # the dataset reshuffles itself
    if validation_data is not None:
        validation_data = data.batched_dataset(
            *validation_data,
            batch_size=kwargs.pop("validation_batch_size", None) or batch_size,
            multiple_of=replicas(),
        )
    steps = kwargs.get("steps_per_epoch") or -(-len(features) // batch_size)
    head = model.head_model()
    config = compat.compile_arguments(model)
    config["optimizer"] = model.optimizer
    for key in ("metrics", "weighted_metrics"):
        config[key] = _clone_metrics(config.get(key))
    head.compile(**config)
    verbose = kwargs.get("verbose", "auto")
    # The callbacks see this model (its weights, optimizer, graph and
    # `stop_training`), while the head's train step does the work.
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, _StopTrainingRelay(head)],
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=kwargs.get("epochs", 1),
        steps=steps,
        model=model,
    )
    model.stop_training = False
    head.history = None  # Keras returns it; the History callback fills `model.history`
    head.fit(train, callbacks=callback_list, validation_data=validation_data, **kwargs)
    return model.history


def _clone_metrics(metrics):
    """Fresh copies of compiled metric objects (strings pass through)."""
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, keras.metrics.Metric):
        return metrics.__class__.from_config(metrics.get_config())
    if isinstance(metrics, dict):
        return {k: _clone_metrics(v) for k, v in metrics.items()}
    return [_clone_metrics(m) for m in metrics]


class _StopTrainingRelay(keras.callbacks.Callback):
    """Passes the loop controls that callbacks set on the model they see
    (`stop_training`: EarlyStopping, TerminateOnNaN; the resume epoch:
    BackupAndRestore) to the head model whose loop runs. It comes last, after
    the callbacks that set them."""

    def __init__(self, head):
        super().__init__()
        self._head = head

    def on_train_begin(self, logs=None):
        compat.set_resume_epoch(self._head, compat.resume_epoch(self.model))
        compat.set_resume_epoch(self.model, None)

    def _relay(self, *args, **kwargs):
        if self.model.stop_training:
            self._head.stop_training = True

    on_epoch_end = on_train_batch_end = _relay
