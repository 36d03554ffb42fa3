"""Train tiny models on one device and data-parallel on two simulated CPU devices; print
the largest differences as JSON. Run by `distribution_test.py` in a fresh process:

    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \
        python -m tests.distributed_run
    KERAS_BACKEND=tensorflow python -m tests.distributed_run   (two logical CPUs, set below)
"""

import contextlib
import json
import os
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("KERAS_BACKEND") == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import keras_hub  # noqa: E402

import keras_transfer as kt  # noqa: E402
from tests.helpers import (  # noqa: E402
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    sentiment_texts,
    tiny_backbone,
    tiny_vectors,
)

WORK = tempfile.mkdtemp()
os.environ["KERAS_TRANSFER_CACHE"] = os.path.join(WORK, "cache")


def tiny_preset():
    keras.utils.set_random_seed(7)
    words = sorted(set(POSITIVE + NEGATIVE + NEUTRAL))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    vocab += [f"tok{i}" for i in range(300 - len(vocab))]
    path = os.path.join(WORK, "preset")
    tiny_backbone(len(vocab), dropout=0.0).save_to_preset(path)  # dropout off: same steps
    keras_hub.models.BertTokenizer(vocabulary=vocab).save_to_preset(path)
    return path


PRESET = tiny_preset()
TEXTS, LABELS = sentiment_texts(64)
VAL = sentiment_texts(16, seed=3)


class StepLosses(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def build(case):
    if case == "multi_task":
        return kt.MultiTaskClassifier.from_preset(
            PRESET, tasks={"sentiment": 2, "copy": 2}, strategy="lora", max_length=16, dropout=0.0
        )
    if case == "embedding":
        return kt.EmbeddingClassifier.from_word_vectors(
            tiny_vectors(), max_length=8, dropout=(0.0, 0.0)
        )
    strategy = {"layer_decay": "full", "gradual": "frozen"}.get(case, case)
    model = kt.TransformerClassifier.from_preset(
        PRESET, num_classes=2, strategy=strategy, max_length=16, dropout=0.0
    )
    if case == "layer_decay":
        model.compile(layer_decay=0.8)
    return model


def train(case, distribution, texts=TEXTS, labels=LABELS):
    keras.utils.set_random_seed(1)
    validation = VAL
    if case == "multi_task":  # the second task: the same labels, hidden on every third text
        labels = {"sentiment": labels, "copy": np.where(np.arange(len(labels)) % 3, labels, -1)}
        validation = (VAL[0], {"sentiment": VAL[1], "copy": VAL[1]})
    root = tempfile.mkdtemp(dir=WORK)
    with distribution.scope() if distribution else contextlib.nullcontext():
        model = build(case)
        losses = StepLosses()
        callbacks = [losses] + ([kt.GradualUnfreezing(every=1)] if case == "gradual" else [])
        model.fit(
            texts,
            labels,
            validation_data=validation,
            epochs=2,
            batch_size=8,
            verbose=0,
            callbacks=callbacks,
            log_root=root,
        )
        predictions = flat(model.predict(VAL[0], batch_size=8, verbose=0))
        evaluation = model.evaluate(*validation, batch_size=8, verbose=0, return_dict=True)
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    return model, losses.losses, weights, predictions, evaluation, root


def flat(predictions):
    if isinstance(predictions, dict):
        return np.concatenate([predictions[k] for k in sorted(predictions)], axis=1)
    return predictions


def largest(a, b):
    pairs = zip(a, b, strict=True)
    return float(max(np.max(np.abs(np.asarray(x) - np.asarray(y))) for x, y in pairs))


def main():
    results = {"devices": keras.distribution.list_devices()}
    distribution = kt.data_parallel()
    for case in os.environ.get("CASES", "full,lora,layer_decay,gradual,frozen,embedding").split(
        ","
    ):
        print(case, file=sys.stderr)
        one = train(case, None)
        two = train(case, distribution)
        results[case] = {
            "steps": [len(one[1]), len(two[1])],
            "loss": largest(one[1], two[1]),
            "weights": largest(one[2], two[2]),
            "predictions": largest(one[3], two[3]),
            "evaluate_loss": abs(one[4]["loss"] - two[4]["loss"]),
            "run_folders": len(os.listdir(two[5])),
        }
        if case == "lora":
            # A model trained under distribution saves and reloads, outside it,
            # to identical predictions.
            path = os.path.join(WORK, "lora.keras")
            two[0].save(path)
            reloaded = keras.saving.load_model(path)
            results["reloaded"] = largest([two[3]], [reloaded.predict(VAL[0], verbose=0)])
    # A text count that does not split evenly in the last batch (61 = 7 * 8 + 5), on
    # the frozen encoder's cached features.
    odd_texts, odd_labels = sentiment_texts(61, seed=5)
    model = train("frozen", distribution, odd_texts, odd_labels)[0]
    with distribution.scope():
        predictions = model.predict(odd_texts, batch_size=8, verbose=0)
    cache = kt.FeatureCache(model).cache_dir
    entries = [np.load(os.path.join(cache, f)) for f in sorted(os.listdir(cache))]
    results["odd"] = {
        "rows": len(predictions),
        "predictions": largest([predictions], [model.predict(odd_texts, verbose=0)]),
        "cache_rows": sorted(len(e[k]) for e in entries for k in e.files if e[k].ndim == 2),
    }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
