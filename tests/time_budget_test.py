"""TimeBudget stops before an epoch that would end past the budget, keeping the best weights."""

import time

import keras
import numpy as np
import pytest

import keras_transfer as kt


class SlowEpochs(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.3)


def test_stops_before_the_epoch_that_would_overrun():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 2)), np.zeros((8, 1))
    budget = kt.TimeBudget(minutes=1.1 / 60)  # 1.1 s: room for about 3 epochs of 0.3 s
    history = model.fit(x, y, epochs=50, verbose=0, callbacks=[SlowEpochs(), budget])
    epochs = len(history.history["loss"])
    assert 1 <= epochs <= 4 and budget.stopped_epoch == epochs - 1
    unlimited = kt.TimeBudget(minutes=10)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[unlimited])
    assert len(history.history["loss"]) == 3 and unlimited.stopped_epoch is None


@pytest.mark.parametrize("minutes", [0, -1, float("nan"), "5", True])
def test_refuses_a_budget_that_is_not_a_positive_number(minutes):
    with pytest.raises(ValueError, match="`minutes` must be a number of minutes > 0"):
        kt.TimeBudget(minutes=minutes)
