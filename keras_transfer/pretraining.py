"""continue_pretraining(): masked-LM domain adaptation of an encoder on unlabelled texts."""

import json
import math
import os
import shutil

import numpy as np

from keras_transfer import data
from keras_transfer.atomic import check_out, write_folder
from keras_transfer.checks import check_int

REPORT_FILE = "adaptation.json"  # also marks a folder as an earlier output


def masked_lm_preprocessor(preset=None, max_length=128, mask_rate=0.15):
    """keras-hub's masked-LM preprocessor for `preset`: each ordinary token is
    chosen with probability `mask_rate` (then 80 % [MASK], 10 % random, 10 %
    kept, as in BERT); [CLS], [SEP] and padding never are."""
    import keras_hub

    from keras_transfer.presets import resolve_preset

    if isinstance(mask_rate, bool) or not isinstance(mask_rate, (int, float)):
        raise ValueError(
            f"`mask_rate` must be a number in (0, 1). Received: mask_rate={mask_rate!r}"
        )
    if not 0 < mask_rate < 1:
        raise ValueError(f"`mask_rate` must be in (0, 1). Received: mask_rate={mask_rate!r}")
    check_int("max_length", max_length, minimum=4)
    # Room for twice the expected count, so that the rate is rarely cut short.
    length = max(2, math.ceil(2 * max_length * mask_rate))
    try:
        return keras_hub.models.MaskedLMPreprocessor.from_preset(
            resolve_preset(preset),
            sequence_length=max_length,
            mask_selection_rate=mask_rate,
            mask_selection_length=length,
        )
    except (ValueError, KeyError) as e:
        raise ValueError(
            f"keras-hub has no masked-LM preprocessor for this preset ({e}). Masked-LM "
            f"adaptation needs an encoder such as BERT or RoBERTa. Received: preset={preset!r}"
        ) from None


def continue_pretraining(
    texts,
    preset=None,
    out="adapted",
    epochs=1,
    mask_rate=0.15,
    max_length=128,
    batch_size=16,
    learning_rate=5e-5,
    validation_size=0.1,
    overwrite=False,
    experiment="masked_lm",
    log_root=None,
    seed=0,
    callbacks=None,
    verbose="auto",
):
    """Continue masked-language-model pretraining on unlabelled in-domain texts.

    The encoder learns the words and style of `texts` (reviews, tickets,
    papers) before a classifier is fine-tuned on the few labelled ones
    (Gururangan et al. 2020, "Don't stop pretraining"). It trains keras-hub's
    masked-LM task for the preset with AdamW and 10 % warmup, with the
    mandatory callbacks (EarlyStopping on the held-out masked-LM loss), then
    writes the encoder and tokenizer to `out` as a preset folder that
    `TransformerClassifier.from_preset(out)` and the other models load.

    Sentence-transformers models, the bundled all-MiniLM-L6-v2 among them, ship
    without a masked-LM head: a new one (tied to the token embeddings) is then
    initialised and learned here, and the report says so.

    Args:
        texts: unlabelled texts (a list of strings).
        preset: the encoder to adapt (default: the bundled all-MiniLM-L6-v2).
        out: the preset folder to write; refused if it exists, unless
            `overwrite=True`, and always refused (before training) if it is
            the working directory or above it, a file, or a folder holding
            anything but an earlier output of this function. Written in full
            or not at all.
        epochs: passes over the texts.
        mask_rate: share of tokens chosen for prediction (0.15 as in BERT).
        max_length: tokens per text.
        batch_size: texts per step.
        learning_rate: peak AdamW learning rate.
        validation_size: share of `texts` held out to measure the masked-LM
            loss before and after (the same masks both times).
        overwrite: replace an existing `out`.
        experiment: the TensorBoard run's name (as `TransferModel.fit`).
        log_root: the TensorBoard log root (as `TransferModel.fit`).
        seed: split and masking seed.
        callbacks: more Keras callbacks, added to the mandatory ones.
        verbose: as `keras.Model.fit`.

    Returns:
        A dict: `out`, `mlm_loss_before`, `mlm_loss_after` (held-out),
        `head` (`"pretrained"` or `"initialised"`), `train_texts`,
        `heldout_texts`, `epochs_run`; also written to `out/adaptation.json`.

    Example:
    >>> import keras_transfer as kt
    >>> report = kt.continue_pretraining(  # doctest: +SKIP
    ...     reviews, out="reviews_encoder", epochs=1, max_length=64)
    >>> kt.TransformerClassifier.from_preset("reviews_encoder", strategy="lora")  # doctest: +SKIP
    """
    import keras

    from keras_transfer.callbacks import with_mandatory_callbacks
    from keras_transfer.presets import preset_pooling

    texts, heldout = _checked(texts, epochs, batch_size, validation_size)
    out = check_out(out, "out", "folder", overwrite, marker=REPORT_FILE)
    keras.utils.set_random_seed(seed)  # the new head's initialisation, then the masks
    model, preprocessor, folder, head = _masked_lm(preset, max_length, mask_rate)
    order = np.random.default_rng(seed).permutation(len(texts))
    train = [texts[i] for i in order[heldout:]]
    held = [texts[i] for i in order[:heldout]]
    fixed = [preprocessor(held[i : i + batch_size]) for i in range(0, len(held), batch_size)]
    before = _masked_lm_loss(model, fixed)

    history = _fit(
        model,
        (train, held),
        {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed},
        with_mandatory_callbacks(callbacks, experiment, root=log_root, monitor="val_loss"),
        verbose,
    )
    after = _masked_lm_loss(model, fixed)
    report = {
        "out": out,
        "source": str(preset) if preset is not None else "bundled all-MiniLM-L6-v2",
        **{"mlm_loss_before": before, "mlm_loss_after": after, "head": head},
        **{"train_texts": len(train), "heldout_texts": len(held)},
        **{"epochs_run": len(history.history["loss"]), "mask_rate": mask_rate},
        "max_length": max_length,
    }
    _write_preset(model, preprocessor, folder, out, preset_pooling(preset), report)
    return report


def _masked_lm(preset, max_length, mask_rate):
    """keras-hub's masked-LM task for the preset: (model, preprocessor,
    preset folder, `"pretrained"` or `"initialised"` head)."""
    import keras_hub

    from keras_transfer.presets import resolve_preset
    from keras_transfer.trainability import apply_strategy

    preprocessor = masked_lm_preprocessor(preset, max_length, mask_rate)
    folder = resolve_preset(preset)
    head = (
        "pretrained"
        if os.path.isdir(folder) and os.path.isfile(os.path.join(folder, "task.weights.h5"))
        else "initialised"
    )
    model = keras_hub.models.MaskedLM.from_preset(folder, preprocessor=preprocessor)
    apply_strategy(model.backbone, "full", None, None)  # all but BERT's unused pooler
    return model, preprocessor, folder, head


def _checked(texts, epochs, batch_size, validation_size):
    """The texts as strings and how many are held out, after the argument checks."""
    data.check_texts(texts, name="texts")
    texts = [str(t) for t in texts]
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    if not 0 < validation_size < 1:
        raise ValueError(
            f"`validation_size` must be in (0, 1). Received: validation_size={validation_size!r}"
        )
    heldout = max(1, round(len(texts) * validation_size))
    if len(texts) - heldout < 1:
        raise ValueError(
            "`texts` needs at least 2 texts: some to train on, some held out. "
            f"Received: {len(texts)} text(s)"
        )
    return texts, heldout


def _fit(model, texts, settings, callbacks, verbose):
    """Compile the masked-LM task (AdamW, 10 % warmup) and fit it on the
    training texts, validating on the held-out ones."""
    import keras
    import tensorflow as tf

    from keras_transfer._keras_compat import clip_after_all_reduce
    from keras_transfer.optimizers import adamw_with_warmup

    (train, held), batch_size = texts, settings["batch_size"]
    steps = math.ceil(len(train) / batch_size) * settings["epochs"]
    model.compile(
        optimizer=adamw_with_warmup(steps, learning_rate=settings["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=["sparse_categorical_accuracy"],
    )
    clip_after_all_reduce(model.optimizer)  # under tf.distribute, as the toolkit's models
    train_ds = tf.data.Dataset.from_tensor_slices(train).shuffle(len(train), seed=settings["seed"])
    train_ds = data.without_autotuning(train_ds.batch(batch_size))
    held_ds = data.without_autotuning(tf.data.Dataset.from_tensor_slices(held).batch(batch_size))
    return model.fit(
        train_ds,
        validation_data=held_ds,
        epochs=settings["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself each epoch
        verbose=verbose,
    )


def _masked_lm_loss(model, batches):
    """Mean cross-entropy of the masked positions over fixed, preprocessed batches."""
    import keras

    total, count = 0.0, 0.0
    for x, y, weights in batches:
        logits = keras.ops.stop_gradient(model(x, training=False))
        loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        weights = keras.ops.cast(weights, "float32")
        total += float(keras.ops.sum(loss * weights))
        count += float(keras.ops.sum(weights))
    return total / count if count else float("nan")


def _write_preset(model, preprocessor, source, out, pooling, report):
    """Backbone, tokenizer (and the sentence-transformers pooling note) into `out`, atomically."""

    def write(tmp):
        model.backbone.save_to_preset(tmp)
        preprocessor.tokenizer.save_to_preset(tmp)
        if pooling == "mean":  # keep the encoder's sentence-embedding pooling
            shutil.copytree(os.path.join(source, "1_Pooling"), os.path.join(tmp, "1_Pooling"))
        with open(os.path.join(tmp, REPORT_FILE), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)

    write_folder(out, write, overwrite=True, marker=REPORT_FILE)
