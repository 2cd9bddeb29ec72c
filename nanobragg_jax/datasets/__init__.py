"""Datasets: many frames of one experiment, each equal to a single `nanobragg` run.

    nanobragg series <nanoBragg flags> --frames N --out out/name_#####.img [options]

`run_series` is that command: rotation sweeps (`-phi phi0 + i*osc`, noise seed `-seed + i`) and
still series (an orientation per frame, optional drawn -N, -cell, -lambda), written by a frame
writer chosen by the template's suffix (`register_frame_writer`), with a JSON manifest, a progress
bar, one compiled program for all frames on every local device, Dask for more processes, and
--resume.  `frame_products` is what one float image becomes (the command line uses it too).

Importing this package imports neither JAX nor Dask nor rich.
"""

from nanobragg_jax.datasets._engine import FrameMaker as FrameMaker
from nanobragg_jax.datasets._engine import SeriesJob as SeriesJob
from nanobragg_jax.datasets._plan import FrameTask as FrameTask
from nanobragg_jax.datasets._plan import Variation as Variation
from nanobragg_jax.datasets._products import FrameProducts as FrameProducts
from nanobragg_jax.datasets._products import PanelProducts as PanelProducts
from nanobragg_jax.datasets._products import check_finite as check_finite
from nanobragg_jax.datasets._products import detector_counts as detector_counts
from nanobragg_jax.datasets._products import frame_products as frame_products
from nanobragg_jax.datasets._products import panel_frame_products as panel_frame_products
from nanobragg_jax.datasets._products import run_warnings as run_warnings
from nanobragg_jax.datasets._series import run_series as run_series
from nanobragg_jax.datasets._series import series_parser as series_parser
from nanobragg_jax.datasets._writers import Frame as Frame
from nanobragg_jax.datasets._writers import FrameWriter as FrameWriter
from nanobragg_jax.datasets._writers import Template as Template
from nanobragg_jax.datasets._writers import frame_writers as frame_writers
from nanobragg_jax.datasets._writers import register_frame_writer as register_frame_writer
