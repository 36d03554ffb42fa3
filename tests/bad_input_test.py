"""The bad-input matrix: each bad input gets one clear error that names the
argument and what was received, and leaves nothing half-written on disk.

One table, one row per bad input: (id, call, expected exception, message
pattern). Python API and model loading: a `ValueError`. CLI (`main(argv)` in
process): `SystemExit` with code 2 and a one-line message on stderr, never a
traceback. HTTP: a 4xx answer that says why (`Rejected`, carrying the status).
"""

import os
import re
import types

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import data
from keras_transfer.backup import TrainingBackup
from tests.helpers import tiny_vectors

TEXTS = ["a good film", "a bad film", "great", "awful"]
LABELS = [1, 0, 1, 0]
# Files each case finds in its folder, and the only ones it may leave there.
FIXTURE_FILES = {"blocker", "notes.txt", "preset", "model.keras", "m.keras", "data.csv"}


class Rejected(Exception):
    """An HTTP answer of 400 or more: `str()` is `"<status> <body>"`."""


def embedding_model(**kwargs):
    return kt.EmbeddingClassifier.from_word_vectors(
        tiny_vectors(), max_length=8, label_names=["negative", "positive"], **kwargs
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory, tiny_preset):
    """Models built once for the whole table: a fitted embedding classifier
    (saved), a SetFit model, a zero-shot model saved with an overflowing
    scale, and an HTTP client."""
    from fastapi.testclient import TestClient

    from keras_transfer.serving import create_app

    folder = tmp_path_factory.mktemp("shared")
    model = embedding_model()
    model.fit(TEXTS, LABELS, epochs=1, verbose=0, log_root=str(folder / "logs"))
    saved = str(folder / "served.keras")
    model.save(saved)
    zero_shot = kt.ZeroShotClassifier.from_preset(
        tiny_preset, label_names=["great", "awful"], max_length=8
    )
    zero_shot.scale = float("inf")  # as a model saved before `scale` was checked
    zero_shot_path = str(folder / "zero_shot_inf.keras")
    zero_shot.save(zero_shot_path)
    client = TestClient(
        create_app(saved, max_batch_size=4, max_text_chars=50), raise_server_exceptions=False
    )
    return types.SimpleNamespace(
        model=model,
        saved=saved,
        zero_shot_path=zero_shot_path,
        setfit=kt.SetFitClassifier.from_preset(tiny_preset, max_length=8),
        client=client,
    )


@pytest.fixture
def t(tmp_path, tiny_preset, shared, capsys):
    """What a row's call gets: its own folder (the working directory), the
    tiny preset, the shared models, and stderr."""
    (tmp_path / "blocker").write_text("a file where a folder should be")
    (tmp_path / "notes.txt").write_text("not a model")
    return types.SimpleNamespace(tmp=tmp_path, preset=tiny_preset, capsys=capsys, **vars(shared))


def write(path, content, mode="w"):
    with open(path, mode) as f:
        f.write(content)
    return str(path)


# === Builders of failing calls ===


def fit(x=TEXTS, y=LABELS, **kwargs):
    return lambda t: t.model.fit(x, y, epochs=kwargs.pop("epochs", 1), verbose=0, **kwargs)


def evaluate(x=TEXTS, y=LABELS, **kwargs):
    return lambda t: t.model.evaluate(x, y, verbose=0, **kwargs)


def predict(x, **kwargs):
    return lambda t: t.model.predict(x, verbose=0, **kwargs)


def embedding(**kwargs):
    return lambda t: embedding_model(**kwargs)


def word_vectors(**kwargs):
    return lambda t: kt.EmbeddingClassifier.from_word_vectors(**kwargs)


def from_preset(cls, **kwargs):
    return lambda t: getattr(kt, cls).from_preset(t.preset, **{"max_length": 8, **kwargs})


def transformer(**kwargs):
    return from_preset("TransformerClassifier", **kwargs)


def load(content, name="data.csv", mode="w", **kwargs):
    return lambda t: kt.load_texts(write(t.tmp / name, content, mode), **kwargs)


def conll(content, name="data.conll", mode="w", **kwargs):
    return lambda t: kt.load_conll(write(t.tmp / name, content, mode), **kwargs)


def folder(*files):
    def build(t):
        for name in files:
            os.makedirs(os.path.dirname(t.tmp / name), exist_ok=True)
            write(t.tmp / name, "a text")
        return kt.load_texts(str(t.tmp / os.path.dirname(files[0]).split("/")[0]))

    return build


def preset_folder(files):
    def build(t):
        path = t.tmp / "preset"
        path.mkdir()
        for name in files:
            write(path / name, "{}")
        return kt.TransformerClassifier.from_preset(str(path))

    return build


def saved_file(kind):
    def build(t):
        path = t.tmp / "model.keras"
        if kind == "not an archive":
            write(path, "hello")
        elif kind == "missing":
            path = t.tmp / "nope.keras"
        elif kind == "overflowing scale":
            path = t.zero_shot_path
        else:
            model = (
                embedding_model()
                if kind == "truncated"
                else keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            )
            model.save(path)
            if kind == "truncated":
                content = path.read_bytes()
                path.write_bytes(content[: len(content) // 2])
        return kt.Predictor(str(path))

    return build


def predictor(method, value):
    return lambda t: getattr(kt.Predictor(t.saved), method)(value)


def compare(**kwargs):
    def build(t):
        frame = kt.load_bundled("sentiment_en_vi")[0].groupby("label").head(20)
        args = {"strategies": ["embedding"], "out": str(t.tmp / "out"), "preset": t.preset}
        return kt.compare_strategies(frame, **{**args, **kwargs})

    return build


NER_PAIR = ([["Ada", "wrote"], ["Paris", "is"]] * 4, [["B-PER", "O"], ["B-LOC", "O"]] * 4)


def compare_ner(train=NER_PAIR, test=None, **kwargs):
    return lambda t: kt.compare_ner(train, test, **{"strategies": [], "out": None, **kwargs})


def cli(*args):
    """`main(args)` in process ("{model}" is the shared saved model): raises
    SystemExit with its code and the one error line as `.message`."""

    def build(t):
        from keras_transfer.__main__ import main

        argv = [a.format(model=t.saved) for a in args]
        t.capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: usage lines, then the error line
            code = e.code
        err = t.capsys.readouterr().err.strip()
        assert "Traceback" not in err, err
        lines = err.splitlines()
        if not err.startswith("usage:"):
            assert len(lines) == 1 and lines[0].startswith("error: "), err
        if code:
            exit_ = SystemExit(code)
            exit_.message = lines[-1]
            raise exit_

    return build


def http(method, path, **kwargs):
    def build(t):
        response = getattr(t.client, method)(path, **kwargs)
        if response.status_code >= 400:
            assert len(response.content) < 2000  # says why, never echoes the input
            assert "detail" in response.json()
            raise Rejected(f"{response.status_code} {response.text}")
        return response

    return build


def post(path, body=None, **kwargs):
    return http("post", path, **({"json": body} if body is not None else {}), **kwargs)


def raw(path, content, content_type="application/json"):
    return http("post", path, content=content, headers={"content-type": content_type})


V = ValueError
X = SystemExit
R = Rejected

CASES = [
    # === fit: texts ===
    ("fit texts empty", fit(x=[], y=[]), V, "is empty: there is nothing to train on"),
    ("fit texts None inside", fit(x=[None, "a", "b", "c"]), V, r"x\[0\]=None"),
    ("fit texts NaN", fit(x=[float("nan"), "a", "b", "c"]), V, r"x\[0\]=nan"),
    ("fit texts bytes", fit(x=[b"abc", "a", "b", "c"]), V, r"x\[0\]=b'abc'"),
    ("fit texts numbers", fit(x=[1, 2, 3, 4]), V, r"x\[0\]=1 of type int"),
    ("fit texts numpy numbers", fit(x=np.arange(4)), V, r"x\[0\]=.*0.* of type int"),
    ("fit texts single string", fit(x="a good film", y=[1]), V, "not a single string"),
    ("fit texts and labels lengths", fit(y=[1, 0, 1]), V, "4 texts and 3 labels"),
    # === fit: labels ===
    ("fit labels missing", fit(y=None), V, "`y` is required.*y=None"),
    ("fit label out of range", fit(y=[1, 0, 5, 0]), V, r"y\[2\]=.*5"),
    ("fit label negative", fit(y=[1, 0, -1, 0]), V, r"y\[2\]=.*-1"),
    ("fit label float", fit(y=[1, 0, 0.5, 0]), V, r"y\[2\]=.*0.5"),
    ("fit label NaN", fit(y=np.array([1, 0, np.nan, 0])), V, r"y\[2\]=nan"),
    ("fit label strings", fit(y=["pos", "neg", "pos", "neg"]), V, "containing 'pos'"),
    ("fit label booleans", fit(y=[True, False, True, False]), V, "containing True"),
    ("fit labels 2-D", fit(y=[[1], [0], [1], [0]]), V, r"y with shape \(4, 1\)"),
    # === fit: other arguments ===
    ("fit epochs zero", fit(epochs=0), V, "epochs=0"),
    ("fit epochs string", fit(epochs="2"), V, "epochs='2'"),
    ("fit batch_size zero", fit(batch_size=0), V, "batch_size=0"),
    (
        "fit sample_weight length",
        fit(sample_weight=[1.0, 1.0]),
        V,
        r"sample_weight with shape \(2,\)",
    ),
    ("fit sample_weight negative", fit(sample_weight=[1, -1, 1, 1]), V, r"sample_weight\[1\]=-1"),
    ("fit sample_weight NaN", fit(sample_weight=[np.nan, 1, 1, 1]), V, r"sample_weight\[0\]=nan"),
    ("fit validation_split", fit(validation_split=1.5), V, "validation_split=1.5"),
    (
        "fit validation_data one item",
        fit(validation_data=(TEXTS,)),
        V,
        "validation_data with 1 item",
    ),
    (
        "fit validation texts",
        fit(validation_data=([1, 2], [0, 1])),
        V,
        r"validation_data\[0\]\[0\]=1",
    ),
    (
        "fit validation label",
        fit(validation_data=(TEXTS, [0, 9, 1, 0])),
        V,
        r"validation_data\[1\]\[1\]=9",
    ),
    ("fit class_weight name", fit(class_weight="equal"), V, "class_weight='equal'"),
    (
        "fit class_weight key",
        fit(class_weight={0: 1.0, 5: 2.0}),
        V,
        r"class_weight=\{0: 1.0, 5: 2.0\}",
    ),
    (
        "fit class_weight negative",
        fit(class_weight={0: -1.0, 1: 1.0}),
        V,
        r"class_weight=\{0: -1.0",
    ),
    ("fit cache mode", fit(cache_features="disk"), V, "cache_features='disk'"),
    ("fit callbacks", fit(callbacks=["stop"]), V, r"callbacks\[0\]='stop'"),
    ("fit log_root a file", fit(log_root="blocker/logs"), V, "root='blocker/logs'"),
    # === evaluate ===
    ("evaluate texts None inside", evaluate(x=[None, "a", "b", "c"]), V, r"x\[0\]=None"),
    ("evaluate texts empty", evaluate(x=[], y=[]), V, "nothing to evaluate"),
    ("evaluate single string", evaluate(x="great", y=[1]), V, "not a single string"),
    ("evaluate lengths", evaluate(y=[0, 1]), V, "4 texts and 2 labels"),
    ("evaluate labels missing", evaluate(y=None), V, "y=None"),
    ("evaluate label out of range", evaluate(y=[0, 1, 2, 0]), V, r"y\[2\]=2"),
    ("evaluate label names", evaluate(y=["a", "b", "a", "b"]), V, "containing 'a'"),
    ("evaluate batch_size zero", evaluate(batch_size=0), V, "batch_size=0"),
    # === predict ===
    ("predict single string", predict("great"), V, "not a single string"),
    ("predict texts empty", predict([]), V, "nothing to predict"),
    ("predict None inside", predict(["ok", None]), V, r"x\[1\]=None"),
    ("predict numbers", predict([1, 2]), V, r"x\[0\]=1 of type int"),
    ("predict bytes", predict([b"x"]), V, r"x\[0\]=b'x'"),
    ("predict batch_size zero", predict(TEXTS, batch_size=0), V, "batch_size=0"),
    ("predict_on_batch numbers", lambda t: t.model.predict_on_batch([1, 2]), V, r"x\[0\]=1"),
    # === EmbeddingClassifier ===
    ("embedding num_classes zero", embedding(num_classes=0), V, "num_classes=0"),
    ("embedding num_classes string", embedding(num_classes="2"), V, "num_classes='2'"),
    ("embedding pooling", embedding(pooling="sum"), V, "pooling='sum'"),
    (
        "embedding hidden and dropout",
        embedding(hidden_units=(4,), dropout=(0.1, 0.2)),
        V,
        r"hidden_units=\(4,\)",
    ),
    ("embedding dropout rate", embedding(dropout=(1.5, 0.1)), V, r"dropout\[0\]=1.5"),
    ("embedding label_names count", embedding(num_classes=3), V, r"label_names=\['negative'"),
    (
        "embedding label_names blank",
        lambda t: kt.EmbeddingClassifier.from_word_vectors(
            tiny_vectors(), label_names=["good", " "]
        ),
        V,
        "non-blank.*label_names=\\['good', ' '\\]",
    ),
    (
        "embedding max_length zero",
        word_vectors(vectors=tiny_vectors(), max_length=0),
        V,
        "max_length=0",
    ),
    (
        "embedding max_words zero",
        word_vectors(vectors=tiny_vectors(), max_words=0),
        V,
        "max_words=0",
    ),
    ("embedding vectors type", word_vectors(vectors=42), V, "vectors=int"),
    ("embedding vectors file missing", word_vectors(vectors="nope.txt"), V, "vectors='nope.txt'"),
    ("embedding vectors empty", word_vectors(vectors={}), V, r"vectors=\{\}"),
    (
        "embedding vectors ragged",
        word_vectors(vectors={"good": [1, 2], "bad": [1]}),
        V,
        r"widths: \[1, 2\]",
    ),
    ("embedding preprocessor", lambda t: kt.EmbeddingClassifier("x", None), V, "preprocessor='x'"),
    # === TransformerClassifier and presets ===
    ("transformer strategy", transformer(strategy="bogus"), V, "strategy='bogus'"),
    (
        "transformer unfreeze_last too big",
        transformer(strategy="last_n", unfreeze_last=9),
        V,
        "unfreeze_last=9",
    ),
    (
        "transformer unfreeze_last negative",
        transformer(strategy="last_n", unfreeze_last=-1),
        V,
        "unfreeze_last=-1",
    ),
    ("transformer lora_rank zero", transformer(strategy="lora", lora_rank=0), V, "lora_rank=0"),
    ("transformer max_length too big", transformer(max_length=512), V, "max_length=512"),
    ("transformer max_length zero", transformer(max_length=0), V, "max_length=0"),
    ("transformer num_classes one", transformer(num_classes=1), V, "num_classes=1"),
    (
        "transformer label_names count",
        transformer(label_names=["only"]),
        V,
        r"label_names=\['only'\]",
    ),
    ("transformer pooling", transformer(pooling="max"), V, "pooling='max'"),
    ("transformer dropout", transformer(dropout=2.0), V, "dropout=2.0"),
    (
        "transformer layer_decay",
        lambda t: transformer()(t).compile(layer_decay=2.0),
        V,
        "layer_decay=2.0",
    ),
    ("preset type", lambda t: kt.TransformerClassifier.from_preset(42), V, "preset=42"),
    (
        "preset missing",
        lambda t: kt.TransformerClassifier.from_preset("nope/x"),
        V,
        "preset='nope/x'",
    ),
    ("preset without config", preset_folder(["vocab.txt"]), V, "no config.json"),
    ("preset without weights", preset_folder(["config.json", "vocab.txt"]), V, "missing"),
    # === SetFit, zero-shot, token and multi-task classifiers ===
    ("setfit num_classes one", from_preset("SetFitClassifier", num_classes=1), V, "num_classes=1"),
    (
        "setfit label_names",
        from_preset("SetFitClassifier", label_names=["a"]),
        V,
        r"label_names=\['a'\]",
    ),
    ("setfit max_length", from_preset("SetFitClassifier", max_length=999), V, "max_length=999"),
    ("setfit labels missing", lambda t: t.setfit.fit(TEXTS, None), V, "y=None"),
    (
        "setfit num_iterations",
        lambda t: t.setfit.fit(TEXTS, LABELS, num_iterations=0),
        V,
        "num_iterations=0",
    ),
    ("zero-shot no label_names", from_preset("ZeroShotClassifier"), V, "label_names=None"),
    (
        "zero-shot one label",
        from_preset("ZeroShotClassifier", label_names=["a"]),
        V,
        r"label_names=\['a'\]",
    ),
    (
        "zero-shot same labels",
        from_preset("ZeroShotClassifier", label_names=["a", "a"]),
        V,
        r"label_names=\['a', 'a'\]",
    ),
    (
        "zero-shot blank label",
        from_preset("ZeroShotClassifier", label_names=["a", ""]),
        V,
        r"label_names=\['a', ''\]",
    ),
    (
        "zero-shot template",
        from_preset("ZeroShotClassifier", label_names=["a", "b"], template="x"),
        V,
        "template='x'",
    ),
    (
        "zero-shot scale",
        from_preset("ZeroShotClassifier", label_names=["a", "b"], scale=float("inf")),
        V,
        "scale=inf",
    ),
    (
        "zero-shot fit",
        lambda t: from_preset("ZeroShotClassifier", label_names=["a", "b"])(t).fit(TEXTS, LABELS),
        V,
        "does not train",
    ),
    ("token tag_names missing", from_preset("TokenClassifier"), V, "tag_names=None"),
    (
        "token tag_names repeated",
        from_preset("TokenClassifier", tag_names=["O", "O"]),
        V,
        r"tag_names=\['O', 'O'\]",
    ),
    (
        "token strategy",
        from_preset("TokenClassifier", tag_names=["O", "B-PER"], strategy="x"),
        V,
        "strategy='x'",
    ),
    (
        "token preprocessor length",
        lambda t: kt.TokenClassifierPreprocessor(None, sequence_length=0),
        V,
        "sequence_length=0",
    ),
    ("multi-task tasks missing", from_preset("MultiTaskClassifier"), V, "tasks=None"),
    ("multi-task tasks list", from_preset("MultiTaskClassifier", tasks=["a"]), V, r"tasks=\['a'\]"),
    (
        "multi-task one class",
        from_preset("MultiTaskClassifier", tasks={"a": 1}),
        V,
        r"tasks=\{'a': 1\}",
    ),
    (
        "multi-task pooling",
        from_preset("MultiTaskClassifier", tasks={"a": 2}, pooling="max"),
        V,
        "pooling='max'",
    ),
    # === Tokenizer, cache, schedules, callbacks, optimizers ===
    ("fast tokenizer", lambda t: kt.FastTokenizer("x"), V, "preprocessor of type str"),
    ("feature cache model", lambda t: kt.FeatureCache("x"), V, "model of type str"),
    (
        "feature cache batch_size",
        lambda t: kt.FeatureCache(t.model, batch_size=0),
        V,
        "batch_size=0",
    ),
    ("warmup peak", lambda t: kt.WarmupLinearDecay(-1.0, 10, 100), V, "peak_learning_rate=-1.0"),
    (
        "warmup longer than run",
        lambda t: kt.WarmupLinearDecay(1e-3, 100, 10),
        V,
        "warmup_steps=100, total_steps=10",
    ),
    ("warmup total_steps", lambda t: kt.WarmupLinearDecay(1e-3, 0, 0), V, "total_steps=0"),
    ("plateau schedule", lambda t: kt.PlateauSchedule(1e-3), V, "schedule=0.001"),
    (
        "plateau floor",
        lambda t: kt.PlateauSchedule(
            keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9), floor=-1
        ),
        V,
        "floor=-1",
    ),
    (
        "plateau multiplier",
        lambda t: kt.PlateauSchedule(
            keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9), multiplier=0
        ),
        V,
        "multiplier=0",
    ),
    ("reduce on plateau factor", lambda t: kt.ReduceLROnPlateau(factor=2.0), V, "factor=2.0"),
    ("gradual unfreezing every", lambda t: kt.GradualUnfreezing(every=0), V, "every=0"),
    (
        "gradual unfreezing max_blocks",
        lambda t: kt.GradualUnfreezing(max_blocks=-1),
        V,
        "max_blocks=-1",
    ),
    (
        "training_callbacks monitor",
        lambda t: kt.training_callbacks("run", monitor="acc"),
        V,
        "monitor='acc'",
    ),
    ("training_callbacks experiment", lambda t: kt.training_callbacks(""), V, "experiment=''"),
    ("training backup folder", lambda t: TrainingBackup(None), V, "backup_dir=None"),
    ("adamw total_steps", lambda t: kt.adamw_with_warmup(total_steps=0), V, "total_steps=0"),
    (
        "adamw learning_rate",
        lambda t: kt.adamw_with_warmup(10, learning_rate=-1),
        V,
        "learning_rate=-1",
    ),
    (
        "adamw warmup_ratio",
        lambda t: kt.adamw_with_warmup(10, warmup_ratio=1.0),
        V,
        "warmup_ratio=1.0",
    ),
    ("layerwise decay", lambda t: kt.layerwise_multipliers(t.model, decay=2.0), V, "decay=2.0"),
    ("layerwise multipliers type", lambda t: kt.LayerwiseAdam(multipliers=3), V, "multipliers=3"),
    (
        "layerwise multiplier negative",
        lambda t: kt.LayerwiseAdam(multipliers={"x": -1.0}),
        V,
        r"multipliers\['x'\]=-1.0",
    ),
    (
        "layerwise adamw multipliers",
        lambda t: kt.LayerwiseAdamW(multipliers=[0.5]),
        V,
        "multipliers=\\[0.5\\]",
    ),
    ("data_parallel devices", lambda t: kt.data_parallel(devices=3), V, "devices=3"),
    ("trainable_summary", lambda t: kt.trainable_summary("x"), V, "model of type str"),
    # === data helpers ===
    (
        "unknown label name",
        lambda t: data.LabelMap(["a", "b"]).encode(["c"]),
        V,
        "Unknown label 'c'",
    ),
    ("label map empty", lambda t: kt.LabelMap([]), V, r"labels=\[\]"),
    ("label map mixed", lambda t: kt.LabelMap(["a", 1]), V, "mixing"),
    (
        "stratified test_size",
        lambda t: kt.stratified_split(kt.load_bundled("sentiment_en_vi")[0], test_size=1.5),
        V,
        "test_size=1.5",
    ),
    (
        "augment copies",
        lambda t: kt.augment_punctuation(kt.load_bundled("sentiment_en_vi")[0], copies=-1),
        V,
        "copies=-1",
    ),
    ("class_balance", lambda t: kt.class_balance(42), V, "frame of type int"),
    ("bundled name", lambda t: kt.load_bundled("imdb2"), V, "name='imdb2'"),
    ("unlabelled type", lambda t: kt.load_unlabelled(42), V, "data=42"),
    ("unlabelled empty", lambda t: kt.load_unlabelled([]), V, r"texts=\[\]"),
    (
        "entity_scores lengths",
        lambda t: kt.entity_scores([["O"]], [["O"], ["O"]]),
        V,
        "1 and 2 sentences",
    ),
    # === load_texts ===
    ("missing file", lambda t: kt.load_texts(str(t.tmp / "no.csv")), V, "does not exist"),
    ("empty file", load(""), V, "Could not parse"),
    ("non-UTF-8 file", load(b"text,label\n\xff\xfe,1\n", mode="wb"), V, "not valid UTF-8"),
    ("wrong delimiter", load("text;label\nok;1\nbad;0\n"), V, "text_column='text'"),
    ("missing column", load("body,label\nok,1\nbad,0\n"), V, "text_column='text'"),
    ("missing text", load("text,label\nok,1\n,0\n"), V, "row 1"),
    ("blank text", load('text,label\nok,1\n" ",0\n'), V, "are empty"),
    ("missing label", load("text,label\nok,1\nbad,\n"), V, "labels .* are missing"),
    ("one class", load("text,label\nok,1\nfine,1\n"), V, "at least two classes"),
    ("unknown format", load("x", name="data.xml"), V, "must be .csv"),
    ("broken JSON", load("{bad", name="data.json"), V, "data='.*data.json'"),
    (
        "broken JSON line",
        load('{"text": "a", "label": 1}\nnot json\n', name="data.jsonl"),
        V,
        "data='.*data.jsonl'",
    ),
    (
        "TSV without label",
        load("text\tlabel\nok\n", name="data.tsv"),
        V,
        "missing .*label_column='label'",
    ),
    (
        "empty folder",
        lambda t: (os.mkdir(t.tmp / "classes"), kt.load_texts(str(t.tmp / "classes"))),
        V,
        "Found none",
    ),
    ("folder of one class", folder("classes/good/1.txt"), V, "at least two classes"),
    ("bad data type", lambda t: kt.load_texts(42), V, "Received: data=int"),
    ("data None", lambda t: kt.load_texts(None), V, "data=NoneType"),
    (
        "text_column not a column",
        lambda t: kt.load_texts(kt.load_bundled("sentiment_en_vi")[0], text_column=3),
        V,
        "text_column=3",
    ),
    # === load_conll ===
    ("CoNLL missing", lambda t: kt.load_conll("no.conll"), V, "path='no.conll'"),
    ("CoNLL path type", lambda t: kt.load_conll(42), V, "path=42"),
    ("CoNLL a folder", lambda t: kt.load_conll(str(t.tmp)), V, "No such CoNLL file"),
    ("CoNLL tag_column", lambda t: kt.load_conll("no.conll", tag_column="1"), V, "tag_column='1'"),
    ("CoNLL not BIO", conll("John PER\n"), V, "Line 1 of .*data.conll: the tag 'PER' is not BIO"),
    ("CoNLL I- starts", conll("John I-PER\n"), V, "Line 1 of .*'I-PER' follows 'O'.*repair=True"),
    ("CoNLL too few columns", conll("John B-PER\nx\n"), V, "Line 2 of .* 1 column"),
    ("CoNLL uneven columns", conll("John NN B-PER\nx O\n"), V, "Line 2 of .* 2 columns where .* 3"),
    ("CoNLL no sentences", conll("\n\n"), V, "holds no tagged sentences"),
    ("CoNLL not UTF-8", conll(b"J\xffhn B-PER\n", mode="wb"), V, "not UTF-8"),
    (
        "CoNLL bad xz",
        conll(b"not xz", name="data.conll.xz", mode="wb"),
        V,
        "Cannot read .*data.conll.xz",
    ),
    ("CoNLL word_column", conll("John B-PER\n", word_column=5), V, "word_column=5"),
    # === saved models and the predictor ===
    ("model file missing", saved_file("missing"), V, "does not exist"),
    ("model not an archive", saved_file("not an archive"), V, "not a Keras archive"),
    ("model truncated", saved_file("truncated"), V, "truncated or corrupt"),
    ("model of another kind", saved_file("foreign"), V, "not a keras_transfer text classifier"),
    (
        "model overflowing scale",
        saved_file("overflowing scale"),
        V,
        "cannot be loaded: .*scale=inf.*path='.*zero_shot_inf.keras'",
    ),
    ("model path type", lambda t: kt.Predictor(42), V, "path=42"),
    ("predictor text type", predictor("predict", 3), V, "text=3"),
    ("predictor blank text", predictor("predict", " "), V, "text=' '"),
    ("predict_batch one string", predictor("predict_batch", "abc"), V, "not a single string"),
    ("predict_batch non-string", predictor("predict_batch", ["ok", 3]), V, r"texts\[1\]=3"),
    ("predict_batch None", predictor("predict_batch", None), V, "texts=None"),
    # === comparison ===
    ("compare strategy", compare(strategies=["bert"]), V, "strategies="),
    ("compare seeds", compare(seeds=0), V, "seeds=0"),
    ("compare test type", compare(test=42), V, "test of type int"),
    (
        "compare train type",
        lambda t: kt.compare_strategies([("a", 1)], out=str(t.tmp / "out")),
        V,
        "train of type list",
    ),
    ("compare few_shot", compare(few_shot=0), V, "few_shot=0"),
    ("compare class_weight", compare(class_weight="x"), V, "class_weight='x'"),
    ("compare unwritable out", compare(out="blocker/out"), V, "cannot be written"),
    ("compare length", compare(strategies=["full"], max_length=999), V, "max_length=999"),
    (
        "compare missing data",
        lambda t: kt.compare_strategies(str(t.tmp / "no.csv"), out=str(t.tmp / "out")),
        V,
        "does not exist",
    ),
    (
        "compare_ner strategies",
        compare_ner(strategies=["embedding"]),
        V,
        r"strategies=\['embedding'\]",
    ),
    ("compare_ner validation_size", compare_ner(validation_size=2), V, "validation_size=2"),
    ("compare_ner train type", compare_ner(train=42), V, "train of type int"),
    (
        "compare_ner unseen test tags",
        compare_ner(test=([["Rome"]], [["B-ORG"]])),
        V,
        r"\['B-ORG'\].*Received: test=1 sentences",
    ),
    (
        "pretraining no texts",
        lambda t: kt.continue_pretraining([], out="adapted"),
        V,
        r"texts=\[\]",
    ),
    (
        "pretraining epochs",
        lambda t: kt.continue_pretraining(TEXTS, out="adapted", epochs=0, preset=t.preset),
        V,
        "epochs=0",
    ),
    (
        "pretraining mask_rate",
        lambda t: kt.continue_pretraining(TEXTS, out="adapted", mask_rate=1.5, preset=t.preset),
        V,
        "mask_rate=1.5",
    ),
    (
        "pretraining out a file",
        lambda t: kt.continue_pretraining(TEXTS, out="notes.txt", preset=t.preset),
        V,
        "out='notes.txt'",
    ),
    # === CLI: every subcommand ===
    ("cli no command", cli(), X, "required: COMMAND"),
    ("cli unknown command", cli("bogus"), X, "invalid choice: 'bogus'"),
    ("cli compare task", cli("compare", "--task", "pos"), X, "--task: invalid choice: 'pos'"),
    (
        "cli compare epochs word",
        cli("compare", "--epochs", "x"),
        X,
        "--epochs: invalid int value: 'x'",
    ),
    (
        "cli compare epochs",
        cli("compare", "--epochs", "0"),
        X,
        "epochs=0",
    ),
    ("cli compare seeds", cli("compare", "--seeds", "0"), X, "seeds=0"),
    (
        "cli compare batch size",
        cli("compare", "--batch-size", "0"),
        X,
        "batch_size=0",
    ),
    (
        "cli compare max length",
        cli("compare", "--max-length", "-3"),
        X,
        "max_length=-3",
    ),
    (
        "cli compare train size",
        cli("compare", "--train-size", "-1"),
        X,
        "`train_size` must be an integer >= 0. Received: train_size=-1",
    ),
    (
        "cli compare test size",
        cli("compare", "--test-size", "-5"),
        X,
        "test_size=-5",
    ),
    ("cli compare few-shot", cli("compare", "--few-shot", "0"), X, "few_shot=0"),
    (
        "cli compare augment",
        cli("compare", "--augment", "-1"),
        X,
        "augment=-1",
    ),
    (
        "cli compare adapt epochs",
        cli("compare", "--adapt-epochs", "0"),
        X,
        "adapt_epochs=0",
    ),
    ("cli compare strategies", cli("compare", "--strategies", "bert"), X, "strategies="),
    ("cli compare length", cli("compare", "--max-length", "999"), X, "max_length=999"),
    ("cli compare data missing", cli("compare", "--data", "missing.csv"), X, "does not exist"),
    ("cli compare data format", cli("compare", "--data", "notes.txt"), X, "data='notes.txt'"),
    (
        "cli compare test data",
        cli("compare", "--data", "sentiment_en_vi", "--test-data", "no.csv"),
        X,
        "data='no.csv'",
    ),
    (
        "cli compare out a file",
        cli(
            "compare",
            "--data",
            "sentiment_en_vi",
            "--strategies",
            "embedding",
            "--out",
            "notes.txt",
        ),
        X,
        "out='notes.txt'",
    ),
    (
        "cli compare unknown flag",
        cli("compare", "--validate"),
        X,
        "unrecognized arguments: --validate",
    ),
    (
        "cli compare preset",
        cli("compare", "--data", "sentiment_en_vi", "--strategies", "full", "--preset", "nope/x"),
        X,
        "preset='nope/x'",
    ),
    (
        "cli ner few-shot",
        cli("compare", "--task", "ner", "--few-shot", "3"),
        X,
        "`few_shot` only applies to task='classification', not to task='ner'",
    ),
    (
        "cli ner strategies",
        cli("compare", "--task", "ner", "--strategies", "embedding"),
        X,
        r"strategies=\['embedding'\]",
    ),
    (
        "cli ner epochs",
        cli("compare", "--task", "ner", "--epochs", "0"),
        X,
        "epochs=0",
    ),
    (
        "cli ner data missing",
        cli("compare", "--task", "ner", "--data", "no.conll"),
        X,
        "path='no.conll'",
    ),
    (
        "cli ner train size",
        cli("compare", "--task", "ner", "--train-size", "-2"),
        X,
        "train_size=-2",
    ),
    (
        "cli ner tag column",
        lambda t: cli(
            "compare",
            "--task",
            "ner",
            "--data",
            write(t.tmp / "data.csv", "John B-PER\n"),
            "--tag-column",
            "0",
        )(t),
        X,
        "tag_column=0",
    ),
    (
        "cli ner unseen test tags",
        lambda t: cli(
            "compare",
            "--task",
            "ner",
            "--data",
            write(t.tmp / "data.csv", "John B-PER\nruns O\n\n" * 8),
            "--test-data",
            write(t.tmp / "notes.txt", "Paris B-LOC\n"),
            "--out",
            "ner",
        )(t),
        X,
        r"test sentences use tags .*\['B-LOC'\].*Received: test_data='.*notes.txt'",
    ),
    ("cli train missing flags", cli("train"), X, "required: --strategy, --out"),
    (
        "cli train strategy",
        cli("train", "--strategy", "bogus", "--out", "m.keras"),
        X,
        "--strategy: invalid choice: 'bogus'",
    ),
    (
        "cli train out name",
        cli("train", "--strategy", "frozen", "--out", "model.txt"),
        X,
        "must name a .keras file",
    ),
    (
        "cli train out exists",
        cli("train", "--strategy", "embedding", "--out", "{model}"),
        X,
        "already exists; pass --overwrite",
    ),
    (
        "cli train out unwritable",
        cli("train", "--strategy", "embedding", "--out", "blocker/m.keras"),
        X,
        "--out cannot be written",
    ),
    (
        "cli train epochs",
        cli("train", "--strategy", "embedding", "--out", "m.keras", "--epochs", "0"),
        X,
        "--epochs must be positive",
    ),
    (
        "cli train batch size",
        cli("train", "--strategy", "embedding", "--out", "m.keras", "--batch-size", "0"),
        X,
        "--batch-size must be positive",
    ),
    (
        "cli train max length",
        cli("train", "--strategy", "embedding", "--out", "m.keras", "--max-length", "0"),
        X,
        "--max-length must be positive",
    ),
    (
        "cli train dropout",
        cli("train", "--strategy", "embedding", "--out", "m.keras", "--dropout", "2"),
        X,
        "--dropout must be in .* Received: --dropout 2.0",
    ),
    (
        "cli train validation size",
        cli(
            "train",
            "--strategy",
            "embedding",
            "--out",
            "m.keras",
            "--data",
            "sentiment_en_vi",
            "--validation-size",
            "1.5",
        ),
        X,
        "validation_size=1.5",
    ),
    (
        "cli train data missing",
        cli("train", "--strategy", "embedding", "--out", "m.keras", "--data", "no.csv"),
        X,
        "data='no.csv'",
    ),
    (
        "cli train preset",
        cli("train", "--strategy", "full", "--out", "m.keras", "--preset", "nope/x"),
        X,
        "preset='nope/x'",
    ),
    ("cli predict missing flags", cli("predict"), X, "required: --model, texts"),
    ("cli predict no texts", cli("predict", "--model", "{model}"), X, "required: texts"),
    (
        "cli predict model missing",
        cli("predict", "--model", "missing.keras", "text"),
        X,
        "does not exist",
    ),
    (
        "cli predict not a model",
        cli("predict", "--model", "notes.txt", "text"),
        X,
        "path='notes.txt'",
    ),
    (
        "cli predict blank text",
        cli("predict", "--model", "{model}", "good", " "),
        X,
        r"texts\[1\]=' '",
    ),
    ("cli serve missing flags", cli("serve"), X, "required: --model"),
    (
        "cli serve model missing",
        cli("serve", "--model", "missing.keras"),
        X,
        "path='missing.keras'",
    ),
    ("cli serve not a model", cli("serve", "--model", "notes.txt"), X, "path='notes.txt'"),
    (
        "cli serve port word",
        cli("serve", "--model", "{model}", "--port", "x"),
        X,
        "--port: invalid int value: 'x'",
    ),
    (
        "cli serve port range",
        cli("serve", "--model", "{model}", "--port", "99999"),
        X,
        "--port must be from 0 to 65535. Received: --port 99999",
    ),
    (
        "cli serve batch size",
        cli("serve", "--model", "{model}", "--max-batch-size", "0"),
        X,
        "--max-batch-size must be positive",
    ),
    # === HTTP: every route ===
    ("http predict no body", post("/predict"), R, "^422 .*Field required"),
    ("http predict no text", post("/predict", {}), R, "^422 .*text.*Field required"),
    ("http predict empty text", post("/predict", {"text": ""}), R, "^422 .*at least 1 character"),
    ("http predict blank text", post("/predict", {"text": " \n\t"}), R, "^422 .*blank"),
    ("http predict unicode blank", post("/predict", {"text": "\u2003\u3000"}), R, "^422 .*blank"),
    ("http predict text null", post("/predict", {"text": None}), R, "^422 .*valid string"),
    ("http predict text number", post("/predict", {"text": 5}), R, "^422 .*valid string"),
    ("http predict text list", post("/predict", {"text": ["a"]}), R, "^422 .*valid string"),
    (
        "http predict extra field",
        post("/predict", {"text": "ok", "extra": 1}),
        R,
        "^422 .*Extra inputs",
    ),
    ("http predict body a list", post("/predict", ["a"]), R, "^422 .*valid dictionary"),
    (
        "http predict texts field",
        post("/predict", {"texts": ["a"]}),
        R,
        "^422 .*texts.*Extra inputs",
    ),
    (
        "http predict too long",
        post("/predict", {"text": "x" * 51}),
        R,
        "^413 .*at most 50 characters",
    ),
    ("http predict not JSON", raw("/predict", b"\xff"), R, "^400 .*error parsing the body"),
    ("http predict broken JSON", raw("/predict", b'{"text": "a"'), R, "^422 .*JSON"),
    ("http predict lone surrogate", raw("/predict", b'{"text": "\\ud800"}'), R, "^422 .*unicode"),
    (
        "http predict form body",
        raw("/predict", b"text=a", "application/x-www-form-urlencoded"),
        R,
        "^422 ",
    ),
    (
        "http predict_batch empty",
        post("/predict_batch", {"texts": []}),
        R,
        "^422 .*at least 1 item",
    ),
    (
        "http predict_batch a string",
        post("/predict_batch", {"texts": "good"}),
        R,
        "^422 .*valid list",
    ),
    ("http predict_batch null", post("/predict_batch", {"texts": None}), R, "^422 .*valid list"),
    (
        "http predict_batch non-string",
        post("/predict_batch", {"texts": ["a", 3]}),
        R,
        '^422 .*"1".*valid string',
    ),
    (
        "http predict_batch blank",
        post("/predict_batch", {"texts": ["good", "  "]}),
        R,
        "^422 .*blank",
    ),
    (
        "http predict_batch text field",
        post("/predict_batch", {"text": "a"}),
        R,
        "^422 .*texts.*Field required",
    ),
    (
        "http predict_batch too many",
        post("/predict_batch", {"texts": ["a"] * 5}),
        R,
        "^413 .*at most 4 items",
    ),
    (
        "http predict_batch too long",
        post("/predict_batch", {"texts": ["ok", "x" * 10_000]}),
        R,
        "^413 .*at most 50 characters",
    ),
    ("http predict GET", http("get", "/predict"), R, "^405 .*Method Not Allowed"),
    ("http predict_batch PUT", http("put", "/predict_batch"), R, "^405 .*Method Not Allowed"),
    ("http health POST", http("post", "/health"), R, "^405 .*Method Not Allowed"),
    ("http info POST", http("post", "/info"), R, "^405 .*Method Not Allowed"),
    ("http unknown route", http("get", "/nope"), R, "^404 .*Not Found"),
]


@pytest.mark.parametrize("case, call, exc, match", CASES, ids=[c[0] for c in CASES])
def test_bad_input(t, case, call, exc, match):
    before = set(os.listdir(t.tmp))
    with pytest.raises(exc) as info:
        call(t)
    message = getattr(info.value, "message", None) or str(info.value)
    assert re.search(match, message), message
    if exc is SystemExit:
        assert info.value.code == 2
    if exc is Rejected:  # and the server keeps answering
        assert t.client.post("/predict", json={"text": "still answering"}).status_code == 200
    # Nothing half-written: no log folder, no output folder, no model, no backup.
    after = set(os.listdir(t.tmp)) - before
    assert (
        not after
        - FIXTURE_FILES
        - {
            "data.xml",
            "data.json",
            "data.jsonl",
            "data.tsv",
            "data.conll",
            "data.conll.xz",
            "classes",
        }
    ), after


def test_the_table_is_large_and_its_ids_distinct():
    assert len(CASES) >= 120
    assert len({c[0] for c in CASES}) == len(CASES)
    kinds = {c[2] for c in CASES}
    assert kinds == {ValueError, SystemExit, Rejected}
