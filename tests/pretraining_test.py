"""continue_pretraining: masked-LM adaptation to a preset folder, and compare --adapt-on."""

import json
import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.pretraining import masked_lm_preprocessor
from tests.helpers import run_dirs, sentiment_texts

TEXTS, _ = sentiment_texts(160, seed=9)


@pytest.fixture(scope="module")
def adapted(tiny_preset, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapt")
    report = kt.continue_pretraining(
        TEXTS,
        preset=tiny_preset,
        out=str(root / "adapted"),
        epochs=3,
        max_length=16,
        batch_size=16,
        learning_rate=1e-3,
        log_root=str(root / "logs"),
        verbose=0,
    )
    return report, root


def test_masking_respects_the_rate_and_spares_special_tokens(tiny_preset):
    preprocessor = masked_lm_preprocessor(tiny_preset, max_length=16, mask_rate=0.3)
    keras.utils.set_random_seed(0)
    texts = ["good film really great excellent the food was very nice best"] * 300
    x, y, weights = _numpy(preprocessor(texts))
    ordinary = 11  # tokens per text besides [CLS] and [SEP]
    assert weights.sum() / (300 * ordinary) == pytest.approx(0.3, abs=0.03)
    tokenizer = preprocessor.tokenizer
    special = {tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")}
    assert not set(y[weights > 0].tolist()) & special  # only ordinary tokens are chosen
    positions = x["mask_positions"][weights > 0]
    assert positions.min() >= 1 and positions.max() <= ordinary  # never [CLS] (0) nor [SEP]


def _numpy(batch):
    x, y, weights = batch
    x = {k: keras.ops.convert_to_numpy(v) for k, v in x.items()}
    return x, keras.ops.convert_to_numpy(y), keras.ops.convert_to_numpy(weights)


def test_adaptation_lowers_the_heldout_loss_and_writes_a_preset(adapted, tiny_preset):
    report, root = adapted
    assert report["head"] == "initialised"  # the tiny preset has no masked-LM head
    assert report["mlm_loss_after"] < report["mlm_loss_before"]
    assert report["heldout_texts"] == 16 and report["train_texts"] == 144
    folder = root / "adapted"
    assert json.loads((folder / "adaptation.json").read_text())["epochs_run"] == 3
    assert len(run_dirs(str(root / "logs"))) == 1  # the mandatory callbacks wrote one run
    model = kt.TransformerClassifier.from_preset(str(folder), strategy="lora", max_length=16)
    source = kt.TransformerClassifier.from_preset(tiny_preset, strategy="lora", max_length=16)
    name = "transformer_layer_0/self_attention_layer/query/kernel"
    adapted_weight, source_weight = (
        keras.ops.convert_to_numpy(next(w for w in m.backbone.weights if w.path == name))
        for m in (model, source)
    )
    assert not np.array_equal(adapted_weight, source_weight)
    assert not [p for p in os.listdir(root) if p.startswith(".")]  # no temporaries left


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mask_rate": 0}, "mask_rate=0"),
        ({"mask_rate": 1.5}, "mask_rate=1.5"),
        ({"texts": []}, "empty"),
        ({"texts": ["only one"]}, "at least 2 texts"),
        ({"epochs": 0}, "epochs=0"),
    ],
)
def test_bad_arguments(tiny_preset, tmp_path, kwargs, match):
    args = {"texts": TEXTS, "preset": tiny_preset, "out": str(tmp_path / "a"), **kwargs}
    with pytest.raises(ValueError, match=match):
        kt.continue_pretraining(**args)
    assert not (tmp_path / "a").exists()


def test_existing_out_is_kept(adapted, tiny_preset):
    out = str(adapted[1] / "adapted")
    with pytest.raises(ValueError, match="overwrite=True"):
        kt.continue_pretraining(TEXTS, preset=tiny_preset, out=out)


@pytest.mark.large  # suite budget: continue_pretraining itself is tested above
def test_compare_adapts_first(tiny_preset, tmp_path):
    from tests.compare_test import small_en_vi

    table = kt.compare_strategies(
        small_en_vi(),
        strategies=["frozen"],
        adapt_on=TEXTS,
        epochs=1,
        max_length=16,
        batch_size=8,
        out=str(tmp_path / "out"),
        preset=tiny_preset,
        verbose=0,
    )
    adaptation = table.attrs["adaptation"]
    assert adaptation["out"] == str(tmp_path / "out" / "adapted_encoder")
    assert os.path.isfile(os.path.join(adaptation["out"], "config.json"))
    assert np.isfinite(adaptation["mlm_loss_after"])
