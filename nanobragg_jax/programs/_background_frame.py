"""The background image as one compiled program, loaded from disk on a warm start (the nonbragg
drop-in and nanobragg's one-run --stol option).

The program's inputs are the plain arrays of the geometry, sources, sample and table
(`ARRAY_NAMES`), so its cache key holds only the static layout and the array shapes: a new table,
distance or wavelength reuses the stored executable.
"""

from __future__ import annotations

import pickle
from typing import Optional

import numpy as np

from nanobragg_jax.programs._executable_store import compiled_program

ARRAY_NAMES = ("pix0", "fdet", "sdet", "odet", "pixel_size", "close_distance", "distance", "beam",
               "incident", "wavelength", "weights", "polar_vector", "kahn", "fluence", "molecules",
               "stol", "stencils", "grid_lo", "grid_inv_h", "grid_start", "grid_window")


def table_arrays(table) -> tuple[dict, int]:
    """A StolTable's kernel arrays (abscissae, stencils, search grid) and its bisection steps.

    Arguments:
        table: a `background.StolTable` (abscissae sin(theta)/lambda in 1/m, guards included).
    Returns:
        (arrays, steps): arrays is a dict with "stol" (n + 4,) 1/m, "stencils" (n + 4, 8) (four
        abscissae in 1/m, then four F), and `StolTable.search_grid`'s "grid_lo" (1/m),
        "grid_inv_h" (m), "grid_start" (M,) int32, "grid_window" (M, steps) 1/m; steps is an int,
        the widest bracket of the grid.
    """
    grid = table.search_grid()
    steps = grid.pop("steps")
    return {"stol": table.stol, "stencils": table.stencils(), **grid}, steps


def background_model(arrays: dict, layout, *, increasing: bool = True, fmap: bool = False,
                     mask=None, search_steps: int = 1):
    """A `background.BackgroundModel` from the plain arrays (numpy or traced).

    Arguments:
        arrays: the ARRAY_NAMES (SI units; `incident` (S, 3) unit vectors along the beam, `weights`
            (S,), the table's arrays from `table_arrays`, `molecules` illuminated).
        layout: the render Layout (thicksteps 1).
        increasing, fmap, search_steps: the model's static switches.  mask: (spixels, fpixels)
            bool or None.
    Returns:
        background.BackgroundModel with a thickness-free Detector (thickstep and mu 0), a Beam
        from the arrays, the table arrays, and `polarized` False only when a host Kahn factor is 0.
    Raises:
        KeyError: a name of ARRAY_NAMES missing from `arrays`.
    """
    import jax.numpy as jnp

    from nanobragg_jax.background import BackgroundModel
    from nanobragg_jax.render import Beam, Detector

    a = {k: jnp.asarray(arrays[k]) for k in ARRAY_NAMES}
    try:  # the Kahn factor is a host number wherever it comes from (C's -polar)
        polarized = float(arrays["kahn"]) != 0.0
    except TypeError:  # traced: keep the general formula
        polarized = True
    zero = jnp.zeros((), a["pix0"].dtype)
    detector = Detector(pix0=a["pix0"], fdet=a["fdet"], sdet=a["sdet"], odet=a["odet"],
                        pixel_size=a["pixel_size"], close_distance=a["close_distance"],
                        distance=a["distance"], beam=a["beam"], thickstep=zero, mu=zero,
                        mask=None if mask is None else jnp.asarray(mask))
    beam = Beam(incident=a["incident"], wavelength=a["wavelength"], polar_vector=a["polar_vector"],
                kahn=a["kahn"], fluence=a["fluence"])
    return BackgroundModel(detector=detector, beam=beam, weights=a["weights"], stol=a["stol"],
                           stencils=a["stencils"], molecules=a["molecules"], grid_lo=a["grid_lo"],
                           grid_inv_h=a["grid_inv_h"], grid_start=a["grid_start"],
                           grid_window=a["grid_window"], layout=layout, search_steps=search_steps,
                           increasing=increasing, fmap=fmap, polarized=polarized)


def render_background_frame(arrays: dict, layout, *, increasing: bool = True, fmap: bool = False,
                            mask=None, details: bool = False, cache_dir: Optional[str] = None,
                            search_steps: int = 1):
    """The background image (float32 as C stores it) and C's solid-angle sum, through one compiled
    program kept in `cache_dir` (None: compile in memory).

    For an unordered table (increasing False) the fit indices of C's sequential search are computed
    first (`background.sequential_nearest`).  details: also return the last evaluation's
    (F, polar, omega, stol, index) per pixel (float64 / int32 numpy arrays).

    Arguments:
        arrays: the ARRAY_NAMES (see `background_model`; cast to float64, grid_start to int32).
        layout: the render Layout (thicksteps 1).
        increasing, fmap, search_steps: the model's static switches.
        mask: (spixels, fpixels) bool, True = render, or None.
        details: also return the last evaluation's values per pixel.
        cache_dir: the executable store folder (`compiled_program`), or None.
    Returns:
        (image (spixels, fpixels) float32 numpy in photons per pixel, omega_sum (float, sr),
        details tuple or None).
    Raises:
        KeyError: a name of ARRAY_NAMES missing from `arrays`.
        jax.errors.JaxRuntimeError: the program fails to run (with a store, after one recompile).
    """
    import jax

    arrays = {k: np.asarray(arrays[k], dtype=np.int32 if k == "grid_start" else np.float64)
              for k in ARRAY_NAMES}
    mask_arg = None if mask is None else np.asarray(mask, dtype=bool)
    indices = None
    if not increasing:
        indices = _sequential_indices(arrays, layout, mask_arg)

    def program(arrays, mask, indices):
        from nanobragg_jax.background import render_background

        model = background_model(arrays, layout, increasing=increasing, fmap=fmap, mask=mask,
                                 search_steps=search_steps)
        out = render_background(model, indices, details=details)
        return (out[0].astype(np.float32),) + tuple(out[1:])

    closure = pickle.dumps((layout, increasing, fmap, details, search_steps), protocol=4)
    args = (arrays, mask_arg, indices)
    exe = compiled_program(program, args, name="background.frame", closure=closure,
                           directory=cache_dir)
    try:
        out = exe(*args)
    except jax.errors.JaxRuntimeError:
        if cache_dir is None:
            raise
        exe = compiled_program(program, args, name="background.frame", closure=closure,
                               directory=cache_dir, reload=False)
        out = exe(*args)
    last = tuple(np.asarray(x) for x in out[2]) if details else None
    return np.asarray(out[0]), float(out[1]), last


def _sequential_indices(arrays, layout, mask):
    """C's stateful table search over every rendered evaluation, in C's order (NB-7)."""
    from nanobragg_jax.background import sample_stols, sequential_nearest

    model = background_model(arrays, layout, increasing=True, mask=mask)
    stols, active = (np.asarray(x) for x in sample_stols(model))
    idx = np.ones(stols.shape, np.int32)
    found, _ = sequential_nearest(arrays["stol"], stols[active])
    idx[active] = found.reshape(-1, stols.shape[-1])
    return idx.reshape(-1, stols.shape[-1])
