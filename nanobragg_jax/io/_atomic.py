"""File access at the boundary: atomic writes and input reads that fail with one clear line.

Outputs are written to a temporary file in the destination folder and moved into place with
os.replace, so a failed or interrupted run never leaves a half-written image behind.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
from typing import BinaryIO, Iterator

from nanobragg_jax.errors import InputError


def _umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path) -> Iterator[BinaryIO]:
    """Open a binary temp file next to `path`; on success it replaces `path`, on error it is removed.

    Arguments:
        path: the file to write (str or path-like).
    Returns:
        A context manager yielding the open binary handle of the temp file.
    Raises:
        InputError: the folder cannot be written (from `atomic_path`).
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        yield handle


@contextlib.contextmanager
def atomic_path(path) -> Iterator[str]:
    """A temp file name next to `path`, for writers that open files themselves (h5py, fabio): on
    success the file replaces `path` (with the mode fopen() would give: 0666 minus the umask), on
    error it is removed.

    As C's fopen() does, a symbolic link is written through (its target is replaced, the link
    stays), and a path that is not a regular file (/dev/null, a FIFO) is written into, not
    replaced: the finished temp file's bytes are copied there, then it is removed.

    Arguments:
        path: the file to write (str or path-like).
    Returns:
        A context manager yielding the temp file's name, '.<name>.<random>.tmp' in the same folder.
    Raises:
        InputError: the folder cannot be written.
    """
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)
    special = os.path.exists(path) and not os.path.isfile(path)
    if special and os.path.isdir(path):
        raise InputError(f"cannot write {path!r}: it is a folder")
    folder = os.path.dirname(os.path.abspath(path)) if not special else tempfile.gettempdir()
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield tmp
        if special:  # a device or FIFO: write into it, never replace it
            with open(tmp, "rb") as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target)
            os.unlink(tmp)
            return
        # mkstemp makes the file 0600; give it the mode fopen() would (0666 minus the umask).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def leftover_temp_files(paths) -> list:
    """Temp files `atomic_open` left next to any of `paths` (a process killed while writing them).

    Their names are '.<name>.<8 random characters>.tmp'; only those of the given names count.

    Arguments:
        paths: output file names (str or path-like); an unreadable folder is skipped.
    Returns:
        Sorted list of the leftover temp files' absolute paths.
    """
    by_folder: dict = {}
    for path in paths:
        folder, name = os.path.split(os.path.abspath(os.fspath(path)))
        by_folder.setdefault(folder, set()).add(name)
    found = []
    for folder, names in by_folder.items():
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.startswith(".") and entry.endswith(".tmp") and entry[1:-4].rsplit(".", 1)[0] in names:
                found.append(os.path.join(folder, entry))
    return sorted(found)


def atomic_write_bytes(path, data) -> None:
    """Write `data` (bytes or any C-contiguous buffer) to `path` atomically (see atomic_open).

    Arguments:
        path: the file to write (str or path-like).
        data: bytes, or a C-contiguous buffer such as a memoryview of an array.
    Raises:
        InputError: the file or its folder cannot be written (the message names the file).
    """
    try:
        with atomic_open(path) as handle:
            handle.write(data)
    except OSError as exc:
        raise InputError(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from None


def read_input_bytes(path, what: str, allow_gzip: bool = False) -> bytes:
    """All bytes of an input file (gunzipped if allowed and named .gz); InputError names the file."""
    path = os.fspath(path)
    try:
        if allow_gzip and path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        with open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"{what} {path!r}: cannot read ({reason})") from None


def read_input_text(path, what: str) -> str:
    """An input file as text; bytes map 1:1 to characters (latin-1), as C's char functions see them.

    Arguments:
        path: the file (str or path-like).
        what: how the error message names the file, e.g. "hkl file".
    Returns:
        The whole file as a str.
    Raises:
        InputError: the file cannot be read.
    """
    return read_input_bytes(path, what).decode("latin-1")
