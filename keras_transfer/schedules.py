"""Learning-rate schedules that compose with plateau reduction.

Keras' `ReduceLROnPlateau` sets `optimizer.learning_rate`, which is impossible
when that learning rate is a `LearningRateSchedule`. `PlateauSchedule` wraps any
schedule with a multiplier (and a floor) held in variables that the optimizer
tracks, so `keras_transfer.callbacks.ReduceLROnPlateau` can halve the schedule
on every backend, inside compiled train steps included.
"""

import keras
from keras import ops

from keras_transfer.checks import check_int

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="keras_transfer")
class PlateauSchedule(LearningRateSchedule):
    """A schedule that a plateau callback can scale: `lr(step) = m * schedule(step)`.

    The multiplier `m` starts at 1. Each reduction multiplies it by `factor` and
    sets a floor: the result never drops below `min_lr`, and never rises above
    the wrapped schedule's own value. `TransferModel.compile` wraps any schedule
    it is given, so users rarely build this directly.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`.
        multiplier: float, the starting multiplier (1.0 for a fresh run).
        floor: float, the starting floor (0.0 for a fresh run).

    Example:
    >>> import keras, keras_transfer as kt
    >>> s = kt.PlateauSchedule(keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9))
    >>> s.reduce(0.5, min_lr=1e-6)
    True
    >>> round(float(s(0)), 8)
    0.0005
    """

    def __init__(self, schedule, multiplier=1.0, floor=0.0):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(schedule, LearningRateSchedule) or isinstance(schedule, PlateauSchedule):
            raise ValueError(
                "`schedule` must be a keras LearningRateSchedule that is not "
                f"already a PlateauSchedule. Received: schedule={schedule!r}"
            )
        _check_positive("multiplier", multiplier)
        if not isinstance(floor, (int, float)) or floor < 0:
            raise ValueError(f"`floor` must be a number >= 0. Received: floor={floor!r}")
        self.schedule = schedule
        self.multiplier = keras.Variable(
            float(multiplier), dtype="float32", trainable=False, name="plateau_multiplier"
        )
        self.floor = keras.Variable(
            float(floor), dtype="float32", trainable=False, name="plateau_floor"
        )

    @property
    def variables(self):
        return [self.multiplier, self.floor]

    def __call__(self, step):
        base = ops.cast(self.schedule(step), "float32")
        scaled = base * ops.convert_to_tensor(self.multiplier)
        floor = ops.minimum(ops.convert_to_tensor(self.floor), base)
        return ops.maximum(scaled, floor)

    def reduce(self, factor, min_lr=0.0, step=None):
        """Multiply the schedule by `factor`, floored at `min_lr`.

        Returns False (and changes nothing) when the current learning rate is
        already at or below `min_lr`.
        """
        if not 0 < factor < 1:
            raise ValueError(f"`factor` must be in (0, 1). Received: factor={factor!r}")
        step = 0 if step is None else step
        current = float(ops.convert_to_numpy(self(step)))
        if current <= float(ops.convert_to_numpy(ops.cast(min_lr, "float32"))):
            return False
        self.multiplier.assign(float(ops.convert_to_numpy(self.multiplier)) * factor)
        self.floor.assign(float(min_lr))
        return True

    def get_config(self):
        return {
            "schedule": keras.optimizers.schedules.serialize(self.schedule),
            "multiplier": float(ops.convert_to_numpy(self.multiplier)),
            "floor": float(ops.convert_to_numpy(self.floor)),
        }


def attach_plateau_schedule(optimizer):
    """Make `optimizer`'s schedule (if any) scalable by plateau reduction.

    Wraps a plain `LearningRateSchedule` in `PlateauSchedule` and makes the
    optimizer track its variables, so that compiled train steps (JAX's included)
    read their current values. Returns the `PlateauSchedule`, or None when the
    optimizer has a plain float learning rate.
    """
    from keras_transfer import _keras_compat as compat

    schedule = compat.learning_rate(optimizer)
    if not isinstance(schedule, LearningRateSchedule):
        return None
    if not isinstance(schedule, PlateauSchedule):
        schedule = PlateauSchedule(schedule)
        compat.set_learning_rate_schedule(optimizer, schedule)
    tracked = {id(v) for v in optimizer.variables}
    for variable in schedule.variables:
        if id(variable) not in tracked:
            compat.track_variable(optimizer, variable)
    return schedule


def exponential_decay(initial_learning_rate=2e-5, decay_steps=100, decay_rate=0.96, staircase=True):
    """The default fine-tuning schedule: Keras' `ExponentialDecay`, checked and plateau-scalable.

    `lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)`,
    with the exponent floored when `staircase=True`.

    Example:
    >>> import keras_transfer as kt
    >>> s = kt.schedules.exponential_decay()
    >>> float(s(0)) == float(keras.ops.cast(2e-5, "float32"))
    True
    """
    _check_positive("initial_learning_rate", initial_learning_rate)
    _check_positive("decay_steps", decay_steps)
    _check_positive("decay_rate", decay_rate)
    return PlateauSchedule(
        keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate, decay_steps, decay_rate, staircase=staircase
        )
    )


@keras.saving.register_keras_serializable(package="keras_transfer")
class WarmupLinearDecay(LearningRateSchedule):
    """Linear warmup to `peak_learning_rate`, then linear decay (BERT's fine-tuning schedule).

    The schedule of Hugging Face's `get_linear_schedule_with_warmup`:
    `lr(step) = peak * step / warmup_steps` while `step < warmup_steps`, then
    `peak + (end - peak) * (step - warmup_steps) / (total_steps - warmup_steps)`,
    held at `end_learning_rate` after `total_steps`.

    Args:
        peak_learning_rate: float > 0, the rate reached at the end of warmup.
        warmup_steps: int >= 0, optimizer steps of warmup (often 10 % of training).
        total_steps: int > 0, optimizer steps of the whole run.
        end_learning_rate: float >= 0, the final rate (default 0).

    Example:
    >>> import keras_transfer as kt
    >>> s = kt.WarmupLinearDecay(2e-5, warmup_steps=10, total_steps=100)
    >>> [round(float(s(k)), 9) for k in (0, 5, 10, 55, 100)]
    [0.0, 1e-05, 2e-05, 1e-05, 0.0]
    """

    def __init__(self, peak_learning_rate, warmup_steps, total_steps, end_learning_rate=0.0):
        _check_positive("peak_learning_rate", peak_learning_rate)
        check_int("total_steps", total_steps)
        check_int("warmup_steps", warmup_steps, minimum=0)
        if warmup_steps >= total_steps:
            raise ValueError(
                "`warmup_steps` must be smaller than `total_steps`. "
                f"Received: warmup_steps={warmup_steps}, total_steps={total_steps}"
            )
        if not isinstance(end_learning_rate, (int, float)) or not (
            0 <= end_learning_rate <= peak_learning_rate
        ):
            raise ValueError(
                "`end_learning_rate` must be between 0 and `peak_learning_rate`. "
                f"Received: end_learning_rate={end_learning_rate!r}"
            )
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.end_learning_rate = end_learning_rate

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        end = ops.cast(self.end_learning_rate, "float32")
        warmup = float(self.warmup_steps)
        decay_span = float(self.total_steps - self.warmup_steps)
        warm = peak * step / max(warmup, 1.0)
        progress = ops.clip((step - warmup) / decay_span, 0.0, 1.0)
        decayed = peak + (end - peak) * progress
        return ops.where(step < warmup, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "end_learning_rate": self.end_learning_rate,
        }
