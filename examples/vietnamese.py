"""English/Vietnamese sentiment example.

    python examples/vietnamese.py --preset /path/to/multilingual-model   # e.g. a local
                                          # xlm-roberta-base or bert-base-multilingual-cased folder
    python examples/vietnamese.py [--smoke]       # no multilingual model offline: see the message

Vietnamese needs a multilingual vocabulary. None ships offline with this
project: download one once on a machine with internet (e.g.
`huggingface-cli download xlm-roberta-base --local-dir xlmr`) and pass
`--preset xlmr`; the Hugging Face folder loads as it is. Without `--preset`
the example says so and runs on the bundled English all-MiniLM-L6-v2, which
reads Vietnamese without its diacritics (as Hugging Face's tokenizer does for
this uncased model) and splits its words into English sub-pieces: expect
weak Vietnamese predictions. The example prints how many of the Vietnamese
tokens the chosen model does not know.
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
    vietnamese = [text for text, _ in DATA if not text.isascii()]
    tokens = model.tokenize(vietnamese)
    unknown = model.preprocessor.tokenizer.token_to_id(_unknown_token(model))
    body = [row[1 : n - 1] for row, n in zip(tokens["token_ids"], tokens["lengths"], strict=True)]
    n_unknown = sum(int((b == unknown).sum()) for b in body)
    print(f"Unknown tokens in the Vietnamese sentences: {n_unknown} of {sum(len(b) for b in body)}")
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


def _unknown_token(model):
    vocabulary = set(model.preprocessor.tokenizer.get_vocabulary())
    return "[UNK]" if "[UNK]" in vocabulary else "<unk>"


if __name__ == "__main__":
    main()
