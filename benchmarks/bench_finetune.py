"""Full fine-tuning of the same pretrained model: keras_transfer vs Hugging Face vs keras-hub.

    pip install -e ".[bench]"        # transformers + accelerate, for the Hugging Face side
    python benchmarks/bench_finetune.py
    python benchmarks/bench_finetune.py --sides ours-jax,hf,keras-hub-torch --steps 20

The bundled all-MiniLM-L6-v2 (a Hugging Face folder: both sides load the same
weights) is fine-tuned on the same bundled fine-food reviews, same max length
(64), batch size (16) and number of steps, then predicts the same held-out
reviews. Each side runs alone in its own process, one after the other:

- `ours-<backend>`: `kt.TransformerClassifier.from_preset(None, strategy="full")`
  and `model.fit` as a user calls it (mandatory callbacks on), on tensorflow,
  jax and torch;
- `keras-hub-<backend>`: plain `keras_hub.models.TextClassifier.from_preset` and
  its `fit` (Adam 2e-5, no callbacks); by default on jax only (any backend can
  be named in `--sides`);
- `hf`: `transformers` `AutoModelForSequenceClassification` + `Trainer`
  (PyTorch, learning rate 2e-5, constant schedule, fixed-length padding like
  the Keras sides); inference is tokenizer (dynamic padding, HF's usual) +
  model forward under `torch.inference_mode`, batch 64.

Training examples/s is measured from the end of step `--warmup` to the end of
the last step (compilation and the first steps excluded, the same for every
side), inference examples/s over the whole held-out set after one warm-up
batch (tokenization included on every side; the Keras sides pad to 64, HF pads
each batch to its longest text, which at max length 64 is nearly always 64).
"Encoder-only" times the model on pre-tokenized full 64-token batches, and
"tokenize" the tokenizer alone: the two halves of inference. Peak RSS is the process's
`ru_maxrss`. The heads differ (ours: mean pooling, Dense 128, softmax;
keras-hub: [CLS] + Dense; HF: BERT pooler + Linear), the encoder is the same.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDES = (
    "hf",
    "ours-tensorflow",
    "ours-jax",
    "ours-torch",
    "keras-hub-tensorflow",
    "keras-hub-jax",
    "keras-hub-torch",
)


def load_data(args):
    import keras_transfer as kt

    train, test = kt.load_bundled("fine_foods")
    n = args.steps * args.batch_size
    train = train.sample(n, random_state=0)
    test = test.sample(args.test_size, random_state=0)
    y = (train["label"] == "other").astype("int32").to_numpy()
    ty = (test["label"] == "other").astype("int32").to_numpy()
    return train["text"].tolist(), y, test["text"].tolist(), ty


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def keras_side(args, ours):
    import keras
    import keras_hub

    import keras_transfer as kt
    from keras_transfer.presets import default_preset

    x, y, tx, ty = load_data(args)
    keras.utils.set_random_seed(0)
    if ours:
        model = kt.TransformerClassifier.from_preset(None, strategy="full", max_length=64)
    else:
        preset = default_preset()
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
            preset, sequence_length=64
        )
        model = keras_hub.models.TextClassifier.from_preset(
            preset, num_classes=2, preprocessor=preprocessor
        )
        model.compile(
            optimizer=keras.optimizers.Adam(2e-5),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    ends = []

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    start = time.perf_counter()
    kwargs = {"log_root": os.path.join(args.tmp, "logs")} if ours else {}
    model.fit(
        x, y, batch_size=args.batch_size, epochs=1, verbose=0, callbacks=[StepTimer()], **kwargs
    )
    fit_s = time.perf_counter() - start
    train_eps = (len(ends) - args.warmup) * args.batch_size / (ends[-1] - ends[args.warmup - 1])

    model.predict(tx[:64], batch_size=64, verbose=0)  # warm-up
    start = time.perf_counter()
    scores = model.predict(tx, batch_size=64, verbose=0)
    infer_s = time.perf_counter() - start

    # The encoder alone: tokenized beforehand, full 64-token batches.
    batches = [model.preprocessor(tx[i : i + 64]) for i in range(0, len(tx), 64)]
    keras.Model.predict_on_batch(model, batches[0])
    start = time.perf_counter()
    for batch in batches:
        keras.Model.predict_on_batch(model, batch)
    forward_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(tx), 64):
        model.preprocessor(tx[i : i + 64])
    tokenize_s = time.perf_counter() - start
    return {
        "train_eps": train_eps,
        "fit_s": fit_s,
        "infer_eps": len(tx) / infer_s,
        "forward_eps": len(tx) / forward_s,
        "tokenize_eps": len(tx) / tokenize_s,
        "accuracy": float((scores.argmax(-1) == ty).mean()),
        "jit_compile": str(getattr(model, "jit_compile", None)),
    }


def hf_side(args):
    import numpy as np
    import torch
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from keras_transfer.presets import default_preset

    transformers.set_seed(0)
    x, y, tx, ty = load_data(args)
    preset = default_preset()
    tokenizer = AutoTokenizer.from_pretrained(preset)
    model = AutoModelForSequenceClassification.from_pretrained(preset, num_labels=2)
    enc = tokenizer(x, truncation=True, max_length=64, padding="max_length")

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            item = {k: torch.tensor(v[i]) for k, v in enc.items()}
            item["labels"] = torch.tensor(int(y[i]))
            return item

    ends = []

    class StepTimer(TrainerCallback):
        def on_step_end(self, *a, **k):
            ends.append(time.perf_counter())

    training_args = TrainingArguments(
        output_dir=os.path.join(args.tmp, "hf"),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        learning_rate=2e-5,
        lr_scheduler_type="constant",
        logging_strategy="no",
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model, args=training_args, train_dataset=Data(), callbacks=[StepTimer()]
    )
    start = time.perf_counter()
    trainer.train()
    fit_s = time.perf_counter() - start
    train_eps = (len(ends) - args.warmup) * args.batch_size / (ends[-1] - ends[args.warmup - 1])

    model.eval()

    def tokenize(texts, padding):
        return tokenizer(
            texts, truncation=True, max_length=64, padding=padding, return_tensors="pt"
        )

    def predict(texts):
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 64):
                # HF's usual dynamic padding: each batch as long as its longest text.
                out.append(model(**tokenize(texts[i : i + 64], True)).logits.numpy())
        return np.concatenate(out)

    predict(tx[:64])
    start = time.perf_counter()
    scores = predict(tx)
    infer_s = time.perf_counter() - start

    batches = [tokenize(tx[i : i + 64], "max_length") for i in range(0, len(tx), 64)]
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            model(**batch)
    forward_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(tx), 64):
        tokenize(tx[i : i + 64], "max_length")
    tokenize_s = time.perf_counter() - start
    return {
        "train_eps": train_eps,
        "fit_s": fit_s,
        "infer_eps": len(tx) / infer_s,
        "forward_eps": len(tx) / forward_s,
        "tokenize_eps": len(tx) / tokenize_s,
        "accuracy": float((scores.argmax(-1) == ty).mean()),
        "torch_threads": torch.get_num_threads(),
    }


def child(args):
    if args.side == "hf":
        result = hf_side(args)
    else:
        result = keras_side(args, ours=args.side.startswith("ours"))
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default="hf,ours-tensorflow,ours-jax,ours-torch,keras-hub-jax")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--test-size", type=int, default=192)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        return child(args)

    import tempfile

    results = {}
    for side in args.sides.split(","):
        if side not in SIDES:
            raise SystemExit(f"--sides: unknown side {side!r}; choose from {', '.join(SIDES)}")
        backend = side.rsplit("-", 1)[-1] if side != "hf" else "torch"
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            f"--side={side}",
            f"--tmp={tempfile.mkdtemp()}",
            f"--steps={args.steps}",
            f"--warmup={args.warmup}",
            f"--batch-size={args.batch_size}",
            f"--test-size={args.test_size}",
        ]
        out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if out.returncode or not lines:
            print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"{side} failed (exit {out.returncode})")
        results[side] = json.loads(lines[-1][len("RESULT ") :])
        print(f"{side}: {results[side]}", file=sys.stderr, flush=True)

    hf = results.get("hf")
    print(
        f"\n{args.steps} steps x batch {args.batch_size}, max length 64, bundled "
        f"all-MiniLM-L6-v2; inference and accuracy on {args.test_size} held-out reviews\n"
    )
    print(
        "| side | train ex/s | vs HF | inference ex/s | vs HF | encoder-only ex/s | vs HF "
        "| tokenize ex/s | whole fit s | peak RSS MB | accuracy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def ratio(r, key):
        return f"{r[key] / hf[key]:.2f}x" if hf else "-"

    for side, r in results.items():
        print(
            f"| {side} | {r['train_eps']:.1f} | {ratio(r, 'train_eps')} | {r['infer_eps']:.1f} "
            f"| {ratio(r, 'infer_eps')} | {r['forward_eps']:.1f} | {ratio(r, 'forward_eps')} "
            f"| {r['tokenize_eps']:.0f} | {r['fit_s']:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {r['accuracy']:.3f} |"
        )
    keras_sides = {s: r for s, r in results.items() if s.startswith("ours")}
    if keras_sides:
        fastest = max(keras_sides, key=lambda s: keras_sides[s]["train_eps"])
        print(f"\nFastest of ours for training: {fastest}")


if __name__ == "__main__":
    main()
