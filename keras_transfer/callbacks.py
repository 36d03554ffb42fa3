"""The mandatory training callbacks, and a plateau callback that scales schedules."""

import keras
import numpy as np

from keras_transfer import _keras_compat as compat
from keras_transfer import platform
from keras_transfer.checks import check_int
from keras_transfer.schedules import PlateauSchedule, attach_plateau_schedule
from keras_transfer.trainability import rebuild_optimizer, set_trainable_blocks


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' `TensorBoard`, with the model graph of functional subclasses and
    weight histograms that a large model can afford.

    Keras writes the conceptual (layer) graph only for models whose class is
    exactly `Functional` or `Sequential`; the toolkit's models are functional
    subclasses, so their layer graph is written from a functional view over the
    same layers. Weight histograms are bucketed in numpy, frozen weights are
    logged once per run, and the logging runs in a background thread while the
    next epoch trains (see `_log_weights`). Everything else is Keras' own.

    Example:
    >>> import tempfile, keras_transfer as kt
    >>> tb = kt.callbacks.TensorBoard(log_dir=tempfile.mkdtemp(), histogram_freq=1)
    """

    def on_train_begin(self, logs=None):
        self._frozen_logged = set()
        self._pending = None
        super().on_train_begin(logs)

    def on_train_end(self, logs=None):
        self._wait_for_weights()
        super().on_train_end(logs)

    def _wait_for_weights(self):
        """Let the last epoch's weight logging finish (and raise what it raised)."""
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is not None:
            pending.result()

    def _log_weights(self, epoch):
        """Keras' weight histograms and images, affordable for a 22 M-weight model.

        The weights are copied at the end of the epoch and logged by a
        background thread while the next epoch trains (TensorFlow, NumPy and
        PIL release the GIL in their heavy parts); the next epoch's logging,
        and the end of training, wait for it. Histograms are bucketed with
        numpy (Keras' TF op builds a values x buckets matrix: 2.8 GB and ~14 s
        per epoch for all-MiniLM-L6-v2), and a weight that cannot change
        (frozen) is logged at the run's first epoch only. Tags, buckets (30)
        and images are Keras'.
        """
        import concurrent.futures

        self._wait_for_weights()
        snapshot = []
        for layer in self.model.layers:
            trainable = {id(w) for w in layer.trainable_weights}
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                frozen = id(weight) not in trainable
                if frozen and name in self._frozen_logged:
                    continue
                # A copy: on torch the array would share the parameter's memory.
                snapshot.append((name, np.array(keras.ops.convert_to_numpy(weight))))
                if frozen:
                    self._frozen_logged.add(name)
        if not hasattr(self, "_executor"):
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="tensorboard-weights"
            )
        writer = compat.train_writer(self)
        self._pending = self._executor.submit(self._write_weights, writer, snapshot, epoch)

    def _write_weights(self, writer, snapshot, epoch):
        import tensorflow as tf
        from tensorboard.plugins.histogram import metadata

        with writer.as_default():
            for name, value in snapshot:
                values = np.asarray(value, dtype="float64")
                values = values[np.isfinite(values)]
                if values.size:
                    counts, edges = np.histogram(values, bins=30)
                    tf.summary.write(
                        tag=f"{name}/histogram",
                        tensor=np.stack([edges[:-1], edges[1:], counts], axis=1),
                        step=epoch,
                        metadata=metadata.create_summary_metadata(None, None),
                    )
                if self.write_images:
                    self._log_weight_as_image(value, f"{name}/image", epoch)
            writer.flush()

    def _log_weight_as_image(self, weight, weight_name, epoch):
        """Keras' weight image (same pixels, same tag), built in numpy and
        PNG-encoded with light compression: TensorFlow's encoder took seconds
        per epoch on a transformer's word-embedding matrix."""
        import tensorflow as tf
        from tensorboard.plugins.image import metadata

        images = weight_images(weight)
        if images is None:
            return
        encoded = [_png(image) for image in images[:3]]  # tf.summary.image's max_outputs
        height, width = images.shape[1:3]
        tf.summary.write(
            tag=weight_name,
            tensor=tf.constant([str(width).encode(), str(height).encode(), *encoded]),
            step=epoch,
            metadata=metadata.create_summary_metadata(display_name=None, description=None),
        )

    def _write_keras_model_summary(self):
        model = self.model
        if type(model).__name__ not in ("Functional", "Sequential") and getattr(
            model, "inputs", None
        ):
            model = keras.Model(model.inputs, model.outputs, name=model.name)
        with compat.train_writer(self).as_default():
            compat.keras_model_summary("keras", model, step=0)


def weight_images(weight):
    """A weight as Keras' TensorBoard shows it: `(images, height, width,
    channels)` uint8 pixels, or None where Keras logs no image.

    A bias is one row, a kernel is laid out wide (transposed when taller than
    wide), a 3-D kernel is one image per output channel; values are clipped
    to [0, 1] and scaled to 0..255 as `tf.image.convert_image_dtype` does.

    Example:
    >>> import numpy as np
    >>> weight_images(np.array([[0.0, 0.5], [1.0, 2.0], [-1.0, 0.25]]))[0, :, :, 0].tolist()
    [[0, 255, 0], [127, 255, 63]]
    """
    image = np.squeeze(np.asarray(weight))
    if image.ndim == 1:  # a bias
        image = image.reshape(1, image.shape[0], 1, 1)
    elif image.ndim == 2:  # a dense kernel
        if image.shape[0] > image.shape[1]:
            image = image.T
        image = image.reshape(1, *image.shape, 1)
    elif image.ndim == 3:  # a convolution kernel: one image per channel
        if keras.backend.image_data_format() == "channels_last":
            image = np.transpose(image, (2, 0, 1))
        image = image.reshape(*image.shape, 1)
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        return None
    return (np.clip(image.astype("float32"), 0.0, 1.0) * 255.5).astype("uint8")


def _png(image):
    """One `(height, width, channels)` uint8 image as PNG bytes."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    pixels = image[..., 0] if image.shape[-1] == 1 else image  # grey, RGB or RGBA
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class ReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """Keras' `ReduceLROnPlateau` that also reduces learning-rate schedules.

    With a float learning rate it behaves exactly like Keras'. With a
    `LearningRateSchedule` it scales the schedule (through `PlateauSchedule`)
    instead of raising `TypeError`: after a reduction the optimizer follows
    `max(factor * schedule(step), min(min_lr, schedule(step)))`.

    Example:
    >>> import keras_transfer as kt
    >>> cb = kt.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-6)
    """

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for optimizer in getattr(self.model.optimizer, "optimizers", [self.model.optimizer]):
            attach_plateau_schedule(optimizer)

    def _reduce_optimizer_lr(self, optimizer, epoch, name=""):
        schedule = compat.learning_rate(optimizer)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            return super()._reduce_optimizer_lr(optimizer, epoch, name)
        if not isinstance(schedule, PlateauSchedule):
            schedule = attach_plateau_schedule(optimizer)
        step = keras.ops.convert_to_numpy(optimizer.iterations)
        reduced = schedule.reduce(self.factor, self.min_lr, step=step)
        if reduced and self.verbose > 0:
            new_lr = float(np.asarray(keras.ops.convert_to_numpy(schedule(step))))
            name_str = f" {name}" if name else ""
            keras.utils.io_utils.print_msg(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau scaling{name_str} learning-rate "
                f"schedule by {self.factor} (now {new_lr:.3g})."
            )
        return reduced


class GradualUnfreezing(keras.callbacks.Callback):
    """ULMFiT's gradual unfreezing: one more transformer block every `every` epochs.

    Starting from the model's current trainable blocks, after every `every`
    epochs the next block down is unfrozen, until `max_blocks` (default: all)
    train. The change takes effect on every backend: the train function is
    rebuilt and the optimizer is rebuilt for the new set of variables, keeping
    its step count, learning-rate schedule state and the moments of the
    variables that were already training. The model's `strategy` becomes
    `"last_n"` with the new `unfreeze_last`, so a saved model reloads as it was.

    Args:
        every: epochs between two unfreezing steps (>= 1).
        max_blocks: stop once this many blocks train (default: all).

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TransformerClassifier.from_preset(None, strategy="frozen", max_length=16)
    >>> unfreezing = kt.GradualUnfreezing(every=1)
    >>> # model.fit(texts, labels, epochs=2, callbacks=[unfreezing]) ends with
    >>> # model.unfreeze_last == 2 (one more block per epoch; tested in trainability_test)
    """

    # Tells `TransferModel.fit` not to train on cached frozen features.
    changes_trainability = True

    def __init__(self, every=1, max_blocks=None):
        super().__init__()
        check_int("every", every)
        check_int("max_blocks", max_blocks, allow_none=True)
        self.every = every
        self.max_blocks = max_blocks
        self.history = []

    def on_train_begin(self, logs=None):
        backbone = getattr(self.model, "backbone", None)
        if backbone is None or not hasattr(backbone, "transformer_layers"):
            raise ValueError(
                "GradualUnfreezing needs a model with a keras-hub `backbone` (e.g. "
                f"kt.TransformerClassifier). Received: model={type(self.model).__name__}"
            )
        from keras_transfer.families.tokenization import transformer_blocks

        self._blocks = transformer_blocks(backbone)
        self._limit = min(self.max_blocks or len(self._blocks), len(self._blocks))

    def _trainable_blocks(self):
        n = 0
        for block in reversed(self._blocks):
            if not (block.trainable and any(w.trainable for w in block.weights)):
                break
            n += 1
        return n

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        current = self._trainable_blocks()
        if current >= self._limit:
            return
        set_trainable_blocks(self.model.backbone, current + 1)
        self.model.strategy = "last_n"
        self.model.unfreeze_last = current + 1
        rebuild_optimizer(self.model)
        self.history.append((epoch + 1, current + 1))


def _check_monitor(monitor):
    if monitor not in ("val_loss", "loss"):
        raise ValueError(f"`monitor` must be 'val_loss' or 'loss'. Received: monitor={monitor!r}")


def tensorboard_callback(experiment, root=None):
    """The mandatory TensorBoard callback alone (`training_callbacks`' first),
    for a caller that needs its run folder before `fit`, as a comparison's
    row and HParams do; `fit` adds the other two.

    Example:
    >>> import tempfile
    >>> from keras_transfer.callbacks import tensorboard_callback
    >>> tensorboard_callback("demo", root=tempfile.mkdtemp()).histogram_freq
    1
    """
    from keras_transfer.distribution import process_index

    if process_index() == 0:
        log_dir = platform.log_dir(experiment, root=root)
    else:
        # On a multi-host run every process runs the callbacks, and the first
        # one writes the run folder; the others write to a scratch folder.
        import tempfile

        log_dir = tempfile.mkdtemp(prefix=f"{experiment}_process{process_index()}_")
    return TensorBoard(
        log_dir=log_dir,
        histogram_freq=1,
        write_graph=True,
        write_images=True,
        update_freq="epoch",
        profile_batch=0,
    )


def early_stopping(monitor="val_loss", patience=3):
    """The mandatory EarlyStopping: `restore_best_weights=True`, patience 3
    unless a recipe says otherwise (`keras_transfer.recipes.Recipe.patience`).

    Example:
    >>> from keras_transfer.callbacks import early_stopping
    >>> early_stopping(patience=2).restore_best_weights
    True
    """
    check_int("patience", patience, minimum=0)
    return keras.callbacks.EarlyStopping(
        monitor=monitor, patience=patience, restore_best_weights=True
    )


def _callback_list(callbacks):
    """`callbacks` (a list, one callback or None) as a new list, each checked."""
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        return [callbacks]
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, keras.callbacks.Callback):
            raise ValueError(
                "`callbacks` must be keras.callbacks.Callback instances. "
                f"Received: callbacks[{i}]={cb!r}"
            )
    return callbacks


def with_early_stopping(callbacks, patience, monitor="val_loss"):
    """`callbacks` (a list, one callback or None) plus the mandatory
    EarlyStopping with `patience`, unless they hold an EarlyStopping already.

    Example:
    >>> from keras_transfer.callbacks import with_early_stopping
    >>> [cb.patience for cb in with_early_stopping(None, 2)]
    [2]
    """
    callbacks = _callback_list(callbacks)
    if not any(isinstance(cb, keras.callbacks.EarlyStopping) for cb in callbacks):
        callbacks.append(early_stopping(monitor, patience=patience))
    return callbacks


def monitor_for(validation_data=None, validation_split=None):
    """What the mandatory callbacks monitor in a `fit`: `"val_loss"` when it
    validates (`validation_data` or a `validation_split`), else `"loss"`.

    Example:
    >>> from keras_transfer.callbacks import monitor_for
    >>> monitor_for(None, 0.2), monitor_for(None, None)
    ('val_loss', 'loss')
    """
    return "val_loss" if validation_data is not None or validation_split else "loss"


def _reduce_lr(monitor):
    return ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=2, min_lr=1e-6)


def training_callbacks(experiment, root=None, monitor="val_loss"):
    """The mandatory callbacks: TensorBoard, EarlyStopping, ReduceLROnPlateau.

    TensorBoard(histogram_freq=1, write_graph=True, write_images=True,
    update_freq="epoch", profile_batch=0) writes to a fresh run folder under the
    platform's log root (see `keras_transfer.log_dir`); EarlyStopping(patience=3,
    restore_best_weights=True); ReduceLROnPlateau(factor=0.5, patience=2,
    min_lr=1e-6). Both monitor `monitor`: `"val_loss"`, or `"loss"` for a run
    without validation data.

    Example:
    >>> import tempfile, keras_transfer as kt
    >>> tb, es, rlr = kt.training_callbacks("demo", root=tempfile.mkdtemp())
    >>> tb.histogram_freq, es.restore_best_weights, rlr.factor
    (1, True, 0.5)
    """
    _check_monitor(monitor)
    platform.validate_experiment(experiment)
    return [tensorboard_callback(experiment, root), early_stopping(monitor), _reduce_lr(monitor)]


def with_mandatory_callbacks(callbacks, experiment, root=None, monitor="val_loss"):
    """Return `callbacks` plus each mandatory callback whose kind is missing.

    A user's own TensorBoard, EarlyStopping or ReduceLROnPlateau replaces the
    default of that kind; the other defaults stay. A plain Keras
    `ReduceLROnPlateau` is swapped for ours with the same settings, so that it
    can reduce learning-rate schedules too. A `keras_transfer.backup.TrainingBackup`
    goes last and backs up the EarlyStopping and ReduceLROnPlateau state.
    """
    _check_monitor(monitor)
    callbacks = _callback_list(callbacks)
    for i, cb in enumerate(callbacks):
        if type(cb) is keras.callbacks.ReduceLROnPlateau:
            callbacks[i] = ReduceLROnPlateau(
                monitor=cb.monitor,
                factor=cb.factor,
                patience=cb.patience,
                verbose=cb.verbose,
                mode=cb.mode,
                min_delta=abs(cb.min_delta),
                cooldown=cb.cooldown,
                min_lr=cb.min_lr,
            )

    def has(kind):
        return any(isinstance(cb, kind) for cb in callbacks)

    added = []
    if not has(keras.callbacks.TensorBoard):
        added.append(tensorboard_callback(experiment, root))
    if not has(keras.callbacks.EarlyStopping):
        added.append(early_stopping(monitor))
    if not has(keras.callbacks.ReduceLROnPlateau):
        added.append(_reduce_lr(monitor))
    from keras_transfer.backup import TrainingBackup

    callbacks = callbacks + added
    # A TrainingBackup runs last, once EarlyStopping and ReduceLROnPlateau have
    # seen the epoch, and saves their state.
    backups = [cb for cb in callbacks if isinstance(cb, TrainingBackup)]
    others = [cb for cb in callbacks if not isinstance(cb, TrainingBackup)]
    for backup in backups:
        backup.watch(others)
    return others + backups
