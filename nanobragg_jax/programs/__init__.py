"""Compiled programs kept on disk: the CLI's whole frame as one program whose executable is found
without tracing on a warm start (docs/performance.md), reused for many frames (`FrameProgram`),
and the JAX set-up of a process that renders (`configure_jax`).

Importing this package imports neither the kernel nor equinox: on a cache hit nothing traceable is
loaded.
"""

from nanobragg_jax._lazy import lazy_face

_EXPORTS = {
    "background_model": "_background_frame", "render_background_frame": "_background_frame",
    "table_arrays": "_background_frame",
    "cache_dir": "_config", "configure_jax": "_config", "executable_dir": "_config",
    "compiled_program": "_executable_store",
    "FrameProgram": "_frame", "program_key": "_frame", "render_frame": "_frame",
    "PanelFrameProgram": "_panels", "panel_program_key": "_panels", "render_panel_frames": "_panels",
}

__getattr__, __dir__, __all__ = lazy_face(__name__, _EXPORTS)
