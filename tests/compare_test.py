import os
import re
import subprocess
import sys

import pandas as pd
import pytest

import keras_transfer as kt


def small_en_vi():
    frame, _ = kt.load_bundled("sentiment_en_vi")
    return frame.groupby("label").head(24).reset_index(drop=True)


def test_compare_writes_table_plots_and_runs(tmp_path, tiny_preset):
    out = tmp_path / "out"
    table = kt.compare_strategies(
        small_en_vi(),
        strategies=["embedding", "lora"],
        epochs=1,
        max_length=16,
        batch_size=8,
        out=str(out),
        preset=tiny_preset,
        verbose=0,
    )
    assert table["strategy"].tolist() == ["embedding", "lora"]
    for column in (
        "accuracy",
        "f1_macro",
        "train_seconds",
        "inference_examples_per_s",
        "trainable_params",
        "total_params",
        "epochs_run",
        "best_val_loss",
        "log_dir",
    ):
        assert column in table.columns
    assert table.loc[0, "trainable_params"] == 5410
    assert sorted(os.listdir(out)) == [
        "reports",
        "results.csv",
        "results.md",
        "transfer_learning_comparison.png",
    ]
    assert "| embedding |" in (out / "results.md").read_text()
    from PIL import Image

    assert round(Image.open(out / "transfer_learning_comparison.png").info["dpi"][0]) == 300
    # Each strategy is its own TensorBoard run under one experiment folder.
    experiment = table.attrs["experiment_dir"]
    assert {os.path.dirname(d) for d in table["log_dir"]} == {experiment}
    assert os.path.basename(table.loc[1, "log_dir"]).startswith("lora_")
    assert pd.read_csv(out / "results.csv")["strategy"].tolist() == ["embedding", "lora"]


def test_existing_results_are_not_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("old")
    with pytest.raises(ValueError, match="already holds results.*overwrite"):
        kt.compare_strategies(small_en_vi(), strategies=["embedding"], out=str(out))
    assert (out / "results.csv").read_text() == "old"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strategies": ["embedding", "bert"]}, "strategies="),
        ({"strategies": []}, "strategies="),
        ({"epochs": 0}, "epochs=0"),
        ({"batch_size": -8}, "batch_size=-8"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        kt.compare_strategies(small_en_vi(), out=str(tmp_path / "out"), **kwargs)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "tensorflow_logs").exists()


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "keras_transfer", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def run_main(capsys, *args):
    """The CLI in-process (the same `main` the console script runs)."""
    from keras_transfer.__main__ import main

    try:
        code = main(list(args))
    except SystemExit as e:  # argparse: --help, usage errors
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_help_reads_well(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and "compare" in out and "serve" in out
    code, out, _ = run_main(capsys, "compare", "--help")
    assert code == 0 and "--smoke" in out and "--strategies" in out


def test_cli_smoke(tmp_path, tiny_preset, capsys):
    out = tmp_path / "out"
    args = ["compare", "--smoke", "--preset", tiny_preset, "--strategies", "frozen"]
    code, stdout, stderr = run_main(capsys, *args, "--out", str(out))
    assert code == 0, stderr[-3000:]
    assert "[frozen] accuracy" in stdout and "| frozen |" in stdout
    assert (out / "results.csv").exists()
    code, _, stderr = run_main(capsys, "compare", "--smoke", "--out", str(out))
    assert code == 2 and "already holds results" in stderr


@pytest.mark.parametrize(
    "args, match",
    [
        (["--data", "nope.csv"], "does not exist"),
        (["--strategies", "embedding,xx"], "strategies="),
        (["--epochs", "0"], "--epochs must be positive"),
        (["--label-column", "stars"], "label_column='stars'"),
    ],
)
def test_cli_bad_input(tmp_path, capsys, args, match):
    code, _, stderr = run_main(capsys, "compare", "--smoke", "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert re.search(match, stderr), stderr[-2000:]
    assert not (tmp_path / "o").exists()


def test_console_script_entry_point():
    result = cli("--help")
    assert result.returncode == 0 and "compare" in result.stdout


@pytest.mark.large
def test_cli_smoke_on_the_bundled_model(tmp_path):
    result = cli("compare", "--smoke", "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr[-3000:]
