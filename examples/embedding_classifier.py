"""Train the frozen-GloVe classifier on a few sentences, then predict.

KERAS_BACKEND=jax python examples/embedding_classifier.py [--smoke]
"""

import argparse

import keras_transfer as kt

TRAIN = [
    ("I love this product, it works great", 1),
    ("Thank you for your excellent service", 1),
    ("A wonderful and happy experience", 1),
    ("The food was delicious and the staff friendly", 1),
    ("Best purchase I have made this year", 1),
    ("This is terrible quality", 0),
    ("This product is disappointing", 0),
    ("Awful service and rude staff", 0),
    ("The worst meal I have ever eaten", 0),
    ("It broke after one day, a waste of money", 0),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="two epochs, seconds-long")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    epochs = 2 if args.smoke else args.epochs

    texts, labels = zip(*TRAIN, strict=True)
    model = kt.EmbeddingClassifier.from_word_vectors(num_classes=2, max_length=32)
    model.summary()
    model.fit(
        list(texts),
        list(labels),
        validation_data=(list(texts), list(labels)),
        epochs=epochs,
        batch_size=4,
        experiment="embedding_classifier_example",
    )
    for text in ["Great service, thank you", "Terrible, I want a refund"]:
        p = model.predict([text], verbose=0)[0]
        print(f"{text!r}: positive={p[1]:.3f}")
    print("TensorBoard: tensorboard --logdir tensorflow_logs")


if __name__ == "__main__":
    main()
