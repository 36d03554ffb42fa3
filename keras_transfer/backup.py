"""TrainingBackup: per-epoch backups that a full disk or a kill cannot corrupt."""

import hashlib
import json
import os
import time
import warnings

import keras
import numpy as np

from keras_transfer import _keras_compat as compat
from keras_transfer.atomic import check_free_space, remove_stale_temporaries, write_file

STATE_FILE = "backup.json"


def read_state(backup_dir):
    """The state a `TrainingBackup` left in `backup_dir`, or None if there is none.

    Raises a `ValueError` if the state file exists but cannot be read."""
    path = os.path.join(backup_dir, STATE_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
            raise ValueError("no epoch")
    except (OSError, ValueError) as e:
        raise ValueError(f"the backup state {path!r} cannot be read ({e})") from None
    return state


def discard(backup_dir):
    """Delete the backup files a `TrainingBackup` wrote in `backup_dir` (only
    those), then the folder if it is left empty."""
    try:
        names = os.listdir(backup_dir)
    except OSError:
        return
    for name in names:
        if _is_backup_file(name):
            _remove(os.path.join(backup_dir, name))
    remove_stale_temporaries(backup_dir)
    try:
        os.rmdir(backup_dir)
    except OSError:
        pass


def fingerprint(*parts):
    """A short SHA-256 of `parts` (JSON-serializable: texts, labels, arguments)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class TrainingBackup(keras.callbacks.Callback):
    """Back up the training state after every epoch; resume from it in the next `fit`.

    Like `keras.callbacks.BackupAndRestore` (weights, optimizer state and
    epoch), with four differences:

    - Every file is written atomically (`keras_transfer.atomic`): the weights
      go to a new file, then a small state file that names it is renamed into
      place, then the old weights are deleted. A kill or a full disk at any
      point leaves the last complete backup intact. A write is refused up front
      when the disk has no room for it (HDF5 can crash on a full disk).
    - A backup that cannot be read (a truncated or altered weights file, a
      damaged state file) is moved aside to `<backup_dir>.damaged-<time>` with
      a warning, and training starts from the first epoch; nothing is deleted.
    - With a `fingerprint` (a string identifying the data and arguments of the
      run), a backup made by another run is refused with a `ValueError`.
    - The state of the run's EarlyStopping and ReduceLROnPlateau (wait, best,
      best weights, cooldown) is backed up and restored too, so a resumed run
      stops and reduces the learning rate where the uninterrupted one would.
      `TransferModel.fit` hands them over (`watch`) and runs this callback
      last, after they have seen the epoch.

    The backup files are deleted when `fit` finishes.

    Args:
        backup_dir: the folder of the backup (created when needed; used by
            this callback only).
        fingerprint: optional string stored with the backup and compared on
            resume.
    """

    def __init__(self, backup_dir, fingerprint=None):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(
                f"`backup_dir` must be a folder path. Received: backup_dir={backup_dir!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.fingerprint = fingerprint
        self._weights_file = None
        self._best_file = None
        self._watched = []

    def watch(self, callbacks):
        """Back up the state of the EarlyStopping and ReduceLROnPlateau among `callbacks`."""
        kinds = (keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau)
        self._watched = [cb for cb in callbacks if isinstance(cb, kinds)]

    def on_train_begin(self, logs=None):
        self._weights_file = self._best_file = None
        remove_stale_temporaries(self.backup_dir)
        try:
            state = read_state(self.backup_dir)
        except ValueError as e:
            return self._set_aside(str(e))
        self._remove_orphans(state)
        if state is None:
            return
        if self.fingerprint is not None and state.get("fingerprint") != self.fingerprint:
            raise ValueError(
                f"The backup in {self.backup_dir!r} was made by a run with other data or "
                "arguments; resuming from it would mix two runs. Remove it to start afresh. "
                f"Received: fingerprint={self.fingerprint!r}"
            )
        path = os.path.join(self.backup_dir, str(state.get("weights")))
        if not os.path.isfile(path) or _sha256(path) != state.get("sha256"):
            return self._set_aside(f"the weights file {path!r} is missing, truncated or altered")
        if not self.model.built:
            raise ValueError("TrainingBackup needs a built model before `fit`.")
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        best = None
        if state.get("best_weights"):
            best_path = os.path.join(self.backup_dir, state["best_weights"])
            if not os.path.isfile(best_path) or _sha256(best_path) != state.get("best_sha256"):
                return self._set_aside(f"the file {best_path!r} is missing, truncated or altered")
            with np.load(best_path, allow_pickle=False) as stored:
                best = [stored[f"w{i}"] for i in range(len(stored.files))]
        self.model.load_weights(path)
        self._weights_file, self._best_file = state["weights"], state.get("best_weights")
        self._restore_callbacks(state.get("callbacks", []), best)
        compat.set_resume_epoch(self.model, state["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        from keras_transfer.reports import variables_bytes

        os.makedirs(self.backup_dir, exist_ok=True)
        check_free_space(self.backup_dir, variables_bytes(self.model), "the training backup")
        name = f"epoch-{epoch + 1}.weights.h5"
        path = os.path.join(self.backup_dir, name)
        write_file(path, self.model.save_weights, suffix=".weights.h5")
        state = {
            "epoch": epoch + 1,
            "weights": name,
            "sha256": _sha256(path),
            "fingerprint": self.fingerprint,
            "callbacks": [_callback_state(cb) for cb in self._watched],
        }
        best = next((cb.best_weights for cb in self._watched if _best_weights(cb)), None)
        best_file = None
        if best is not None:
            best_file = f"epoch-{epoch + 1}.best.npz"
            best_path = os.path.join(self.backup_dir, best_file)
            arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(best)}
            write_file(best_path, lambda tmp: np.savez(tmp, **arrays))
            state["best_weights"], state["best_sha256"] = best_file, _sha256(best_path)

        def write_state(tmp):
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(state, f, indent=2)

        write_file(os.path.join(self.backup_dir, STATE_FILE), write_state)
        for previous, new in ((self._weights_file, name), (self._best_file, best_file)):
            if previous is not None and previous != new:
                _remove(os.path.join(self.backup_dir, previous))
        self._weights_file, self._best_file = name, best_file

    def on_train_end(self, logs=None):
        """Training finished: delete the backup files (and the folder, if empty)."""
        _remove(os.path.join(self.backup_dir, STATE_FILE))
        for name in (self._weights_file, self._best_file):
            if name is not None:
                _remove(os.path.join(self.backup_dir, name))
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass  # absent, or holds files this callback did not write

    def _remove_orphans(self, state):
        """Files of this callback that no state names (a kill between two writes)."""
        keep = () if state is None else (state.get("weights"), state.get("best_weights"))
        try:
            names = os.listdir(self.backup_dir)
        except OSError:
            return
        for name in names:
            if _is_backup_file(name) and name != STATE_FILE and name not in keep:
                _remove(os.path.join(self.backup_dir, name))

    def _restore_callbacks(self, states, best):
        for cb, saved in zip(self._watched, states, strict=False):
            if saved.get("kind") != type(cb).__name__:
                continue
            for key, value in saved.items():
                if key not in ("kind", "has_best_weights"):
                    setattr(cb, key, value)
            if saved.get("has_best_weights"):
                cb.best_weights = best

    def _set_aside(self, reason):
        aside = f"{self.backup_dir.rstrip(os.sep)}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(self.backup_dir, aside)
        warnings.warn(
            f"The training backup is damaged ({reason}); it was moved to {aside!r} and "
            "training starts again from the first epoch.",
            stacklevel=2,
        )


def _is_backup_file(name):
    return name == STATE_FILE or (
        name.startswith("epoch-") and name.endswith((".weights.h5", ".best.npz"))
    )


def _best_weights(cb):
    return getattr(cb, "best_weights", None) is not None


def _callback_state(cb):
    """The counters of an EarlyStopping or ReduceLROnPlateau, as JSON values."""
    keys = ("wait", "best", "best_epoch", "stopped_epoch", "cooldown_counter")
    state = {"kind": type(cb).__name__, "has_best_weights": _best_weights(cb)}
    for key in keys:
        if hasattr(cb, key):
            value = getattr(cb, key)
            state[key] = None if value is None else (float(value) if key == "best" else int(value))
    return state


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
