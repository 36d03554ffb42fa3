"""The family matrix: every encoder family a user may bring, from a Hugging Face folder as
`transformers` writes it and from a keras-hub preset folder, through every strategy.

Tiny random models of each family are written by `transformers` in a subprocess
(`tests/families.py`), with Hugging Face's own token ids as the reference. The
docs' table of supported families is generated from `MATRIX` (see
`support_table`), and a test keeps the two in sync. Loading, token ids, word
alignment and save/reload run for every family in the default suite; the
training cells run in a rotation (`ROTATION`, `DEFAULT_EXTRAS`) and all of them
with `-m large`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.families import transformer_blocks
from keras_transfer.presets import load_backbone_and_preprocessor
from tests.families import AWKWARD, FAMILIES, WORDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# family -> (what a user calls it, Hugging Face model_type)
NAMES = {
    "bert_uncased": ("BERT uncased (and the bundled MiniLM)", "bert"),
    "bert_cased": ("BERT cased", "bert"),
    "distil_bert": ("DistilBERT", "distilbert"),
    "roberta": ("RoBERTa", "roberta"),
    "xlm_roberta": ("XLM-RoBERTa", "xlm-roberta"),
    "albert": ("ALBERT", "albert"),
    "deberta_v3": ("DeBERTa-v3", "deberta-v2"),
    "electra": ("ELECTRA", "electra"),
}
STRATEGIES = ("frozen", "last_n", "lora", "full", "scratch")
# What each family is tested for, on every backend; docs/guides/families.md's table comes from it.
MATRIX = {
    family: {
        "sources": ("Hugging Face folder", "keras-hub preset"),
        "strategies": STRATEGIES,
        "extras": (
            "layer_decay",
            "GradualUnfreezing",
            "save/reload",
            "TokenClassifier",
            "ZeroShotClassifier",
        ),
    }
    for family in FAMILIES
}
# The default suite trains each family once, with one strategy of a rotation, saves it and
# reloads it in a fresh process: `full`, `last_n` and `lora` each run on two families of
# different tokenizers (WordPiece and SentencePiece or byte-level BPE), `frozen` and
# `scratch` on one; `-m large` runs the whole matrix.
ROTATION = {
    "bert_uncased": "last_n",
    "bert_cased": "full",
    "distil_bert": "lora",
    "roberta": "lora",
    "xlm_roberta": "full",
    "albert": "last_n",
    "deberta_v3": "scratch",
    "electra": "frozen",
}
DEFAULT_EXTRAS = {
    "GradualUnfreezing": ("albert", "roberta"),
    "TokenClassifier": ("bert_cased", "roberta", "xlm_roberta"),
    "ZeroShotClassifier": ("distil_bert", "deberta_v3"),
}


def _cases(kind, families=FAMILIES):
    """`families` as parameters, those outside the default rotation marked `large`."""
    default = DEFAULT_EXTRAS[kind]
    return [pytest.param(f, marks=() if f in default else pytest.mark.large) for f in families]


def _strategy_cases():
    return [
        pytest.param(
            family,
            strategy,
            marks=() if strategy == ROTATION[family] else pytest.mark.large,
        )
        for family in FAMILIES
        for strategy in STRATEGIES
    ]


TEXTS = ["a wonderful moving film", "dull and far too long", "Tôi rất thích bộ phim này"] * 3
LABELS = np.array([1, 0, 1] * 3)


def support_table():
    """The table of docs/guides/families.md of supported families, from `MATRIX`."""
    columns = ["HF folder", "keras-hub preset", *STRATEGIES, "layer_decay", "gradual"]
    columns += ["save/reload", "TokenClassifier", "ZeroShotClassifier", "ids equal HF"]
    lines = [
        "| family | model_type | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for family, tested in MATRIX.items():
        name, model_type = NAMES[family]
        marks = [
            "Hugging Face folder" in tested["sources"],
            "keras-hub preset" in tested["sources"],
            *[s in tested["strategies"] for s in STRATEGIES],
            "layer_decay" in tested["extras"],
            "GradualUnfreezing" in tested["extras"],
            "save/reload" in tested["extras"],
            "TokenClassifier" in tested["extras"],
            "ZeroShotClassifier" in tested["extras"],
            True,
        ]
        cells = " | ".join("✓" if m else "–" for m in marks)
        lines.append(f"| {name} | `{model_type}` | {cells} |")
    return "\n".join(lines)


def _built_folders(scratch):
    """The folder `tests/families.py` wrote every family's Hugging Face model to.

    Building them takes transformers most of a minute. With
    `KERAS_TRANSFER_TEST_CACHE` set (`make test` sets it), the folders are
    built once for the three backends' runs, under a key of the builder's
    source and the library versions; otherwise in `scratch`."""
    import hashlib

    import tokenizers
    import transformers

    cache = os.environ.get("KERAS_TRANSFER_TEST_CACHE")
    if cache:
        with open(os.path.join(ROOT, "tests", "families.py"), "rb") as f:
            key = hashlib.sha256(f.read())
        key.update(f"{transformers.__version__} {tokenizers.__version__}".encode())
        root = os.path.join(cache, f"families-{key.hexdigest()[:16]}")
        if os.path.isfile(os.path.join(root, "reference.json")):
            return root
        os.makedirs(cache, exist_ok=True)
        scratch = tempfile.mkdtemp(dir=cache)
    else:
        root = scratch
    env = {**os.environ, "PYTHONPATH": ROOT, "KERAS_BACKEND": "torch"}
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "families.py"), scratch],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    if scratch != root:
        try:
            os.replace(scratch, root)  # whole, or not at all
        except OSError:  # another run got there first
            shutil.rmtree(scratch, ignore_errors=True)
    return root


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    """{family: {"hf": folder, "keras_hub": folder}} and Hugging Face's reference ids."""
    scratch = str(tmp_path_factory.mktemp("families"))
    root = _built_folders(scratch)
    with open(os.path.join(root, "reference.json"), encoding="utf-8") as f:
        reference = json.load(f)
    out = {}
    for family in FAMILIES:
        hf = os.path.join(root, f"hf_{family}")
        keras_hub_folder = os.path.join(scratch, f"kh_{family}")
        backbone, preprocessor = load_backbone_and_preprocessor(hf, sequence_length=64)
        backbone.save_to_preset(keras_hub_folder)
        preprocessor.save_to_preset(keras_hub_folder)
        out[family] = {"hf": hf, "keras_hub": keras_hub_folder}
    return out, reference


@pytest.mark.parametrize("source", ["hf", "keras_hub"])
@pytest.mark.parametrize("family", FAMILIES)
def test_token_ids_equal_hugging_face(folders, family, source):
    paths, reference = folders
    _, preprocessor = load_backbone_and_preprocessor(
        paths[family][source], sequence_length=64, load_weights=False
    )
    tokenizer = kt.FastTokenizer(preprocessor)
    assert tokenizer.is_fast
    tokens = tokenizer(AWKWARD)
    ours = [r[:n].tolist() for r, n in zip(tokens["token_ids"], tokens["lengths"], strict=True)]
    for text, mine, theirs in zip(AWKWARD, ours, reference[family]["ids"], strict=True):
        assert mine == theirs, f"{family} ({source}): {text!r}"
    unknown = preprocessor.tokenizer.token_to_id(
        next(t for t in ("[UNK]", "<unk>") if _in_vocabulary(preprocessor.tokenizer, t))
    )
    vietnamese = ours[AWKWARD.index("Tôi rất thích bộ phim này")]
    assert unknown not in vietnamese, f"{family}: Vietnamese read as unknown tokens"


def _in_vocabulary(tokenizer, token):
    try:
        return tokenizer.token_to_id(token) is not None
    except Exception:
        return False


@pytest.mark.parametrize("family", FAMILIES)
def test_words_are_aligned_as_hugging_face_aligns_them(folders, family):
    paths, reference = folders
    model = kt.TokenClassifier.from_preset(
        paths[family]["hf"], tag_names=["O", "B-X", "I-X"], strategy="frozen", max_length=64
    )
    aligned = model.preprocessor.align(WORDS, [[1] + [0] * (len(w) - 1) for w in WORDS])
    for i, words in enumerate(WORDS):
        expected = reference[family]["word_input_ids"][i]
        n = int(aligned["padding_mask"][i].sum())
        assert aligned["token_ids"][i, :n].tolist() == expected, family
        word_ids = reference[family]["word_ids"][i]
        first = [word_ids.index(w) for w in range(len(words))]
        assert aligned["starts"][i].tolist() == first, family
        assert aligned["labels"][i, first[0]] == 1


def _snapshot(model):
    return {w.path: keras.ops.convert_to_numpy(w).copy() for w in model.weights}


def _changed(before, after):
    return {path for path in before if not np.array_equal(before[path], after[path])}


def _backbone_paths(model, blocks=None):
    """Paths of the backbone's weights: all, or those of the given blocks."""
    if blocks is None:
        return {w.path for w in model.backbone.weights}
    return {w.path for block in blocks for w in block.weights}


def _check_what_trained(model, strategy, changed):
    backbone = _backbone_paths(model)
    blocks = transformer_blocks(model.backbone)
    head = {w.path for w in model.weights} - backbone
    pooler = {p for p in backbone if p.startswith("pooled_dense")}
    assert head & changed, f"{strategy}: the head did not train"
    assert not pooler & changed, f"{strategy}: the unused pooler trained"
    lora = {p for p in backbone if "lora" in p}
    if strategy == "frozen":
        assert not backbone & changed
    elif strategy == "last_n":
        top, rest = _backbone_paths(model, blocks[-1:]), _backbone_paths(model, blocks[:-1])
        assert top & changed and not (backbone - top) & changed
        assert not rest & changed
    elif strategy == "lora":
        # Keras' LoRA trains the adapters and leaves the adapted layers' biases trainable.
        adapted = {p.replace("lora_kernel_a", "bias") for p in lora if "lora_kernel_a" in p}
        assert lora and lora & changed
        assert not (backbone - lora - adapted) & changed
    else:  # full, scratch
        embeddings = backbone - _backbone_paths(model, blocks) - pooler
        assert embeddings & changed
        for block in blocks:
            assert _backbone_paths(model, [block]) & changed, f"{strategy}: {block.name}"


def _train(folders, family, strategy):
    """A model of `family` trained one epoch with `strategy`, and the weights that changed."""
    paths, _ = folders
    source = paths[family]["keras_hub" if strategy in ("lora", "scratch") else "hf"]
    model = kt.TransformerClassifier.from_preset(
        source, strategy=strategy, max_length=16, unfreeze_last=1
    )
    before = _snapshot(model)
    model.fit(TEXTS, LABELS, epochs=1, batch_size=9, verbose=0)
    return model, _changed(before, _snapshot(model))


@pytest.fixture(scope="module")
def trained(folders, tmp_path_factory):
    """Each family trained with its strategy of the rotation, saved, and its predictions."""
    out = tmp_path_factory.mktemp("saved")
    models = {}
    for family in FAMILIES:
        model, changed = _train(folders, family, ROTATION[family])
        path = str(out / f"{family}.keras")
        model.save(path)
        models[family] = (model, changed, path, model.predict(TEXTS, verbose=0))
    return models


@pytest.mark.parametrize("family,strategy", _strategy_cases())
def test_each_strategy_trains_what_it_says(folders, trained, family, strategy):
    if strategy == ROTATION[family]:
        model, changed, _, _ = trained[family]
    else:
        model, changed = _train(folders, family, strategy)
    _check_what_trained(model, strategy, changed)


@pytest.mark.parametrize("family", _cases("GradualUnfreezing"))
def test_layer_decay_gradual_unfreezing_and_summary(folders, family):
    paths, _ = folders
    model = kt.TransformerClassifier.from_preset(
        paths[family]["hf"], strategy="frozen", max_length=16
    )
    blocks = transformer_blocks(model.backbone)
    summary = kt.trainable_summary(model)
    assert [b.name for b in blocks] == [
        n for n in summary["block"] if n in {b.name for b in blocks}
    ]
    assert summary.iloc[-1]["total_params"] == model.count_params()
    multipliers = kt.layerwise_multipliers(model, 0.5)
    assert [multipliers[b.name] for b in blocks] == [
        0.5 ** (len(blocks) - i) for i in range(len(blocks))
    ]
    # Gradual unfreezing: one epoch of the head, then the top block too.
    model.compile(layer_decay=0.5)
    before = _snapshot(model)
    history = model.fit(
        TEXTS,
        LABELS,
        epochs=2,
        batch_size=9,
        verbose=0,
        cache_features=False,
        # The last epoch's weights, not the best epoch's: what the second epoch trained.
        callbacks=[kt.GradualUnfreezing(every=1), keras.callbacks.EarlyStopping("loss")],
    )
    changed = _changed(before, _snapshot(model))
    top = _backbone_paths(model, blocks[-1:])
    assert top & changed, (family, history.history)
    assert not (_backbone_paths(model) - top) & changed, family


def test_saved_models_reload_in_a_fresh_process(trained, tmp_path):
    paths = {family: trained[family][2] for family in FAMILIES}
    script = (
        "import json, sys\n"
        "import keras, numpy as np\n"
        "import keras_transfer  # registers the models\n"
        "paths, texts = json.loads(sys.argv[1]), json.loads(sys.argv[2])\n"
        "out = {f: keras.saving.load_model(p).predict(texts, verbose=0).tolist()"
        " for f, p in paths.items()}\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(paths), json.dumps(TEXTS)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reloaded = json.loads(result.stdout.strip().splitlines()[-1])
    for family in FAMILIES:
        np.testing.assert_allclose(reloaded[family], trained[family][3], atol=1e-5, err_msg=family)


@pytest.mark.parametrize("family", _cases("TokenClassifier"))
def test_token_classifier_trains_on_every_family(folders, family):
    paths, _ = folders
    model = kt.TokenClassifier.from_preset(
        paths[family]["hf"],
        tag_names=["O", "B-X", "I-X"],
        strategy="last_n",
        unfreeze_last=1,
        max_length=32,
    )
    tags = [[1] + [0] * (len(w) - 1) for w in WORDS]
    before = _snapshot(model)
    model.fit(WORDS, tags, epochs=1, batch_size=4, verbose=0)
    changed = _changed(before, _snapshot(model))
    blocks = transformer_blocks(model.backbone)
    assert _backbone_paths(model, blocks[-1:]) & changed
    assert not (_backbone_paths(model) - _backbone_paths(model, blocks[-1:])) & changed
    predicted = model.predict(WORDS, verbose=0)
    assert [len(p) for p in predicted] == [len(w) for w in WORDS]


@pytest.mark.parametrize("family", _cases("ZeroShotClassifier"))
def test_zero_shot_on_every_family(folders, family):
    paths, _ = folders
    model = kt.ZeroShotClassifier.from_preset(
        paths[family]["hf"], label_names=["negative", "positive"], max_length=16
    )
    probabilities = model.predict(TEXTS, verbose=0)
    assert probabilities.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_a_folder_that_cannot_load_says_what_is_missing_and_what_was_found(folders, tmp_path):
    import shutil

    paths, _ = folders
    broken = tmp_path / "no_tokenizer"
    broken.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(paths["bert_uncased"]["hf"], name), broken / name)
    with pytest.raises(ValueError, match="tokenizer") as error:
        kt.TransformerClassifier.from_preset(str(broken), max_length=16)
    assert "config.json" in str(error.value) and "model.safetensors" in str(error.value)
    unknown = tmp_path / "unknown_family"
    shutil.copytree(paths["bert_uncased"]["hf"], unknown)
    with open(unknown / "config.json", encoding="utf-8") as f:
        config = json.load(f)
    with open(unknown / "config.json", "w", encoding="utf-8") as f:
        json.dump({**config, "model_type": "funnel"}, f)
    with pytest.raises(ValueError, match="funnel.*Found: .*tokenizer.json"):
        kt.TransformerClassifier.from_preset(str(unknown), max_length=16)


def test_docs_table_is_generated_from_the_matrix():
    with open(os.path.join(ROOT, "docs", "guides", "families.md"), encoding="utf-8") as f:
        guide = f.read()
    assert support_table() in guide, "regenerate with: python -m tests.families_test"


def test_vietnamese_example_on_a_multilingual_model(folders, monkeypatch, capsys):
    """A tiny random XLM-R reads Vietnamese without unknown tokens, and trains."""
    import runpy

    paths, _ = folders
    script = os.path.join(ROOT, "examples", "vietnamese.py")
    argv = ["vietnamese.py", "--preset", paths["xlm_roberta"]["hf"], "--smoke"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(script, run_name="__main__")
    out = capsys.readouterr().out
    assert "Unknown tokens in the Vietnamese sentences: 0 of" in out
    assert "positive=" in out


if __name__ == "__main__":
    print(support_table())
