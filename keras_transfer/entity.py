"""Entity-level scores for tagged sentences (CoNLL semantics, through seqeval)."""


def entity_scores(true_tags, predicted_tags):
    """Entity-level precision, recall and F1 per entity type, micro and macro.

    An entity counts as found only when its type and its exact span match,
    as in the CoNLL-2003 evaluation script; `seqeval` computes the scores in
    its default (conlleval) mode, where an `I-TYPE` that follows no `TYPE`
    entity starts one.

    Args:
        true_tags: one list of BIO tags per sentence.
        predicted_tags: the same shape, e.g. `TokenClassifier.predict(words)`.

    Returns:
        A pandas DataFrame indexed by entity type, then `micro avg`,
        `macro avg` and `weighted avg`, with columns `precision`, `recall`,
        `f1-score` and `support` (the number of true entities).

    Example:
    >>> import keras_transfer as kt
    >>> scores = kt.entity_scores([["B-PER", "I-PER", "O", "B-LOC"]],
    ...                           [["B-PER", "I-PER", "O", "O"]])
    >>> scores.loc["micro avg", ["precision", "recall"]].tolist()
    [1.0, 0.5]
    """
    import pandas as pd
    from seqeval.metrics import classification_report

    if len(true_tags) != len(predicted_tags) or any(
        len(t) != len(p) for t, p in zip(true_tags, predicted_tags, strict=False)
    ):
        raise ValueError(
            "`true_tags` and `predicted_tags` must have the same sentences and the same number "
            f"of tags in each. Received: {len(true_tags)} and {len(predicted_tags)} sentences"
        )
    report = classification_report(
        [list(t) for t in true_tags],
        [list(p) for p in predicted_tags],
        output_dict=True,
        zero_division=0,
    )
    return pd.DataFrame(report).T.astype({"support": int})
