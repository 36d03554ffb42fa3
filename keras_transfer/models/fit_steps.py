"""The steps of `TransferModel.fit`, one method each.

A model overrides the steps where its examples differ: the token classifier
checks word lists and tags (`_check_examples`), batches them with per-token
labels (`_examples_dataset`) and caches its encoder's token outputs
(`_example_features`); the callbacks, validation, class weights, the
feature-cache fast path and data parallelism stay those of `fit`.
"""

import numpy as np

from keras_transfer import data
from keras_transfer.length_buckets import take_rows


class FitSteps:
    """What `TransferModel.fit` does, in order, as methods to override."""

    def _is_examples(self, x):
        """True for the raw examples the model batches itself (here texts);
        token arrays and datasets go to Keras as they are."""
        return data.is_text_array(x)

    def _check_examples(self, x, y, x_name, y_name):
        """Raw examples and their labels, checked (a ValueError naming the argument)."""
        data.check_texts(x, y, name=x_name)
        if y is None:
            raise ValueError(
                f"`{y_name}` is required with a list of texts: one class id per text. "
                f"Received: {y_name}=None"
            )
        return x, self._check_labels(y, y_name)

    def _examples_or_none(self, validation_data):
        return validation_data is None or (
            isinstance(validation_data, (tuple, list)) and self._is_examples(validation_data[0])
        )

    def _check_fit_inputs(self, x, y, examples, kwargs):
        """`x`, `y` and `sample_weight` (in `kwargs`), checked."""
        if not examples:
            data.check_texts(x, y, name="x")
            return x, y if y is None or is_dataset(y) else self._check_labels(y, "y")
        x, y = self._check_examples(x, y, "x", "y")
        if kwargs.get("sample_weight") is not None:
            kwargs["sample_weight"] = data.check_sample_weight(kwargs["sample_weight"], len(x))
        return x, y

    def _check_validation_data(self, validation_data, examples):
        """`validation_data` as `(x, y[, sample_weight])`, checked as `fit` checks `x` and `y`."""
        if not isinstance(validation_data, (tuple, list)):
            return validation_data
        if len(validation_data) < 2:
            raise ValueError(
                "`validation_data` must be a (texts, labels) pair, or (texts, labels, "
                f"sample_weight). Received: validation_data with {len(validation_data)} item(s)"
            )
        x, y, *rest = validation_data
        data.check_texts(x, y, name="validation_data[0]")
        return (x, self._check_labels(y, "validation_data[1]"), *rest)

    def _add_class_weight(self, x, y, class_weight, examples, kwargs):
        """`class_weight` as per-example weights (times any `sample_weight`) where
        the labels are an array, so that the text, cached and array paths all
        weigh the same examples the same way; else as Keras takes it."""
        if class_weight is None:
            return
        if examples or (y is not None and not is_dataset(y)):
            kwargs["sample_weight"] = data.class_sample_weights(
                y,
                class_weight,
                self.num_classes,
                kwargs.get("sample_weight"),
                label_names=getattr(self, "label_names", None),
            )
        elif class_weight == "balanced":
            raise ValueError(
                "`class_weight='balanced'` needs the labels as an array (`y`) to count the "
                "classes; with a dataset, pass a {class_id: weight} dict. "
                f"Received: x of type {type(x).__name__}"
            )
        else:
            kwargs["class_weight"] = class_weight

    def _split_validation(self, x, y, fraction, kwargs):
        """The last `fraction` of the examples for validation, as Keras'
        `validation_split` (before any shuffling): `(x, y)` and the validation data."""
        (rows,), (held_out,) = data.split_last((np.arange(len(x)),), fraction)
        sample_weight = kwargs.pop("sample_weight", None)
        kwargs["sample_weight"] = None if sample_weight is None else take_rows(sample_weight, rows)
        validation = tuple(take_rows(v, held_out) for v in (x, y, sample_weight) if v is not None)
        return (take_rows(x, rows), take_rows(y, rows)), validation

    def _caches_features(self, validation_data, callbacks):
        """True when the frozen part can run once (see `fit`'s `cache_features`)."""
        return (
            self._examples_or_none(validation_data)
            and self.features_are_frozen()
            and not any(getattr(cb, "changes_trainability", False) for cb in callbacks)
        )

    def _fit_on_features(self, x, y, callbacks, validation_data, disk, kwargs):
        """`fit` with the frozen part run once: the head trains on the features
        (`keras_transfer.feature_cache.fit_head`). Returns the History."""
        from keras_transfer.feature_cache import FeatureCache, fit_head

        # Draw the shuffle seed first, as the plain path does: computing
        # features may consume random numbers on some backends.
        seed = data.shuffle_seed()
        cache = FeatureCache(self, disk=disk)
        batch_size = kwargs.get("batch_size") or 32
        features, y, lengths = self._example_features(x, y, batch_size, cache)
        if validation_data is not None:
            validation_batch_size = kwargs.get("validation_batch_size") or batch_size
            held_out = self._example_features(*validation_data[:2], validation_batch_size, cache)
            validation_data = (*held_out[:2], *validation_data[2:])
        # `lengths`: the plain path batches examples of similar length together.
        return fit_head(self, features, y, callbacks, validation_data, seed, lengths, **kwargs)

    def _example_features(self, x, y, batch_size, cache):
        """The frozen part's outputs for the examples `x` (from `cache`, a
        `FeatureCache`), their labels, and their lengths (None when batches
        are not grouped by length)."""
        lengths = self.tokenize(x)["lengths"] if self.tokenizes_texts else None
        return cache.features(x), y, lengths

    def _fit_datasets(self, x, y, validation_data, callbacks, kwargs):
        """The training and validation pipelines of `fit` on raw examples
        (`_examples_dataset`), reshuffled each epoch, with the `EpochCounter`
        that reshuffles them among the callbacks."""
        # keras-hub turns arrays into an unshuffled pipeline, where Keras
        # ignores `shuffle`; build the pipeline here (reshuffled each epoch)
        # with the same batches as the cached path, validation included.
        batch_size = kwargs.pop("batch_size", None) or 32
        epoch, counter = data.epoch_counter()
        seed = data.shuffle_seed() if kwargs.pop("shuffle", True) else None
        sample_weight = kwargs.pop("sample_weight", None)
        x = self._examples_dataset(x, y, sample_weight, batch_size, seed=seed, epoch=epoch)
        kwargs["shuffle"] = False  # the dataset reshuffles itself
        if validation_data is not None and self._examples_or_none(validation_data):
            validation_data = self._examples_dataset(
                *validation_data,
                batch_size=kwargs.pop("validation_batch_size", None) or batch_size,
            )
        return x, validation_data, [counter, *callbacks]


def is_dataset(value):
    return not hasattr(value, "__len__") or type(value).__name__.endswith("Dataset")
