"""Few-shot: SetFit, zero-shot, full fine-tuning and frozen at K examples per class.

    python benchmarks/bench_few_shot.py                       # K = 8 and 16, seeds 0-2, jax
    python benchmarks/bench_few_shot.py --shots 8 --seeds 0 --backend tensorflow

For each K and seed it runs, in a fresh folder,
`python -m keras_transfer compare --few-shot K --seed S --strategies setfit,zero_shot,full,frozen`
on the bundled Rotten Tomatoes snippets. The seed changes which K examples per
class are drawn (the largest source of variance with so few), which 500 test
snippets are drawn (always from movies unseen in training), initialisation and
shuffling. It prints macro F1 as mean ± std over the seeds, with the
reference rows, and checks SetFit's bar: at least 5 points above `full` at 8
examples per class.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

STRATEGIES = "setfit,zero_shot,full,frozen"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", default="8,16", help="K values, comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated")
    parser.add_argument("--backend", default="jax")
    args = parser.parse_args()
    import pandas as pd

    rows = []
    for k in [int(v) for v in args.shots.split(",")]:
        for seed in [int(v) for v in args.seeds.split(",")]:
            folder = tempfile.mkdtemp(prefix=f"bench_few_shot_{k}_{seed}_")
            env = {
                **os.environ,
                "KERAS_BACKEND": args.backend,
                "KERAS_TRANSFER_CACHE": os.path.join(folder, "cache"),
            }
            command = [sys.executable, "-m", "keras_transfer", "compare", "--few-shot", str(k)]
            command += ["--seed", str(seed), "--strategies", STRATEGIES, "--out", "out"]
            start = time.perf_counter()
            result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
            if result.returncode:
                sys.exit(f"K={k} seed={seed} failed:\n{result.stderr[-3000:]}")
            table = pd.read_csv(os.path.join(folder, "out", "results.csv"))
            print(f"K={k} seed={seed}: {time.perf_counter() - start:.0f} s", flush=True)
            for strategy, f1 in zip(table["strategy"], table["f1_macro"], strict=True):
                rows.append({"shots": k, "seed": seed, "strategy": strategy, "f1_macro": f1})
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["shots", "strategy"])["f1_macro"].agg(["mean", "std"]).reset_index()
    print(f"\nmacro F1, mean ± std over seeds {args.seeds} ({args.backend}):\n")
    print(
        "| strategy | "
        + " | ".join(f"{k} per class" for k in sorted(frame["shots"].unique()))
        + " |"
    )
    print("|---|" + "---|" * frame["shots"].nunique())
    order = summary[summary["shots"] == summary["shots"].min()].sort_values("mean", ascending=False)
    for strategy in order["strategy"]:
        cells = []
        for k in sorted(frame["shots"].unique()):
            row = summary[(summary["shots"] == k) & (summary["strategy"] == strategy)].iloc[0]
            cells.append(f"{row['mean']:.3f} ± {row['std']:.3f}")
        print(f"| {strategy} | " + " | ".join(cells) + " |")
    at8 = summary[summary["shots"] == 8].set_index("strategy")["mean"]
    if len(at8):
        gap = at8["setfit"] - at8["full"]
        print(f"\nsetfit - full at 8 per class: {gap * 100:+.1f} points (bar: +5)")


if __name__ == "__main__":
    main()
