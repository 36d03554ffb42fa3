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
    (keras.optimizers.Optimizer, "_clip_gradients", "clipping after the all-reduce (TF)"),
    (keras.optimizers.Optimizer, "_get_variable_index", "layer-wise learning-rate factors"),
)
INSTANCE_HOOKS = (
    ("optimizer", "_learning_rate", "reading/replacing a learning-rate schedule"),
    ("compiled model", "_compile_config", "recompiling a head with the model's arguments"),
    ("tensorboard", "_train_writer", "writing histograms with TensorBoard's writer"),
    ("lora backbone", "_lora_enabled_layers", "enabling LoRA once"),
    ("tensorflow optimizer", "_all_reduce_sum_gradients", "clipping after the all-reduce"),
)
# Private keras-hub modules the toolkit reaches: (module, attribute, what for).
KERAS_HUB_HOOKS = (
    (
        "keras_hub.src.utils.transformers.safetensor_utils",
        "SafetensorLoader.get_prefixed_key",
        "Hugging Face tensors saved without the model prefix",
    ),
    (
        "keras_hub.src.utils.transformers.safetensor_utils",
        "SafetensorLoader",
        "reading Hugging Face tensors in the converters keras-hub lacks",
    ),
    (
        "keras_hub.src.utils.transformers.convert_bert",
        "convert_weights",
        "ELECTRA's blocks, which are BERT's",
    ),
)


def keras_model_summary(name, model, step):
    """TensorBoard's Keras model-config summary (a private Keras function)."""
    from keras.src.callbacks.tensorboard import keras_model_summary as summary

    return summary(name, model, step=step)


def variable_index(optimizer, variable):
    """The position of `variable` among the variables `optimizer` was built for
    (backends hand `update_step` their native variable, without a Keras path)."""
    return optimizer._get_variable_index(variable)


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


def integer_padding_mask(inputs):
    """The preprocessed inputs with `padding_mask` as int32 instead of bool.

    Under `tf.distribute`, Keras' TensorFlow trainer builds the model from the
    first batch averaged across replicas (`_maybe_symbolic_build`), and
    TensorFlow cannot average bools. keras-hub's backbones declare the input
    int32 and cast it anyway, so the model computes the same thing.
    """
    if not isinstance(inputs, dict) or "padding_mask" not in inputs:
        return inputs
    import tensorflow as tf

    mask = inputs["padding_mask"]
    if isinstance(mask, tf.Tensor) and mask.dtype == tf.bool:
        inputs = {**inputs, "padding_mask": tf.cast(mask, tf.int32)}
    return inputs


def clip_after_all_reduce(optimizer):
    """Make a TensorFlow optimizer clip the summed gradients, not each replica's share.

    Under `tf.distribute`, Keras clips each replica's gradients before they
    are summed, so `clipnorm=1.0` on 2 replicas clips two half-batch gradients
    (the old tf.keras refused clipping under a strategy for this reason). Here
    the clipping moves after the all-reduce, as JAX's SPMD step does it: the
    steps then equal a one-device run's. With one replica the sum is the
    gradient itself and nothing changes. Other backends are left as they are.
    """
    if keras.backend.backend() != "tensorflow" or getattr(optimizer, "_kt_clips_late", False):
        return
    if not (optimizer.clipnorm or optimizer.global_clipnorm or optimizer.clipvalue):
        return
    clip = optimizer._clip_gradients
    all_reduce = optimizer._all_reduce_sum_gradients

    def all_reduce_then_clip(grads_and_vars):
        grads, variables = zip(*all_reduce(grads_and_vars), strict=True)
        return list(zip(clip(list(grads)), variables, strict=True))

    optimizer._clip_gradients = lambda grads: grads
    optimizer._all_reduce_sum_gradients = all_reduce_then_clip
    optimizer._kt_clips_late = True


def allow_unprefixed_safetensors():
    """Let keras-hub's Hugging Face converters read tensors saved without the
    model prefix.

    The converters ask for Hub-layout names (`distilbert.embeddings...`); a
    folder written by `AutoModel.save_pretrained` of the base model class has
    `embeddings...`. keras-hub finds a prefix the file has but not one it
    lacks; this adds that fallback (idempotent).
    """
    from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

    original = SafetensorLoader.get_prefixed_key
    if getattr(original, "_kt_unprefixed", False):
        return

    def get_prefixed_key(self, hf_weight_key, dict_like):
        key = original(self, hf_weight_key, dict_like)
        keys = dict_like.keys()
        if key not in keys:
            _, _, rest = hf_weight_key.partition(".")
            if rest and rest in keys:
                return rest
        return key

    get_prefixed_key._kt_unprefixed = True
    SafetensorLoader.get_prefixed_key = get_prefixed_key


def safetensor_loader(folder):
    """keras-hub's reader of a Hugging Face folder's tensors (a context manager)."""
    from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

    allow_unprefixed_safetensors()
    return SafetensorLoader(folder)


def keras_hub_bert_weights(backbone, loader, transformers_config):
    """keras-hub's BERT weight map, for backbones with BERT's layer names."""
    from keras_hub.src.utils.transformers.convert_bert import convert_weights

    convert_weights(backbone, loader, transformers_config)
