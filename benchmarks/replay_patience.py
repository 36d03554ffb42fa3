"""Would a shorter EarlyStopping patience have kept the same epoch? Replayed from logged runs.

    python benchmarks/replay_patience.py FOLDER [FOLDER ...]   # e.g. tensorflow_logs

Every run folder under the FOLDERs (a comparison's TensorBoard runs) holds its
validation loss per epoch. For each run this replays Keras' EarlyStopping
(`min_delta=0`: a better loss is a lower one) with the patience the run used
(`--patience`, 3 by default) and with a shorter one (`--shorter`, 2), and
prints the best epoch and the epoch each would stop at. Where the two best
epochs agree, `restore_best_weights=True` restores the same weights: the
shorter patience gives the same model and saves the epochs in between. The
last line counts the runs per strategy where they differ.
"""

import argparse
import collections
import os

import numpy as np


def validation_losses(run):
    """The run's `epoch_loss` on the validation split, one float per epoch (or None)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = os.path.join(run, "validation")
    if not os.path.isdir(folder):
        return None
    events = EventAccumulator(folder, size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    if "epoch_loss" in tags.get("tensors", []):
        from tensorboard.util import tensor_util

        return [
            float(tensor_util.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_loss")
        ]
    if "epoch_loss" in tags.get("scalars", []):
        return [e.value for e in events.Scalars("epoch_loss")]
    return None


def replay(losses, patience):
    """(best epoch, epochs run), 1-based, as EarlyStopping(patience) would end `losses`."""
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, loss in enumerate(losses):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch + 1, epoch + 1
    return best_epoch + 1, len(losses)


def runs(folders):
    """Every folder below `folders` with a `validation` subfolder, sorted."""
    for folder in folders:
        for root, dirs, _ in os.walk(folder):
            if "validation" in dirs:
                yield root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--shorter", type=int, default=2)
    args = parser.parse_args()
    differ, total = collections.Counter(), collections.Counter()
    for run in sorted(runs(args.folders)):
        losses = validation_losses(run)
        if not losses:
            continue
        strategy = os.path.basename(run).split("_seed")[0].split("_20")[0]
        best, stop = replay(losses, args.patience)
        best_short, stop_short = replay(losses, args.shorter)
        total[strategy] += 1
        mark = ""
        if best_short != best:
            differ[strategy] += 1
            mark = "  <- differs"
        print(
            f"{run}: {len(losses)} epochs | patience {args.patience}: best {best}, stop {stop}"
            f" | patience {args.shorter}: best {best_short}, stop {stop_short}{mark}"
        )
    print(
        "differ / runs: "
        + ", ".join(f"{name} {differ[name]}/{total[name]}" for name in sorted(total))
    )


if __name__ == "__main__":
    main()
