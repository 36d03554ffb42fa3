"""TimeBudget: stop training before an epoch that would end past a time budget."""

import time

import keras


@keras.saving.register_keras_serializable(package="keras_transfer")
class TimeBudget(keras.callbacks.Callback):
    """Stop training before an epoch that would end past `minutes` of training.

    After each epoch it predicts the next one's end from the mean epoch time
    so far and stops training when that end falls past the budget, so a run
    never overshoots by a whole epoch. With the mandatory EarlyStopping
    (`restore_best_weights=True`) the model keeps its best epoch's weights.
    A recipe's most epochs then acts as a safety ceiling, and the budget
    bounds the wall time: `stopped_epoch` (0-based, or None) says whether the
    budget ended the run.

    Args:
        minutes: the training time allowed, in minutes (> 0).

    Example:
    >>> import keras_transfer as kt
    >>> budget = kt.TimeBudget(minutes=10)
    >>> budget.get_config()
    {'minutes': 10}
    """

    def __init__(self, minutes):
        super().__init__()
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
            raise ValueError(
                f"`minutes` must be a number of minutes > 0. Received: minutes={minutes!r}"
            )
        self.minutes = minutes
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.stopped_epoch = None
        self._start = time.monotonic()
        self._epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self._epochs += 1
        elapsed = time.monotonic() - self._start
        if elapsed + elapsed / self._epochs > 60 * self.minutes:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def get_config(self):
        return {"minutes": self.minutes}
