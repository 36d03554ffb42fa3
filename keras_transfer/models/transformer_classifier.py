"""TransformerClassifier: a pretrained keras-hub encoder -> pooling -> dense head."""

import keras

from keras_transfer.checks import check_max_length, check_rate
from keras_transfer.fast_tokenizer import check_max_chunks
from keras_transfer.layers.text_windows import WindowMean, WindowsToRows
from keras_transfer.metrics import classification_metrics
from keras_transfer.models.base import TransferModel
from keras_transfer.models.sentence_encoder import pooled_output
from keras_transfer.optimizers import LayerwiseAdam, layerwise_multipliers
from keras_transfer.recipes import RECIPES
from keras_transfer.schedules import exponential_decay
from keras_transfer.trainability import check_transformer_backbone, setup_strategy

POOLINGS = ("cls", "mean")


@keras.saving.register_keras_serializable(package="keras_transfer")
class TransformerClassifier(TransferModel):
    """Fine-tune a pretrained keras-hub encoder for text classification.

    text -> `preprocessor` (tokenize, truncate to `max_length`) -> `backbone`
    -> [CLS] vector (or masked mean over tokens) -> Dense 128 relu -> Dropout 0.3
    -> softmax. With `truncation="chunks"` a long text is read whole, in
    overlapping windows of `max_length` tokens: each window goes through the
    backbone and is pooled as above, and the head reads the mean of the
    text's window vectors (`keras_transfer.layers.WindowMean`: windows that
    hold tokens weigh the same, the padding windows of a shorter text
    nothing). In `fit`, `evaluate`, `predict` and `predict_on_batch`, raw
    texts are tokenized before the pipeline (`keras_transfer.FastTokenizer`) and
    each batch is padded only to the smallest of 16/32/64/.../`max_length` that
    holds its longest text; training batches group texts of similar length.
    What trains is set by `strategy`:

    | strategy  | trains                                                    |
    |-----------|-----------------------------------------------------------|
    | `full`    | everything                                                |
    | `frozen`  | the head only (feature extraction)                        |
    | `last_n`  | the top `unfreeze_last` transformer blocks and the head   |
    | `lora`    | LoRA adapters of rank `lora_rank` (query/value) and head  |
    | `scratch` | everything, from a random init of the same architecture   |

    The pretrained pooler of BERT-style backbones is not on the head's path and
    stays frozen. `model.backbone.transformer_layers` are the blocks.

    Args:
        backbone: a `keras_hub.models.Backbone` with `transformer_layers`.
        preprocessor: a `keras_hub.models.TextClassifierPreprocessor`.
        num_classes: int >= 2.
        label_names: optional names of the classes, in id order (saved with the model).
        strategy: one of the table above.
        unfreeze_last: blocks trained by `last_n` (default: the strategy
            registry's, 2; at most the number of blocks).
        lora_rank: rank of the LoRA adapters (default: the registry's, 8).
        pooling: `"cls"` (default) or `"mean"` (masked).
        truncation: what a text longer than `max_length` keeps: `"head"`
            (default, its first tokens), `"head_tail"` (its first quarter and
            last three quarters) or `"chunks"` (all of it, up to `max_chunks`
            windows overlapping by half a window; see
            `keras_transfer.FastTokenizer`). The model's inputs then have a
            window axis, `(texts, max_chunks, length)`; the toolkit's export
            takes `"head"` only.
        max_chunks: windows per text with `truncation="chunks"` (default 4;
            each costs a pass through the backbone, though batches of short
            texts are cut to the windows they use). Only for `"chunks"`.
        hidden_units: width of the head's hidden layer.
        dropout: dropout rate of the head.

    Example:
    >>> import keras_transfer as kt
    >>> model = kt.TransformerClassifier.from_preset(None, num_classes=2, strategy="last_n",
    ...                                              unfreeze_last=2, max_length=64)
    >>> history = model.fit(["a great film", "an awful film"], [1, 0], epochs=1, verbose=0)
    """

    tokenizes_texts = True
    auto_pooling = True  # see `TransferModel.from_preset`

    def __init__(
        self,
        backbone,
        preprocessor,
        num_classes=2,
        strategy="full",
        unfreeze_last=None,
        lora_rank=None,
        pooling="cls",
        hidden_units=128,
        dropout=0.3,
        label_names=None,
        truncation="head",
        max_chunks=None,
        **kwargs,
    ):
        check_transformer_backbone(backbone)
        max_chunks = check_max_chunks(truncation, max_chunks)
        self.check_num_classes(num_classes)
        if pooling not in POOLINGS:
            raise ValueError(f"`pooling` must be one of {POOLINGS}. Received: pooling={pooling!r}")
        check_rate("dropout", dropout)
        check_max_length(
            getattr(preprocessor, "sequence_length", None),
            getattr(backbone, "max_sequence_length", None),
        )
        unfreeze_last, lora_rank = setup_strategy(backbone, strategy, unfreeze_last, lora_rank)

        label_names = self.check_label_names(label_names, num_classes)

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        # keras' masked mean: every row keeps its [CLS] and [SEP] (a padding
        # window its first position, see `WindowsToRows`), so none is empty.
        self.pooler = (
            keras.layers.GlobalAveragePooling1D(name="pooling") if pooling == "mean" else None
        )
        self.hidden = keras.layers.Dense(
            hidden_units, activation="relu", name="classification_dense"
        )
        self.head_dropout = keras.layers.Dropout(dropout, name="classification_dropout")
        self.output_dense = keras.layers.Dense(
            num_classes, activation="softmax", name="predictions"
        )
        # `truncation="chunks"`: windows through the backbone as rows, then averaged.
        self.window_rows = WindowsToRows(name="window_rows") if max_chunks else None
        self.window_mean = WindowMean(name="window_mean") if max_chunks else None

        # === Functional Model ===
        inputs, x = self._pooled_inputs(backbone)
        x = self.head_dropout(self.hidden(x))
        outputs = self.output_dense(x)
        compile = kwargs.pop("compile", True)
        super().__init__(inputs=inputs, outputs=outputs, compile=False, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.label_names = label_names
        self.strategy = strategy
        self.unfreeze_last = unfreeze_last
        self.lora_rank = lora_rank
        self.pooling = pooling
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.truncation = truncation
        self.max_chunks = max_chunks
        if compile:
            self.compile()

    def _pooled_inputs(self, backbone):
        """The model's inputs, and the vector the head reads: the pooled
        backbone output, or with windows (`"chunks"`) the mean of the windows'."""
        if self.window_rows is None:
            return backbone.input, pooled_output(backbone, backbone.input, self.pooler)
        inputs = {
            key: keras.Input(shape=(None, None), dtype=value.dtype, name=key)
            for key, value in backbone.input.items()
        }
        x = pooled_output(backbone, self.window_rows(inputs), self.pooler)
        return inputs, self.window_mean(x, inputs["padding_mask"])

    def compile(self, optimizer="auto", loss="auto", metrics="auto", layer_decay=None, **kwargs):
        """Defaults: Adam with an ExponentialDecay (0.96 every 100 steps) from
        the strategy's learning rate in `keras_transfer.recipes.RECIPES`
        (5e-5 full, 1e-4 last_n, 1e-3 LoRA and head only, 5e-4 scratch),
        gradient clipping at norm 1, sparse categorical cross-entropy,
        accuracy / precision / recall. `compare_strategies` compiles each
        strategy with its full recipe instead (warmup, AdamW).

        `layer_decay` (e.g. 0.95) gives the default optimizer discriminative
        learning rates: block l of L at `lr * layer_decay ** (L - l)`, the
        embeddings at `lr * layer_decay ** (L + 1)`, the head at `lr`.
        For AdamW with warmup pass
        `optimizer=kt.adamw_with_warmup(total_steps)`, or `kt.LayerwiseAdamW` to
        combine both."""
        if layer_decay is not None and optimizer != "auto":
            raise ValueError(
                "`layer_decay` configures the default optimizer; with your own, use "
                "kt.LayerwiseAdam(W)(..., multipliers=kt.layerwise_multipliers(model, decay)). "
                f"Received: layer_decay={layer_decay!r}, optimizer={optimizer!r}"
            )
        if layer_decay is not None and (
            isinstance(layer_decay, bool)
            or not isinstance(layer_decay, (int, float))
            or not 0 < layer_decay <= 1
        ):
            raise ValueError(
                f"`layer_decay` must be in (0, 1]. Received: layer_decay={layer_decay!r}"
            )
        if optimizer == "auto":
            schedule = exponential_decay(RECIPES["classification"][self.strategy].learning_rate)
            if layer_decay is None:
                optimizer = keras.optimizers.Adam(schedule, clipnorm=1.0)
            else:
                optimizer = LayerwiseAdam(
                    schedule, clipnorm=1.0, multipliers=layerwise_multipliers(self, layer_decay)
                )
        if loss == "auto":
            loss = "sparse_categorical_crossentropy"
        if metrics == "auto":
            metrics = classification_metrics(self.num_classes)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def _head_layer(self):
        return self.hidden

    def get_config(self):
        # keras-hub's Task gives the backbone, the preprocessor and the name.
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "label_names": self.label_names,
            "strategy": self.strategy,
            "unfreeze_last": self.unfreeze_last,
            "lora_rank": self.lora_rank,
            "pooling": self.pooling,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "truncation": self.truncation,
            "max_chunks": self.max_chunks,
        }
