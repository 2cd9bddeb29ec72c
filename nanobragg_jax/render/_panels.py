"""Rendering a group of equally sized panels: the panel axis around `render_block`.

A multi-panel Model has the single-panel pytrees, except that every leaf of its Detector carries a
leading panel axis (`setup.build_panel_models`).  `render_panels` scans over that axis; each step
renders one whole panel with the unchanged kernel (`render_block`, the same chunk plan as `render`),
starting the run-order state afresh: each panel is its own nanoBragg run, so in c-parity the phi
carry (and the interpolation switch, F4) restart at every panel's first pixel (specs/panels.md).
A scan, not a vmap: memory stays that of one panel and the per-panel work is unchanged, so P panels
cost what one panel of the same pixel count costs (bench/bench_panels.py).
"""

from __future__ import annotations

from typing import Optional

import jax.lax as lax
import jax.numpy as jnp
from jaxtyping import Array, Float

from nanobragg_jax.layout import block_plan, default_chunk_rows
from nanobragg_jax.render._kernel import initial_carry, render_block
from nanobragg_jax.render._pixel_geometry import cast_model
from nanobragg_jax.render._pytrees import Model


def render_panels(model: Model, *, chunk_rows: Optional[int] = None, checkpoint: bool = False,
                  solid_angle: bool = False) -> Float[Array, "panels spixels fpixels"]:
    """The float images of P equally sized panels: photons per pixel, each panel rendered as its
    own nanoBragg run (C's pixel loop, nanoBragg.c L2643-3071).

    Differentiable and traceable (jit, grad, jvp, vmap), like `render`.

    Arguments:
        model: a Model whose Detector leaves have a leading panel axis P (pix0, fdet, sdet, odet
            (P, 3); pixel_size, close_distance, distance, thickstep, mu (P,); beam (P, 3);
            mask (P, spixels, fpixels) or None); the layout is the panels' common one.
        chunk_rows: pixel rows per chunk (default: the sample budget's, as `render`, evened out
            so that the chunks cover the panel with less than one row of padding each).
        checkpoint: recompute each chunk in the backward pass (flat reverse-mode memory).
        solid_angle: also return each panel's C omega_sum (the solid-angle line's sum).
    Returns:
        (P, spixels, fpixels) images in the layout's dtype; with solid_angle, also the (P,)
        sums of the rendered samples' solid angles (divide by layout.steps for C's line).
    """
    model = cast_model(model)
    L = model.layout
    if chunk_rows is None:
        # The budget's rows, evened out over the panel: a panel has few chunks (a 512-row module
        # in 204-row chunks would compute 612 rows), so the padding is spread, not wasted.
        chunks = -(-L.spixels // default_chunk_rows(L))
        chunk_rows = -(-L.spixels // chunks)
    plan = block_plan(L, chunk_rows, 1)
    chunks = plan.chunks_per_block * plan.blocks

    def one_panel(_, detector):
        m = Model(detector=detector, beam=model.beam, crystal=model.crystal,
                  spindle=model.spindle, layout=L)
        state, interp_on = initial_carry(m)  # a new run: the carry starts from this panel's pixel 0
        _, _, image, omega = render_block(m, state, interp_on, jnp.asarray(0), plan.chunk_rows,
                                          chunks, checkpoint)
        return None, (image[: L.spixels], omega)

    _, (images, omegas) = lax.scan(one_panel, None, model.detector)
    return (images, omegas) if solid_angle else images
