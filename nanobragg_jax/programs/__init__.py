"""Compiled programs kept on disk: the CLI's whole frame as one program whose executable is found
without tracing on a warm start (docs/performance.md), reused for many frames (`FrameProgram`),
and the JAX set-up of a process that renders (`configure_jax`).

Importing this package imports neither the kernel nor equinox: on a cache hit nothing traceable is
loaded.
"""

from nanobragg_jax.programs._config import cache_dir as cache_dir
from nanobragg_jax.programs._config import configure_jax as configure_jax
from nanobragg_jax.programs._config import executable_dir as executable_dir
from nanobragg_jax.programs._executable_store import (
    compiled_program as compiled_program,
)
from nanobragg_jax.programs._frame import FrameProgram as FrameProgram
from nanobragg_jax.programs._frame import program_key as program_key
from nanobragg_jax.programs._frame import render_frame as render_frame
from nanobragg_jax.programs._panels import PanelFrameProgram as PanelFrameProgram
from nanobragg_jax.programs._panels import panel_program_key as panel_program_key
from nanobragg_jax.programs._panels import render_panel_frames as render_panel_frames
from nanobragg_jax.programs._background_frame import background_model as background_model
from nanobragg_jax.programs._background_frame import table_arrays as table_arrays
from nanobragg_jax.programs._background_frame import (
    render_background_frame as render_background_frame,
)
