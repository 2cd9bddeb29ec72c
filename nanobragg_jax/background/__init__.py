"""Amorphous scattering (water, air, ice, any glass or liquid): nonBragg.c's background on our
detector geometry, as a JAX kernel.

    table = stol_table(rows, STOL_UNITS["stol"])         # C's guards; rows from io.read_stol_file
    model = BackgroundModel(detector, beam, weights, ...)  # the spot kernel's Detector and Beam
    image, omega_sum = render_background(model)            # photons per pixel, differentiable

`polint` is C's 4-point Lagrange fit; `sequential_nearest` its stateful table search, needed only
for an unordered table (NB-7).  This package works in SI units and imports neither the command
line, the set-up nor file I/O.  The kernel's names (`BackgroundModel`, `render_background`,
`sample_stols`, and `polint`, the spot kernel's own Lagrange fit) are loaded on first use, so the table helpers import no JAX or equinox.
"""

import importlib

from nanobragg_jax.background._table import STOL_UNITS as STOL_UNITS
from nanobragg_jax.background._table import StolTable as StolTable
from nanobragg_jax.background._table import fit_index as fit_index
from nanobragg_jax.background._table import sequential_nearest as sequential_nearest
from nanobragg_jax.background._table import stol_table as stol_table

_KERNEL = ("BackgroundModel", "render_background", "sample_stols", "polint")


def __getattr__(name):
    if name in _KERNEL:
        value = getattr(importlib.import_module("nanobragg_jax.background._kernel"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nanobragg_jax.background' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_KERNEL))
