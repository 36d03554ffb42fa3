"""The training recipes, as data: `RECIPES[task][strategy]` is a `Recipe`.

`task` is `"classification"` (a label per text) or `"ner"` (a tag per word,
token classification); `RECIPES["ner"]` holds the strategies that apply
there. The strategy registry (`keras_transfer.strategies.STRATEGIES`) and the
models' default learning rates read these; this module imports no model and
no registry.

The most epochs a recipe allows is a ceiling, not a count: the mandatory
`EarlyStopping(restore_best_weights=True)` on the validation loss decides when
a run stops and which epoch's weights it keeps (after `patience` epochs
without a better validation loss), and a comparison also stops a strategy at
its time budget. Strategies whose encoder is frozen train on cached features
(milliseconds an epoch), so they get as many epochs as they need. Fine-tuning
recipes warm up and decay over the literature's few epochs (`decay_epochs`);
a run still improving after them goes on at a tenth of the peak rate, up to
three times as many epochs.
"""

import dataclasses

from keras_transfer.checks import check_int

FLOOR = 0.1
"""The share of the peak rate a run keeps after its recipe's `decay_epochs`."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a strategy trains.

    Args:
        learning_rate: peak learning rate.
        max_epochs: the most epochs allowed; EarlyStopping usually ends sooner.
        warmup_ratio: share of the schedule spent warming up linearly from 0,
            then decaying linearly (AdamW). 0 means a constant rate with Adam,
            halved by ReduceLROnPlateau when the validation loss stalls.
        decay_epochs: epochs of the warmup-and-decay schedule (0: the whole
            run). A run of at most that many epochs decays to 0 at its end; a
            longer one decays to `FLOOR` times the peak over `decay_epochs` and
            holds it there.
        weight_decay: AdamW's decoupled weight decay (warmup recipes only).
        patience: EarlyStopping's patience, epochs without a better
            validation loss before the run stops (the mandatory callbacks'
            default is 3).
        source: where the recipe comes from.
    """

    learning_rate: float
    max_epochs: int
    warmup_ratio: float = 0.0
    decay_epochs: int = 0
    weight_decay: float = 0.01
    patience: int = 3
    source: str = ""

    def optimizer(self, steps_per_epoch, epochs=None):
        """A fresh optimizer for a run of `epochs` (default `max_epochs`) epochs.

        Example:
        >>> from keras_transfer.recipes import RECIPES
        >>> RECIPES["classification"]["full"].optimizer(steps_per_epoch=32).__class__.__name__
        'AdamW'
        """
        import keras

        from keras_transfer.optimizers import adamw_with_warmup

        if not self.warmup_ratio:
            return keras.optimizers.Adam(self.learning_rate)
        check_int("steps_per_epoch", steps_per_epoch)
        epochs = epochs or self.max_epochs
        schedule_epochs = min(epochs, self.decay_epochs or epochs)
        return adamw_with_warmup(
            steps_per_epoch * schedule_epochs,
            learning_rate=self.learning_rate,
            warmup_ratio=self.warmup_ratio,
            weight_decay=self.weight_decay,
            end_learning_rate=self.learning_rate * FLOOR if epochs > schedule_epochs else 0.0,
        )


_BERT = (
    "Devlin et al. 2019 (BERT), section 5 and appendix A.3: AdamW, lr 2e-5 to 5e-5, "
    "10 % warmup, 2-4 epochs"
)
_SMALL_DATA = (
    "Mosbach et al. 2021 (On the stability of fine-tuning BERT): small sets need warmup "
    "and more steps"
)

_PATIENCE = 2
"""EarlyStopping's patience for fine-tuning a text classifier. Its schedule sets
the rate, so ReduceLROnPlateau's halving after two flat epochs has nothing to
rescue: in 27 logged runs (three seeds, three backends, the bundled snippets
and a 6-class question set, tuned and not) a third flat epoch never found a
better epoch (`benchmarks/RESULTS.md`, "EarlyStopping's patience"); it only
cost an epoch."""

_CLASSIFICATION = {
    "embedding": Recipe(
        learning_rate=3e-3,
        max_epochs=200,
        source="Adam on a small head over frozen features; early stopping picks the epoch "
        "(Goodfellow et al. 2016, 7.8). Features are cached: epochs cost milliseconds.",
    ),
    "frozen": Recipe(
        learning_rate=1e-3,
        max_epochs=200,
        source="Feature extraction as in Howard & Ruder 2018 (ULMFiT) and the Keras "
        "transfer learning guide: Adam 1e-3 on the head until validation loss stops "
        "improving.",
    ),
    "last_n": Recipe(
        learning_rate=1e-4,
        max_epochs=20,
        decay_epochs=6,
        warmup_ratio=0.1,
        patience=_PATIENCE,
        source="Howard & Ruder 2018 (ULMFiT): top layers take larger steps than full "
        f"fine-tuning; {_SMALL_DATA}.",
    ),
    "lora": Recipe(
        learning_rate=1e-3,
        max_epochs=20,
        decay_epochs=6,
        warmup_ratio=0.1,
        patience=_PATIENCE,
        source="Hu et al. 2022 (LoRA), table 9: rank 8, lr 4e-4 to 5e-4 over many "
        "epochs on GLUE; fewer steps here, so a larger rate.",
    ),
    "full": Recipe(
        learning_rate=5e-5,
        max_epochs=12,
        decay_epochs=4,
        warmup_ratio=0.1,
        patience=_PATIENCE,
        source=f"{_BERT}; {_SMALL_DATA}.",
    ),
    "scratch": Recipe(
        learning_rate=5e-4,
        max_epochs=12,
        decay_epochs=4,
        warmup_ratio=0.1,
        source="Random init of the same model, trained like a small transformer from "
        "scratch (Vaswani et al. 2017: warmup then decay, larger rate than fine-tuning).",
    ),
    "setfit": Recipe(
        learning_rate=2e-5,
        max_epochs=1,
        warmup_ratio=0.1,
        source="Tunstall et al. 2022 (SetFit): 20 pair iterations, batch 16, lr 2e-5, "
        "1 epoch, then logistic regression on the embeddings. Made for a few "
        "examples per class: the pairs grow with the data (compare --few-shot).",
    ),
    "zero_shot": Recipe(
        learning_rate=0.0,
        max_epochs=0,
        source="Sentence-embedding zero-shot classification (Yin et al. 2019 frame it; "
        "here the encoder's cosine similarity to 'This text is <label>.', scale 20). "
        "Needs label names that mean something.",
    ),
}

_NER = {
    "frozen": Recipe(
        learning_rate=3e-3,
        max_epochs=100,
        source="A linear tagger on frozen token features: Adam until the validation "
        "loss stops improving. The features are cached: epochs cost well under a second.",
    ),
    "last_n": Recipe(
        learning_rate=3e-4,
        max_epochs=30,
        decay_epochs=10,
        warmup_ratio=0.1,
        source="As for sentences, with more epochs: a token tagger sees about 1,400 sentences.",
    ),
    "lora": Recipe(
        learning_rate=1e-3,
        max_epochs=30,
        decay_epochs=10,
        warmup_ratio=0.1,
        source="Hu et al. 2022 (LoRA): rank 8 on query/value, a rate well above full "
        "fine-tuning's.",
    ),
    "full": Recipe(
        learning_rate=1e-4,
        max_epochs=24,
        decay_epochs=8,
        warmup_ratio=0.1,
        source=f"{_BERT} (CoNLL-2003 NER, section 5.3); a small model on a small "
        "corpus takes a larger rate and more epochs.",
    ),
    "scratch": Recipe(
        learning_rate=5e-4,
        max_epochs=30,
        decay_epochs=10,
        warmup_ratio=0.1,
        source="Random init of the same model (Vaswani et al. 2017: warmup then decay).",
    ),
}

RECIPES = {"classification": _CLASSIFICATION, "ner": _NER}
