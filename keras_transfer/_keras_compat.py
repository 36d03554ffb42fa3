"""Every use of private Keras / keras-hub state, in one place.

The toolkit needs a few things Keras does not expose publicly: an optimizer's
learning-rate object, a model's compile arguments, the resume epoch that
BackupAndRestore sets, TensorBoard's writer, and the private hooks our
callbacks override. Each is reached only through a function here, and
`PRIVATE_HOOKS` lists them all so that `tests/keras_compat_test.py` fails
loudly, naming the hook, when a Keras release removes one.
"""

import keras

# (owner, attribute, what the toolkit uses it for). Owners are classes or
# modules; instance attributes are checked on a small live object in the test.
PRIVATE_HOOKS = (
    (keras.callbacks.ReduceLROnPlateau, "_reduce_optimizer_lr", "scaling schedules on plateau"),
    (keras.callbacks.TensorBoard, "_log_weights", "affordable weight histograms"),
    (keras.callbacks.TensorBoard, "_log_weight_as_image", "weight images"),
    (keras.callbacks.TensorBoard, "_write_keras_model_summary", "graph of subclassed models"),
    (keras.optimizers.Optimizer, "_track_variable", "schedule variables in compiled steps"),
)
INSTANCE_HOOKS = (
    ("optimizer", "_learning_rate", "reading/replacing a learning-rate schedule"),
    ("compiled model", "_compile_config", "recompiling a head with the model's arguments"),
    ("tensorboard", "_train_writer", "writing histograms with TensorBoard's writer"),
    ("lora backbone", "_lora_enabled_layers", "enabling LoRA once"),
)


def keras_model_summary(name, model, step):
    """TensorBoard's Keras model-config summary (a private Keras function)."""
    from keras.src.callbacks.tensorboard import keras_model_summary as summary

    return summary(name, model, step=step)


def learning_rate(optimizer):
    """The optimizer's learning rate object (a float variable or a schedule)."""
    return getattr(optimizer, "_learning_rate", None)


def set_learning_rate_schedule(optimizer, schedule):
    optimizer._learning_rate = schedule


def track_variable(optimizer, variable):
    optimizer._track_variable(variable)


def compile_arguments(model):
    """The keyword arguments `model.compile` was last called with (a dict copy)."""
    return dict(model._compile_config.config)


def set_compiled_optimizer(model, optimizer):
    """Record a replaced optimizer in the compile arguments that saving writes."""
    if hasattr(model, "_compile_config"):
        model._compile_config.config["optimizer"] = optimizer


def resume_epoch(model):
    """The epoch BackupAndRestore asked `fit` to start from (None: from the start)."""
    return getattr(model, "_initial_epoch", None)


def set_resume_epoch(model, epoch):
    model._initial_epoch = epoch


def train_writer(tensorboard):
    return tensorboard._train_writer


def lora_enabled(backbone):
    return bool(getattr(backbone, "_lora_enabled_layers", None))
