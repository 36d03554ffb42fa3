"""Where a run is: Colab, Kaggle or a local machine, and where its logs go."""

import importlib.util
import os
import time

PLATFORMS = ("colab", "kaggle", "local")
PLATFORM_ENV = "KERAS_TRANSFER_PLATFORM"
_LOG_ROOTS = {
    "colab": "/content/tensorflow_logs",
    "kaggle": "./tensorflow_logs",
}


def detect_platform():
    """Return `"colab"`, `"kaggle"` or `"local"`.

    `KERAS_TRANSFER_PLATFORM` overrides the detection. Otherwise Colab is
    recognised by an importable `google.colab` or a `COLAB_*` environment
    variable, Kaggle by `KAGGLE_KERNEL_RUN_TYPE` or a `/kaggle/working` folder.

    Example:
    >>> import keras_transfer as kt
    >>> kt.detect_platform() in ("colab", "kaggle", "local")
    True
    """
    override = os.environ.get(PLATFORM_ENV)
    if override is not None:
        value = override.strip().lower()
        if value not in PLATFORMS:
            raise ValueError(
                f"`{PLATFORM_ENV}` must be one of {PLATFORMS}. "
                f"Received: {PLATFORM_ENV}={override!r}"
            )
        return value
    if os.environ.get("COLAB_RELEASE_TAG") or os.environ.get("COLAB_GPU") is not None:
        return "colab"
    try:
        if importlib.util.find_spec("google.colab") is not None:
            return "colab"
    except (ImportError, ValueError):
        pass
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") or os.path.isdir("/kaggle/working"):
        return "kaggle"
    return "local"


def log_root(platform=None):
    """The TensorBoard log root of a platform (default: the detected one)."""
    platform = detect_platform() if platform is None else platform
    if platform not in PLATFORMS:
        raise ValueError(f"`platform` must be one of {PLATFORMS}. Received: platform={platform!r}")
    if platform == "local":
        return os.path.join(os.getcwd(), "tensorflow_logs")
    return _LOG_ROOTS[platform]


def validate_experiment(experiment):
    """Check an experiment name usable as one folder name; return it."""
    if not isinstance(experiment, str) or not experiment.strip():
        raise ValueError(
            "`experiment` must be a non-empty string naming the run. "
            f"Received: experiment={experiment!r}"
        )
    bad = [c for c in ("/", "\\", os.sep, "\0") if c in experiment]
    if bad or experiment in (".", "..") or experiment != experiment.strip():
        raise ValueError(
            "`experiment` must be a plain folder name: no path separators, no "
            "surrounding spaces, not '.' or '..'. "
            f"Received: experiment={experiment!r}"
        )
    return experiment


def log_dir(experiment, root=None):
    """Create and return a fresh run folder `<root>/<experiment>_%Y_%m_%d-%H_%M_%S`.

    `root` defaults to the platform's log root: `/content/tensorflow_logs` on
    Colab, `./tensorflow_logs` on Kaggle, `<cwd>/tensorflow_logs` locally. Two
    runs started in the same second get distinct folders (`..._2`, `..._3`).

    Example:
    >>> import tempfile, keras_transfer as kt
    >>> path = kt.log_dir("demo", root=tempfile.mkdtemp())
    >>> os.path.basename(path).startswith("demo_")
    True
    """
    validate_experiment(experiment)
    root = log_root() if root is None else os.fspath(root)
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as e:
        raise ValueError(
            f"Cannot create the log root folder ({e.strerror}). Pass a writable folder. "
            f"Received: root={root!r}"
        ) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ValueError(f"The log root folder is not writable. Received: root={root!r}")
    base = os.path.join(root, time.strftime(f"{experiment}_%Y_%m_%d-%H_%M_%S"))
    path, n = base, 1
    while True:
        try:
            os.makedirs(path)
            return path
        except FileExistsError:
            n += 1
            path = f"{base}_{n}"
        except OSError as e:
            raise ValueError(
                f"Cannot create the run folder {path!r} ({e.strerror}). Received: root={root!r}"
            ) from None


def cache_root():
    """`$KERAS_TRANSFER_CACHE`, or `~/.cache/keras_transfer`: where the toolkit
    keeps what it can recompute (frozen features, compiled programs)."""
    return os.environ.get("KERAS_TRANSFER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_transfer"
    )
