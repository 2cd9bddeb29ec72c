"""Compiled programs kept on disk and found WITHOUT tracing (the CLI's warm start).

JAX's persistent compilation cache is keyed on the lowered program, so every run still pays for
tracing and lowering (~0.5 s for the render) before it can look anything up.  This store is keyed
on what determines the program instead: the caller's description of everything the traced function
closes over, the shapes and dtypes of its arguments, this package's source code, and the JAX
version, backend and XLA flags.  A hit deserializes the executable (~0.05 s for the Pilatus
render program) and never traces.

A store that cannot be read or written (corrupt file, other JAX build, read-only disk) is a miss:
the program is compiled as usual, so the cache can only cost time, never change a result.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import uuid
from typing import Any, Callable, Sequence

import jax
import numpy as np

from nanobragg_jax.io import atomic_write_bytes

# Entries kept (newest by modification time); each is one program for one experiment layout.
MAX_ENTRIES = 64
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole package


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """sha256 over this package's Python sources: any edit of the code invalidates every entry."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(_PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            h.update(os.path.relpath(path, _PACKAGE_DIR).encode())
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def _environment() -> tuple:
    """What makes an executable valid on this machine: versions, backend, device, compile flags."""
    import jaxlib

    dev = jax.devices()[0]
    return (sys.version, jax.__version__, jaxlib.__version__, dev.platform, dev.device_kind,
            jax.device_count(), bool(jax.config.jax_enable_x64), os.environ.get("XLA_FLAGS", ""),
            source_fingerprint())


def _signature(args) -> tuple:
    leaves, tree = jax.tree_util.tree_flatten(args)
    return str(tree), tuple((np.shape(x), str(np.result_type(x))) for x in leaves)


def cache_key(name: str, closure: bytes, args) -> str:
    """Key for program `name` whose traced body depends on `closure` (bytes) and `args`."""
    h = hashlib.sha256()
    h.update(pickle.dumps((name, _environment(), _signature(args)), protocol=4))
    h.update(closure)
    return h.hexdigest()


def _prune(directory: str) -> None:
    try:
        entries = [os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".exe")]
        if len(entries) > MAX_ENTRIES:
            entries.sort(key=os.path.getmtime)
            for path in entries[: len(entries) - MAX_ENTRIES]:
                os.remove(path)
    except OSError:
        pass


def _load(path: str):
    from jax.experimental import serialize_executable

    with open(path, "rb") as fh:
        blob, in_tree, out_tree = pickle.load(fh)
    os.utime(path)  # most recently used survives pruning
    return serialize_executable.deserialize_and_load(blob, in_tree, out_tree)


def _store(path: str, compiled) -> None:
    from jax.experimental import serialize_executable

    payload = pickle.dumps(serialize_executable.serialize(compiled), protocol=4)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    atomic_write_bytes(path, payload)  # readers see the whole file or none
    _prune(directory)


def _fresh_compile(fn: Callable, args):
    """A real compile, never an executable from JAX's own persistent cache.

    On XLA:CPU an executable that JAX loaded from its cache serializes without its compiled
    kernels ("Function ... not found" when the stored copy runs).  JAX decides once per process
    whether it uses its cache, so a config switch cannot reliably bypass it; a program name
    no cache entry can have does.  A huge minimum compile time keeps JAX from storing the
    one-off entry (our own store keeps the executable)."""
    def program(*a):
        return fn(*a)

    program.__name__ = program.__qualname__ = f"nanobragg_{uuid.uuid4().hex}"
    previous = jax.config.jax_persistent_cache_min_compile_time_secs
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1e9)
    try:
        return jax.jit(program).lower(*args).compile()
    finally:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", previous)


def compiled_program(fn: Callable, args: Sequence[Any], *, name: str, closure: bytes,
                     directory: str | None, reload: bool = True) -> Callable:
    """`jax.jit(fn)` compiled for `args`, from `directory` when an entry exists (no tracing).

    `closure` must capture everything `fn` reads besides its arguments (static set-up, layout,
    chunking); two calls with equal `closure` and argument shapes must trace to the same program.
    directory None: compile without the store.  reload False: compile afresh and overwrite the
    entry (for a stored executable that failed to run).

    Arguments:
        fn: the function to compile (traced with jax.jit on a miss).
        args: example arguments (arrays or pytrees of them); only their shapes and dtypes count.
        name: the program's name, part of the store key (`cache_key`).
        closure: bytes describing what `fn` closes over, part of the key (see above).
        directory: the store folder, or None.
        reload: use a stored entry when one exists.
    Returns:
        The compiled executable: a callable taking arguments of `args`'s structure, shapes and
        dtypes.  An unreadable entry, or one that cannot be stored, is treated as a miss (no
        error is raised for the store).
    """
    if directory is None:
        return jax.jit(fn).lower(*args).compile()
    path = os.path.join(directory, cache_key(name, closure, args) + ".exe")
    if reload and os.path.exists(path):
        try:
            return _load(path)
        except Exception:  # noqa: BLE001 - any unreadable entry is a miss; it is rewritten below
            pass
    compiled = _fresh_compile(fn, args)
    try:
        _store(path, compiled)
    except Exception:  # noqa: BLE001 - a backend without serialization or a full disk: no store
        pass
    return compiled
