"""Compiled programs kept on disk: the CLI's whole frame as one program whose executable is found
without tracing on a warm start (docs/performance.md).

Importing this package imports neither the kernel nor equinox: on a cache hit nothing traceable is
loaded.
"""

from nanobragg_jax.programs._executable_store import (
    compiled_program as compiled_program,
)
from nanobragg_jax.programs._frame import render_frame as render_frame
from nanobragg_jax.programs._panels import render_panel_frames as render_panel_frames
from nanobragg_jax.programs._background_frame import background_model as background_model
from nanobragg_jax.programs._background_frame import table_arrays as table_arrays
from nanobragg_jax.programs._background_frame import (
    render_background_frame as render_background_frame,
)
