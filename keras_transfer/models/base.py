"""TransferModel: a keras-hub Task whose every `fit` carries the mandatory callbacks."""

import keras
import keras_hub

from keras_transfer import data
from keras_transfer.callbacks import with_mandatory_callbacks
from keras_transfer.checks import check_int
from keras_transfer.schedules import attach_plateau_schedule


@keras.saving.register_keras_serializable(package="keras_transfer")
class TransferModel(keras_hub.models.Task):
    """Base class of the toolkit's models.

    A `keras_hub.models.Task`: raw strings go through `model.preprocessor`
    inside the `tf.data` pipeline, on every backend. On top of that:

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

    # Constructor arguments that are layers, serialized in `get_config`.
    layer_arguments = ()

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.layer_arguments:
            if isinstance(config.get(key), dict):
                config[key] = keras.layers.deserialize(config[key])
        return cls(**config)

    @staticmethod
    def check_num_classes(num_classes):
        check_int("num_classes", num_classes, minimum=2)

    @staticmethod
    def check_label_names(label_names, num_classes):
        """Validate optional class names: `num_classes` distinct strings, or None."""
        if label_names is None:
            return None
        names = [str(n) for n in label_names] if not isinstance(label_names, str) else None
        if names is None or len(names) != num_classes or len(set(names)) != num_classes:
            raise ValueError(
                f"`label_names` must be {num_classes} distinct names, one per class id. "
                f"Received: label_names={label_names!r}"
            )
        return names

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        attach_plateau_schedule(self.optimizer)

    def compile_from_config(self, config):
        # Subclasses override `compile()` for their defaults; replay the saved
        # arguments through it so a reloaded model is compiled as it was saved,
        # optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
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
        **kwargs,
    ):
        """`keras.Model.fit`, plus the mandatory callbacks.

        Args:
            experiment: name of the run's log folder prefix (default: the
                model's name); the folder is `<log_root>/<experiment>_<time>`.
            log_root: folder under which run folders go (default: per platform,
                `<cwd>/tensorflow_logs` locally).
            Other arguments are `keras.Model.fit`'s.
        """
        data.check_texts(x, y, name="x")
        if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            data.check_texts(validation_data[0], validation_data[1], name="validation_data[0]")
        if kwargs.get("shuffle", True) and data.is_text_array(x) and y is not None:
            # keras-hub turns arrays into an unshuffled tf.data pipeline, where
            # Keras ignores `shuffle`; shuffle here so every epoch is reshuffled.
            if validation_split and validation_data is None:
                (x, y, sample_weight), validation_data = data.split_last(
                    (x, y, kwargs.pop("sample_weight", None)), validation_split
                )
                kwargs["sample_weight"] = sample_weight
                validation_split = None
            x = data.shuffled_dataset(
                x, y, kwargs.pop("sample_weight", None), kwargs.pop("batch_size", None) or 32
            )
            y = None
            kwargs["shuffle"] = False
        has_validation = validation_data is not None or bool(validation_split)
        callbacks = with_mandatory_callbacks(
            callbacks,
            experiment if experiment is not None else self.name,
            root=log_root,
            monitor="val_loss" if has_validation else "loss",
        )
        return super().fit(
            x,
            y,
            callbacks=callbacks,
            validation_data=validation_data,
            validation_split=validation_split,
            **kwargs,
        )

    def predict(self, x=None, *args, **kwargs):
        data.check_texts(x, name="x")
        return super().predict(x, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        data.check_texts(x, y, name="x")
        return super().evaluate(x, y, *args, **kwargs)
