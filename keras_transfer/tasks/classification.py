"""The text-classification task spec: split, reference rows, training, scores."""

import os
import time

import numpy as np

from keras_transfer import data as data_lib
from keras_transfer import reports
from keras_transfer.checks import check_int
from keras_transfer.presets import fitted_length
from keras_transfer.strategies import STRATEGIES
from keras_transfer.tasks.base import Task


class ClassificationTask(Task):
    """Text classification, as `keras_transfer.compare` runs it.

    `prepare` splits labelled texts (stratified) into training, validation
    (early stopping) and test texts, fits `max_length` and checks every
    strategy's options; the runner (`keras_transfer.runner.run`) then trains
    each strategy with its recipe and scores it with macro F1 and accuracy
    next to two reference rows: `majority` and `tfidf_logreg`.

    Example:
    >>> from keras_transfer.tasks import ClassificationTask
    >>> ClassificationTask.SCORES[0]
    ('f1_macro', 'macro F1')
    """

    EXPERIMENT = "compare"
    SCORES = reports.CLASSIFICATION_SCORES
    REFERENCE = reports.CLASSIFICATION_REFERENCE
    TEST_METRICS = (("test/f1_macro", "f1_macro"), ("test/accuracy", "accuracy"))
    INFERENCE_COLUMN = "inference_examples_per_s"

    def __init__(self, split, label_names, settings):
        self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test = split
        self.label_names = label_names
        super().__init__(settings, len(self.x_train), truncation=settings["truncation"])
        self.adaptation = None

    @classmethod
    def load(cls, settings):
        """(train, test) DataFrames from `compare`'s `data` and `test_data` (a
        bundled set brings its own test split), each a stratified sample of
        `train_size` / `test_size` rows (0: all)."""
        data, test = settings["data"], settings["test_data"]
        columns = settings["text_column"], settings["label_column"]
        if isinstance(data, str) and data in data_lib.BUNDLED and test is None:
            data, test = data_lib.load_bundled(data)
        train = _sample(data_lib.load_texts(data, *columns), "train_size", settings)
        if test is not None:
            test = _sample(data_lib.load_texts(test, *columns), "test_size", settings)
        return train, test

    @classmethod
    def prepare(cls, train, test, settings):
        """Split `train` (and `test`, or 20 % of `train`) as the comparison
        uses them; `settings` holds `compare`'s checked arguments."""
        for name, value in (("train", train), ("test", test)):
            if not (isinstance(value, (str, os.PathLike)) or hasattr(value, "columns")):
                if name == "train" or value is not None:
                    raise ValueError(
                        f"`{name}` must be a DataFrame, a file or folder path, or a bundled "
                        f"dataset name{' (or None)' if name == 'test' else ''}. Received: "
                        f"{name} of type {type(value).__name__}"
                    )
        seed, validation_size = settings["seed"], settings["validation_size"]
        train = data_lib.load_texts(train)
        if test is None:
            train, validation, test = data_lib.stratified_split(
                train, test_size=0.2, validation_size=validation_size, seed=seed
            )
        else:
            test = data_lib.load_texts(test)
            train, validation, _ = data_lib.stratified_split(
                train, test_size=0.0, validation_size=validation_size, seed=seed
            )
        train, validation = _few_shot_and_augment(train, validation, settings)
        data_lib.warn_unseen_labels(train["label"], test["label"])
        labels = data_lib.LabelMap(list(train["label"]) + list(test["label"]))
        frames = (train, validation, test)
        split = []
        for frame in frames:
            split += [frame["text"].tolist(), labels.encode(frame["label"])]
        settings = dict(settings)
        settings["max_length"] = fitted_length(settings["max_length"], split[0], settings)
        task = cls(split, labels.names, settings)
        task.check_before_training()
        return task

    def check_before_training(self):
        """The arguments that only a later step reads, checked before anything is written."""
        settings = self.settings
        if settings["adapt_on"] is not None:
            check_int("adapt_epochs", settings["adapt_epochs"])
            settings["adapt_on"] = data_lib.load_unlabelled(settings["adapt_on"])
        class_weight = settings["class_weight"]
        if class_weight is not None and not (
            isinstance(class_weight, str) and class_weight == "balanced"
        ):
            data_lib.class_sample_weights(self.y_train, class_weight, len(self.label_names))

    def base_recipe(self, strategy):
        return STRATEGIES[strategy].recipe

    def before_training(self, results, verbose):
        """Adapt the encoder by masked-LM pretraining first, with `adapt_on`."""
        settings = self.settings
        adapt_on = settings["adapt_on"]
        if adapt_on is None or not any(STRATEGIES[s].pretrained for s in settings["strategies"]):
            return
        from keras_transfer.pretraining import continue_pretraining
        from keras_transfer.progress import FitProgress
        from keras_transfer.runner import progress_line

        folder = results.out if results.out is not None else results.experiment_dir
        header = f"Adapting the encoder: masked-LM on {len(adapt_on)} texts"
        with progress_line(header, verbose) as progress:
            self.adaptation = continue_pretraining(
                adapt_on,
                preset=settings["preset"],
                out=os.path.join(folder, "adapted_encoder"),
                epochs=settings["adapt_epochs"],
                max_length=settings["max_length"],
                batch_size=settings["batch_size"],
                overwrite=True,
                log_root=results.experiment_dir,
                seed=settings["seed"],
                callbacks=[FitProgress()],
                verbose=2 if verbose > 1 else 0,
            )
            if verbose:
                progress.finish(
                    f"held-out masked-LM loss {self.adaptation['mlm_loss_before']:.3f} -> "
                    f"{self.adaptation['mlm_loss_after']:.3f} "
                    f"(masked-LM head {self.adaptation['head']})"
                )
        settings["preset"] = self.adaptation["out"]

    def reference_rows(self):
        """`majority` and `tfidf_logreg`, fitted on the training and validation
        texts: (row, test predictions)."""
        from sklearn.dummy import DummyClassifier
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        texts = self.x_train + self.x_val
        labels = np.concatenate([self.y_train, self.y_val])
        majority = DummyClassifier(strategy="most_frequent").fit(texts, labels)
        yield (
            {
                "strategy": "majority",
                "description": "reference: always the most frequent training class",
                "train_seconds": 0.0,
                "trainable_params": 0,
                "total_params": 0,
            },
            majority.predict(self.x_test),
        )
        start = time.perf_counter()
        pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(class_weight="balanced", max_iter=2000),
        ).fit(texts, labels)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        predicted = pipeline.predict(self.x_test)
        coefficients = pipeline[-1].coef_.size + pipeline[-1].intercept_.size
        yield (
            {
                "strategy": "tfidf_logreg",
                "description": "reference: TF-IDF 1-2 grams + balanced logistic regression",
                "train_seconds": seconds,
                "inference_examples_per_s": len(self.x_test) / (time.perf_counter() - start),
                "trainable_params": coefficients,
                "total_params": coefficients,
            },
            predicted,
        )

    def build(self, strategy):
        """`strategy`'s new model with this task's options."""
        settings = self.settings
        return STRATEGIES[strategy].build(
            self.label_names, settings["max_length"], settings["preset"], **self.options[strategy]
        )

    def train(self, strategy, epochs, model=None, **fit_kwargs):
        """Build `strategy`'s model (or take `model`, from `build`), compile it
        with its recipe and fit it: (model, history)."""
        settings = self.settings
        return STRATEGIES[strategy].train(
            self.x_train,
            self.y_train,
            self.label_names,
            validation_data=(self.x_val, self.y_val) if len(self.x_val) else None,
            max_length=settings["max_length"],
            preset=settings["preset"],
            batch_size=settings["batch_size"],
            epochs=epochs,
            class_weight=settings["class_weight"],
            options=self.options[strategy],
            recipe=self.recipe(strategy),
            model=model,
            **fit_kwargs,
        )

    def predict(self, model):
        """Test-split class ids, and texts per second (timed after a warm-up batch)."""
        batch = max(self.settings["batch_size"], 32)
        model.predict(self.x_test[:batch], batch_size=batch, verbose=0)  # compile
        start = time.perf_counter()
        probabilities = model.predict(self.x_test, batch_size=batch, verbose=0)
        seconds = time.perf_counter() - start
        return np.argmax(probabilities, axis=-1), len(self.x_test) / seconds

    def score(self, predicted):
        """(scores, classification report, {"confusion": matrix}) on the test split."""
        from sklearn.metrics import (
            accuracy_score,
            classification_report,
            confusion_matrix,
            precision_recall_fscore_support,
        )

        y_true, ids = self.y_test, range(len(self.label_names))
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, predicted, average="macro", zero_division=0
        )
        scores = {
            "accuracy": accuracy_score(y_true, predicted),
            "f1_macro": f1,
            "precision_macro": precision,
            "recall_macro": recall,
        }
        report = classification_report(
            y_true, predicted, labels=ids, target_names=self.label_names, zero_division=0
        )
        return scores, report, {"confusion": confusion_matrix(y_true, predicted, labels=ids)}

    def attrs(self, extras):
        return {
            "confusion_matrices": {s: e["confusion"] for s, e in extras.items()},
            "labels": self.label_names,
            "adaptation": self.adaptation,
        }


def _sample(frame, size, settings):
    """A stratified sample of `settings[size]` rows (all of them when it is 0
    or too many), said when verbose."""
    n = settings[size]
    if not n or n >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        frame, train_size=n, stratify=frame["label"], random_state=settings["seed"]
    )
    if settings["verbose"]:
        print(
            f"{size}: a stratified sample of {n:,} of the {len(frame):,} "
            f"{'labelled' if size == 'train_size' else 'test'} texts; pass "
            f"--{size.replace('_', '-')} 0 ({size}=0) to use all of them."
        )
    return keep.reset_index(drop=True)


def _few_shot_and_augment(train, validation, settings):
    few_shot, seed = settings["few_shot"], settings["seed"]
    if few_shot is not None:
        check_int("few_shot", few_shot)
        train = data_lib.per_class_sample(train, few_shot, seed=seed, name="few_shot")
        validation = data_lib.per_class_sample(validation, few_shot, seed=seed, name="few_shot")
    if settings["augment"]:
        train = data_lib.augment_punctuation(train, copies=settings["augment"], seed=seed)
    return train, validation
