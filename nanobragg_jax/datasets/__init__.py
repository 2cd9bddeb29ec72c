"""Datasets: many frames of one experiment, each equal to a single `nanobragg` run.

    nanobragg series <nanoBragg flags> --frames N --out out/name_#####.img [options]

`run_series` is that command: rotation sweeps (`-phi phi0 + i*osc`, noise seed `-seed + i`) and
still series (an orientation per frame, optional drawn -N, -cell, -lambda), written by a frame
writer chosen by the template's suffix (`register_frame_writer`), with a JSON manifest, a progress
bar, one compiled program for all frames on every local device, Dask for more processes, and
--resume.  `frame_products` is what one float image becomes (the command line uses it too).

Importing this package imports neither JAX nor Dask nor rich.
"""

from nanobragg_jax._lazy import lazy_face

_EXPORTS = {
    "FrameMaker": "_engine", "SeriesJob": "_engine",
    "FrameTask": "_plan", "Variation": "_plan",
    "file_model": "_processing",
    "FrameProducts": "_products", "PanelProducts": "_products", "check_finite": "_products",
    "detector_counts": "_products", "frame_products": "_products", "panel_frame_products": "_products",
    "run_warnings": "_products",
    "run_series": "_series", "series_parser": "_series",
    "Frame": "_writers", "FrameWriter": "_writers", "Template": "_writers", "frame_writers": "_writers",
    "register_frame_writer": "_writers",
}

__getattr__, __dir__, __all__ = lazy_face(__name__, _EXPORTS)
