"""Command line: python -m keras_transfer compare ...   (also: keras-transfer compare ...)"""

import argparse
import sys

from keras_transfer.comparison import DEFAULT_BUDGET_MINUTES, TASK_DEFAULTS
from keras_transfer.fast_tokenizer import TRUNCATIONS
from keras_transfer.strategies import DEFAULT_RUN, STRATEGIES
from keras_transfer_runtime.__main__ import SERVE_DESCRIPTION, add_serve_flags

# --smoke: a quick check of the whole pipeline on a slice (flags given still win).
SMOKE = {
    "classification": {"train_size": 48, "test_size": 32, "epochs": 1, "max_length": 16},
    "ner": {"train_size": 48, "test_size": 32, "epochs": 1, "max_length": 32},
}
# What the Python API calls the flags that `compare` passes on unchanged.
COMPARE_FLAGS = (
    "data",
    "task",
    "strategies",
    "seeds",
    "train_size",
    "test_size",
    "few_shot",
    "test_data",
    "max_length",
    "epochs",
    "batch_size",
    "preset",
    "unfreeze_last",
    "lora_rank",
    "validation_size",
    "text_column",
    "label_column",
    "tag_column",
    "word_shape",
    "adapt_on",
    "adapt_epochs",
    "augment",
    "seed",
    "save_models",
    "tune",
    "overwrite",
    "truncation",
)


def _max_length(value):
    """`--max-length`: a whole number of tokens, or auto."""
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of tokens or auto. Received: {value!r}"
        ) from None


def _truncation_flag(parser):
    parser.add_argument(
        "--truncation",
        choices=TRUNCATIONS,
        default=None,
        help="what a text longer than --max-length keeps: head (default, its first tokens), "
        "head_tail (its first quarter and its end) or chunks (all of it, up to 4 windows of "
        "--max-length tokens overlapping by half a window, averaged before the head); "
        "transformer strategies",
    )


def _strategy_help():
    lines = []
    for name, s in STRATEGIES.items():
        default = "" if s.in_default_run else " (not in the default run)"
        lines.append(
            f"{name}: {s.description}; lr {s.recipe.learning_rate:g}, "
            f"at most {s.recipe.max_epochs} epochs{default}"
        )
    return "; ".join(lines)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m keras_transfer",
        description="Transfer learning for NLP on Keras 3 (TensorFlow, JAX, PyTorch: set "
        "KERAS_BACKEND). Every training run logs to TensorBoard under ./tensorflow_logs.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _compare_parser(commands)
    _train_parser(commands)
    _predict_parser(commands)
    _serve_parser(commands)
    return parser


def _compare_parser(commands):
    compare = commands.add_parser(
        "compare",
        help="train transfer strategies side by side on the same data; write a table and plots",
        description="Train the transfer strategies side by side on the same split, each with "
        "its own recipe and balanced class weights, next to two reference rows (majority class, "
        "TF-IDF + logistic regression); print the table sorted by macro F1 and a "
        "recommendation; write results.csv, results.md, reports/ and "
        "transfer_learning_comparison.png. Defaults: 640 labelled snippets of the bundled real "
        "Rotten Tomatoes critic reviews (512 train / 128 validation), tested on 500 reviews of "
        "movies never seen in training, with the bundled all-MiniLM-L6-v2, offline. In "
        "Python: keras_transfer.compare(...), with the same arguments and defaults.",
    )
    compare.add_argument(
        "--task",
        choices=tuple(TASK_DEFAULTS),
        default="classification",
        help="classification (default) or ner: named-entity recognition, one tag per word, "
        "scored by entity-level F1 (CoNLL), with the transformer strategies "
        "frozen,last_n,lora,full,scratch next to a most-frequent-tag-per-word reference row; "
        "default data: the bundled Wikigold corpus (1,696 hand-annotated Wikipedia sentences, "
        "split by article), written to ./comparison_ner",
    )
    _compare_data_flags(compare)
    _compare_training_flags(compare)
    compare.add_argument(
        "--out",
        default=None,
        help="output folder (default ./comparison; ./comparison_ner with --task ner)",
    )
    compare.add_argument("--overwrite", action="store_true", help="replace results in --out")
    compare.add_argument(
        "--save-models",
        action="store_true",
        help="also write each strategy's model to OUT/models/<strategy>.keras "
        "(serve one with: python -m keras_transfer serve --model ...)",
    )
    compare.add_argument(
        "--smoke",
        action="store_true",
        help="a quick check of the whole pipeline on a slice (48 texts / 32 test, 1 epoch, "
        "length 16; with --task ner 48 / 32 sentences, length 32)",
    )


def _compare_data_flags(compare):
    defaults = TASK_DEFAULTS["classification"]
    compare.add_argument(
        "--data",
        default=None,
        help="CSV/TSV/JSON/JSONL file, folder of class sub-folders, or a bundled dataset "
        "(rotten_tomatoes, fine_foods, sentiment_en_vi); default: rotten_tomatoes. With "
        "--task ner: a CoNLL file (word first, BIO tag in --tag-column) or wikigold (default)",
    )
    compare.add_argument(
        "--test-data",
        default=None,
        help="held-out file (default: the bundled test split of a bundled dataset, "
        "else 20%% of --data)",
    )
    compare.add_argument("--text-column", default="text")
    compare.add_argument("--label-column", default="label")
    compare.add_argument(
        "--tag-column",
        type=int,
        default=-1,
        help="--task ner: the CoNLL column of the tags (default -1, the last)",
    )
    compare.add_argument(
        "--word-shape",
        choices=(True, False, "auto"),
        metavar="{on,off,auto}",
        default=None,
        type=lambda value: {"on": True, "off": False}.get(value, value),
        help="--task ner: give the tagger each word's shape (capitalised, all caps, digits, "
        "punctuation) next to its encoder output; auto (default): when the encoder lowercases",
    )
    compare.add_argument(
        "--train-size",
        type=int,
        default=None,
        help=f"train on a stratified sample of this many (default "
        f"{defaults['train_size']}; 0 = all, the default with --task ner)",
    )
    compare.add_argument(
        "--test-size",
        type=int,
        default=None,
        help=f"evaluate on this many held-out texts (default {defaults['test_size']}; 0 = all, "
        "the default with --task ner)",
    )
    compare.add_argument(
        "--validation-size",
        type=float,
        default=None,
        help=f"share of the training data held out for early stopping (default "
        f"{defaults['validation_size']:g}; {TASK_DEFAULTS['ner']['validation_size']:g} with "
        "--task ner)",
    )
    compare.add_argument(
        "--few-shot",
        type=int,
        default=None,
        metavar="K",
        help="train every strategy on K examples per class (stratified, seeded), stopping early "
        "on K per class of the validation split; try --strategies setfit,zero_shot,full,frozen",
    )
    compare.add_argument(
        "--augment",
        type=int,
        default=0,
        help="add N punctuation/case variants of each training text",
    )
    compare.add_argument(
        "--adapt-on",
        default=None,
        metavar="DATA",
        help="first adapt the encoder by masked-LM training on these texts (a file or a bundled "
        "name; only the texts are read, never the test split's), then compare on it",
    )
    compare.add_argument(
        "--adapt-epochs", type=int, default=1, help="masked-LM epochs for --adapt-on (1)"
    )


def _compare_training_flags(compare):
    defaults = TASK_DEFAULTS["classification"]
    compare.add_argument(
        "--strategies",
        default=None,
        help=f"comma list (default {','.join(DEFAULT_RUN)}; with --task ner "
        f"frozen,last_n,lora,full,scratch). {_strategy_help()}",
    )
    compare.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="most epochs for every strategy (default: each strategy's recipe; early "
        "stopping on the validation loss decides)",
    )
    compare.add_argument(
        "--max-length",
        type=_max_length,
        default=None,
        help=f"tokens per text, or auto: the 95th percentile of the training texts' token "
        f"lengths rounded up to 16, at most the model's limit (default {defaults['max_length']}; "
        f"{TASK_DEFAULTS['ner']['max_length']} with --task ner)",
    )
    _truncation_flag(compare)
    compare.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help=f"each strategy's training time budget (default {DEFAULT_BUDGET_MINUTES}; 0: "
        "none): training stops before an epoch that would end past it, keeping the best "
        "epoch; a recipe's most epochs is a safety ceiling",
    )
    compare.add_argument("--batch-size", type=int, default=None, help="default 16")
    compare.add_argument(
        "--preset",
        default=None,
        help="transformer: local preset/HF folder or "
        "keras-hub name (default: bundled all-MiniLM-L6-v2)",
    )
    compare.add_argument(
        "--unfreeze-last",
        type=int,
        default=None,
        metavar="N",
        help="last_n: train the top N transformer blocks (default "
        f"{STRATEGIES['last_n'].options['unfreeze_last']}, or all of a smaller model's)",
    )
    compare.add_argument(
        "--lora-rank",
        type=int,
        default=None,
        metavar="R",
        help=f"lora: rank of the low-rank updates (default "
        f"{STRATEGIES['lora'].options['lora_rank']})",
    )
    compare.add_argument("--seed", type=int, default=0, help="split and training seed")
    compare.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="train each strategy N times (seeds SEED..SEED+N-1): mean ± std, error bars",
    )
    compare.add_argument(
        "--tune",
        type=int,
        default=0,
        metavar="N",
        help="first try N settings per strategy with KerasTuner (learning rate, unfreeze_last, "
        "lora_rank, embedding's ngram_filters), scored on the validation split; every seed "
        "trains with the best (the tuned column)",
    )
    compare.add_argument(
        "--no-class-weight",
        action="store_true",
        help="train without balanced class weights",
    )
    compare.add_argument(
        "--data-parallel",
        action="store_true",
        help="train on every local device (JAX: keras.distribution.DataParallel; TensorFlow: "
        "tf.distribute.MirroredStrategy); --batch-size stays the global batch",
    )


def _train_parser(commands):
    train = commands.add_parser(
        "train",
        help="train one strategy and save a model that predict and serve take (resumable)",
        description="Train one strategy with its recipe and balanced class weights on labelled "
        "texts (a validation split drives early stopping), then save the model to --out. "
        "Progress is backed up after every epoch in OUT_run/backup: if the run is "
        "interrupted, the same command continues from the last finished epoch (a backup made "
        "with other data or arguments is refused; --restart discards it). Every file is "
        "written atomically; a damaged backup is moved aside with a warning and training "
        "starts again from the first epoch. --strategy zero_shot trains nothing: it saves the "
        "model built from the label names.",
    )
    train.add_argument(
        "--data",
        default=TASK_DEFAULTS["classification"]["data"],
        help="CSV/TSV/JSON/JSONL file, folder of class sub-folders, or a bundled dataset "
        "(its training split); default: rotten_tomatoes",
    )
    train.add_argument("--text-column", default="text")
    train.add_argument("--label-column", default="label")
    train.add_argument("--strategy", required=True, choices=list(STRATEGIES), help=_strategy_help())
    train.add_argument("--out", required=True, help="where to save the model (.keras)")
    train.add_argument("--preset", default=None, help="transformer (default: bundled MiniLM)")
    train.add_argument(
        "--max-length",
        type=_max_length,
        default="auto",
        help="tokens per text, or auto (default): the 95th percentile of the training texts' "
        "token lengths, rounded up to 16, at most the model's limit",
    )
    _truncation_flag(train)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--epochs", type=int, default=None, help="default: the recipe's most")
    train.add_argument("--validation-size", type=float, default=0.1)
    train.add_argument("--dropout", type=float, default=None, help="head dropout rate")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--no-class-weight", action="store_true")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    train.add_argument(
        "--restart",
        action="store_true",
        help="discard the backup of an interrupted run of --out and start from the first epoch",
    )
    train.add_argument(
        "--data-parallel",
        action="store_true",
        help="train on every local device (JAX: keras.distribution.DataParallel; TensorFlow: "
        "tf.distribute.MirroredStrategy); --batch-size stays the global batch",
    )


def _predict_parser(commands):
    predict = commands.add_parser(
        "predict",
        help="predict labels of texts (or tag their words) with a saved model",
        description="Load a saved .keras model or an exported folder and print one JSON line "
        "per text: its label and probabilities, or for a token classifier its words, tags and "
        "entities.",
    )
    predict.add_argument(
        "--model",
        required=True,
        help="path of a saved .keras model, or a folder from keras_transfer.export (ONNX)",
    )
    predict.add_argument("texts", nargs="+", help="texts to classify")


def _serve_parser(commands):
    serve = commands.add_parser(
        "serve",
        help="serve a saved model over HTTP (FastAPI + uvicorn)",
        description=f"{SERVE_DESCRIPTION} An exported folder is served by the runtime; "
        "python -m keras_transfer_runtime serve serves it without importing Keras.",
    )
    add_serve_flags(
        serve, "path of a saved .keras model, or a folder from keras_transfer.export (ONNX)"
    )


def _compare(args):
    """`compare`: the flags, translated into `keras_transfer.compare(...)`."""
    from keras_transfer.comparison import compare
    from keras_transfer.ner import SCORES
    from keras_transfer.reports import CLASSIFICATION_SCORES, markdown_table

    # A flag left out (None) takes `compare`'s default, or the --smoke slice's.
    given = {key: getattr(args, key) for key in COMPARE_FLAGS}
    given = {
        **(SMOKE[args.task] if args.smoke else {}),
        **{k: v for k, v in given.items() if v is not None},
    }
    if args.no_class_weight:
        given["class_weight"] = None
    if args.budget_minutes is not None:
        given["budget_minutes"] = args.budget_minutes or None  # 0: no budget
    out = args.out or TASK_DEFAULTS[args.task]["out"]
    table = compare(out=out, **given)
    print()
    print(markdown_table(table, SCORES if args.task == "ner" else CLASSIFICATION_SCORES))
    print(table.attrs["recommendation"])
    where = f" (per-type entity reports in {out}/reports/)" if args.task == "ner" else ""
    print(
        f"\nResults in {out}/{where}; TensorBoard (HParams tab compares the runs): "
        f"{tensorboard_command(table.attrs['experiment_dir'])}"
    )


def tensorboard_command(log_dir, platform=None):
    """The command that opens TensorBoard on `log_dir` where the user is: the
    notebook magics on Colab, the shell command elsewhere.

    Example:
    >>> tensorboard_command("tensorflow_logs/compare_x", platform="local")
    'tensorboard --logdir tensorflow_logs/compare_x'
    >>> tensorboard_command("/content/tensorflow_logs/compare_x", platform="colab")
    '%load_ext tensorboard  then  %tensorboard --logdir /content/tensorflow_logs/compare_x'
    """
    from keras_transfer.platform import detect_platform

    if (platform or detect_platform()) == "colab":
        return f"%load_ext tensorboard  then  %tensorboard --logdir {log_dir}"
    return f"tensorboard --logdir {log_dir}"


def main(argv=None):
    args = _parser().parse_args(argv)
    from keras_transfer import commands

    command = {
        "compare": _compare,
        "train": commands.train,
        "predict": commands.predict,
        "serve": commands.serve,
    }
    try:
        if getattr(args, "data_parallel", False):
            from keras_transfer.distribution import data_parallel

            with data_parallel().scope():
                command[args.command](args)
        else:
            command[args.command](args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, no permission: one line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
