"""Data parallelism on Keras' own engines, with two simulated CPU devices in a fresh process."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import data, distribution

BACKEND = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_two_devices(cases):
    env = dict(os.environ, KERAS_BACKEND=BACKEND, CASES=cases, PYTHONPATH=ROOT)
    # JAX; TF sets its own
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2"
    done = subprocess.run(
        [sys.executable, "-m", "tests.distributed_run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def check_equivalence(results, cases):
    assert results["devices"] == ["cpu:0", "cpu:1"]
    for case in cases.split(","):
        r = results[case]
        assert r["steps"][0] == r["steps"][1] == 16, case
        assert r["run_folders"] == 1, (case, r)  # one TensorBoard run, not one per device
        if case == "multi_task" and BACKEND == "tensorflow":
            # A task with -1 labels: tf.distribute averages each replica's mean over its
            # own labelled examples, not over the batch's (JAX computes it globally).
            assert r["predictions"] < 0.1, r
            continue
        # Same global batch and seed: the same steps, to float rounding.
        assert r["loss"] < 1e-4 and r["weights"] < 1e-4, (case, r)
        assert r["predictions"] < 1e-4 and r["evaluate_loss"] < 1e-4, (case, r)
    # The uneven run trains `frozen` on cached features: computed once per text (61
    # training, 16 validation), not once per device.
    assert results["odd"]["cache_rows"] == [16, 61]
    if "lora" in results:
        assert results["reloaded"] < 1e-6
    # 61 texts: the last batch of 5 does not split in two, yet every text gets one
    # prediction, equal to the one-device prediction.
    assert results["odd"]["rows"] == 61 and results["odd"]["predictions"] < 1e-5


@pytest.mark.skipif(BACKEND == "torch", reason="Keras has no multi-device fit on torch")
def test_data_parallel_matches_one_device():
    cases = "lora"  # clipped AdamW, TensorBoard, save/reload; the rest is behind `large`
    check_equivalence(run_two_devices(cases), cases)


@pytest.mark.large
@pytest.mark.skipif(BACKEND == "torch", reason="Keras has no multi-device fit on torch")
def test_every_model_and_optimizer_matches_one_device():
    cases = "full,lora,layer_decay,gradual,embedding,multi_task"
    check_equivalence(run_two_devices(cases), cases)


@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's answer")
def test_torch_says_what_to_use_instead():
    with pytest.raises(ValueError, match="KERAS_BACKEND=jax.*KERAS_BACKEND='torch'"):
        kt.data_parallel()


@pytest.mark.skipif(BACKEND == "torch", reason="no distribution on torch")
@pytest.mark.parametrize(
    "devices, match",
    [("cpu:0", "devices='cpu:0'"), ([], "devices=\\[\\]"), (["tpu:9"], "Unknown device 'tpu:9'")],
)
def test_bad_devices(devices, match):
    with pytest.raises(ValueError, match=match):
        kt.data_parallel(devices)


def test_even_batches():
    np.testing.assert_array_equal(data.even_indices(5, 2), [0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(data.even_indices(4, 2), [0, 1, 2, 3])
    np.testing.assert_array_equal(data.even_indices(1, 4), [0, 0, 0, 0])
    with pytest.raises(ValueError, match="multiple of 2. Received: batch_size=7"):
        data.batched_dataset(["a", "b"], [0, 1], batch_size=7, multiple_of=2)
    batches = list(data.batched_dataset(["a", "b", "c"], [0, 1, 0], batch_size=2, multiple_of=2))
    assert [b[0].numpy().tolist() for b in batches] == [[b"a", b"b"], [b"c", b"a"]]


def test_no_distribution_means_one_replica():
    assert distribution.replicas() == 1


def test_only_the_first_process_writes_the_run_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(distribution, "process_index", lambda: 1)
    tensorboard = kt.training_callbacks("worker", root=str(tmp_path / "logs"))[0]
    assert not (tmp_path / "logs").exists() or not os.listdir(tmp_path / "logs")
    assert "worker_process1_" in tensorboard.log_dir
