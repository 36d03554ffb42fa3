"""Progress: one console line per long step, updated with its progress and an ETA."""

import contextvars
import sys
import time

import keras

_ACTIVE = contextvars.ContextVar("keras_transfer_progress", default=None)


def format_seconds(seconds):
    """`"45 s"`, `"3 min 05 s"`, `"1 h 02 min"`.

    Example:
    >>> format_seconds(185)
    '3 min 05 s'
    """
    seconds = int(round(max(seconds, 0)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _live(stream):
    """True where a line can be rewritten in place: a terminal or a notebook."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return "ipykernel" in sys.modules and stream is sys.stdout


class Progress:
    """One console line for a long step (a strategy's training, the encoder's
    adaptation): the steps under it report how far they are, and the line
    shows it with an ETA.

    In a terminal or a notebook the line is rewritten in place; elsewhere (a
    log file, CI) a progress line is printed at most every `interval` seconds.
    The steps report through `report` (encoding texts) and the `FitProgress`
    callback (training); both do nothing when no `Progress` is active.

    Args:
        header: the start of the line, e.g. `"[2/5] lora training"`.
        stream: where to write (default: standard output).
        interval: the least seconds between two updates (default: 0.5 in a
            terminal or notebook, 30 elsewhere).

    Example:
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress("[1/1] step", stream=out, interval=0) as progress:
    ...     report("encoding texts", 50, 100)
    ...     progress.finish("done")
    >>> print(out.getvalue().splitlines()[-1])
    [1/1] step done
    """

    def __init__(self, header, stream=None, interval=None):
        self.header = header
        self.stream = stream if stream is not None else sys.stdout
        self.live = _live(self.stream)
        self.interval = interval if interval is not None else (0.5 if self.live else 30.0)
        self._shown = 0  # the length of the live line now on screen
        self._finished = False
        self._printed = False  # a progress line printed below the header (not live)
        self._last = None
        self._begun = {}
        self._token = None

    def __enter__(self):
        self._token = _ACTIVE.set(self)
        self._write(f"{self.header} ...", newline=False)
        self._last = time.monotonic()
        return self

    def __exit__(self, *exc):
        _ACTIVE.reset(self._token)
        if not self._finished:  # interrupted before `finish`: keep what the line says
            self.stream.write("\n")
            self.stream.flush()
        return False

    def update(self, stage, done, total, left_at_most=None, detail=None):
        """Show how far `stage` is (`done` of `total` units) with an ETA from
        its rate so far. `left_at_most`: a bound on the time left (seconds,
        e.g. the most epochs or a time budget), shown as "ETA <="; `detail`:
        the words to show instead of `"{stage} {done}/{total}"`."""
        now = time.monotonic()
        begun, done_then = self._begun.setdefault(stage, (now, done))
        if done < total and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        text = detail or f"{stage} {done}/{total}"
        if done_then < done < total:  # the rate since the stage was first seen
            left = (now - begun) / (done - done_then) * (total - done)
            if left_at_most is not None:
                text += f", ETA <= {format_seconds(min(left, max(left_at_most, 0)))}"
            else:
                text += f", ETA {format_seconds(left)}"
        if self.live:
            self._write(f"{self.header} {text}", newline=False)
        else:
            self._write(f"    {text}", newline=True, below=True)

    def finish(self, text):
        """End the line with the step's result."""
        if self.live or self._printed:
            self._write(f"{self.header} {text}", newline=True, below=not self.live)
        else:
            self.stream.write(f" {text}\n")
            self.stream.flush()
        self._shown = 0
        self._finished = True

    def _write(self, line, newline, below=False):
        if self.live:
            pad = " " * max(self._shown - len(line), 0)
            self.stream.write(f"\r{line}{pad}" + ("\n" if newline else ""))
            self._shown = 0 if newline else len(line)
        else:
            if below and not self._printed:
                self.stream.write("\n")
                self._printed = True
            self.stream.write(line + ("\n" if newline else ""))
        self.stream.flush()


def report(stage, done, total, left_at_most=None, detail=None):
    """Tell the active `Progress`, if any, how far `stage` is (see `Progress.update`)."""
    progress = _ACTIVE.get()
    if progress is not None:
        progress.update(stage, done, total, left_at_most=left_at_most, detail=detail)


@keras.saving.register_keras_serializable(package="keras_transfer")
class FitProgress(keras.callbacks.Callback):
    """Reports a `fit`'s epochs and steps to the active `Progress`, with an
    ETA bounded by the most epochs and the time budget; does nothing when
    none is active.

    Args:
        budget_minutes: the run's time budget (`kt.TimeBudget`), or None.
        stage: the word the line shows (default `"epoch"`).

    Example:
    >>> from keras_transfer.progress import FitProgress
    >>> FitProgress(budget_minutes=20).get_config()
    {'budget_minutes': 20, 'stage': 'epoch'}
    """

    def __init__(self, budget_minutes=None, stage="epoch"):
        super().__init__()
        self.budget_minutes = budget_minutes
        self.stage = stage

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        self._epoch = 0
        self._note = ""
        self.on_train_batch_end(-1)  # the clock starts now

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        steps = self.params.get("steps") or 0
        epochs = self.params.get("epochs") or 1
        if not steps:
            return
        # Early stopping may end the run sooner: the ETA is a bound, the
        # time the most epochs (or the budget's remainder) would take.
        left = float("inf")
        if self.budget_minutes is not None:
            left = 60 * self.budget_minutes - (time.monotonic() - self._start)
        report(
            self.stage,
            self._epoch * steps + batch + 1,
            epochs * steps,
            left_at_most=left,
            detail=f"{self.stage} {self._epoch + 1}/{epochs}, step {batch + 1}/{steps}"
            + self._note,
        )

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss")
        self._note = f", val_loss {loss:.4f}" if loss is not None else ""

    def get_config(self):
        return {"budget_minutes": self.budget_minutes, "stage": self.stage}
