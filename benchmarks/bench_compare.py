"""The main job, timed end to end on each backend, with its bar checked.

    python benchmarks/bench_compare.py                      # tensorflow, jax, torch
    python benchmarks/bench_compare.py --backends jax -- --seeds 3

Each backend runs `python -m keras_transfer compare [ARGS]` in a fresh folder
(a new process, an empty feature cache), as a new user would. It prints the
wall time and the table, and checks the default run's bar:

- every pretrained strategy beats `majority` by at least 15 points of macro F1;
- the best transformer strategy beats `tfidf_logreg` by at least 3 points;
- the whole run takes at most 5 minutes.

Each backend runs natively and once with every library's instruction set
capped to AVX2 (`--isa native,avx2`, the default; `cpu.capped_env`), so an
AVX-512 machine measures what an AVX2 laptop sees; before each run a probe in
the same environment prints what the libraries dispatch to
(`cpu.isa_evidence`). On a CPU without AVX-512 the two are the same: the
default runs once, labelled avx2. The output starts with the CPU model and
flags and ends with the wall time per backend per ISA setting.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from cpu import describe_cpu, env_for, isa_evidence, isa_settings

LIMIT_SECONDS = 300


def check(table, seconds=None):
    """The bar of the default run; returns a list of what falls short (empty: met)."""
    from keras_transfer.strategies import STRATEGIES

    f1 = dict(zip(table["strategy"], table["f1_macro"], strict=True))
    problems = []
    for name, value in f1.items():
        strategy = STRATEGIES.get(name)
        if strategy is not None and strategy.pretrained and value < f1["majority"] + 0.15:
            problems.append(f"{name} {value:.3f} < majority {f1['majority']:.3f} + 0.15")
    transformers = [v for k, v in f1.items() if k in STRATEGIES and k != "embedding"]
    if transformers and max(transformers) < f1["tfidf_logreg"] + 0.03:
        problems.append(f"best transformer {max(transformers):.3f} < tfidf_logreg + 0.03")
    if seconds is not None and seconds > LIMIT_SECONDS:
        problems.append(f"{seconds:.0f} s > {LIMIT_SECONDS} s")
    return problems


def run_compare(args, folder, env):
    """`python -m keras_transfer compare *args` in `folder`, a new process with
    `env`: (the finished process, its wall seconds)."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "keras_transfer", "compare", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--isa", default="native,avx2", help="native, avx2 (capped) or both")
    parser.add_argument("args", nargs="*", help="extra arguments for compare (after --)")
    args = parser.parse_args()
    import pandas as pd

    settings, note = isa_settings(args.isa)
    print(describe_cpu(), flush=True)
    if note:
        print(note, flush=True)
    backends = args.backends.split(",")
    summary = []
    for setting in settings:
        for backend in backends:
            folder = tempfile.mkdtemp(prefix=f"bench_compare_{backend}_{setting}_")
            env = env_for(
                setting,
                {**os.environ, "KERAS_BACKEND": backend, "KERAS_TRANSFER_CACHE": folder + "/cache"},
            )
            print(f"=== {backend} ({setting}) {isa_evidence(backend, env)}", flush=True)
            result, seconds = run_compare(args.args, folder, env)
            print(
                f"=== {backend} ({setting}): exit {result.returncode}, {seconds:.0f} s, in {folder}"
            )
            print(result.stdout[-4000:])
            if result.returncode:
                print(result.stderr[-3000:])
                summary.append((setting, backend, seconds, ["failed"]))
                continue
            table = pd.read_csv(os.path.join(folder, "comparison", "results.csv"))
            problems = check(table, None if args.args else seconds)
            summary.append((setting, backend, seconds, problems))
    print(f"=== summary{': ' + note if note else ''}")
    wall = {(setting, backend): seconds for setting, backend, seconds, _ in summary}
    print("| backend | " + " | ".join(f"{setting} wall s" for setting in settings) + " |")
    print("|---|" + "---|" * len(settings))
    for backend in backends:
        cells = " | ".join(f"{wall[setting, backend]:.0f}" for setting in settings)
        print(f"| {backend} | {cells} |")
    for setting, backend, seconds, problems in summary:
        print(
            f"{backend} ({setting}): {seconds:.0f} s, "
            f"{'bar met' if not problems else '; '.join(problems)}"
        )
    return int(any(problems for *_, problems in summary))


if __name__ == "__main__":
    sys.exit(main())
