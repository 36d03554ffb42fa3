import warnings

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import _keras_compat as compat
from keras_transfer.callbacks import with_mandatory_callbacks
from tests.helpers import read_events, run_dirs, sentiment_texts, tiny_vectors


class KernelRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = []

    def on_train_begin(self, logs=None):
        self.values.append(float(np.ravel(keras.ops.convert_to_numpy(self.model.weights[0]))[0]))

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(float(np.ravel(keras.ops.convert_to_numpy(self.model.weights[0]))[0]))


def linear_model(learning_rate):
    # y = w * 1 with MAE against a far target: every SGD step moves w by exactly lr.
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mae")
    return model


def test_training_callbacks_have_the_mandatory_settings(tmp_path):
    tb, es, rlr = kt.training_callbacks("exp", root=tmp_path)
    assert isinstance(tb, keras.callbacks.TensorBoard)
    assert (tb.histogram_freq, tb.write_graph, tb.write_images, tb.update_freq) == (
        1,
        True,
        True,
        "epoch",
    )
    assert tb.log_dir.startswith(str(tmp_path / "exp_"))
    assert (es.monitor, es.patience, es.restore_best_weights) == ("val_loss", 3, True)
    assert isinstance(rlr, kt.ReduceLROnPlateau)
    assert (rlr.monitor, rlr.factor, rlr.patience, rlr.min_lr) == ("val_loss", 0.5, 2, 1e-6)


def test_user_callbacks_replace_only_their_kind(tmp_path):
    mine = keras.callbacks.EarlyStopping(monitor="val_loss", patience=7)
    keras_plateau = keras.callbacks.ReduceLROnPlateau(factor=0.2, patience=4, min_lr=1e-5)
    other = keras.callbacks.History()
    result = with_mandatory_callbacks([mine, keras_plateau, other], "exp", root=tmp_path)
    kinds = [type(cb).__name__ for cb in result]
    assert kinds.count("EarlyStopping") == 1 and result[0] is mine
    assert isinstance(result[1], kt.ReduceLROnPlateau)
    assert (result[1].factor, result[1].patience, result[1].min_lr) == (0.2, 4, 1e-5)
    assert result[2] is other
    assert sum(isinstance(cb, keras.callbacks.TensorBoard) for cb in result) == 1
    assert len(result) == 4


def test_bad_callbacks_argument(tmp_path):
    with pytest.raises(ValueError, match="callbacks\\[0\\]"):
        with_mandatory_callbacks(["not a callback"], "exp", root=tmp_path)


def test_keras_plateau_cannot_reduce_a_schedule_but_ours_can():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)
    x, y = np.ones((4, 1)), np.full((4, 1), 1000.0)
    forced = dict(monitor="loss", factor=0.5, patience=0, min_delta=1e9)
    model = linear_model(schedule)
    with pytest.raises(TypeError, match="not settable"):
        model.fit(
            x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.ReduceLROnPlateau(**forced)]
        )
    model = linear_model(keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[kt.ReduceLROnPlateau(**forced)])


def test_plateau_scales_the_schedule_inside_compiled_steps():
    """Each SGD step moves w by exactly the learning rate in force: check all of them."""
    min_lr = 0.0055
    model = linear_model(keras.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5))
    recorder = KernelRecorder()
    # patience=0 with a huge min_delta: every epoch after the first is a plateau.
    plateau = kt.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=1e9, min_lr=min_lr
    )
    x, y = np.ones((4, 1)), np.full((4, 1), 1000.0)
    history = model.fit(
        x, y, batch_size=2, epochs=4, shuffle=False, verbose=0, callbacks=[recorder, plateau]
    )
    steps = np.diff(recorder.values)
    k = np.arange(8)
    raw = 0.1 * 0.5 ** (k / 3)
    multiplier = np.repeat([1.0, 1.0, 0.5, 0.25], 2)
    expected = np.maximum(multiplier * raw, np.minimum(min_lr, raw))
    np.testing.assert_allclose(steps, expected, rtol=1e-4)
    assert expected[7] == min_lr  # the floor was reached and held
    # The logged learning rate at epoch end is the schedule's value at that step.
    assert history.history["learning_rate"][0] == pytest.approx(raw[2], rel=1e-5)


def test_plateau_with_float_learning_rate_is_keras_behaviour():
    model = linear_model(0.1)
    plateau = kt.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=1e9, min_lr=0.03
    )
    model.fit(np.ones((4, 1)), np.full((4, 1), 1000.0), epochs=4, verbose=0, callbacks=[plateau])
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.03)


@pytest.fixture
def tiny_classifier():
    return kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=8, hidden_units=(8,), dropout=(0.1,)
    )


def test_fit_writes_tensorboard_run(tmp_path, tiny_classifier):
    texts, labels = sentiment_texts(16)
    tiny_classifier.fit(
        texts,
        labels,
        validation_data=(texts, labels),
        epochs=2,
        batch_size=8,
        verbose=0,
        experiment="tb",
    )
    (run,) = run_dirs(tmp_path / "tensorflow_logs")
    assert run.split("/")[-1].startswith("tb_")
    train = read_events(run, "train")
    assert [e.step for e in train["epoch_loss"]] == [0, 1]
    assert len(train["epoch_learning_rate"]) == 2
    assert any(tag.endswith("/histogram") for tag in train)
    assert "frozen_embeddings/embeddings/histogram" in train
    assert any(tag.endswith("/image") for tag in train)
    graph = train["keras"][0].tensor_proto.string_val[0].decode()
    assert "classification_dense1" in graph
    validation = read_events(run, "validation")
    assert len(validation["epoch_loss"]) == 2


def test_without_validation_monitors_loss_quietly(tmp_path, tiny_classifier):
    texts, labels = sentiment_texts(16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", message=".*shuffle.*")
        history = tiny_classifier.fit(texts, labels, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert len(run_dirs(tmp_path / "tensorflow_logs")) == 1


def test_every_fit_gets_its_own_run(tmp_path, tiny_classifier):
    texts, labels = sentiment_texts(8)
    for _ in range(2):
        tiny_classifier.fit(texts, labels, epochs=1, verbose=0, log_root=tmp_path / "logs")
    assert len(run_dirs(tmp_path / "logs")) == 2


def test_weight_histograms_hold_the_weights_and_frozen_ones_are_logged_once(
    tmp_path, tiny_classifier
):
    texts, labels = sentiment_texts(16)
    layer = tiny_classifier.get_layer("classification_dense1")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(keras.ops.convert_to_numpy(layer.kernel))
    )
    tiny_classifier.fit(
        texts, labels, epochs=3, batch_size=8, verbose=0, experiment="hist", callbacks=[record]
    )
    (run,) = run_dirs(tmp_path / "tensorflow_logs")
    train = read_events(run, "train")
    frozen = train["frozen_embeddings/embeddings/histogram"]
    assert [e.step for e in frozen] == [0]
    kernel = train["classification_dense1/kernel/histogram"]
    assert [e.step for e in kernel] == [0, 1, 2]
    buckets = tf_make_ndarray(kernel[-1].tensor_proto)
    values = seen[-1]
    assert buckets.shape == (30, 3)
    assert buckets[:, 2].sum() == values.size
    assert buckets[0, 0] == pytest.approx(values.min()) and buckets[-1, 1] == pytest.approx(
        values.max()
    )
    assert "frozen_embeddings/embeddings/image" in train


def tf_make_ndarray(proto):
    import tensorflow as tf

    return tf.make_ndarray(proto)


def test_weight_images_have_the_pixels_keras_writes(tmp_path):
    """The toolkit's TensorBoard writes each weight image itself (fast), with
    the same tag, size and pixels as Keras' own callback."""
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    weights = {
        "bias": rng.normal(0.5, 0.5, 7),
        "wide": rng.normal(0.5, 0.5, (3, 9)),
        "tall": rng.normal(0.5, 0.5, (9, 3)),
        "conv": rng.normal(0.5, 0.5, (3, 4, 2)),
    }
    pixels = {}
    for kind, callback in (
        ("keras", keras.callbacks.TensorBoard),
        ("ours", kt.callbacks.TensorBoard),
    ):
        tb = callback(log_dir=str(tmp_path / kind))
        tb.set_model(linear_model(0.1))
        writer = compat.train_writer(tb)
        with writer.as_default():
            for name, value in weights.items():
                tb._log_weight_as_image(keras.Variable(value, dtype="float32"), name, 0)
        writer.flush()
        events = read_events(str(tmp_path / kind))
        pixels[kind] = {
            tag: [
                np.asarray(Image.open(io.BytesIO(png)))
                for png in events[tag][0].tensor_proto.string_val[2:]
            ]
            + [events[tag][0].tensor_proto.string_val[:2]]
            for tag in events
            if tag in weights
        }
    assert sorted(pixels["ours"]) == sorted(pixels["keras"]) == sorted(weights)
    for tag, images in pixels["keras"].items():
        assert len(pixels["ours"][tag]) == len(images)
        for ours, theirs in zip(pixels["ours"][tag], images, strict=True):
            np.testing.assert_array_equal(ours, theirs)
