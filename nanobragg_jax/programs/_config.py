"""The process-wide JAX set-up of a rendering process: the CLI's and every series worker's.

Library imports never change JAX's configuration; a process that renders frames calls
`configure_jax` once, explicitly (the `nanobragg` command, a Dask worker before its first frame).
"""

from __future__ import annotations

import os
import sys
from typing import Optional


def cache_dir() -> str:
    """The root of the compile caches: $NANOBRAGG_CACHE_DIR, default ~/.cache/nanobragg_jax/jax."""
    return os.environ.get("NANOBRAGG_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "nanobragg_jax", "jax")


def executable_dir() -> str:
    """Where the frame programs' executables are kept (`compiled_program`'s store)."""
    return os.path.join(cache_dir(), "executables")


def configure_jax(compile_cache: bool = True, warn=None) -> Optional[str]:
    """x64 always (float32 mode still sets up in float64); JAX's persistent compile cache under
    `cache_dir()` unless compile_cache is False.

    Arguments:
        compile_cache: use the caches (the CLI's --no-cache turns them off).
        warn: called with a one-line message when the cache folder cannot be made (default: print
            `nanobragg: warning: ...` on stderr).
    Returns:
        the executable store folder to pass to the frame programs, or None (no caches).
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    if not compile_cache:
        return None
    path = cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        message = f"compile cache off, cannot create {path}: {exc.strerror}"
        if warn is None:
            print(f"nanobragg: warning: {message}", file=sys.stderr)
        else:
            warn(message)
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    return executable_dir()
