"""data_parallel(): every local device, on Keras' own distribution engines."""

import keras


def data_parallel(devices=None):
    """The data-parallel distribution over this machine's devices, for the backend in use.

    Nothing of the toolkit's own: on JAX it is Keras'
    `keras.distribution.DataParallel`, on TensorFlow
    `tf.distribute.MirroredStrategy`. Both have `.scope()`: build and train the
    model inside it, and nothing else changes. The batch size stays global: a
    batch of 32 on 4 devices puts 8 examples on each, and the steps, losses and
    weights are those of a one-device run with the same batch (dropout aside).
    Frozen-feature caching, the mandatory callbacks, the schedules and the
    layer-wise optimizers work unchanged inside the scope.

    On several hosts (JAX), call `keras.distribution.initialize(...)` first on
    every host: the devices are then all hosts' devices, and only the first
    process writes logs.

    The torch backend has no multi-device `fit` in Keras: this raises a
    `ValueError` that says what to use instead.

    Args:
        devices: the devices to use, as Keras names them (`"gpu:0"`,
            `"cpu:1"`, ...). Default: all of them (accelerators when there are
            any, else the CPU devices).

    Returns:
        A `keras.distribution.DataParallel` (JAX) or a
        `tf.distribute.MirroredStrategy` (TensorFlow).

    Example:
    >>> import keras, keras_transfer as kt
    >>> dp = kt.data_parallel()  # doctest: +SKIP
    >>> with dp.scope():  # doctest: +SKIP
    ...     model = kt.TransformerClassifier.from_preset(num_classes=2, strategy="lora")
    ...     model.fit(texts, labels, validation_data=(val_texts, val_labels), batch_size=32)
    """
    backend = keras.backend.backend()
    if devices is not None and (
        not isinstance(devices, (list, tuple))
        or not devices
        or not all(isinstance(d, str) for d in devices)
    ):
        raise ValueError(
            "`devices` must be a non-empty list of device names such as ['gpu:0', 'gpu:1'], "
            f"or None for all devices. Received: devices={devices!r}"
        )
    if backend == "jax":
        available = keras.distribution.list_devices()
        _check_known(devices, available)
        return keras.distribution.DataParallel(devices=devices or available)
    if backend == "tensorflow":
        import tensorflow as tf

        available = keras.distribution.list_devices()
        _check_known(devices, available)
        names = [_tf_device(d) for d in (devices or available)]
        return tf.distribute.MirroredStrategy(devices=names)
    raise ValueError(
        f"Keras has no multi-device `fit` on the {backend!r} backend. Run the same code with "
        "KERAS_BACKEND=jax (keras.distribution) or KERAS_BACKEND=tensorflow "
        "(tf.distribute.MirroredStrategy); the models and saved files are the same. "
        f"Received: KERAS_BACKEND={backend!r}"
    )


def replicas():
    """How many ways Keras' JAX distribution splits each batch (1 without one).

    Every batch must then split evenly (see `keras_transfer.data.even_indices`).
    TensorFlow's `MirroredStrategy` splits an uneven batch itself: 1 there.
    """
    if keras.backend.backend() != "jax":
        return 1
    current = keras.distribution.distribution()
    if current is None:
        return 1
    mesh = current.device_mesh
    return int(mesh.shape[list(mesh.axis_names).index(current.batch_dim_name)])


def process_index():
    """This process's index among the hosts of a multi-host run (0 when there is one host)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.process_index()
    return 0


def _check_known(devices, available):
    unknown = [d for d in devices or () if d.lower() not in available]
    if unknown:
        raise ValueError(
            f"Unknown device {unknown[0]!r}; this process sees {available}. "
            f"Received: devices={devices!r}"
        )


def _tf_device(name):
    kind, index = name.split(":")
    return f"/{kind.upper()}:{index}"
