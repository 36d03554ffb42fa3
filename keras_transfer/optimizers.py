"""Optimizers for fine-tuning: AdamW with warmup, and layer-wise learning rates."""

import keras

from keras_transfer import _keras_compat as compat
from keras_transfer.checks import check_int
from keras_transfer.families.tokenization import transformer_blocks
from keras_transfer.schedules import WarmupLinearDecay


def adamw_with_warmup(
    total_steps,
    learning_rate=2e-5,
    warmup_ratio=0.1,
    weight_decay=0.01,
    clipnorm=1.0,
    end_learning_rate=0.0,
):
    """The BERT fine-tuning recipe: AdamW, weight decay 0.01, linear warmup then linear decay.

    Args:
        total_steps: optimizer steps of the whole run (epochs x batches per epoch).
        learning_rate: peak learning rate (2e-5).
        warmup_ratio: share of `total_steps` spent warming up (0.1).
        weight_decay: decoupled weight decay (0.01).
        clipnorm: gradient clipping by norm (1.0; None to disable).
        end_learning_rate: the rate at the end of `total_steps`, held after
            them (0).

    Example:
    >>> import keras_transfer as kt
    >>> optimizer = kt.adamw_with_warmup(total_steps=300)
    >>> optimizer.weight_decay
    0.01
    """
    if not 0 <= warmup_ratio < 1:
        raise ValueError(
            f"`warmup_ratio` must be in [0, 1). Received: warmup_ratio={warmup_ratio!r}"
        )
    check_int("total_steps", total_steps, minimum=1)
    number = isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool)
    if not number or not learning_rate > 0:
        raise ValueError(
            f"`learning_rate` must be a positive number. Received: learning_rate={learning_rate!r}"
        )
    schedule = WarmupLinearDecay(
        learning_rate, int(total_steps * warmup_ratio), total_steps, end_learning_rate
    )
    return keras.optimizers.AdamW(schedule, weight_decay=weight_decay, clipnorm=clipnorm)


def layerwise_multipliers(model, decay=0.95):
    """Discriminative learning-rate factors for a transformer classifier (layer-wise decay).

    Block `l` of `L` (0 = bottom) gets `decay ** (L - l)`, the embeddings
    `decay ** (L + 1)`, the head 1. Keys are the first component of variable
    paths (`"transformer_layer_3"`, `"token_embedding"`, ...).

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TransformerClassifier.from_preset(None, max_length=16)
    >>> kt.layerwise_multipliers(model, 0.5)["transformer_layer_5"]
    0.5
    """
    if not 0 < decay <= 1:
        raise ValueError(f"`decay` must be in (0, 1]. Received: decay={decay!r}")
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(backbone, "transformer_layers"):
        raise ValueError(
            "`model` must have a keras-hub `backbone` with `transformer_layers`. "
            f"Received: model={type(model).__name__}"
        )
    blocks = transformer_blocks(backbone)
    n = len(blocks)
    factors = {layer.name: decay ** (n + 1) for layer in backbone.layers}
    for index, block in enumerate(blocks):
        factors[block.name] = decay ** (n - index)
    return factors


class _LayerwiseLearningRates:
    """Mixin: scale the learning rate of each variable by a factor chosen by its path.

    The factor multiplies the step size itself, not the gradient, so it holds
    for Adam, whose updates do not scale with the gradient.
    """

    def __init__(self, *args, multipliers=None, **kwargs):
        if multipliers is not None and not isinstance(multipliers, dict):
            raise ValueError(
                "`multipliers` must be a {variable path prefix: factor} dict, e.g. from "
                f"`layerwise_multipliers(model)`. Received: multipliers={multipliers!r}"
            )
        super().__init__(*args, **kwargs)
        multipliers = dict(multipliers or {})
        for key, value in multipliers.items():
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    "`multipliers` values must be numbers >= 0. "
                    f"Received: multipliers[{key!r}]={value!r}"
                )
        self.multipliers = multipliers

    def build(self, variables):
        super().build(variables)
        # Backends hand `update_step` their native variable (TensorFlow a
        # tf.Variable, without a Keras path): look factors up by index.
        self._factors = [self.multipliers.get(v.path.split("/")[0], 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        factor = self._factors[compat.variable_index(self, variable)]
        if factor != 1.0:
            learning_rate = learning_rate * factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "multipliers": dict(self.multipliers)}


@keras.saving.register_keras_serializable(package="keras_transfer")
class LayerwiseAdam(_LayerwiseLearningRates, keras.optimizers.Adam):
    """`keras.optimizers.Adam` with a learning-rate factor per layer (see `layerwise_multipliers`).

    Example:
    >>> import keras_transfer as kt
    >>> optimizer = kt.LayerwiseAdam(2e-5, multipliers={"transformer_layer_0": 0.5})
    """


@keras.saving.register_keras_serializable(package="keras_transfer")
class LayerwiseAdamW(_LayerwiseLearningRates, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with a learning-rate factor per layer (see `layerwise_multipliers`).

    Example:
    >>> import keras_transfer as kt
    >>> optimizer = kt.LayerwiseAdamW(2e-5, weight_decay=0.01, multipliers={"token_embedding": 0.5})
    """
