"""Datasets: many images from one experiment (orientation series rendered in vmapped batches)."""

from nanobragg_jax.datasets._orientations import iter_sweep as iter_sweep
from nanobragg_jax.datasets._orientations import misset_series as misset_series
from nanobragg_jax.datasets._orientations import orientation_sweep as orientation_sweep
from nanobragg_jax.datasets._orientations import read_missets as read_missets
from nanobragg_jax.datasets._orientations import run_sweep as run_sweep
from nanobragg_jax.datasets._orientations import write_sweep as write_sweep
