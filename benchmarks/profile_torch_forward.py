"""Where one forward pass's time goes on PyTorch: the toolkit's model against Hugging Face's.

    pip install -e ".[bench]"        # transformers, for the Hugging Face side
    python benchmarks/profile_torch_forward.py
    ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2 \\
        python benchmarks/profile_torch_forward.py     # as an AVX2 CPU runs it

In one process, on the bundled all-MiniLM-L6-v2: `predict` of 128 fine-food
reviews (max length 64, batch 64) three times for each side, then the bare
encoders (keras-hub's backbone and Hugging Face's `BertModel`) three times on
the same 64x64 token ids under `torch.no_grad`, then `torch.profiler`'s table of
one forward of each (self CPU time per ATen op).
"""

import os
import time

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import torch  # noqa: E402
from cpu import describe_cpu  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

import keras_transfer as kt  # noqa: E402
from keras_transfer.presets import default_preset  # noqa: E402

MAX_LENGTH = 64


def timed(label, call, times=3):
    for _ in range(times):
        start = time.perf_counter()
        call()
        print(f"{label}: {time.perf_counter() - start:.3f} s", flush=True)


def main():
    print(describe_cpu())
    _, test = kt.load_bundled("fine_foods")
    texts = test.sample(128, random_state=0)["text"].tolist()
    model = kt.TransformerClassifier.from_preset(
        None, strategy="full", max_length=MAX_LENGTH, label_names=["negative", "positive"]
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-5))
    timed("ours: predict", lambda: model.predict(texts, batch_size=64, verbose=0))

    tokenizer = AutoTokenizer.from_pretrained(default_preset())
    hf = AutoModelForSequenceClassification.from_pretrained(default_preset(), num_labels=2).eval()

    def hf_predict():
        with torch.inference_mode():
            for i in range(0, len(texts), 64):
                batch = tokenizer(
                    texts[i : i + 64],
                    truncation=True,
                    max_length=MAX_LENGTH,
                    padding=True,
                    return_tensors="pt",
                )
                hf(**batch).logits.softmax(-1).numpy()

    timed("hf: predict", hf_predict)

    batch = tokenizer(
        texts[:64],
        truncation=True,
        max_length=MAX_LENGTH,
        padding="max_length",
        return_tensors="pt",
    )
    ours_inputs = {
        "token_ids": batch["input_ids"].int(),
        "padding_mask": batch["attention_mask"].bool(),
        "segment_ids": torch.zeros_like(batch["input_ids"]).int(),
    }
    with torch.no_grad():
        forwards = {
            "ours": lambda: model.backbone(ours_inputs),
            "hf": lambda: hf.bert(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ),
        }
        for side, forward in forwards.items():
            timed(f"{side}: encoder forward, 64 x {MAX_LENGTH} tokens", forward)
        for side, forward in forwards.items():
            with profile(activities=[ProfilerActivity.CPU]) as profiled:
                forward()
            print(f"\n{side}: one forward")
            print(profiled.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


if __name__ == "__main__":
    main()
