"""The one registry of transfer strategies: what trains, how, and with which model.

`STRATEGIES` maps a name to a `Strategy`: a description, its training recipes
(`keras_transfer.recipes.RECIPES`: learning rate, warmup, most epochs allowed)
and a build function. The registry sits above the models: it imports them,
they never import it (their default learning rates come from the recipes).
The CLI's choices, `compare_strategies`, `compare_ner` and the docs' tables
all read it; nothing else lists strategies.
"""

import dataclasses
from collections.abc import Callable

from keras_transfer.callbacks import monitor_for, with_early_stopping
from keras_transfer.checks import check_int, check_max_length
from keras_transfer.models.embedding_classifier import EmbeddingClassifier
from keras_transfer.models.setfit_classifier import SetFitClassifier
from keras_transfer.models.transformer_classifier import TransformerClassifier
from keras_transfer.models.zero_shot_classifier import ZeroShotClassifier
from keras_transfer.recipes import RECIPES, Recipe
from keras_transfer.trainability import DEFAULT_OPTIONS, TRANSFORMER_STRATEGIES


def compile_with_recipe(model, recipe, steps_per_epoch, epochs):
    """Compile `model` with `recipe`'s optimizer for the run; no extra `fit` arguments."""
    model.compile(optimizer=recipe.optimizer(steps_per_epoch, epochs))
    return {}


def learning_rate_to_fit(model, recipe, steps_per_epoch, epochs):
    """Pass the recipe's rate to `fit`, which builds the optimizer of its own stages (SetFit)."""
    return {"learning_rate": recipe.learning_rate}


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A named way of transferring: description, recipes and model builder.

    `build(label_names, max_length, preset, **options)` returns a compiled
    model: it calls `builder(name, label_names, max_length, preset, **options)`
    with the strategy's own `options` (`unfreeze_last` for last_n, `lora_rank`
    for lora) under the caller's. `train` fits it with `recipe` when `trains`;
    `prepare_fit(model, recipe, steps_per_epoch, epochs)` sets the model up
    for that fit and returns `fit`'s extra arguments (by default it compiles
    with `recipe.optimizer`).
    `pretrained` says whether pretrained weights are used; `in_default_run`
    whether `python -m keras_transfer compare` runs it without `--strategies`;
    `uses_preset` whether it builds on the `preset` encoder.
    `tunable` holds the knobs `compare(tune=N)` searches besides the
    learning rate (`{option: choices}`; `keras_transfer.tuning`).
    `token_recipe` is the recipe for token classification (NER,
    `python -m keras_transfer compare --task ner`), for the strategies that
    apply there; None for the others.

    Example:
    >>> from keras_transfer.strategies import STRATEGIES
    >>> strategy = STRATEGIES["embedding"]
    >>> model = strategy.build(["neg", "pos"], max_length=16)
    >>> type(model).__name__, strategy.recipe.learning_rate
    ('EmbeddingClassifier', 0.003)
    """

    name: str
    description: str
    recipe: Recipe
    builder: Callable
    token_recipe: Recipe = None
    pretrained: bool = True
    in_default_run: bool = True
    uses_preset: bool = True
    options: dict = dataclasses.field(default_factory=dict)
    trains: bool = True
    prepare_fit: Callable = compile_with_recipe
    tunable: dict = dataclasses.field(default_factory=dict)

    def build(self, label_names, max_length=128, preset=None, **options):
        """A new compiled model for `label_names`; `options` override the
        strategy's defaults and reach the model's constructor (`dropout`, ...)."""
        return self.builder(
            self.name, label_names, max_length, preset, **{**self.options, **options}
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
        recipe=None,
        model=None,
        **fit_kwargs,
    ):
        """Build a fresh model and fit it with this strategy's recipe.

        A strategy that does not train returns `(model, None)`. The optimizer
        follows the recipe over `epochs` (default
        `recipe.max_epochs`); `fit` adds the mandatory callbacks. Returns
        `(model, history)`; its EarlyStopping waits `recipe.patience`
        epochs. `recipe` replaces the strategy's own (a tuned
        learning rate); `model` is one `build` already made. Other keyword
        arguments go to `model.fit` (`experiment`, `log_root`, `callbacks`,
        `verbose`, ...).
        """
        recipe = recipe or self.recipe
        epochs = epochs or recipe.max_epochs
        if model is None:
            model = self.build(label_names, max_length, preset, **(options or {}))
        if not self.trains:
            return model, None
        steps_per_epoch = -(-len(texts) // batch_size)
        fit_kwargs.update(self.prepare_fit(model, recipe, steps_per_epoch, epochs))
        fit_kwargs["callbacks"] = with_early_stopping(
            fit_kwargs.get("callbacks"),
            recipe.patience,
            monitor=monitor_for(validation_data, fit_kwargs.get("validation_split")),
        )
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


def _build_embedding(name, label_names, max_length, preset, **options):
    return EmbeddingClassifier.from_word_vectors(
        num_classes=len(label_names), max_length=max_length, label_names=label_names, **options
    )


def _build_transformer(name, label_names, max_length, preset, **options):
    return TransformerClassifier.from_preset(
        preset,
        num_classes=len(label_names),
        strategy=name,
        max_length=max_length,
        label_names=label_names,
        **options,
    )


def _build_setfit(name, label_names, max_length, preset, **options):
    return SetFitClassifier.from_preset(
        preset,
        num_classes=len(label_names),
        max_length=max_length,
        label_names=label_names,
        **options,
    )


def _build_zero_shot(name, label_names, max_length, preset, **options):
    return ZeroShotClassifier.from_preset(
        preset, label_names=list(label_names), max_length=max_length, **options
    )


def _strategy(name, description, builder, **fields):
    """A registered strategy with its recipes from `RECIPES` and its trainability defaults."""
    return Strategy(
        name,
        description,
        RECIPES["classification"][name],
        builder,
        token_recipe=RECIPES["ner"].get(name),
        **{"options": dict(DEFAULT_OPTIONS.get(name, {})), **fields},
    )


STRATEGIES = {
    s.name: s
    for s in (
        _strategy(
            "embedding",
            "frozen GloVe 50-d vectors, mean-pooled, + MLP head",
            _build_embedding,
            uses_preset=False,
            tunable={"ngram_filters": (0, 100)},
        ),
        _strategy(
            "frozen", "frozen transformer (feature extraction), head only", _build_transformer
        ),
        _strategy(
            "last_n",
            "top N transformer blocks + head",
            _build_transformer,
            tunable={"unfreeze_last": (1, 2, 3, 4, 6)},
        ),
        _strategy(
            "lora",
            "LoRA adapters on query/value + head",
            _build_transformer,
            tunable={"lora_rank": (2, 4, 8, 16)},
        ),
        _strategy("full", "full fine-tuning", _build_transformer),
        _strategy(
            "scratch",
            "same architecture and tokenizer, random init",
            _build_transformer,
            pretrained=False,
            in_default_run=False,
        ),
        _strategy(
            "setfit",
            "SetFit: contrastive tuning of the sentence encoder on pairs + logistic head",
            _build_setfit,
            in_default_run=False,
            prepare_fit=learning_rate_to_fit,
        ),
        _strategy(
            "zero_shot",
            "no training: cosine similarity to the label names",
            _build_zero_shot,
            in_default_run=False,
            options={"template": "This text is {}."},
            trains=False,
        ),
    )
}
DEFAULT_RUN = tuple(name for name, s in STRATEGIES.items() if s.in_default_run)
# The strategies of the token-classification task (NER): those with a token recipe.
NER_STRATEGIES = tuple(name for name, s in STRATEGIES.items() if s.token_recipe)


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
    is capped to a smaller model; an explicit value is not). `unfreeze_last`
    and `lora_rank` reach the strategies that take them; `truncation` the
    strategies that build a `TransformerClassifier`."""
    from keras_transfer.fast_tokenizer import check_truncation

    check_truncation(truncation)
    given = {"unfreeze_last": unfreeze_last, "lora_rank": lora_rank}
    options = {s: {} for s in strategies}
    for name in strategies:
        if truncation != "head" and name in TRANSFORMER_STRATEGIES:
            options[name]["truncation"] = truncation
        for key, value in given.items():
            if value is not None and key in STRATEGIES[name].options:
                options[name][key] = value
    if any("lora_rank" in o for o in options.values()):
        check_int("lora_rank", lora_rank)
    if not any(STRATEGIES[s].uses_preset for s in strategies):
        return options
    from keras_transfer.presets import preset_limits

    length_limit, blocks = preset_limits(preset)
    check_max_length(max_length, length_limit)
    for name in strategies:
        n = {**STRATEGIES[name].options, **options[name]}.get("unfreeze_last")
        if n is None:
            continue
        check_int("unfreeze_last", n)
        if blocks is not None and n > blocks:
            if unfreeze_last is not None:
                raise ValueError(
                    f"`unfreeze_last` must be at most the model's {blocks} transformer "
                    f"blocks. Received: unfreeze_last={unfreeze_last}"
                )
            options[name]["unfreeze_last"] = blocks
    return options
