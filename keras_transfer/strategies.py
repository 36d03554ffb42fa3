"""The one registry of transfer strategies: what trains, how, and where the recipe comes from.

`STRATEGIES` maps a name to a `Strategy`: a description, a training `Recipe`
(learning rate, warmup, most epochs allowed) and a builder. The CLI's choices,
`compare_strategies`, the models' default learning rates and the README table
all read it; nothing else lists strategies.

The most epochs a recipe allows is a ceiling, not a count: the mandatory
`EarlyStopping(patience=3, restore_best_weights=True)` on the validation loss
decides when a run stops and which epoch's weights it keeps. Strategies whose
encoder is frozen train on cached features (milliseconds an epoch), so they
get as many epochs as they need.
"""

import dataclasses

from keras_transfer.checks import check_int


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a strategy trains.

    Args:
        learning_rate: peak learning rate.
        max_epochs: the most epochs allowed; EarlyStopping usually ends sooner.
        warmup_ratio: share of the run spent warming up linearly from 0, then
            decaying linearly to 0 (AdamW). 0 means a constant rate with Adam,
            halved by ReduceLROnPlateau when the validation loss stalls.
        weight_decay: AdamW's decoupled weight decay (warmup recipes only).
        source: where the recipe comes from.
    """

    learning_rate: float
    max_epochs: int
    warmup_ratio: float = 0.0
    weight_decay: float = 0.01
    source: str = ""

    def optimizer(self, steps_per_epoch, epochs=None):
        """A fresh optimizer for a run of `epochs` (default `max_epochs`) epochs.

        Example:
        >>> from keras_transfer.strategies import STRATEGIES
        >>> STRATEGIES["full"].recipe.optimizer(steps_per_epoch=32).__class__.__name__
        'AdamW'
        """
        import keras

        from keras_transfer.optimizers import adamw_with_warmup

        if not self.warmup_ratio:
            return keras.optimizers.Adam(self.learning_rate)
        check_int("steps_per_epoch", steps_per_epoch)
        total_steps = steps_per_epoch * (epochs or self.max_epochs)
        return adamw_with_warmup(
            total_steps,
            learning_rate=self.learning_rate,
            warmup_ratio=self.warmup_ratio,
            weight_decay=self.weight_decay,
        )


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A named way of transferring: description, recipe and builder.

    `build(label_names, max_length, preset, **options)` returns a compiled
    model; `options` holds the strategy's own arguments with their defaults
    (`unfreeze_last` for last_n, `lora_rank` for lora).
    `pretrained` says whether pretrained weights are used; `in_default_run`
    whether `python -m keras_transfer compare` runs it without `--strategies`.
    `token_recipe` is the recipe for token classification (NER,
    `python -m keras_transfer compare --task ner`), for the strategies that
    apply there; None for the others.
    """

    name: str
    description: str
    recipe: Recipe
    pretrained: bool = True
    in_default_run: bool = True
    options: dict = dataclasses.field(default_factory=dict)
    token_recipe: Recipe = None

    def build(self, label_names, max_length=128, preset=None, **options):
        """A new compiled model for `label_names`; `options` override the
        strategy's defaults and reach the model's constructor (`dropout`, ...)."""
        import keras_transfer as kt

        if self.name == "embedding":
            return kt.EmbeddingClassifier.from_word_vectors(
                num_classes=len(label_names),
                max_length=max_length,
                label_names=label_names,
                **options,
            )
        if self.name == "zero_shot":
            return kt.ZeroShotClassifier.from_preset(
                preset,
                label_names=list(label_names),
                max_length=max_length,
                **{**self.options, **options},
            )
        if self.name == "setfit":
            return kt.SetFitClassifier.from_preset(
                preset,
                num_classes=len(label_names),
                max_length=max_length,
                label_names=label_names,
                **options,
            )
        return kt.TransformerClassifier.from_preset(
            preset,
            num_classes=len(label_names),
            strategy=self.name,
            max_length=max_length,
            label_names=label_names,
            **{**self.options, **options},
        )

    def train(
        self,
        texts,
        labels,
        label_names,
        validation_data=None,
        max_length=128,
        preset=None,
        batch_size=16,
        epochs=None,
        class_weight="balanced",
        options=None,
        **fit_kwargs,
    ):
        """Build a fresh model and fit it with this strategy's recipe.

        The optimizer follows the recipe over `epochs` (default
        `recipe.max_epochs`); `fit` adds the mandatory callbacks. Returns
        `(model, history)`. Other keyword arguments go to `model.fit`
        (`experiment`, `log_root`, `callbacks`, `verbose`, ...).
        """
        epochs = epochs or self.recipe.max_epochs
        model = self.build(label_names, max_length, preset, **(options or {}))
        if self.name == "zero_shot":
            return model, None  # nothing trains
        if self.name == "setfit":  # its fit builds the optimizer of its pair stage
            fit_kwargs["learning_rate"] = self.recipe.learning_rate
        else:
            model.compile(optimizer=self.recipe.optimizer(-(-len(texts) // batch_size), epochs))
        history = model.fit(
            texts,
            labels,
            validation_data=validation_data,
            epochs=epochs,
            batch_size=batch_size,
            class_weight=class_weight,
            **fit_kwargs,
        )
        return model, history


_BERT = (
    "Devlin et al. 2019 (BERT), section 5 and appendix A.3: AdamW, lr 2e-5 to 5e-5, "
    "10 % warmup, 2-4 epochs"
)
_SMALL_DATA = (
    "Mosbach et al. 2021 (On the stability of fine-tuning BERT): small sets need warmup "
    "and more steps"
)

STRATEGIES = {
    s.name: s
    for s in (
        Strategy(
            "embedding",
            "frozen GloVe 50-d vectors, mean-pooled, + MLP head",
            Recipe(
                learning_rate=3e-3,
                max_epochs=200,
                source="Adam on a small head over frozen features; early stopping picks the epoch "
                "(Goodfellow et al. 2016, 7.8). Features are cached: epochs cost milliseconds.",
            ),
        ),
        Strategy(
            "frozen",
            "frozen transformer (feature extraction), head only",
            Recipe(
                learning_rate=1e-3,
                max_epochs=200,
                source="Feature extraction as in Howard & Ruder 2018 (ULMFiT) and the Keras "
                "transfer learning guide: Adam 1e-3 on the head until validation loss stops "
                "improving.",
            ),
            token_recipe=Recipe(
                learning_rate=3e-3,
                max_epochs=100,
                source="A linear tagger on frozen token features: Adam until the validation "
                "loss stops improving. The features are cached: epochs cost well under a second.",
            ),
        ),
        Strategy(
            "last_n",
            "top N transformer blocks + head",
            Recipe(
                learning_rate=1e-4,
                max_epochs=6,
                warmup_ratio=0.1,
                source="Howard & Ruder 2018 (ULMFiT): top layers take larger steps than full "
                f"fine-tuning; {_SMALL_DATA}.",
            ),
            options={"unfreeze_last": 2},
            token_recipe=Recipe(
                learning_rate=3e-4,
                max_epochs=10,
                warmup_ratio=0.1,
                source="As for sentences, with more epochs: a token tagger sees about 1,400 "
                "sentences.",
            ),
        ),
        Strategy(
            "lora",
            "LoRA adapters on query/value + head",
            Recipe(
                learning_rate=1e-3,
                max_epochs=6,
                warmup_ratio=0.1,
                source="Hu et al. 2022 (LoRA), table 9: rank 8, lr 4e-4 to 5e-4 over many "
                "epochs on GLUE; fewer steps here, so a larger rate.",
            ),
            options={"lora_rank": 8},
            token_recipe=Recipe(
                learning_rate=1e-3,
                max_epochs=10,
                warmup_ratio=0.1,
                source="Hu et al. 2022 (LoRA): rank 8 on query/value, a rate well above full "
                "fine-tuning's.",
            ),
        ),
        Strategy(
            "full",
            "full fine-tuning",
            Recipe(
                learning_rate=5e-5,
                max_epochs=4,
                warmup_ratio=0.1,
                source=f"{_BERT}; {_SMALL_DATA}.",
            ),
            token_recipe=Recipe(
                learning_rate=1e-4,
                max_epochs=8,
                warmup_ratio=0.1,
                source=f"{_BERT} (CoNLL-2003 NER, section 5.3); a small model on a small "
                "corpus takes a larger rate and more epochs.",
            ),
        ),
        Strategy(
            "scratch",
            "same architecture and tokenizer, random init",
            Recipe(
                learning_rate=5e-4,
                max_epochs=4,
                warmup_ratio=0.1,
                source="Random init of the same model, trained like a small transformer from "
                "scratch (Vaswani et al. 2017: warmup then decay, larger rate than fine-tuning).",
            ),
            pretrained=False,
            in_default_run=False,
            token_recipe=Recipe(
                learning_rate=5e-4,
                max_epochs=10,
                warmup_ratio=0.1,
                source="Random init of the same model (Vaswani et al. 2017: warmup then decay).",
            ),
        ),
        Strategy(
            "setfit",
            "SetFit: contrastive tuning of the sentence encoder on pairs + logistic head",
            Recipe(
                learning_rate=2e-5,
                max_epochs=1,
                warmup_ratio=0.1,
                source="Tunstall et al. 2022 (SetFit): 20 pair iterations, batch 16, lr 2e-5, "
                "1 epoch, then logistic regression on the embeddings. Made for a few "
                "examples per class: the pairs grow with the data (compare --few-shot).",
            ),
            in_default_run=False,
        ),
        Strategy(
            "zero_shot",
            "no training: cosine similarity to the label names",
            Recipe(
                learning_rate=0.0,
                max_epochs=0,
                source="Sentence-embedding zero-shot classification (Yin et al. 2019 frame it; "
                "here the encoder's cosine similarity to 'This text is <label>.', scale 20). "
                "Needs label names that mean something.",
            ),
            in_default_run=False,
            options={"template": "This text is {}."},
        ),
    )
}
DEFAULT_RUN = tuple(name for name, s in STRATEGIES.items() if s.in_default_run)
# The strategies for named entities: those with a token-classification recipe.
NER_STRATEGIES = tuple(name for name, s in STRATEGIES.items() if s.token_recipe)
# The trainability strategies of TransformerClassifier (and the other fine-tuned models).
TRANSFORMER_STRATEGIES = ("frozen", "last_n", "lora", "full", "scratch")


def check_strategies(strategies):
    """A list of registered strategy names from a list or a comma-separated string."""
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    strategies = list(strategies)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if not strategies or unknown or len(set(strategies)) != len(strategies):
        raise ValueError(
            f"`strategies` must be a non-empty list of distinct names from {list(STRATEGIES)}. "
            f"Received: strategies={strategies!r}"
        )
    return strategies


def strategy_options(strategies, preset, max_length, unfreeze_last, lora_rank, truncation="head"):
    """Each strategy's build options (`{name: {option: value}}`), checked against
    the preset's limits before anything trains: `max_length` within the
    position limit, `unfreeze_last` within the number of blocks (the default
    is capped to a smaller model; an explicit value is not). `truncation`
    reaches the strategies that build a `TransformerClassifier`."""
    from keras_transfer.fast_tokenizer import check_truncation

    check_truncation(truncation)
    options = {s: {} for s in strategies}
    for name in strategies:
        if truncation != "head" and name in TRANSFORMER_STRATEGIES:
            options[name]["truncation"] = truncation
    if "last_n" in strategies and unfreeze_last is not None:
        options["last_n"]["unfreeze_last"] = unfreeze_last
    if "lora" in strategies and lora_rank is not None:
        check_int("lora_rank", lora_rank)
        options["lora"]["lora_rank"] = lora_rank
    if any(s != "embedding" for s in strategies):
        from keras_transfer.presets import preset_limits

        length_limit, blocks = preset_limits(preset)
        if length_limit is not None and max_length > length_limit:
            raise ValueError(
                f"`max_length` must not exceed the model's position limit ({length_limit}). "
                f"Received: max_length={max_length}"
            )
        if "last_n" in strategies:
            n = options["last_n"].get(
                "unfreeze_last", STRATEGIES["last_n"].options["unfreeze_last"]
            )
            check_int("unfreeze_last", n)
            if blocks is not None and n > blocks:
                if unfreeze_last is not None:
                    raise ValueError(
                        f"`unfreeze_last` must be at most the model's {blocks} transformer "
                        f"blocks. Received: unfreeze_last={unfreeze_last}"
                    )
                options["last_n"]["unfreeze_last"] = blocks
    return options
