"""JAX set-up of the companion programs: x64 and the caches, as `nanobragg` does for itself."""

from __future__ import annotations

import os


def cache_dir() -> str:
    """$NANOBRAGG_CACHE_DIR, default ~/.cache/nanobragg_jax/jax (shared with `nanobragg`)."""
    return os.environ.get("NANOBRAGG_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "nanobragg_jax", "jax")


def executable_dir():
    """Where compiled programs are kept, or None when the folder cannot be made."""
    path = os.path.join(cache_dir(), "executables")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path


def configure_jax() -> None:
    """float64 (the C programs compute in double) and JAX's compile cache."""
    import jax

    jax.config.update("jax_enable_x64", True)
    path = cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
