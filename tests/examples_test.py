import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(name, *args):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.large
def test_embedding_example_smoke(tmp_path):
    out = run_example("embedding_classifier.py", "--smoke")
    assert "positive=" in out
    assert os.listdir(tmp_path / "tensorflow_logs")


@pytest.mark.large
@pytest.mark.parametrize("strategy", ["frozen", "lora"])
def test_finetune_example_smoke(strategy):
    out = run_example("finetune_transformer.py", "--smoke", "--strategy", strategy)
    assert "positive=" in out and "total" in out


@pytest.mark.large
def test_vietnamese_example_says_what_it_uses():
    out = run_example("vietnamese.py", "--smoke")
    assert "No multilingual model is available offline" in out


@pytest.mark.large
def test_compare_example_smoke():
    out = run_example("compare_strategies.py", "--smoke")
    assert "| lora |" in out


@pytest.mark.large
def test_multi_task_example_smoke():
    out = run_example("multi_task.py", "--smoke")
    assert "language accuracy" in out and "sentiment [" in out


@pytest.mark.large
def test_ner_example_smoke():
    out = run_example("ner.py", "--smoke", "--strategy", "lora")
    assert "micro avg" in out and "/O" in out
