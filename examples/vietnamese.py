"""English/Vietnamese sentiment example.

    python examples/vietnamese.py --preset /path/to/multilingual-model   # e.g. a local
                                          # bert-base-multilingual-cased or XLM-R folder
    python examples/vietnamese.py [--smoke]       # no multilingual model offline: see the message

Vietnamese needs a multilingual vocabulary. None ships offline with this
project, so without `--preset` the example says so and runs on the bundled
English all-MiniLM-L6-v2, whose uncased WordPiece vocabulary splits most
Vietnamese words into sub-pieces: expect weak Vietnamese predictions.
"""

import argparse

import keras_transfer as kt

DATA = [
    ("My name is John and I love programming", 1),
    ("This is terrible quality", 0),
    ("Thank you for your excellent service", 1),
    ("This product is disappointing", 0),
    ("Tên tôi là John và tôi yêu lập trình", 1),
    ("Chất lượng này thật tệ", 0),
    ("Cảm ơn bạn vì dịch vụ tuyệt vời", 1),
    ("Sản phẩm này thật đáng thất vọng", 0),
    ("Natural language processing rất thú vị", 1),
    ("Dịch vụ quá chậm và tệ", 0),
]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default=None, help="a local multilingual model folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.preset is None:
        print(
            "No multilingual model is available offline. For real Vietnamese support download one "
            "on a machine with internet (e.g. `huggingface-cli download "
            "bert-base-multilingual-cased --local-dir mbert`) and pass --preset mbert. "
            "Running on the bundled English all-MiniLM-L6-v2 instead."
        )
    texts, labels = zip(*DATA, strict=True)
    model = kt.TransformerClassifier.from_preset(
        args.preset, strategy="last_n", unfreeze_last=2, max_length=16 if args.smoke else 32
    )
    model.fit(
        list(texts),
        list(labels),
        epochs=1 if args.smoke else args.epochs,
        batch_size=4,
        experiment="vietnamese_sentiment",
        verbose=2,
    )
    for text in ["Xin chào, bạn khỏe không?", "Thank you", "Chất lượng tệ"]:
        p = model.predict([text], verbose=0)[0]
        print(f"{text!r}: positive={p[1]:.3f}")


if __name__ == "__main__":
    main()
