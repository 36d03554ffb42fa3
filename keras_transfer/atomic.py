"""Atomic writes: a file or folder is replaced whole, or not at all.

Every writer of the toolkit (saved models, presets, training backups, feature
cache entries, comparison results) goes through `write_file` or
`write_folder`: the content is written to a temporary sibling (on the same
file system), flushed to disk, then renamed into place with `os.replace`, so
a full disk, a crash or a kill leaves the previous version intact and never a
half-written one. Only the temporary siblings these functions create are ever
removed on failure. `check_out` checks an output path before any work starts.
"""

import errno
import os
import shutil
import tempfile

# A write is refused up front when the disk has less free space than this
# beyond the expected size (HDF5 can crash the process on a full disk).
FREE_SPACE_MARGIN_BYTES = 16 << 20


def check_out(path, name="out", kind="folder", overwrite=False, flag=None, marker=None):
    """Check an output path before any work; return it as a string.

    Refused with a `ValueError` naming the argument: a path that is not a
    non-empty string, the working directory or one of its parents, a file
    where a folder is expected (`kind="folder"`) or a folder where a file is
    expected (`kind="file"`), an existing path unless `overwrite`, and an
    existing folder holding other files than an earlier output (which holds
    `marker`), as `write_folder` would refuse to replace it.

    Args:
        path: the output path.
        name: the argument's name, for messages.
        kind: `"folder"` or `"file"`.
        overwrite: whether an existing output may be replaced.
        flag: the command-line flag that sets `overwrite` (named in messages).
        marker: for folders, the file name that marks an earlier output.
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).strip():
        raise ValueError(f"`{name}` must be a {kind} path. Received: {name}={path!r}")
    path = os.fspath(path)
    full = os.path.realpath(path)
    cwd = os.path.realpath(os.getcwd())
    if full == cwd or cwd.startswith(full.rstrip(os.sep) + os.sep) or full == os.sep:
        raise ValueError(
            f"`{name}` must not be the working directory or a folder above it: it would be "
            f"replaced whole. Name a new folder. Received: {name}={path!r}"
        )
    if kind == "folder" and os.path.exists(full) and not os.path.isdir(full):
        raise ValueError(f"`{name}` must be a folder, not a file. Received: {name}={path!r}")
    if kind == "file" and os.path.isdir(full):
        raise ValueError(f"`{name}` must be a file, not a folder. Received: {name}={path!r}")
    if os.path.exists(full) and not overwrite:
        how = f"pass {flag or 'overwrite=True'} to replace it"
        raise ValueError(f"`{name}` already exists; {how}. Received: {name}={path!r}")
    if kind == "folder" and os.path.isdir(full):
        _check_replaceable(full, marker, name, path)
    parent = os.path.dirname(full)
    while not os.path.isdir(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    if os.path.exists(parent) and not os.access(parent, os.W_OK):
        raise ValueError(
            f"`{name}` cannot be written (no write permission). Received: {name}={path!r}"
        )
    return path


def check_free_space(folder, needed_bytes, what):
    """Raise `OSError(ENOSPC)` unless `folder` has `needed_bytes` free plus a margin."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell: let the write itself decide
    if free < needed_bytes + FREE_SPACE_MARGIN_BYTES:
        raise _WriteError(
            errno.ENOSPC,
            f"Not enough disk space to write {what} ({free >> 20} MB free, about "
            f"{(needed_bytes + FREE_SPACE_MARGIN_BYTES) >> 20} MB needed); the previous "
            "version, if any, is unchanged",
        )


def write_file(path, write, suffix=None):
    """Call `write(tmp_path)`, flush the file to disk, then move it to `path`.

    The temporary file is a sibling of `path` (named `.tmp-*`, with `suffix`,
    default `path`'s extension, for writers that check it). On any error it is
    removed and `path` is left as it was; an `OSError` (a full disk, no
    permission) is raised again with a message naming `path`.

    Example:
    >>> def write(tmp):
    ...     with open(tmp, "w") as f:
    ...         f.write("done")
    >>> write_file("result.txt", write)
    >>> open("result.txt").read()
    'done'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1] if suffix is None else suffix
    try:  # a read-only folder fails here: name the file, not a temporary
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    except OSError as e:
        raise _clear_error(e, path) from e
    os.close(fd)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_folder(folder)
    except OSError as e:
        _remove_quietly(tmp)
        raise _clear_error(e, path) from e
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_folder(path, write, overwrite=False, marker=None):
    """Call `write(tmp_folder)`, then move the folder to `path`.

    An existing `path` is replaced only with `overwrite=True`, and only when
    it is empty or holds `marker` (a file name that shows the folder is an
    earlier output of the same writer): a folder of other files is never
    removed. The old folder is moved aside first and deleted only once the
    new one is in place. On any error the temporary folder is removed and
    `path` is left as it was.
    """
    path = os.fspath(path)
    full = os.path.abspath(path)
    if os.path.isdir(full):
        if not overwrite:
            raise ValueError(f"The folder already exists. Received: out={path!r}")
        _check_replaceable(full, marker, "out", path)
    parent = os.path.dirname(full)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    except OSError as e:
        raise _clear_error(e, path) from e
    old = None
    try:
        write(tmp)
        for root, _, files in os.walk(tmp):
            for name in files:
                _fsync_file(os.path.join(root, name))
        if os.path.isdir(full):
            old = tempfile.mkdtemp(prefix=".old-", dir=parent)
            os.replace(full, os.path.join(old, "previous"))
        os.replace(tmp, full)
        _fsync_folder(parent)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not os.path.exists(full):
            os.replace(os.path.join(old, "previous"), full)  # put the old one back
            os.rmdir(old)
            old = None
        if isinstance(e, OSError):
            raise _clear_error(e, path) from e
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(full, marker, name, path):
    contents = os.listdir(full)
    if contents and (marker is None or marker not in contents):
        raise ValueError(
            f"`{name}` is a folder holding files that keras_transfer did not write (no "
            f"{marker}); it is never replaced. Name a new folder. Received: {name}={path!r}"
        )


def remove_stale_temporaries(folder):
    """Remove the `.tmp-*` files a killed write left in `folder` (only those)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(".tmp-") and os.path.isfile(os.path.join(folder, name)):
            _remove_quietly(os.path.join(folder, name))


def _clear_error(error, path):
    if isinstance(error, _WriteError):
        return error
    reason = error.strerror or str(error)
    return _WriteError(
        error.errno,
        f"Could not write {path!r} ({reason}); the previous version, if any, is unchanged",
    )


class _WriteError(OSError):
    """An `OSError` whose message names the file that could not be written."""

    def __str__(self):
        return self.strerror


def _fsync_file(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.EBADF):  # file systems without fsync
            raise
    finally:
        os.close(fd)


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every platform syncs folders
    finally:
        os.close(fd)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass
