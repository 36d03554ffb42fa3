"""Full fine-tuning speed of the same pretrained model: keras_transfer vs Hugging Face.

    pip install -e ".[bench]"        # transformers + accelerate, for the Hugging Face side
    python benchmarks/bench_finetune.py            # full size
    python benchmarks/bench_finetune.py --quick    # a smaller run, under 4 minutes

The bundled all-MiniLM-L6-v2 (a Hugging Face folder: every side loads the same
weights) is fine-tuned on two bundled text sets, each side alone in its own
process, one after the other:

- `reviews`: fine-food reviews (long: most fill `--max-length` tokens);
- `short`: Rotten Tomatoes snippets (one or two sentences).

Sides: `ours-<backend>` is `kt.TransformerClassifier.from_preset(None,
strategy="full")` and `model.fit` as a user calls it (mandatory callbacks on,
texts tokenized before the pipeline, batches cut to length buckets), on
tensorflow, jax and torch; `hf` is `transformers`'
`AutoModelForSequenceClassification` + `Trainer` with its usual dynamic padding
(`DataCollatorWithPadding`: each batch padded to its longest text), PyTorch.
Same max length, batch size, steps, learning rate (2e-5) and data.

Per text set: training examples/s over the faster of epochs 2 and 3 of three
(the first compiles the batch shapes on the Keras sides and warms up HF; on
jax a shape first met in epoch 2 compiles there), from the epoch's start to
its last step (ours' end-of-epoch callbacks excluded; "fit s" is the whole
`fit`, compilation and mandatory callbacks included), inference
examples/s from raw texts (tokenization included, batch 64, after one warm-up
pass over the same texts), and on the short set the median latency of one
text: `kt.Predictor` on the saved model for ours, tokenizer + forward under
`torch.inference_mode` for HF. Peak RSS is the process's `ru_maxrss` over both
sets. The heads differ (ours: mean pooling, Dense 128, softmax; HF: BERT pooler
+ Linear); the encoder is the same.

Every side runs twice (`--isa native,avx2`, the default): natively, and with
the instruction set of every library capped to AVX2, the Hugging Face side
included (`cpu.capped_env`: oneDNN, MKL, ATen, XLA), so an AVX-512 machine
measures what an AVX2 laptop sees. Each child prints what its libraries
dispatch to (`cpu.isa_evidence`). On a CPU without AVX-512 the two are the
same: the default runs once and labels the table avx2. The CPU model and flags
head the output; one table per setting, ratios vs HF measured in that setting.

The last line is `train_ratio=<r> infer_ratio=<r>` for the AVX2 setting (the
line before it, `native: train_ratio=<r> infer_ratio=<r>`, for the native
one): for the best of our backends, its worse ratio to HF over the two text
sets.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from cpu import describe_cpu, env_for, isa_evidence, isa_settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDES = ("hf", "ours-tensorflow", "ours-jax", "ours-torch")
SETS = {"reviews": "fine_foods", "short": "rotten_tomatoes"}
EPOCHS = 3


def load_set(name, args):
    import keras_transfer as kt

    train, test = kt.load_bundled(SETS[name])
    train = train.sample(args.steps * args.batch_size, random_state=0)
    test = test.sample(args.test_size, random_state=0)
    names = sorted(train["label"].unique())
    return (
        train["text"].tolist(),
        train["label"].map(names.index).to_numpy().astype("int32"),
        test["text"].tolist(),
    )


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_epoch_eps(epochs, n):
    """Examples/s of the faster of epochs 2 and 3, from the epoch's start to its
    last step: the first epoch compiles (Keras) or warms up (HF), and on jax a
    batch shape first met in epoch 2 still compiles there."""
    return max(n / (end - begin) for begin, end in epochs[1:])


def median_ms(call, texts):
    call(texts[0])
    times = []
    for text in texts:
        start = time.perf_counter()
        call(text)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def keras_set(name, args):
    import keras

    import keras_transfer as kt

    if args.dtype_policy:
        keras.config.set_dtype_policy(args.dtype_policy)
    x, y, tx = load_set(name, args)
    keras.utils.set_random_seed(0)
    model = kt.TransformerClassifier.from_preset(
        None, strategy="full", max_length=args.max_length, label_names=["negative", "positive"]
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-5))
    epochs = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs.append([time.perf_counter()])

        def on_train_batch_end(self, batch, logs=None):
            epochs[-1][1:] = [time.perf_counter()]

    start = time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[EpochTimer(), keras.callbacks.EarlyStopping(monitor="loss", patience=EPOCHS)],
        log_root=os.path.join(args.tmp, "logs"),
    )
    fit_s = time.perf_counter() - start
    result = {"train_eps": best_epoch_eps(epochs, len(x)), "fit_s": fit_s}
    model.predict(tx, batch_size=64, verbose=0)  # compiles the batch shapes
    start = time.perf_counter()
    model.predict(tx, batch_size=64, verbose=0)
    result["infer_eps"] = len(tx) / (time.perf_counter() - start)
    if name == "short":
        path = os.path.join(args.tmp, "model.keras")
        model.save(path)
        predictor = kt.Predictor(path)
        result["latency_ms"] = median_ms(predictor.predict, tx[: args.latency_texts])
    return result


def hf_set(name, args):
    import torch
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from keras_transfer.presets import default_preset

    transformers.set_seed(0)
    x, y, tx = load_set(name, args)
    preset = default_preset()
    tokenizer = AutoTokenizer.from_pretrained(preset)
    model = AutoModelForSequenceClassification.from_pretrained(preset, num_labels=2)
    encoded = tokenizer(x, truncation=True, max_length=args.max_length)
    train = [
        {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": int(label)}
        for ids, mask, types, label in zip(
            encoded["input_ids"],
            encoded["attention_mask"],
            encoded["token_type_ids"],
            y,
            strict=True,
        )
    ]
    epochs = []

    class EpochTimer(TrainerCallback):
        def on_epoch_begin(self, *a, **k):
            epochs.append([time.perf_counter()])

        def on_step_end(self, *a, **k):
            epochs[-1][1:] = [time.perf_counter()]

    training_args = TrainingArguments(
        output_dir=os.path.join(args.tmp, "hf"),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=EPOCHS,
        learning_rate=2e-5,
        lr_scheduler_type="constant",
        logging_strategy="no",
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    start = time.perf_counter()
    Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=[EpochTimer()],
    ).train()
    result = {"train_eps": best_epoch_eps(epochs, len(x)), "fit_s": time.perf_counter() - start}
    model.eval()

    def predict(texts):
        with torch.inference_mode():
            for i in range(0, len(texts), 64):
                batch = tokenizer(
                    texts[i : i + 64],
                    truncation=True,
                    max_length=args.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                model(**batch).logits.softmax(-1).numpy()

    predict(tx)
    start = time.perf_counter()
    predict(tx)
    result["infer_eps"] = len(tx) / (time.perf_counter() - start)
    if name == "short":
        result["latency_ms"] = median_ms(lambda t: predict([t]), tx[: args.latency_texts])
    return result


def side_backend(side):
    return "torch" if side == "hf" else side.rsplit("-", 1)[-1]


def child(args):
    evidence = isa_evidence(side_backend(args.side))
    print(f"ISA {args.side}: {evidence}", file=sys.stderr, flush=True)
    run = hf_set if args.side == "hf" else keras_set
    result = {name: run(name, args) for name in SETS}
    result["isa"] = evidence
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result), flush=True)


def run_side(side, setting, args):
    """One side in its own process, in ISA `setting`; returns its RESULT."""
    import tempfile

    env = env_for(
        setting, dict(os.environ, KERAS_BACKEND=side_backend(side), TF_CPP_MIN_LOG_LEVEL="3")
    )
    command = [
        sys.executable,
        os.path.abspath(__file__),
        f"--side={side}",
        f"--tmp={tempfile.mkdtemp()}",
        f"--steps={args.steps}",
        f"--batch-size={args.batch_size}",
        f"--max-length={args.max_length}",
        f"--test-size={args.test_size}",
        f"--latency-texts={args.latency_texts}",
        f"--dtype-policy={args.dtype_policy}",
    ]
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        print(out.stdout[-2000:], out.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{side} ({setting}) failed (exit {out.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def table(results):
    """Prints one setting's table; returns (train_ratio, infer_ratio), or None without HF."""
    hf = results.get("hf")
    print(
        "| side | reviews train ex/s | vs HF | reviews inference ex/s | vs HF | short train ex/s "
        "| vs HF | short inference ex/s | vs HF | 1-text latency ms | peak RSS MB | vs HF "
        "| whole fit s reviews / short |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def ratio(side, *keys):
        if not hf:
            return None
        value, base = results[side], hf
        for key in keys:
            value, base = value[key], base[key]
        return value / base

    def cell(side, *keys):
        r = ratio(side, *keys)
        return "-" if r is None else f"{r:.2f}x"

    for side, r in results.items():
        print(
            f"| {side} | {r['reviews']['train_eps']:.1f} | {cell(side, 'reviews', 'train_eps')} "
            f"| {r['reviews']['infer_eps']:.1f} | {cell(side, 'reviews', 'infer_eps')} "
            f"| {r['short']['train_eps']:.1f} | {cell(side, 'short', 'train_eps')} "
            f"| {r['short']['infer_eps']:.1f} | {cell(side, 'short', 'infer_eps')} "
            f"| {r['short']['latency_ms']:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {cell(side, 'peak_rss_mb')} "
            f"| {r['reviews']['fit_s']:.0f} / {r['short']['fit_s']:.0f} |"
        )
    print()
    for side, r in results.items():
        print(f"- {side}: {r['isa']}")
    ours = [side for side in results if side != "hf"]
    if not (hf and ours):
        return None
    worst = {
        kind: {side: min(ratio(side, s, kind) for s in SETS) for side in ours}
        for kind in ("train_eps", "infer_eps")
    }
    best_train = max(ours, key=lambda s: worst["train_eps"][s])
    best_infer = max(ours, key=lambda s: worst["infer_eps"][s])
    print(f"\nBest backend: {best_train} for training, {best_infer} for inference")
    return worst["train_eps"][best_train], worst["infer_eps"][best_infer]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--isa", default="native,avx2", help="native, avx2 (capped) or both")
    parser.add_argument("--steps", type=int, default=24, help="training steps per epoch")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--test-size", type=int, default=512)
    parser.add_argument("--latency-texts", type=int, default=50)
    parser.add_argument("--dtype-policy", default="", help="e.g. mixed_bfloat16 (ours only)")
    parser.add_argument("--quick", action="store_true", help="a smaller run (under 4 minutes)")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.test_size, args.max_length, args.latency_texts = 6, 128, 64, 20
    if args.side:
        return child(args)

    sides = args.sides.split(",")
    for side in sides:
        if side not in SIDES:
            raise SystemExit(f"--sides: unknown side {side!r}; choose from {', '.join(SIDES)}")
    settings, note = isa_settings(args.isa)
    print(describe_cpu(), flush=True)
    if note:
        print(note, flush=True)
    started = time.perf_counter()
    results = {}
    for setting in settings:
        results[setting] = {}
        for side in sides:
            results[setting][side] = run_side(side, setting, args)
            print(f"{side} ({setting}): {results[setting][side]}", file=sys.stderr, flush=True)

    print(
        f"\n{args.steps} steps x batch {args.batch_size} per epoch, max length {args.max_length}, "
        f"bundled all-MiniLM-L6-v2, inference on {args.test_size} held-out texts per set"
        f"{', dtype policy ' + args.dtype_policy if args.dtype_policy else ''}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    ratios = {}
    for setting in settings:
        label = (
            "native (every instruction set of this CPU)" if setting == "native" else "avx2 (capped)"
        )
        print(f"\n### {label}{': ' + note if note else ''}\n")
        ratios[setting] = table(results[setting])
    final = ratios[settings[-1]]
    if final is None:
        return
    print()
    for setting in settings[:-1]:
        if ratios[setting] is not None:
            train, infer = ratios[setting]
            print(f"{setting}: train_ratio={train:.2f} infer_ratio={infer:.2f}")
    if settings == ["avx2"] and "native" in args.isa.split(","):
        # No AVX-512 here: the one run is both settings.
        print(f"native: train_ratio={final[0]:.2f} infer_ratio={final[1]:.2f}")
    print(f"train_ratio={final[0]:.2f} infer_ratio={final[1]:.2f}")


if __name__ == "__main__":
    main()
