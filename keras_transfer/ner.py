"""Train the transformer strategies side by side on named-entity recognition."""

from keras_transfer.strategies import NER_STRATEGIES
from keras_transfer.tasks.ner import (  # noqa: F401 (public here since the first release)
    NER_SCORES as SCORES,
)
from keras_transfer.tasks.ner import (  # noqa: F401
    check_test_tags,
    describe,
    most_frequent_tags,
    read_sentences,
)


def compare_ner(
    train=None,
    test=None,
    strategies=NER_STRATEGIES,
    epochs=None,
    max_length=128,
    batch_size=16,
    out="comparison_ner",
    preset=None,
    unfreeze_last=None,
    lora_rank=None,
    validation_size=0.15,
    tag_column=-1,
    word_shape="auto",
    seed=0,
    seeds=1,
    budget_minutes=None,
    save_models=False,
    tune=0,
    overwrite=False,
    log_root=None,
    verbose=1,
):
    """`compare(task="ner")` on `train` and `test` as given (no sampling):
    each strategy as a `TokenClassifier` with its token recipe, scored with
    entity-level micro F1 (`entity_scores`, CoNLL semantics) next to the
    `most_frequent_tag` row (each word's most frequent training tag).

    Args:
        train: None for the bundled Wikigold corpus (split by article), a
            CoNLL file path (tags from `tag_column`) or a `(words, tags)` pair.
        test: the same kinds; None with your own `train` holds 20 % of its
            sentences out (seeded).
        strategies: names from `NER_STRATEGIES` (default: all of them).

    The other arguments are `keras_transfer.compare`'s.

    Columns: strategy, description, entity_f1, entity_precision,
    entity_recall, entity_f1_macro (mean over entity types), token_accuracy
    (over words), train_seconds, inference_sentences_per_s,
    trainable_params, total_params, epochs_run, best_epoch, learning_rate,
    max_epochs, at_ceiling, seeds, log_dir (and `<score>_std` with
    `seeds > 1`). Per-type reports and histories are in `table.attrs`.

    Example:
    >>> import keras_transfer as kt
    >>> words = [["Ada", "Lovelace", "wrote"], ["Paris", "is", "big"]] * 8
    >>> tags = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"]] * 8
    >>> table = kt.compare_ner((words, tags), strategies=[], out=None, verbose=0)
    >>> table["strategy"].tolist()
    ['most_frequent_tag']
    """
    from keras_transfer.comparison import _run

    return _run("ner", train, test, dict(locals()))
