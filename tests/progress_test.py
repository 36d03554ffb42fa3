"""Progress lines with an ETA: in place on a terminal, a line at a time in a log."""

import io

import keras
import numpy as np

from keras_transfer.progress import FitProgress, Progress, format_seconds, report


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_format_seconds():
    assert [format_seconds(s) for s in (0, 44.6, 60, 185, 3725)] == [
        "0 s",
        "45 s",
        "1 min 00 s",
        "3 min 05 s",
        "1 h 02 min",
    ]


def test_report_without_progress_does_nothing(capsys):
    report("encoding texts", 1, 2)
    assert capsys.readouterr().out == ""


def test_log_lines_and_result(monkeypatch):
    clock = iter([0.0, 0.0, 10.0, 20.0])
    monkeypatch.setattr("keras_transfer.progress.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    with Progress("[1/2] full", stream=out, interval=0) as progress:
        report("encoding texts", 0, 100)  # t=0: the stage begins
        report("encoding texts", 25, 100)  # 10 s for 25: 30 s left
        report("encoding texts", 50, 100, left_at_most=5)  # bounded: at most 5 s
        progress.finish("macro F1 0.700")
    assert out.getvalue().splitlines() == [
        "[1/2] full ...",
        "    encoding texts 0/100",
        "    encoding texts 25/100, ETA 30 s",
        "    encoding texts 50/100, ETA <= 5 s",
        "[1/2] full macro F1 0.700",
    ]


def test_result_on_the_header_line_when_nothing_was_shown():
    out = io.StringIO()
    with Progress("[1/1] lora", stream=out) as progress:  # 30 s between log lines
        report("encoding texts", 1, 4)
        progress.finish("macro F1 0.5")
    assert out.getvalue() == "[1/1] lora ... macro F1 0.5\n"


def test_terminal_line_is_rewritten_in_place():
    out = Terminal()
    with Progress("[1/1] full", stream=out, interval=0) as progress:
        report("encoding texts", 10, 20)
        progress.finish("done")
    assert out.getvalue().split("\r")[1:] == [
        "[1/1] full ...",
        "[1/1] full encoding texts 10/20",
        "[1/1] full done                \n",
    ]


def test_interrupted_line_is_ended():
    out = io.StringIO()
    try:
        with Progress("[1/1] full", stream=out):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert out.getvalue() == "[1/1] full ...\n"


def test_fit_progress_reports_epochs_steps_and_a_bounded_eta():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    out = io.StringIO()
    with Progress("[1/1] tiny", stream=out, interval=0) as progress:
        model.fit(
            x,
            y,
            validation_data=(x, y),
            epochs=2,
            batch_size=4,
            verbose=0,
            callbacks=[FitProgress(budget_minutes=1)],
        )
        progress.finish("ok")
    lines = out.getvalue().splitlines()
    assert lines[1] == "    epoch 1/2, step 0/2"
    assert lines[2].startswith("    epoch 1/2, step 1/2, ETA <= ")
    assert lines[4].startswith("    epoch 2/2, step 1/2, val_loss 0.0000, ETA <= ")
    assert lines[5] == "    epoch 2/2, step 2/2, val_loss 0.0000"
    assert lines[-1] == "[1/1] tiny ok"
    assert FitProgress(**FitProgress(3).get_config()).budget_minutes == 3
