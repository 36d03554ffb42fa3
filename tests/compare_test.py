import os
import re
import subprocess
import sys

import keras
import pandas as pd
import pytest

import keras_transfer as kt
from keras_transfer.strategies import DEFAULT_RUN, STRATEGIES


def small_en_vi():
    frame, _ = kt.load_bundled("sentiment_en_vi")
    return frame.groupby("label").head(24).reset_index(drop=True)


def run_compare(out, preset, **kwargs):
    args = dict(
        strategies=["embedding", "lora"],
        epochs=2,
        max_length=16,
        batch_size=8,
        out=None if out is None else str(out),
        preset=preset,
        verbose=0,
    )
    args.update(kwargs)
    return kt.compare_strategies(small_en_vi(), **args)


@pytest.fixture(scope="module")
def compared(tmp_path_factory, tiny_preset):
    """One small comparison, shared: (table, out folder). The out folder exists
    (empty) beforehand, which must not lose the run."""
    out = tmp_path_factory.mktemp("compared") / "out"
    out.mkdir()
    table = run_compare(out, tiny_preset, save_models=True)
    return table, out


def test_compare_writes_table_plots_and_runs(compared):
    table, out = compared
    assert set(table["strategy"]) == {"embedding", "lora", "majority", "tfidf_logreg"}
    # Sorted by the headline metric.
    assert table["f1_macro"].tolist() == sorted(table["f1_macro"], reverse=True)
    for column in (
        "accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "train_seconds",
        "inference_examples_per_s",
        "trainable_params",
        "total_params",
        "epochs_run",
        "best_epoch",
        "learning_rate",
        "max_epochs",
        "seeds",
        "log_dir",
    ):
        assert column in table.columns
    rows = table.set_index("strategy")
    assert rows.loc["embedding", "trainable_params"] == 5410
    assert rows.loc["embedding", "learning_rate"] == STRATEGIES["embedding"].recipe.learning_rate
    # Without tuning, each strategy trains with its recipe, and the table has no `tuned` column.
    assert rows.loc["lora", "learning_rate"] == STRATEGIES["lora"].recipe.learning_rate == 1e-3
    assert "tuned" not in table.columns
    assert rows.loc["majority", "trainable_params"] == 0
    assert sorted(os.listdir(out)) == [
        "models",
        "reports",
        "results.csv",
        "results.md",
        "transfer_learning_comparison.png",
    ]
    markdown = (out / "results.md").read_text()
    assert "| majority |" in markdown and "| tfidf_logreg |" in markdown
    assert table.attrs["recommendation"] in markdown
    from PIL import Image

    assert round(Image.open(out / "transfer_learning_comparison.png").info["dpi"][0]) == 300
    csv = pd.read_csv(out / "results.csv")
    assert csv["strategy"].tolist() == table["strategy"].tolist()
    assert sorted(os.listdir(out / "reports")) == [
        f"{s}.txt" for s in sorted(["embedding", "lora", "majority", "tfidf_logreg"])
    ]
    # Each strategy is its own TensorBoard run under one experiment folder,
    # with its hyper-parameters and test metrics for the HParams dashboard.
    experiment = table.attrs["experiment_dir"]
    assert {os.path.dirname(d) for d in table["log_dir"]} == {experiment}
    assert os.path.basename(rows.loc["lora", "log_dir"]).startswith("lora_")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for strategy in ("lora", "tfidf_logreg"):
        events = EventAccumulator(rows.loc[strategy, "log_dir"])
        events.Reload()
        assert "test/f1_macro" in events.Tags()["tensors"]
        assert "_hparams_/session_start_info" in events.summary_metadata


def test_saved_models_serve(compared):
    table, out = compared
    assert sorted(os.listdir(out / "models")) == ["embedding.keras", "lora.keras"]
    predictor = kt.Predictor(str(out / "models" / "embedding.keras"))
    assert predictor.predict("a good film")["label"] in ("negative", "positive")


def test_seeds_give_mean_and_std(tiny_preset, tmp_path):
    table = run_compare(tmp_path / "out", tiny_preset, strategies=["embedding"], seeds=2)
    rows = table.set_index("strategy")
    assert rows.loc["embedding", "seeds"] == 2
    assert {"accuracy_std", "f1_macro_std"} <= set(table.columns)
    assert rows.loc["embedding", "f1_macro_std"] >= 0
    runs = [d for d in os.listdir(table.attrs["experiment_dir"]) if d.startswith("embedding")]
    assert len(runs) == 2
    assert "±" in (tmp_path / "out" / "results.md").read_text()


def test_results_are_written_as_each_strategy_finishes(tmp_path, tiny_preset, monkeypatch):
    from keras_transfer.models.transformer_classifier import TransformerClassifier

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TransformerClassifier, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_compare(tmp_path / "out", tiny_preset)
    done = pd.read_csv(tmp_path / "out" / "results.csv")["strategy"]
    assert set(done) == {"embedding", "majority", "tfidf_logreg"}


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
        ({"strategies": ["frozen", "frozen"]}, "strategies="),
        ({"epochs": 0}, "epochs=0"),
        ({"batch_size": -8}, "batch_size=-8"),
        ({"seeds": 0}, "seeds=0"),
        ({"strategies": ["embedding", "full"], "max_length": 128}, "max_length=128"),
        ({"strategies": ["embedding", "last_n"], "unfreeze_last": 3}, "unfreeze_last=3"),
        ({"out": "results.txt/sub"}, "cannot be written"),
    ],
)
def test_bad_arguments_fail_before_training(tmp_path, tiny_preset, kwargs, match):
    (tmp_path / "results.txt").write_text("a file")
    args = {"out": str(tmp_path / "out"), "preset": tiny_preset, **kwargs}
    with pytest.raises(ValueError, match=match):
        kt.compare_strategies(small_en_vi(), **args)
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


# The same comparison through `kt.compare` and through the command line.
TWINS = {
    "classification": {
        "data": "rotten_tomatoes",  # its bundled test split, both sides sampled
        "strategies": "embedding,frozen",
        "train_size": 32,
        "test_size": 16,
    },
    "ner": {"task": "ner", "strategies": "frozen", "train_size": 16, "test_size": 8, "seeds": 2},
}
TIMINGS = ("train_seconds", "inference_examples_per_s", "inference_sentences_per_s", "log_dir")


@pytest.fixture(scope="module")
def twins(tiny_preset, tmp_path_factory):
    """`twins(task)`: (Python's results.csv, the CLI's, Python's table), run once a task."""
    from keras_transfer.__main__ import main

    runs = {}

    def run(task):
        if task in runs:
            return runs[task]
        args = {**TWINS[task], "epochs": 1, "max_length": 16, "batch_size": 8}
        args["preset"] = tiny_preset
        folder = tmp_path_factory.mktemp(task)
        flags = [f for k, v in args.items() for f in (f"--{k.replace('_', '-')}", str(v))]
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder)  # where the CLI's TensorBoard logs go
            table = kt.compare(**args, out=str(folder / "python"), verbose=0)
            assert main(["compare", *flags, "--out", str(folder / "cli")]) == 0
        results = (pd.read_csv(folder / side / "results.csv") for side in ("python", "cli"))
        runs[task] = (*results, table)
        return runs[task]

    return run


@pytest.mark.parametrize("task", list(TWINS))
def test_python_and_cli_give_the_same_table(twins, task):
    """Two runs with the same seed, one from Python and one from the command line: the
    same scores, to the last digit."""
    python, cli, _ = twins(task)
    assert list(python.columns) == list(cli.columns)
    scores = [c for c in python.columns if c not in TIMINGS]
    pd.testing.assert_frame_equal(python[scores], cli[scores])


def test_ner_seeds_give_mean_and_std(twins):
    _, _, table = twins("ner")
    rows = table.set_index("strategy")
    assert rows.loc["frozen", "seeds"] == 2 and rows.loc["most_frequent_tag", "seeds"] == 1
    assert {"entity_f1_std", "token_accuracy_std"} <= set(table.columns)
    assert rows.loc["frozen", "entity_f1_std"] >= 0
    runs = [d for d in os.listdir(table.attrs["experiment_dir"]) if d.startswith("frozen_seed")]
    assert len(runs) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"task": "pos"}, "task='pos'"),
        (
            {"task": "ner", "few_shot": 3},
            "`few_shot` only applies to task='classification'.*few_shot=3",
        ),
        (
            {"task": "ner", "augment": 1, "class_weight": None},
            "`augment`, `class_weight` only apply to task='classification'",
        ),
        ({"tag_column": 2}, "`tag_column` only applies to task='ner'.*tag_column=2"),
        ({"train_size": -1}, "train_size=-1"),
        ({"task": "ner", "seeds": 0}, "seeds=0"),
        ({"tune": -1}, "tune=-1"),
    ],
)
def test_compare_refuses_arguments_before_reading_data(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        kt.compare(data=str(tmp_path / "never_read.csv"), out=None, **kwargs)


@pytest.mark.parametrize(
    "flags, expected",
    [
        ([], {"task": "classification", "out": "comparison", "seeds": 1, "augment": 0, "tune": 0}),
        (["--tune", "3", "--seeds", "2"], {"tune": 3, "seeds": 2}),
        (
            ["--no-class-weight", "--unfreeze-last", "1", "--lora-rank", "4"],
            {"class_weight": None, "unfreeze_last": 1, "lora_rank": 4},
        ),
        (["--validation-size", "0.3", "--strategies", "frozen"], {"validation_size": 0.3}),
        (["--smoke", "--epochs", "3"], {"train_size": 48, "test_size": 32, "epochs": 3}),
        (["--task", "ner", "--smoke"], {"out": "comparison_ner", "max_length": 32}),
    ],
)
def test_cli_passes_its_flags_on_to_compare(capsys, monkeypatch, flags, expected):
    from keras_transfer import comparison

    calls = []

    def recorded(**kwargs):
        calls.append(kwargs)
        raise ValueError("recorded")

    monkeypatch.setattr(comparison, "compare", recorded)
    code, _, err = run_main(capsys, "compare", *flags)
    assert (code, err.strip()) == (2, "error: recorded")
    assert calls[0].items() >= expected.items()
    left_out = {"few_shot", "test_data", "preset", "max_length", "train_size", "strategies"}
    if not flags:  # compare's own defaults, not the CLI's
        assert not left_out & set(calls[0])


def test_cli_help_reads_well(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and "compare" in out and "serve" in out
    code, out, _ = run_main(capsys, "compare", "--help")
    assert code == 0 and "--smoke" in out and "--seeds" in out and "--save-models" in out
    assert "seed 00" not in out.lower()


def test_registry_drives_the_cli(capsys):
    from keras_transfer.__main__ import _parser

    compare = _parser().parse_args(["compare"])
    assert compare.strategies is None  # the task's default run
    code, out, _ = run_main(capsys, "compare", "--help")
    assert f"(default {','.join(DEFAULT_RUN)};" in " ".join(out.split())
    for name, strategy in STRATEGIES.items():
        assert f"{name}: {strategy.description}" in " ".join(out.split())
    code, _, err = run_main(capsys, "compare", "--strategies", "nope")
    assert code == 2 and all(name in err for name in STRATEGIES)


def test_cli_smoke(tmp_path, tiny_preset, capsys):
    out = tmp_path / "out"
    args = ["compare", "--smoke", "--preset", tiny_preset, "--strategies", "frozen"]
    code, stdout, stderr = run_main(capsys, *args, "--out", str(out))
    assert code == 0, stderr[-3000:]
    assert "[1/1] frozen" in stdout and "| frozen |" in stdout
    assert "| majority |" in stdout and "| tfidf_logreg |" in stdout and "Best:" in stdout
    assert (out / "results.csv").exists()
    code, _, stderr = run_main(capsys, "compare", "--smoke", "--out", str(out))
    assert code == 2 and "already holds results" in stderr


@pytest.mark.parametrize(
    "args, match",
    [
        (["--data", "nope.csv"], "does not exist"),
        (["--strategies", "embedding,xx"], "strategies="),
        (["--epochs", "0"], "epochs=0"),
        (["--label-column", "stars"], "label_column='stars'"),
    ],
)
def test_cli_bad_input(tmp_path, capsys, args, match):
    code, _, stderr = run_main(capsys, "compare", "--smoke", "--out", str(tmp_path / "o"), *args)
    assert code == 2
    assert re.search(match, stderr), stderr[-2000:]
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(
    keras.config.backend() != "jax", reason="the command line's entry point: tested on jax only"
)
def test_console_script_entry_point():
    result = cli("--help")
    assert result.returncode == 0 and "compare" in result.stdout


@pytest.mark.large
def test_cli_smoke_on_the_bundled_model(tmp_path):
    result = cli("compare", "--smoke", "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.large
def test_default_run_meets_its_bar(tmp_path):
    """`python -m keras_transfer compare` on the real data and model (minutes)."""
    import time

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    from bench_compare import check

    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "keras_transfer", "compare", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert check(table, time.perf_counter() - start) == []
    assert result.stderr.strip() == ""  # no TensorFlow start-up noise


def test_a_run_stopped_at_its_ceiling_is_flagged(twins):
    _, _, table = twins("classification")  # one epoch allowed: each run stops at its ceiling
    row = table.set_index("strategy").loc["frozen"]
    assert (row["epochs_run"], row["best_epoch"], row["max_epochs"]) == (1, 1, 1)
    assert row["at_ceiling"] == 1.0
    assert "Still improving when stopped: " in table.attrs["recommendation"]
    assert "frozen" in table.attrs["recommendation"].split("Still improving when stopped: ")[1]
    from keras_transfer import reports

    markdown = reports.markdown_table(table)
    assert "| 1* |" in markdown and reports.CEILING_NOTE in markdown


def test_a_run_that_stopped_early_is_not_flagged():
    from keras_transfer import reports

    fields = reports.epoch_fields({"loss": [0.9, 0.8, 0.7], "val_loss": [0.5, 0.4, 0.6]}, 10)
    assert fields == {
        "epochs_run": 3,
        "best_epoch": 2,
        "best_val_loss": 0.4,
        "max_epochs": 10,
        "budget_stop": 0.0,
        "at_ceiling": 0.0,
    }
    assert reports.epoch_fields(None, 5)["at_ceiling"] == 0.0  # nothing trained


def test_auto_max_length_budget_and_truncation(tiny_preset, capsys):
    """`max_length="auto"` is fitted to the training texts and printed; a budget
    that ends a run is a stop at the ceiling; truncation reaches the
    transformer strategies only."""
    from keras_transfer.presets import fitted_max_length
    from keras_transfer.strategies import strategy_options

    table = run_compare(
        None,
        tiny_preset,
        strategies=["embedding"],
        epochs=5,
        verbose=1,
        max_length="auto",
        budget_minutes=1e-6,
    )
    printed = capsys.readouterr().out
    length = int(re.search(r"max_length auto: (\d+) tokens", printed).group(1))
    assert length % 16 == 0 and length >= 16
    row = table.set_index("strategy").loc["embedding"]
    assert (row["epochs_run"], row["budget_stop"], row["at_ceiling"]) == (1, 1.0, 1.0)
    assert "Still improving when stopped: embedding" in table.attrs["recommendation"]
    texts = small_en_vi()["text"].tolist()
    assert fitted_max_length(texts, tiny_preset)[0] in (length, length + 16, length - 16)
    options = strategy_options(["embedding", "lora"], tiny_preset, 16, None, None, "head_tail")
    assert options == {"embedding": {}, "lora": {"truncation": "head_tail"}}


def test_cli_max_length_flag():
    from keras_transfer.__main__ import _parser

    args = _parser().parse_args(["compare", "--max-length", "auto", "--budget-minutes", "0"])
    assert (args.max_length, args.budget_minutes) == ("auto", 0.0)
    assert (
        _parser().parse_args(["train", "--strategy", "lora", "--out", "m.keras"]).max_length
        == "auto"
    )
    with pytest.raises(SystemExit):
        _parser().parse_args(["compare", "--max-length", "long"])
