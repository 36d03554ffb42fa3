"""Command line: python -m keras_transfer_runtime serve --model EXPORTED_FOLDER

Serves a folder written by `keras_transfer.export` (a text classifier, a
multi-task classifier or a token classifier) over HTTP with FastAPI and
uvicorn, in a process that imports none of TensorFlow, JAX, PyTorch, Keras,
keras-hub or `keras_transfer`. `python -m keras_transfer serve` takes the same
flags, and `.keras` files too.
"""

import argparse
import sys

from keras_transfer_runtime.server import MAX_BATCH_SIZE, MAX_TEXT_CHARS

SERVE_DESCRIPTION = (
    "GET / (a page to try the model in), POST /predict {text}, POST /predict_batch {texts} "
    "(a token classifier: POST /tag {text}, POST /tag_batch {texts}), GET /health, GET /info, "
    "GET /docs (the API page)."
)


def add_serve_flags(serve, model_help):
    """`serve`'s flags (--model, --host, --port, --max-batch-size, --max-text-chars)."""
    serve.add_argument("--model", required=True, help=model_help)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--max-batch-size", type=int, default=MAX_BATCH_SIZE, help="texts per request, at most"
    )
    serve.add_argument(
        "--max-text-chars", type=int, default=MAX_TEXT_CHARS, help="characters per text, at most"
    )


def check_serve_flags(args):
    """A ValueError with a one-line reason for a count of 0 or less or a port out of range."""
    for flag in ("max_batch_size", "max_text_chars"):
        value = getattr(args, flag)
        if value < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be positive. Received: {value}")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535. Received: --port {args.port}")


def serve(args):
    """`serve`: the runtime's app around the exported folder, run by uvicorn."""
    import uvicorn

    from keras_transfer_runtime.server import create_app, open_export

    check_serve_flags(args)
    app = create_app(
        open_export(args.model),
        max_batch_size=args.max_batch_size,
        max_text_chars=args.max_text_chars,
    )
    uvicorn.run(app, host=args.host, port=args.port)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_transfer_runtime",
        description="Serve a folder written by keras_transfer.export with numpy, tokenizers and "
        "onnxruntime only (no Keras, no deep learning framework).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve_parser = commands.add_parser(
        "serve",
        help="serve an exported folder over HTTP (FastAPI + uvicorn)",
        description=SERVE_DESCRIPTION,
    )
    add_serve_flags(
        serve_parser,
        "a folder written by keras_transfer.export (a .keras file: python -m keras_transfer serve)",
    )
    args = parser.parse_args(argv)
    try:
        serve(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a port in use, no permission: one line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
