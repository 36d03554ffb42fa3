"""Load a saved model under this process's backend and print its prediction difference.

KERAS_BACKEND=jax python tests/cross_backend_load.py MODEL.keras EXPECTED.npz
"""

import json
import sys

import numpy as np

import keras_transfer as kt

if __name__ == "__main__":
    args = sys.argv[1:]
    for model_path, expected_path in zip(args[::2], args[1::2], strict=True):
        expected = np.load(expected_path, allow_pickle=False)
        predictor = kt.Predictor(model_path)
        texts = [str(t) for t in expected["texts"]]
        got = predictor.model.predict(np.array(texts, dtype=object), verbose=0)
        print(
            json.dumps(
                {
                    "max_abs_diff": float(np.max(np.abs(got - expected["probabilities"]))),
                    "labels": predictor.label_names,
                    "backend": predictor.info["backend"],
                }
            )
        )
