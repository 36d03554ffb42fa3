"""Every private Keras hook the toolkit relies on still exists: a Keras release
that removes one fails here, naming it, not deep inside a training run."""

import keras
import pytest

from keras_transfer import _keras_compat as compat


@pytest.mark.parametrize(
    "owner, attribute, purpose", compat.PRIVATE_HOOKS, ids=[h[1] for h in compat.PRIVATE_HOOKS]
)
def test_private_hook_exists(owner, attribute, purpose):
    assert hasattr(owner, attribute), (
        f"Keras {keras.__version__} has no {owner.__name__}.{attribute}, which keras_transfer "
        f"uses for {purpose}: update keras_transfer/_keras_compat.py"
    )


def test_private_instance_state_exists(tmp_path, tiny_preset):
    import keras_transfer as kt

    model = kt.TransformerClassifier.from_preset(tiny_preset, strategy="lora", max_length=8)
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    tensorboard.set_model(model)
    owners = {
        "optimizer": model.optimizer,
        "compiled model": model,
        "tensorboard": tensorboard,
        "lora backbone": model.backbone,
    }
    if keras.backend.backend() == "tensorflow":
        owners["tensorflow optimizer"] = keras.optimizers.Adam()
    for owner, attribute, purpose in compat.INSTANCE_HOOKS:
        if owner not in owners:
            continue  # a hook of another backend
        assert hasattr(owners[owner], attribute), (
            f"Keras {keras.__version__}: the {owner} has no {attribute}, which keras_transfer "
            f"uses for {purpose}: update keras_transfer/_keras_compat.py"
        )
    assert compat.lora_enabled(model.backbone)
    assert isinstance(compat.learning_rate(model.optimizer), kt.PlateauSchedule)
    assert "optimizer" in compat.compile_arguments(model)
    assert compat.resume_epoch(model) is None
    from keras_transfer._keras_compat import keras_model_summary

    assert callable(keras_model_summary)


def test_private_keras_hub_hooks_exist():
    import importlib

    import keras_hub

    for module, attribute, purpose in compat.KERAS_HUB_HOOKS:
        owner = importlib.import_module(module)
        for part in attribute.split("."):
            assert hasattr(owner, part), (
                f"keras-hub {keras_hub.__version__}: {module} has no {attribute}, which "
                f"keras_transfer uses for {purpose}: update keras_transfer/_keras_compat.py"
            )
            owner = getattr(owner, part)


def test_unprefixed_tensors_are_found():
    from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

    compat.allow_unprefixed_safetensors()
    compat.allow_unprefixed_safetensors()  # idempotent
    loader = SafetensorLoader.__new__(SafetensorLoader)
    loader.prefix = None
    names = {"embeddings.word_embeddings.weight": 0}
    found = loader.get_prefixed_key("distilbert.embeddings.word_embeddings.weight", names)
    assert found == "embeddings.word_embeddings.weight"
    hub = {"distilbert.embeddings.word_embeddings.weight": 0}
    loader.prefix = None
    assert loader.get_prefixed_key("distilbert.embeddings.word_embeddings.weight", hub) in hub
