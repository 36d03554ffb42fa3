"""The command line's `train`, `predict` and `serve` (`python -m keras_transfer ...`):
each takes the parsed flags (`argparse.Namespace`) and raises `ValueError`
with a one-line reason for anything wrong in them."""

import os

from keras_transfer.strategies import STRATEGIES


def predict(args):
    import json

    from keras_transfer.serving import open_predictor

    for i, text in enumerate(args.texts):
        if not text.strip():
            raise ValueError(
                "`texts` must not be blank (empty or whitespace only): there is nothing to "
                f"classify. Received: texts[{i}]={text!r}"
            )
    predictor = open_predictor(args.model)
    tagging = predictor.info["task"] == "token_classification"
    results = predictor.tag_batch(args.texts) if tagging else predictor.predict_batch(args.texts)
    for text, result in zip(args.texts, results, strict=True):
        print(json.dumps({"text": text, **result}, ensure_ascii=False))


def serve(args):
    import uvicorn

    from keras_transfer.serving import create_app
    from keras_transfer_runtime.__main__ import check_serve_flags

    check_serve_flags(args)
    app = create_app(
        args.model, max_batch_size=args.max_batch_size, max_text_chars=args.max_text_chars
    )
    uvicorn.run(app, host=args.host, port=args.port)


def _check_positive(values):
    """One-line CLI errors for counts given as 0 or less (None: the default)."""
    for key, value in values.items():
        if value is not None and value < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be positive. Received: {value}")


def train(args):
    """`train`: one strategy on the data, saved when training has finished (resumable)."""
    import keras

    from keras_transfer.reports import save_model

    out = _train_out(args)
    train, validation, labels, options = _train_data(args)
    strategy = STRATEGIES[args.strategy]
    keras.utils.set_random_seed(args.seed)
    validation_data = (validation["text"].tolist(), labels.encode(validation["label"]))
    if not strategy.trains:  # zero_shot: the label names make the model
        print(f"Building {args.strategy} from the label names {labels.names}", flush=True)
        model, _ = strategy.train(
            None, None, labels.names, max_length=args.max_length, preset=args.preset
        )
        scores = model.evaluate(*validation_data, verbose=0, return_dict=True)
        save_model(model, out)
        print(
            f"Saved {out} (zero-shot: nothing to train; validation accuracy "
            f"{scores['accuracy']:.3f} on {len(validation)} texts)."
        )
        print(f"Serve it: python -m keras_transfer serve --model {args.out}")
        return
    run_dir = out[: -len(".keras")] + "_run"
    backup = _train_backup(args, train, validation_data, labels, os.path.join(run_dir, "backup"))
    model, history = strategy.train(
        train["text"].tolist(),
        labels.encode(train["label"]),
        labels.names,
        validation_data=validation_data,
        max_length=args.max_length,
        preset=args.preset,
        batch_size=args.batch_size,
        epochs=args.epochs,
        class_weight=None if args.no_class_weight else "balanced",
        options=options,
        experiment=f"train_{args.strategy}",
        callbacks=[backup],
        verbose=2,
    )
    save_model(model, out)
    try:
        os.rmdir(run_dir)  # the backup removes its own files when training ends
    except OSError:
        pass
    best = min(history.history.get("val_loss", history.history["loss"]))
    print(f"Saved {out} (best validation loss {best:.4f}).")
    print(f"Serve it: python -m keras_transfer serve --model {args.out}")


def _train_out(args):
    """The checked, writable `--out` path (absolute), before any work."""
    from keras_transfer.atomic import check_out
    from keras_transfer.reports import check_writable

    if not args.out.endswith(".keras"):
        raise ValueError(f"--out must name a .keras file. Received: --out {args.out!r}")
    out = os.path.abspath(check_out(args.out, "--out", "file", args.overwrite, flag="--overwrite"))
    _check_positive({key: getattr(args, key) for key in ("batch_size", "epochs")})
    if args.max_length != "auto":
        _check_positive({"max_length": args.max_length})
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise ValueError(f"--dropout must be in [0, 1). Received: --dropout {args.dropout}")
    try:
        check_writable(os.path.dirname(out))
    except OSError as e:
        raise ValueError(
            f"--out cannot be written ({e.strerror}). Received: --out {args.out!r}"
        ) from None
    return out


def _train_data(args):
    """(train, validation, labels, build options): the data split, `max_length` fitted."""
    from keras_transfer import data as data_lib
    from keras_transfer.presets import fitted_length
    from keras_transfer.strategies import strategy_options

    frame = data_lib.load_texts(
        data_lib.load_bundled(args.data)[0] if args.data in data_lib.BUNDLED else args.data,
        args.text_column,
        args.label_column,
    )
    train, validation, _ = data_lib.stratified_split(
        frame, test_size=0.0, validation_size=args.validation_size, seed=args.seed
    )
    settings = {"preset": args.preset, "verbose": 1}
    args.max_length = fitted_length(args.max_length, train["text"].tolist(), settings)
    options = strategy_options(
        [args.strategy], args.preset, args.max_length, None, None, args.truncation or "head"
    )[args.strategy]
    if args.dropout is not None and args.strategy not in ("embedding", "zero_shot"):
        options["dropout"] = args.dropout
    return train, validation, data_lib.LabelMap(frame["label"]), options


TRAIN_FINGERPRINT = (
    "strategy",
    "preset",
    "max_length",
    "batch_size",
    "epochs",
    "validation_size",
    "dropout",
    "seed",
    "no_class_weight",
    "truncation",
)


def _train_backup(args, train, validation_data, labels, backup):
    """The `TrainingBackup` callback for this run; refuses a backup of another run."""
    from keras_transfer import backup as backup_lib

    run = backup_lib.fingerprint(
        train["text"].tolist(),
        labels.encode(train["label"]).tolist(),
        validation_data[0],
        validation_data[1].tolist(),
        labels.names,
        {key: getattr(args, key) for key in TRAIN_FINGERPRINT},
    )
    if args.restart:
        backup_lib.discard(backup)
    try:
        state = backup_lib.read_state(backup)
    except ValueError:
        state = None  # damaged: the backup callback sets it aside, with a warning
    if state is not None and state.get("fingerprint") != run:
        raise ValueError(
            f"The backup in {backup} was made by a run with other data or arguments; "
            "resuming from it would mix the two runs. Pass --restart to discard it and start "
            f"afresh, or rerun the original command. Received: --out {args.out!r}"
        )
    resumed = f"Resuming from epoch {state['epoch']}: " if state else "Training "
    print(
        f"{resumed}{args.strategy} on {len(train)} texts "
        f"({len(validation_data[0])} for validation), labels {labels.names}; backups in {backup}",
        flush=True,
    )
    return backup_lib.TrainingBackup(backup, fingerprint=run)
