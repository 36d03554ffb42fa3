"""TrainingBackup: per-epoch backups that a full disk or a kill cannot corrupt."""

import hashlib
import json
import os
import time
import warnings

import keras

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
        if name == STATE_FILE or (name.startswith("epoch-") and name.endswith(".weights.h5")):
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
    epoch), with three differences:

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
            raise ValueError(f"`backup_dir` must be a folder path. Received: {backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.fingerprint = fingerprint
        self._weights_file = None

    def on_train_begin(self, logs=None):
        self._weights_file = None
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
        self.model.load_weights(path)
        self._weights_file = state["weights"]
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
        }

        def write_state(tmp):
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(state, f, indent=2)

        write_file(os.path.join(self.backup_dir, STATE_FILE), write_state)
        previous, self._weights_file = self._weights_file, name
        if previous is not None and previous != name:
            _remove(os.path.join(self.backup_dir, previous))

    def on_train_end(self, logs=None):
        """Training finished: delete the backup files (and the folder, if empty)."""
        _remove(os.path.join(self.backup_dir, STATE_FILE))
        if self._weights_file is not None:
            _remove(os.path.join(self.backup_dir, self._weights_file))
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass  # absent, or holds files this callback did not write

    def _remove_orphans(self, state):
        """Weights files of this callback that no state names (a kill between two writes)."""
        keep = None if state is None else state.get("weights")
        try:
            names = os.listdir(self.backup_dir)
        except OSError:
            return
        for name in names:
            if name.startswith("epoch-") and name.endswith(".weights.h5") and name != keep:
                _remove(os.path.join(self.backup_dir, name))

    def _set_aside(self, reason):
        aside = f"{self.backup_dir.rstrip(os.sep)}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(self.backup_dir, aside)
        warnings.warn(
            f"The training backup is damaged ({reason}); it was moved to {aside!r} and "
            "training starts again from the first epoch.",
            stacklevel=2,
        )


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
