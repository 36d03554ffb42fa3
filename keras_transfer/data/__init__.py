"""Text classification data, by concern.

- `checks`: the checks of texts, labels and weights that users pass;
- `loading`: files, folders and bundled sets as DataFrames, `LabelMap`;
- `sampling`: splits, per-class samples, class balance and weights, augmentation;
- `pipeline`: the `tf.data` engine (shuffled, length-bucketed, evenly split batches).

Every name is also importable from `keras_transfer.data` itself.
"""

from keras_transfer.data.checks import (
    check_even_batches,
    check_labels,
    check_sample_weight,
    check_texts,
    is_text_array,
    warn_absent_classes,
    warn_unseen_labels,
)
from keras_transfer.data.loading import (
    BUNDLED,
    LabelMap,
    load_bundled,
    load_texts,
    load_unlabelled,
)
from keras_transfer.data.pipeline import (
    batched_dataset,
    bucket_lengths,
    epoch_counter,
    even_indices,
    inference_rows,
    shuffle_seed,
    trim_to_bucket,
    window_buckets,
    without_autotuning,
)
from keras_transfer.data.sampling import (
    augment_punctuation,
    class_balance,
    class_sample_weights,
    per_class_sample,
    split_last,
    stratified_split,
)

__all__ = [
    "BUNDLED",
    "LabelMap",
    "augment_punctuation",
    "batched_dataset",
    "bucket_lengths",
    "check_even_batches",
    "check_labels",
    "check_sample_weight",
    "check_texts",
    "class_balance",
    "class_sample_weights",
    "epoch_counter",
    "even_indices",
    "inference_rows",
    "is_text_array",
    "load_bundled",
    "load_texts",
    "load_unlabelled",
    "per_class_sample",
    "shuffle_seed",
    "split_last",
    "stratified_split",
    "trim_to_bucket",
    "window_buckets",
    "without_autotuning",
    "warn_absent_classes",
    "warn_unseen_labels",
]
