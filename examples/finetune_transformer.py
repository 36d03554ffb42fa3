"""Fine-tune the bundled pretrained transformer under a chosen strategy.

    KERAS_BACKEND=jax python examples/finetune_transformer.py --strategy last_n \
        --unfreeze-last 2
    python examples/finetune_transformer.py --strategy frozen --gradual   # ULMFiT unfreezing
    python examples/finetune_transformer.py --strategy full --layer-decay 0.9
    python examples/finetune_transformer.py --smoke                          # seconds-long check

Prints the trainable-parameter table, trains with the mandatory callbacks
(TensorBoard run under ./tensorflow_logs) and predicts two new sentences.
"""

import argparse
import time

import keras_transfer as kt

POSITIVE = [
    "I love this product, it works great",
    "Thank you for your excellent service",
    "A wonderful and happy experience",
    "The food was delicious and the staff friendly",
    "Best purchase I have made this year",
    "Fast delivery and the quality is superb",
    "The film was moving and beautifully acted",
    "Highly recommended, I will buy again",
]
NEGATIVE = [
    "This is terrible quality",
    "This product is disappointing",
    "Awful service and rude staff",
    "The worst meal I have ever eaten",
    "It broke after one day, a waste of money",
    "Slow delivery and the box was damaged",
    "The film was boring and far too long",
    "Do not buy this, it stopped working",
]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--strategy", default="last_n", choices=["full", "frozen", "last_n", "lora", "scratch"]
    )
    parser.add_argument(
        "--unfreeze-last", type=int, default=4, help="blocks trained by last_n (seed: 4)"
    )
    parser.add_argument("--lora-rank", type=int, default=4)
    parser.add_argument("--gradual", action="store_true", help="unfreeze one more block each epoch")
    parser.add_argument(
        "--layer-decay", type=float, default=None, help="layer-wise LR decay, e.g. 0.9"
    )
    parser.add_argument(
        "--preset", default=None, help="local preset/HF folder (default: bundled MiniLM)"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="one short epoch at max length 16")
    args = parser.parse_args()
    if args.smoke:
        args.epochs, args.max_length = 1, 16

    texts = POSITIVE + NEGATIVE
    labels = [1] * len(POSITIVE) + [0] * len(NEGATIVE)
    model = kt.TransformerClassifier.from_preset(
        args.preset,
        num_classes=2,
        strategy=args.strategy,
        unfreeze_last=args.unfreeze_last,
        lora_rank=args.lora_rank,
        max_length=args.max_length,
    )
    if args.layer_decay is not None:
        model.compile(layer_decay=args.layer_decay)
    print(kt.trainable_summary(model).to_string(index=False))
    callbacks = [kt.GradualUnfreezing(every=1)] if args.gradual else []
    start = time.perf_counter()
    model.fit(
        texts,
        labels,
        validation_data=(texts, labels),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=callbacks,
        experiment=f"finetune_{args.strategy}",
    )
    print(f"trained in {time.perf_counter() - start:.1f} s")
    for text in ["Great value, thank you", "Terrible, I want a refund"]:
        p = model.predict([text], verbose=0)[0]
        print(f"{text!r}: positive={p[1]:.3f}")
    print("TensorBoard: tensorboard --logdir tensorflow_logs")


if __name__ == "__main__":
    main()
