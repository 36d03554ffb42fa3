"""TransferModel: a keras-hub Task whose every `fit` carries the mandatory callbacks."""

import keras
import keras_hub

from keras_transfer import _keras_compat as compat
from keras_transfer import data
from keras_transfer.callbacks import monitor_for, with_mandatory_callbacks
from keras_transfer.checks import check_int
from keras_transfer.distribution import replicas
from keras_transfer.families.tokenization import HF_TOKENIZER_ATTRIBUTE, attach_hf_tokenizer
from keras_transfer.feature_cache import check_cache_mode
from keras_transfer.length_buckets import (
    bucketed_dataset,
    cut_to_bucket,
    in_input_order,
    take_rows,
)
from keras_transfer.models.fit_steps import FitSteps, is_dataset
from keras_transfer.presets import (
    default_max_length,
    load_backbone_and_preprocessor,
    preset_pooling,
)
from keras_transfer.schedules import attach_plateau_schedule


@keras.saving.register_keras_serializable(package="keras_transfer")
class TransferModel(FitSteps, keras_hub.models.Task):
    """Base class of the toolkit's models.

    A `keras_hub.models.Task`: raw strings go through `model.preprocessor`
    inside the `tf.data` pipeline, on every backend; models with
    `tokenizes_texts` (the transformer classifiers) tokenize them once, before
    the pipeline, with `keras_transfer.FastTokenizer`, and cut each batch to the
    smallest of 16/32/64/.../`max_length` tokens that holds it (`text_dataset`).
    On top of that:

    - `fit()` always attaches the mandatory callbacks (TensorBoard,
      EarlyStopping, ReduceLROnPlateau; see `keras_transfer.training_callbacks`)
      writing to a fresh folder under the platform's log root. A callback of one
      of those kinds passed by the user replaces that default; the others stay.
      Without validation data the defaults monitor `loss` instead of `val_loss`.
    - `compile()` makes any learning-rate schedule scalable by plateau
      reduction (`keras_transfer.PlateauSchedule`).
    - `label_names` (optional, saved with the model) name the class ids, so a
      reloaded model predicts labels, not just ids (see `keras_transfer.Predictor`).
    - Raw-text inputs are checked before training (empty, non-string, length
      mismatch with the labels) with a `ValueError` that says what was received.
    """

    # Where `save` keeps the Hugging Face tokenizer the model tokenizes with.
    HF_TOKENIZER_FILE = "hf_tokenizer.json"
    # Constructor arguments that are layers, beyond the `backbone` and
    # `preprocessor` that keras-hub's `Task.from_config` deserializes.
    layer_arguments = ()

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.layer_arguments:
            if isinstance(config.get(key), dict):
                config[key] = keras.layers.deserialize(config[key])
        return super().from_config(config)

    @staticmethod
    def check_num_classes(num_classes):
        check_int("num_classes", num_classes, minimum=2)

    @staticmethod
    def check_label_names(label_names, num_classes):
        """Validate optional class names: `num_classes` distinct strings, or None."""
        if label_names is None:
            return None
        names = [str(n) for n in label_names] if not isinstance(label_names, str) else None
        if (
            names is None
            or len(names) != num_classes
            or len(set(names)) != num_classes
            or not all(n.strip() for n in names)
        ):
            raise ValueError(
                f"`label_names` must be {num_classes} distinct, non-blank names, one per class id. "
                f"Received: label_names={label_names!r}"
            )
        return names

    # True where the preprocessor is a keras-hub text preprocessor: raw texts
    # are then tokenized once, before the pipeline (`FastTokenizer`), and each
    # batch is cut to the smallest length bucket that holds its longest text.
    tokenizes_texts = False

    # What a text longer than `max_length` keeps (see `FastTokenizer`);
    # models that take it as an argument save it in their config, with
    # `max_chunks` (windows per text) for `"chunks"`.
    truncation = "head"
    max_chunks = None

    # False where `fit` trains with an optimizer of its own (or not at all):
    # the compiled one then stays unbuilt, saved and reloaded as such.
    fit_uses_optimizer = True

    # === Presets ===

    # The shortest `max_length` `from_preset` takes.
    min_max_length = 2
    # True where `from_preset`'s `pooling="auto"` (its default) reads the
    # preset's pooling (`keras_transfer.presets.preset_pooling`).
    auto_pooling = False

    @classmethod
    def from_preset(cls, preset=None, *, max_length=None, **kwargs):
        """Build the model on a pretrained encoder, as keras-hub's
        `Task.from_preset`: the backbone and its preprocessor are loaded for
        `preset`, then the class is built with them and `kwargs`.

        Args:
            preset: None for the bundled all-MiniLM-L6-v2; a local keras-hub
                preset folder; a local Hugging Face folder (config.json, vocab,
                model.safetensors); or a keras-hub preset name / `hf://` handle
                (downloads; needs internet). Its tokenizer may be WordPiece,
                byte-level BPE or SentencePiece.
            max_length: tokens per text, special tokens included, at most the
                model's position limit (default 128, or the limit when it is
                lower; 64 is plenty for short texts).
            **kwargs: the arguments of the class (`num_classes`, `strategy`,
                `label_names`, `name`, ...). `strategy="scratch"` builds the
                same architecture and tokenizer with random weights. Where the
                class pools, `pooling="auto"` (default) is the mean for a
                sentence-transformers folder whose pooling config says mean
                (as all-MiniLM-L6-v2's does), else the [CLS] vector.

        Example:
        >>> import keras_transfer as kt
        >>> model = kt.TransformerClassifier.from_preset(None, num_classes=3, max_length=32)
        >>> model.num_classes, model.preprocessor.sequence_length
        (3, 32)
        """
        check_int("max_length", max_length, minimum=cls.min_max_length, allow_none=True)
        cls._check_preset_arguments(kwargs)
        if max_length is None:
            max_length = default_max_length(preset)
        backbone, preprocessor = load_backbone_and_preprocessor(
            preset, sequence_length=max_length, load_weights=kwargs.get("strategy") != "scratch"
        )
        if cls.auto_pooling and kwargs.get("pooling", "auto") == "auto":
            kwargs["pooling"] = preset_pooling(preset)
        preprocessor = cls._preset_preprocessor(preprocessor, max_length)
        return cls(backbone=backbone, preprocessor=preprocessor, **kwargs)

    @classmethod
    def _check_preset_arguments(cls, kwargs):
        """Checks `from_preset` makes before loading anything (none here)."""

    @classmethod
    def _preset_preprocessor(cls, preprocessor, max_length):
        """The model's preprocessor, from the preset's text preprocessor."""
        return preprocessor

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if kwargs.get("jit_compile", "auto") == "auto":
            # Saved as asked, not as resolved here: "auto" is XLA on JAX but no
            # `torch.compile` on PyTorch, where a saved True would reload compiled.
            self._compile_config.config["jit_compile"] = "auto"
        attach_plateau_schedule(self.optimizer)
        compat.clip_after_all_reduce(self.optimizer)

    def compile_from_config(self, config):
        # Subclasses override `compile()` for their defaults; replay the saved
        # arguments through it so a reloaded model is compiled as it was saved,
        # optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built and self.fit_uses_optimizer:
            self.optimizer.build(self.trainable_variables)

    def fit(
        self,
        x=None,
        y=None,
        *,
        callbacks=None,
        validation_data=None,
        validation_split=None,
        experiment=None,
        log_root=None,
        cache_features=True,
        class_weight=None,
        **kwargs,
    ):
        """`keras.Model.fit`, plus the mandatory callbacks and frozen-feature caching.

        Its steps are methods of `keras_transfer.models.fit_steps.FitSteps`; a
        model whose raw examples are not texts overrides those that differ
        (the token classifier's word lists and tags, for one).

        Args:
            experiment: name of the run's log folder prefix (default: the
                model's name); the folder is `<log_root>/<experiment>_<time>`.
            log_root: folder under which run folders go (default: per platform,
                `<cwd>/tensorflow_logs` locally).
            cache_features: when nothing below the head trains (a frozen
                embedding classifier, `strategy="frozen"`) and `x` is raw
                texts, the frozen layers run once per text, in inference mode,
                and the head trains on their pooled output (see
                `keras_transfer.FeatureCache`): same head, same data order, same
                callbacks, epochs in milliseconds. `True` (default) keeps the
                features in memory and on disk, `"memory"` in memory only,
                `False` runs the whole model at every step.
            class_weight: `"balanced"` weighs each class by
                `n / (num_classes * n_c)` (scikit-learn's rule), so a rare
                class counts as much as a frequent one; or a
                `{class_id: weight}` dict, as in Keras. Applied as per-example
                weights (times any `sample_weight`), so the loss is
                `sum(w_i * loss_i) / batch_size`. Validation is unweighted.
            **kwargs: the other arguments of `keras.Model.fit`.
        """
        check_cache_mode(cache_features)
        _check_batching(kwargs, "epochs", "batch_size", "validation_batch_size")
        examples = self._is_examples(x)
        x, y = self._check_fit_inputs(x, y, examples, kwargs)
        validation_data = self._check_validation_data(validation_data, examples)
        self._add_class_weight(x, y, class_weight, examples, kwargs)
        if examples and validation_split and validation_data is None:
            (x, y), validation_data = self._split_validation(x, y, validation_split, kwargs)
            validation_split = None
        monitor = monitor_for(validation_data, validation_split)
        callbacks = self.mandatory_callbacks(callbacks, experiment, log_root, monitor)
        if examples and cache_features and self._caches_features(validation_data, callbacks):
            disk = cache_features is True
            return self._fit_on_features(x, y, callbacks, validation_data, disk, kwargs)
        if examples:
            x, validation_data, callbacks = self._fit_datasets(
                x, y, validation_data, callbacks, kwargs
            )
            y = None
        self._build_optimizer()
        return super().fit(
            x,
            y,
            callbacks=callbacks,
            validation_data=validation_data,
            validation_split=validation_split,
            **kwargs,
        )

    def _build_optimizer(self):
        """Create the optimizer's variables eagerly, before `fit` traces its step.

        On TensorFlow, Keras creates them while tracing the train step, where
        each variable costs tens of milliseconds: seconds for a transformer, at
        every new model. The other backends build them eagerly already."""
        optimizer = getattr(self, "optimizer", None)
        if (
            keras.backend.backend() != "tensorflow"
            or optimizer is None
            or optimizer.built
            or not self.built
            or not self.fit_uses_optimizer
        ):
            return
        with self.distribute_strategy.scope():
            optimizer.build(self.trainable_variables)

    def mandatory_callbacks(self, callbacks, experiment, log_root, monitor):
        """`callbacks` plus the mandatory ones, logging to `<log_root>/<experiment>_<time>`
        (default experiment: the model's name), monitoring `monitor`."""
        return with_mandatory_callbacks(
            callbacks,
            experiment if experiment is not None else self.name,
            root=log_root,
            monitor=monitor,
        )

    def tokenize(self, texts):
        """`texts` as token arrays (numpy, padded to the model's `max_length`,
        plus `lengths`), from the model's `keras_transfer.FastTokenizer`."""
        from keras_transfer.fast_tokenizer import FastTokenizer

        tokenizer = getattr(self.preprocessor, "tokenizer", None)
        key = (
            id(self.preprocessor),
            self.preprocessor.sequence_length,
            getattr(tokenizer, "lowercase", None),
            getattr(tokenizer, "strip_accents", None),
            id(getattr(tokenizer, HF_TOKENIZER_ATTRIBUTE, None)),
            self.truncation,
            self.max_chunks,
        )
        cached = self.__dict__.get("_fast_tokenizer")
        if cached is None or cached[0] != key:
            tokenizer = FastTokenizer(self.preprocessor, self.truncation, self.max_chunks)
            cached = (key, tokenizer)
            self.__dict__["_fast_tokenizer"] = cached  # a helper, not a tracked attribute
        return cached[1](texts)

    def save_assets(self, dir_path):
        """Save the Hugging Face `tokenizer.json` the model tokenizes with, if any."""
        import os

        tokenizer = getattr(getattr(self, "preprocessor", None), "tokenizer", None)
        text = getattr(tokenizer, HF_TOKENIZER_ATTRIBUTE, None)
        if text:
            with open(os.path.join(dir_path, self.HF_TOKENIZER_FILE), "w", encoding="utf-8") as f:
                f.write(text)

    def load_assets(self, dir_path):
        import os

        path = os.path.join(dir_path, self.HF_TOKENIZER_FILE)
        tokenizer = getattr(getattr(self, "preprocessor", None), "tokenizer", None)
        if tokenizer is not None and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                attach_hf_tokenizer(tokenizer, f.read())

    def _examples_dataset(self, x, y, sample_weight=None, batch_size=32, seed=None, epoch=None):
        """How the model turns raw examples into `fit`'s batches: tokenized and
        length-bucketed (`text_dataset`) where the model `tokenizes_texts`,
        else raw strings for the preprocessor inside the pipeline."""
        if self.tokenizes_texts:
            return self.text_dataset(x, y, sample_weight, batch_size, seed=seed, epoch=epoch)[0]
        return data.batched_dataset(
            x, y, sample_weight, batch_size, seed=seed, epoch=epoch, multiple_of=replicas()
        )

    def text_dataset(
        self, x, y=None, sample_weight=None, batch_size=32, seed=None, epoch=None, top_up=False
    ):
        """Raw texts as a `tf.data` pipeline of tokenized, length-bucketed
        batches, and the order of its rows (see
        `keras_transfer.length_buckets.bucketed_dataset`): reshuffled every
        epoch with a `seed`, else in order of length, the last batch topped up
        to a fixed number of rows with `top_up` (inference)."""
        tokens = self.tokenize(x)
        return bucketed_dataset(
            {key: tokens[key] for key in self.backbone.input},
            tokens["lengths"],
            batch_size,
            data.bucket_lengths(self.preprocessor.sequence_length),
            y,
            sample_weight,
            seed=seed,
            epoch=epoch,
            top_up=top_up,
        )

    def preprocess_samples(self, x, y=None, sample_weight=None):
        if not isinstance(x, dict):  # a dict is token arrays already
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(
                super().preprocess_samples(x, y, sample_weight)
            )
        x = compat.integer_padding_mask(x)  # for tf.distribute (see there)
        return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)

    def _check_labels(self, y, name):
        if not hasattr(y, "__len__") or isinstance(y, (str, bytes, dict)):
            return y
        return data.check_labels(y, self.num_classes, name=name)

    # === Frozen-feature caching ===

    def _head_layer(self):
        """The first layer of the head: what it receives are the features."""
        raise NotImplementedError

    def feature_model(self):
        """A functional view from the model's inputs to the head's input (shared layers)."""
        return keras.Model(self.input, self._head_layer().input, name=f"{self.name}_features")

    def head_model(self):
        """A functional view from the head's input to the output (shared layers)."""
        return keras.Model(self._head_layer().input, self.output, name=f"{self.name}_head")

    def features_are_frozen(self):
        """True when no weight below the head can train."""
        return not self.feature_model().trainable_weights

    def predict(self, x=None, *args, **kwargs):
        data.check_texts(x, name="x", purpose="predict")
        _check_batching(kwargs, "batch_size")
        if self.tokenizes_texts and data.is_text_array(x) and not args:
            batch_size = kwargs.pop("batch_size", None) or 32
            ds, order = self.text_dataset(x, batch_size=batch_size, top_up=True)
            outputs = super().predict(ds, **kwargs)
            return keras.tree.map_structure(lambda rows: in_input_order(rows, order), outputs)
        n, k = _len_or_none(x), replicas()
        if k > 1 and n is not None:
            # Even batches across the devices; the extra rows are cut off again.
            data.check_even_batches(kwargs.get("batch_size") or 32, k)
            x = take_rows(x, data.even_indices(n, k))
            outputs = super().predict(x, *args, **kwargs)
            return keras.tree.map_structure(lambda rows: rows[:n], outputs)
        return super().predict(x, *args, **kwargs)

    def predict_on_batch(self, x):
        data.check_texts(x, name="x", purpose="predict")
        if self.tokenizes_texts and data.is_text_array(x):
            tokens = self.tokenize(x)
            buckets = data.bucket_lengths(self.preprocessor.sequence_length)
            x = cut_to_bucket({key: tokens[key] for key in self.backbone.input}, buckets)
        return super().predict_on_batch(x)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        data.check_texts(x, y, name="x", purpose="evaluate")
        _check_batching(kwargs, "batch_size")
        if data.is_text_array(x) and y is None:
            raise ValueError(
                "`y` is required with a list of texts: one class id per text. Received: y=None"
            )
        if y is not None and not is_dataset(y):
            y = self._check_labels(y, "y")  # as `fit`: ids in [0, num_classes), whole numbers
        if self.tokenizes_texts and data.is_text_array(x) and y is not None and not args:
            ds, _ = self.text_dataset(
                x,
                y,
                kwargs.pop("sample_weight", None),
                batch_size=kwargs.pop("batch_size", None) or 32,
            )
            return super().evaluate(ds, **kwargs)
        n, k = _len_or_none(x), replicas()
        if k > 1 and n is not None and y is not None:
            # Even batches across the devices: the last batch repeats a few
            # of the first examples (as Hugging Face Accelerate does).
            data.check_even_batches(kwargs.get("batch_size") or 32, k)
            rows = data.even_indices(n, k)
            x, y = take_rows(x, rows), take_rows(y, rows)
        return super().evaluate(x, y, *args, **kwargs)


def _check_batching(kwargs, *names):
    """`epochs` and batch sizes, when given, as Keras would silently misuse them."""
    for name in names:
        if kwargs.get(name) is not None:
            check_int(name, kwargs[name])


def _len_or_none(x):
    return None if x is None or is_dataset(x) or isinstance(x, dict) else len(x)
