"""Which weights train: strategies over a keras-hub backbone, and a report of them."""

import keras
import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.families.tokenization import transformer_blocks
from keras_transfer.schedules import attach_plateau_schedule


def check_strategy(strategy, unfreeze_last, lora_rank, num_blocks):
    """Validate a transformer strategy and its arguments (None: the default)
    against a backbone of `num_blocks`."""
    if strategy not in TRANSFORMER_STRATEGIES:
        raise ValueError(
            f"`strategy` must be one of {list(TRANSFORMER_STRATEGIES)}. "
            f"Received: strategy={strategy!r}"
        )
    if unfreeze_last is not None and (
        isinstance(unfreeze_last, bool)
        or not isinstance(unfreeze_last, int)
        or not 0 <= unfreeze_last <= num_blocks
    ):
        raise ValueError(
            f"`unfreeze_last` must be an integer from 0 to the number of transformer blocks "
            f"({num_blocks}). Received: unfreeze_last={unfreeze_last!r}"
        )
    check_int("lora_rank", lora_rank, minimum=1, allow_none=True)


def _pooler_layers(backbone):
    # BERT's pooler (Dense+tanh on [CLS]) is outside the path the toolkit's
    # heads read; training it would only produce missing-gradient warnings.
    return [layer for layer in backbone.layers if layer.name == "pooled_dense"]


def set_trainable_blocks(backbone, n):
    """Freeze the backbone except its top `n` transformer blocks (all when n is None)."""
    backbone.trainable = True
    blocks = transformer_blocks(backbone)
    trainable_blocks = blocks if n is None else blocks[len(blocks) - n :] if n else []
    for layer in backbone.layers:
        layer.trainable = n is None
    for block in trainable_blocks:
        block.trainable = True
    for layer in _pooler_layers(backbone):
        layer.trainable = False


def _train_everything(backbone, unfreeze_last, lora_rank):
    set_trainable_blocks(backbone, None)


def _train_head_only(backbone, unfreeze_last, lora_rank):
    set_trainable_blocks(backbone, 0)


def _train_top_blocks(backbone, unfreeze_last, lora_rank):
    set_trainable_blocks(backbone, unfreeze_last)


def _train_lora_adapters(backbone, unfreeze_last, lora_rank):
    from keras_transfer._keras_compat import lora_enabled

    if not lora_enabled(backbone):
        backbone.enable_lora(lora_rank)
    for layer in _pooler_layers(backbone):
        layer.trainable = False


# What trains under each strategy of the fine-tuned transformer models.
_SET_TRAINABLE = {
    "frozen": _train_head_only,
    "last_n": _train_top_blocks,
    "lora": _train_lora_adapters,
    "full": _train_everything,
    "scratch": _train_everything,  # random init: `load_weights=False` in `from_preset`
}
TRANSFORMER_STRATEGIES = tuple(_SET_TRAINABLE)
# The defaults of the strategies' own arguments (shown by the registry's `Strategy.options`).
DEFAULT_OPTIONS = {"last_n": {"unfreeze_last": 2}, "lora": {"lora_rank": 8}}


def apply_strategy(backbone, strategy, unfreeze_last, lora_rank):
    """Set `trainable` flags on `backbone` for a strategy (recompile afterwards)."""
    _SET_TRAINABLE[strategy](backbone, unfreeze_last, lora_rank)


def check_transformer_backbone(backbone):
    """A keras-hub backbone with `transformer_layers`, or a ValueError."""
    import keras_hub

    if not isinstance(backbone, keras_hub.models.Backbone) or not hasattr(
        backbone, "transformer_layers"
    ):
        raise ValueError(
            "`backbone` must be a keras-hub Backbone with `transformer_layers`. "
            f"Received: backbone={backbone!r}"
        )


def setup_strategy(backbone, strategy, unfreeze_last, lora_rank):
    """Check a strategy's arguments against `backbone`, fill in its defaults
    (`DEFAULT_OPTIONS`, `unfreeze_last` capped to the model's blocks), apply it, and return
    `(unfreeze_last, lora_rank)`."""
    num_blocks = len(transformer_blocks(backbone))
    check_strategy(strategy, unfreeze_last, lora_rank, num_blocks)
    defaults = DEFAULT_OPTIONS.get(strategy, {})
    if unfreeze_last is None and "unfreeze_last" in defaults:
        unfreeze_last = min(defaults["unfreeze_last"], num_blocks)
    if lora_rank is None:
        lora_rank = defaults.get("lora_rank")
    apply_strategy(backbone, strategy, unfreeze_last, lora_rank)
    return unfreeze_last, lora_rank


def _block_of(path, backbone):
    first = path.split("/")[0]
    if backbone is None:
        return first
    if first in {block.name for block in transformer_blocks(backbone)}:
        return first
    if first == "pooled_dense":
        return "pooler"
    if first in {layer.name for layer in backbone.layers}:
        return "embeddings"
    return "head"


def trainable_summary(model):
    """A pandas DataFrame of the model's weights by block: what trains, how much.

    Columns: `block`, `trainable` (True, False or "partial", e.g. LoRA),
    `trainable_params`, `frozen_params`, `total_params`; the last row is the
    total. Blocks of a transformer classifier are `embeddings`,
    `transformer_layer_<i>`, `pooler` and `head`.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.EmbeddingClassifier.from_word_vectors({"good": [1.0], "bad": [-1.0]})
    >>> kt.trainable_summary(model).iloc[-1]["frozen_params"]
    np.int64(4)
    """
    import pandas as pd

    if not isinstance(model, keras.Model):
        raise ValueError(
            f"`model` must be a Keras model. Received: model of type {type(model).__name__}"
        )
    backbone = getattr(model, "backbone", None)
    trainable_ids = {id(v) for v in model.trainable_weights}
    rows = {}
    for weight in model.weights:
        block = _block_of(weight.path, backbone)
        row = rows.setdefault(block, {"trainable_params": 0, "frozen_params": 0})
        key = "trainable_params" if id(weight) in trainable_ids else "frozen_params"
        row[key] += int(np.prod(weight.shape))
    table = pd.DataFrame(
        [{"block": block, **counts} for block, counts in rows.items()],
        columns=["block", "trainable_params", "frozen_params"],
    )
    table["total_params"] = table["trainable_params"] + table["frozen_params"]
    total = {c: int(table[c].sum()) for c in ("trainable_params", "frozen_params", "total_params")}
    table = pd.concat([table, pd.DataFrame([{"block": "total", **total}])], ignore_index=True)
    table.insert(
        1,
        "trainable",
        [
            "partial" if t and f else bool(t)
            for t, f in zip(table["trainable_params"], table["frozen_params"], strict=True)
        ],
    )
    return table


def rebuild_optimizer(model):
    """Give `model` a fresh optimizer for its current trainable variables.

    Call after changing `trainable` flags mid-training. The new optimizer has
    the old one's configuration (learning-rate schedule state included); its
    variables that existed before (step count, moments of variables already
    training) keep their values. The train function is rebuilt, so the change
    takes effect on every backend.
    """
    old = model.optimizer
    new = old.__class__.from_config(old.get_config())
    attach_plateau_schedule(new)
    new.build(model.trainable_variables)
    previous = {v.path: v for v in old.variables}
    for variable in new.variables:
        source = previous.get(variable.path)
        if source is not None and tuple(source.shape) == tuple(variable.shape):
            variable.assign(source)
    model.optimizer = new
    from keras_transfer._keras_compat import clip_after_all_reduce, set_compiled_optimizer

    clip_after_all_reduce(new)
    set_compiled_optimizer(model, new)
    model.make_train_function(force=True)
    # Rebuilt on next use, for the new set of trainable variables (a JAX
    # distribution fixes each compiled step's output layout when it is built).
    model.test_function = None
    model.predict_function = None
    return new
