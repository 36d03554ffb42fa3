"""Serving from an export: throughput, latency, memory and int8 accuracy side by side.

    python benchmarks/bench_serving.py            # the whole rotten_tomatoes test split
    python benchmarks/bench_serving.py --quick    # 256 training texts, 200 test texts
    python benchmarks/bench_serving.py --server-rss EXPORTED_FOLDER   # the server's peak RSS

Trains the bundled all-MiniLM-L6-v2 (`--strategy frozen` by default, one
epoch) on rotten_tomatoes, saves it, exports it with
`kt.export(model, path, format="onnx", quantize="int8")`, and measures on the
test split, in one run:

- throughput from raw texts (tokenization included, calls of 32 texts) and the
  median single-text latency of `kt.Predictor` (the saved .keras model),
  `keras_transfer_runtime.Predictor` (ONNX float32 and int8) and Hugging
  Face eager PyTorch (`AutoModelForSequenceClassification` on the same
  encoder, `torch.no_grad`, padding per batch: speed only, its head is not
  trained);
- the peak RSS of a fresh process that loads each predictor and predicts
  one text, and of a fresh `python -m keras_transfer_runtime serve` process
  (the int8 export) once it has answered one `POST /predict`
  (`--server-rss EXPORTED_FOLDER` measures only this, on a folder);
- accuracy and macro F1 of the Keras model and of the float32 and int8 ONNX
  graphs;
- the install size of the runtime's environment against the training stack's
  (`--install-size` prints only these, in seconds): the files, as installed
  in this environment (each distribution's RECORD), of the distributions a
  `pip install` of each would bring (their requirements, transitively).

Runs on the backend Keras is set to (PyTorch by default: the ONNX export is
then in-process).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LABELS = ["negative", "positive"]

# VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across fork and exec, so a child of
# a 2 GB benchmark process would report the parent's peak.
PEAK_RSS = """
import sys, time
start = time.perf_counter()
kind, path = sys.argv[1], sys.argv[2]
if kind.startswith("runtime"):
    from keras_transfer_runtime import Predictor
    predictor = Predictor(path, precision="float32" if kind.endswith("float32") else None)
else:
    from keras_transfer import Predictor
    predictor = Predictor(path)
predictor.predict("a quietly moving film")
seconds = time.perf_counter() - start
with open("/proc/self/status") as f:
    peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(peak_kb / 1024, seconds)
"""


# What each environment is: the distributions a `pip install` of these names brings.
ENVIRONMENTS = {
    "runtime predictor (numpy, tokenizers, onnxruntime)": "runtime",
    "keras_transfer[runtime]: the predictor + HTTP server (fastapi, uvicorn)": "runtime+serve",
    "training stack (tensorflow, tensorflow-text, jax, jaxlib, torch, keras, keras-hub)": [
        "tensorflow",
        "tensorflow-text",
        "jax",
        "jaxlib",
        "torch",
        "keras",
        "keras-hub",
    ],
    "keras_transfer with all its dependencies": "project",
}


def _project_requirements():
    """pyproject.toml's dependencies and optional groups: {None: [...], "runtime": [...]}."""
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    return {None: project["dependencies"], **project["optional-dependencies"]}


def installed_mb(requirements):
    """The bytes of the installed files ({distribution: bytes}) of the distributions
    `requirements` name and of everything they require in turn (markers evaluated
    here, extras followed), and the names of those not installed."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    sizes, missing, expanded = {}, set(), set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in expanded or name in missing:
            continue
        expanded.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.add(name)
            continue
        if name not in sizes:
            paths = (dist.locate_file(f) for f in dist.files or ())
            sizes[name] = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
        for line in dist.requires or ():
            needed = Requirement(line)
            extras = [""] + sorted(requirement.extras)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                todo.append(needed)
    return sizes, sorted(missing)


def install_sizes():
    """{environment: {"mb", "distributions", "not_installed"}} for `ENVIRONMENTS`, and the
    toolkit's own two packages (source files, no caches)."""
    groups = _project_requirements()
    named = {
        "runtime": [r for r in groups["runtime"] if not r.startswith(("fastapi", "uvicorn"))],
        "runtime+serve": groups["runtime"],
        "project": groups[None],
    }
    results = {}
    for environment, requirements in ENVIRONMENTS.items():
        if isinstance(requirements, str):
            requirements = named[requirements]
        sizes, missing = installed_mb(requirements)
        largest = sorted(sizes, key=sizes.get, reverse=True)[:4]
        results[environment] = {
            "mb": round(sum(sizes.values()) / 2**20),
            "distributions": len(sizes),
            "largest": {name: round(sizes[name] / 2**20) for name in largest},
            "not_installed": missing,
        }
    for package in ("keras_transfer_runtime", "keras_transfer"):
        total = 0
        for folder, dirs, files in os.walk(os.path.join(ROOT, package)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        results[f"the {package} package itself"] = {"mb": round(total / 2**20, 2)}
    return results


def print_install_sizes(sizes):
    print("\n| environment | installed MB | distributions | largest (MB) |")
    print("|---|---|---|---|")
    for name, row in sizes.items():
        missing = ", ".join(row.get("not_installed", ()))
        name += f" (not installed here: {missing})" if missing else ""
        largest = ", ".join(f"{d} {mb:,}" for d, mb in row.get("largest", {}).items())
        print(f"| {name} | {row['mb']:,} | {row.get('distributions', '—')} | {largest or '—'} |")


def median_ms(call, texts):
    times = []
    for text in texts:
        start = time.perf_counter()
        call(text)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def throughput(call, texts, batch_size=32):
    call(texts[:batch_size])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        call(texts[i : i + batch_size])
    return len(texts) / (time.perf_counter() - start)


def scores(probabilities, labels):
    from sklearn.metrics import accuracy_score, f1_score

    predicted = np.asarray(probabilities).argmax(1)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
    }


def fresh_process(kind, path):
    env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, kind, path],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rss, seconds = done.stdout.split()[-2:]
    return {"peak_rss_mb": round(float(rss)), "load_and_predict_s": round(float(seconds), 2)}


def server_process(path, module="keras_transfer_runtime"):
    """`python -m <module> serve --model path` in a fresh process: its peak RSS
    (VmHWM) once it has loaded the folder and answered one POST /predict, and the seconds
    from start to that answer."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", module, "serve", "--model", path]
    start = time.perf_counter()
    process = subprocess.Popen(
        command + ["--port", str(port)],
        env={**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=5).close()
                break
            except OSError:
                if process.poll() is not None or time.perf_counter() - start > 120:
                    raise RuntimeError(f"the server did not start: {' '.join(command)}") from None
                time.sleep(0.1)
        request = urllib.request.Request(
            base + "/predict",
            data=json.dumps({"text": "a quietly moving film"}).encode(),
            headers={"content-type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=60).close()
        seconds = time.perf_counter() - start
        with open(f"/proc/{process.pid}/status") as f:
            peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "server_peak_rss_mb": round(peak_kb / 1024),
        "server_start_and_answer_s": round(seconds, 2),
    }


def hugging_face(max_length):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from keras_transfer.presets import default_preset

    tokenizer = AutoTokenizer.from_pretrained(default_preset())
    model = AutoModelForSequenceClassification.from_pretrained(default_preset(), num_labels=2)
    model.eval()

    def predict(texts):
        batch = tokenizer(
            list(texts), truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        with torch.no_grad():
            return torch.softmax(model(**batch).logits, -1).numpy()

    return predict


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="256 train, 200 test texts")
    parser.add_argument("--strategy", default="frozen")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--latency-texts", type=int, default=50)
    parser.add_argument("--out", help="also write the results as JSON here")
    parser.add_argument(
        "--install-size", action="store_true", help="print the install sizes only (seconds)"
    )
    parser.add_argument(
        "--server-rss",
        metavar="EXPORTED_FOLDER",
        help="print only the peak RSS of `python -m keras_transfer_runtime serve` on this folder "
        "and, for comparison, of `python -m keras_transfer serve` (which imports Keras)",
    )
    args = parser.parse_args()
    if args.server_rss:
        for module in ("keras_transfer_runtime", "keras_transfer"):
            print(module, json.dumps(server_process(args.server_rss, module)))
        return
    if args.install_size:
        sizes = install_sizes()
        print(json.dumps(sizes, indent=2))
        print_install_sizes(sizes)
        return

    import keras

    import keras_transfer as kt
    from benchmarks.cpu import describe_cpu
    from keras_transfer_runtime import Predictor as RuntimePredictor

    print(describe_cpu())
    train, test = kt.load_bundled("rotten_tomatoes")
    if args.quick:
        train, test = train.sample(256, random_state=0), test.sample(200, random_state=0)
    x, y = train["text"].tolist(), (train["label"] == "positive").astype("int32").to_numpy()
    tx, ty = test["text"].tolist(), (test["label"] == "positive").astype("int32").to_numpy()
    folder = tempfile.mkdtemp(prefix="bench_serving_")
    model = kt.TransformerClassifier.from_preset(
        None, strategy=args.strategy, max_length=args.max_length, label_names=LABELS
    )
    start = time.perf_counter()
    model.fit(x, y, epochs=args.epochs, batch_size=32, verbose=0, log_root=folder)
    fit_s = time.perf_counter() - start
    saved = os.path.join(folder, "model.keras")
    model.save(saved)
    start = time.perf_counter()
    exported = kt.export(model, os.path.join(folder, "exported"), quantize="int8")
    export_s = time.perf_counter() - start

    predictors = {
        "kt.Predictor (.keras)": kt.Predictor(saved),
        "runtime ONNX float32": RuntimePredictor(exported, precision="float32"),
        "runtime ONNX int8": RuntimePredictor(exported, precision="int8"),
    }
    rows, argmax = {}, {}
    for name, predictor in predictors.items():
        probabilities = np.array(
            [[r["probabilities"][label] for label in LABELS] for r in predictor.predict_batch(tx)]
        )
        argmax[name] = probabilities.argmax(1)
        rows[name] = {
            "texts_per_s": round(throughput(predictor.predict_batch, tx), 1),
            "latency_ms": round(median_ms(predictor.predict, tx[: args.latency_texts]), 2),
            **{k: round(v, 4) for k, v in scores(probabilities, ty).items()},
        }
    rows["runtime ONNX int8"]["same_label_as_float32"] = round(
        float((argmax["runtime ONNX int8"] == argmax["runtime ONNX float32"]).mean()), 4
    )
    hf = hugging_face(args.max_length)
    rows["Hugging Face eager PyTorch"] = {
        "texts_per_s": round(throughput(hf, tx), 1),
        "latency_ms": round(median_ms(lambda t: hf([t]), tx[: args.latency_texts]), 2),
    }
    rows["kt.Predictor (.keras)"].update(fresh_process("keras", saved))
    rows["runtime ONNX int8"].update(fresh_process("runtime", exported))
    rows["runtime ONNX int8"].update(server_process(exported))
    rows["runtime ONNX float32"]["peak_rss_mb"] = fresh_process("runtime-float32", exported)[
        "peak_rss_mb"
    ]
    sizes = {
        name: round(os.path.getsize(os.path.join(exported, name)) / 2**20, 1)
        for name in ("model.onnx", "model.int8.onnx")
    }
    sizes[".keras"] = round(os.path.getsize(saved) / 2**20, 1)

    import onnxruntime
    import transformers

    results = {
        "backend": keras.config.backend(),
        "onnxruntime": onnxruntime.__version__,
        "transformers": transformers.__version__,
        "strategy": args.strategy,
        "max_length": args.max_length,
        "train_texts": len(x),
        "test_texts": len(tx),
        "fit_s": round(fit_s, 1),
        "export_s": round(export_s, 1),
        "sizes_mb": sizes,
        "predictors": rows,
        "install_sizes": install_sizes(),
    }
    print(json.dumps(results, indent=2))
    columns = ["texts_per_s", "latency_ms", "accuracy", "macro_f1", "peak_rss_mb"]
    columns.append("server_peak_rss_mb")
    print("\n| predictor | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(row.get(c, "—")) for c in columns) + " |")
    print_install_sizes(results["install_sizes"])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
