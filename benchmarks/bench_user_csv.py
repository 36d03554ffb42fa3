"""A default comparison on a user's CSV of 1,000 short texts in 6 classes, timed end to end.

    python benchmarks/bench_user_csv.py                         # tensorflow, the default run
    python benchmarks/bench_user_csv.py --backends torch,jax
    python benchmarks/bench_user_csv.py --quick                 # --strategies embedding,frozen
    python benchmarks/bench_user_csv.py -- --seeds 3            # extra compare arguments

`make_questions.py` writes the stand-in for the user's data (1,000 labelled
TREC-style questions, 500 held-out ones); each backend then runs
`python -m keras_transfer compare --data questions_train.csv --test-data
questions_test.csv` in a fresh folder (a new process, an empty feature cache),
as a user would, with the default strategies and settings. It prints the CPU
model, the wall time and the table, and checks the bar: the default run
finishes within 10 minutes (`LIMIT_SECONDS`).
"""

import argparse
import os
import sys
import tempfile

from bench_compare import run_compare
from cpu import describe_cpu
from make_questions import write_questions

LIMIT_SECONDS = 600
QUICK = ("--strategies", "embedding,frozen")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow")
    parser.add_argument(
        "--quick", action="store_true", help=f"a smoke run: {' '.join(QUICK)} (no bar)"
    )
    parser.add_argument("args", nargs="*", help="extra arguments for compare (after --)")
    args = parser.parse_args()
    import pandas as pd

    extra = [*QUICK, *args.args] if args.quick else args.args
    print(describe_cpu(), flush=True)
    summary = []
    for backend in args.backends.split(","):
        folder = tempfile.mkdtemp(prefix=f"bench_user_csv_{backend}_")
        train_csv, test_csv = write_questions(folder)
        env = {**os.environ, "KERAS_BACKEND": backend, "KERAS_TRANSFER_CACHE": folder + "/cache"}
        arguments = ["--data", train_csv, "--test-data", test_csv]
        arguments += ["--out", os.path.join(folder, "comparison"), *extra]
        print(f"=== {backend}: -m keras_transfer compare {' '.join(arguments)}", flush=True)
        result, seconds = run_compare(arguments, folder, env)
        print(f"=== {backend}: exit {result.returncode}, {seconds:.0f} s wall, in {folder}")
        if result.returncode:
            print(result.stderr[-3000:])
            summary.append((backend, seconds, "failed"))
            continue
        table = pd.read_csv(os.path.join(folder, "comparison", "results.csv"))
        columns = [c for c in ("strategy", "f1_macro", "accuracy", "train_seconds") if c in table]
        print(table[columns].to_string(index=False, float_format="%.3f"))
        with open(os.path.join(folder, "comparison", "results.md"), encoding="utf-8") as f:
            print(f.read().strip().splitlines()[-1])  # the recommendation
        if extra:
            verdict = "not the default run: no bar"
        elif seconds <= LIMIT_SECONDS:
            verdict = "bar met"
        else:
            verdict = f"{seconds:.0f} s > {LIMIT_SECONDS} s"
        summary.append((backend, seconds, verdict))
    print("=== summary")
    for backend, seconds, verdict in summary:
        print(f"{backend}: {seconds:.0f} s wall ({seconds / 60:.1f} min), {verdict}")
    return int(
        any(verdict not in ("bar met", "not the default run: no bar") for *_, verdict in summary)
    )


if __name__ == "__main__":
    sys.exit(main())
