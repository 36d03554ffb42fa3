import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.schedules import exponential_decay

STEPS = list(range(0, 1200, 7))


def values(schedule, steps=STEPS):
    return np.array([float(keras.ops.convert_to_numpy(schedule(s))) for s in steps])


def test_exponential_decay_matches_formula():
    schedule = exponential_decay()  # defaults: 2e-5, 100 steps, 0.96, staircase
    expected = 2e-5 * 0.96 ** np.floor(np.array(STEPS) / 100)
    np.testing.assert_allclose(values(schedule), expected, rtol=1e-6)


def test_exponential_decay_continuous():
    schedule = exponential_decay(1e-3, 50, 0.5, staircase=False)
    expected = 1e-3 * 0.5 ** (np.array(STEPS) / 50)
    np.testing.assert_allclose(values(schedule), expected, rtol=1e-5)


def test_warmup_linear_decay_matches_formula():
    peak, warmup, total, end = 3e-5, 100, 1000, 1e-6
    schedule = kt.WarmupLinearDecay(peak, warmup, total, end_learning_rate=end)
    k = np.array(STEPS, dtype="float64")
    expected = np.where(
        k < warmup,
        peak * k / warmup,
        peak + (end - peak) * np.clip((k - warmup) / (total - warmup), 0, 1),
    )
    np.testing.assert_allclose(values(schedule), expected, rtol=1e-5, atol=1e-12)


def test_warmup_zero_steps_starts_at_peak():
    schedule = kt.WarmupLinearDecay(1e-3, 0, 10)
    np.testing.assert_allclose(values(schedule, [0, 5, 10, 20]), [1e-3, 5e-4, 0, 0], atol=1e-9)


def test_plateau_schedule_reduce_and_floor():
    base = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    schedule = kt.PlateauSchedule(base)
    assert schedule.reduce(0.5, min_lr=0.02)
    k = np.arange(0, 60, 3)
    raw = 0.1 * 0.5 ** (k / 10)
    expected = np.maximum(0.5 * raw, np.minimum(0.02, raw))
    np.testing.assert_allclose(values(schedule, k), expected, rtol=1e-6)
    # Already at the floor: nothing changes.
    assert not schedule.reduce(0.5, min_lr=1.0)


def test_schedules_round_trip_through_config():
    schedule = kt.PlateauSchedule(kt.WarmupLinearDecay(1e-3, 10, 100), multiplier=0.25, floor=1e-5)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert isinstance(restored, kt.PlateauSchedule)
    np.testing.assert_array_equal(values(restored), values(schedule))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"initial_learning_rate": 0}, "initial_learning_rate=0"),
        ({"initial_learning_rate": -1e-3}, "initial_learning_rate=-0.001"),
        ({"decay_steps": 0}, "decay_steps=0"),
        ({"decay_rate": -0.5}, "decay_rate=-0.5"),
    ],
)
def test_exponential_decay_rejects_non_positive(kwargs, match):
    with pytest.raises(ValueError, match=match):
        exponential_decay(**kwargs)


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.0, 10, 100), "peak_learning_rate=0.0"),
        ((1e-3, 10, 0), "total_steps=0"),
        ((1e-3, -1, 100), "warmup_steps=-1"),
        ((1e-3, 100, 100), "warmup_steps=100, total_steps=100"),
        ((1e-3, 500, 100), "warmup_steps=500, total_steps=100"),
    ],
)
def test_warmup_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        kt.WarmupLinearDecay(*args)


def test_plateau_schedule_rejects_non_schedule():
    with pytest.raises(ValueError, match="schedule="):
        kt.PlateauSchedule(0.001)
