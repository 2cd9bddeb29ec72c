"""The amorphous-scattering kernel: nonBragg.c's pixel loop (L1409-1617) on our detector geometry.

For every rendered pixel, sub-pixel (slow, then fast) and source, in C's order:

    stol  = |d - i| / (2 lambda)                      d: unit diffracted direction, i: unit incident
    F     = polint(4 table points around stol)         C's Lagrange cubic (render.structure_factors)
    I    += sign(F) F^2 * polar * Omega * weight       Omega: the WHOLE pixel's solid angle, per sub-pixel
    pixel = I r_e^2 fluence molecules / (sources oversample^2)

The sample positions, solid angle, ROI and mask are the spot kernel's own (`render.subpixel_geometry`,
`render.solid_angle`, `render.rendered_pixels`), and the polarization factor is `render.physics`'
(one implementation of conventions, pivots and sampling).  Everything is a pure JAX function of the
model's arrays, so `jax.grad` reaches distance, wavelength, fluence, the sample size and density
(through `molecules`) and the table itself.

C details kept for bit-level agreement: the polarization call re-normalises the diffracted vector in
place, so source s sees d normalised s times more (only without -nopolar); the incident vector is
normalised once more inside the call; terms are summed in C's order.
"""

from __future__ import annotations

import functools
from typing import Optional

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from nanobragg_jax.constants import R_E_SQR
from nanobragg_jax.layout import Layout, block_plan, default_chunk_rows
from nanobragg_jax.render import Beam, Detector, physics, rendered_pixels, solid_angle, subpixel_geometry
from nanobragg_jax.render.structure_factors import polint

_PIXEL_ALIGN = 16
# Pixel-samples per chunk: the per-sample work is light, so chunks small enough to stay in cache
# (about 26 rows of a Pilatus frame) run faster than the spot kernel's 2M budget.
SAMPLE_BUDGET = 1 << 16


class BackgroundModel(eqx.Module):
    """One amorphous sample on a detector: what `render_background` needs.

    Attributes:
        detector, beam: the spot kernel's pytrees (SI units).  The detector's sensor layers are not
            used (nonBragg has none, NB-23); `layout.thicksteps` must be 1.
        weights: (S,) source weights (nonBragg multiplies each source's term by its weight).
        stol: (T,) table abscissae with guards, sin(theta)/lambda in 1/m (`StolTable.stol`).
        stencils: (T, 8) the fit's four abscissae and four F per index (`StolTable.stencils`).
        molecules: () molecules in the illuminated volume (volume density N_A / MW).
        grid_lo, grid_inv_h, grid_start, grid_window, search_steps: the table's search grid
            (`StolTable.search_grid`), which finds the fit index with one gather.
        polarized: static; False when the Kahn factor is exactly 0 (then C's factor is
            0.5 (1 + cos^2 2theta) whatever psi, computed without the E-B frame).
        layout: static shapes and switches (spixels, fpixels, oversample, sources, ROI, mask,
            curved, point_pixel, nopolar).
        increasing: static; the table is strictly increasing, so the fit index follows from stol
            alone (otherwise `render_background` needs the sequential indices).
        fmap: static; the pixel is the last fitted F instead of the intensity (-Fmap).
    """

    detector: Detector
    beam: Beam
    weights: Float[Array, " S"]
    stol: Float[Array, " T"]
    stencils: Float[Array, "T 8"]
    molecules: Float[Array, ""]
    grid_lo: Float[Array, ""]
    grid_inv_h: Float[Array, ""]
    grid_start: Int[Array, " M"]
    grid_window: Float[Array, "M W"]
    layout: Layout = eqx.field(static=True)
    search_steps: int = eqx.field(static=True, default=1)
    polarized: bool = eqx.field(static=True, default=True)
    increasing: bool = eqx.field(static=True, default=True)
    fmap: bool = eqx.field(static=True, default=False)


def _components_unitize(v):
    """C's unitize on three component arrays: each divided by sqrt((x^2 + y^2) + z^2); zero stays."""
    m = jnp.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    safe = jnp.where(m == 0.0, 1.0, m)
    return [jnp.where(m == 0.0, 0.0, x / safe) for x in v]


def _fit_index(model: BackgroundModel, stol):
    """The index C's search ends at for a strictly increasing table: stol[n] <= stol < stol[n+1]
    (`table.fit_index`).  The grid cell brackets it; counting the bracket's abscissae <= stol
    finds it with the same comparisons (one gather instead of a bisection over the whole table)."""
    M = model.grid_start.shape[0]
    cell = jnp.floor((stol - model.grid_lo) * model.grid_inv_h)
    cell = jnp.clip(jnp.where(jnp.isnan(cell), 0.0, cell), 0, M - 1).astype(jnp.int32)
    n = jnp.take(model.grid_start, cell)
    if model.search_steps:
        window = jnp.take(model.grid_window, cell, axis=0)  # (P, steps), inf past the bracket
        for j in range(model.search_steps):
            n = n + (window[:, j] <= stol).astype(n.dtype)
    return n


def _chunk(model: BackgroundModel, row0, rows: int, index_rows=None, details: bool = False):
    """Rows [row0, row0 + rows): (image rows, solid-angle sum, last-evaluation values per pixel)."""
    L, det, beam = model.layout, model.detector, model.beam
    dt = det.pix0.dtype
    F = L.fpixels
    P = -(-rows * F // _PIXEL_ALIGN) * _PIXEL_ALIGN
    # pixel indices by broadcasting (an integer division per pixel costs more than the physics)
    pad = P - rows * F
    spix = jnp.pad(jnp.broadcast_to(row0 + jnp.arange(rows)[:, None], (rows, F)).reshape(-1), (0, pad))
    fpix = jnp.pad(jnp.broadcast_to(jnp.arange(F)[None, :], (rows, F)).reshape(-1), (0, pad))
    active = (jnp.arange(P) < rows * F) & rendered_pixels(model, spix, fpix)
    diffracted, airpath, _ = subpixel_geometry(model, spix.astype(dt), fpix.astype(dt))
    omega = solid_angle(model, airpath)  # (Q, P), the whole pixel's area for every sub-pixel
    Q = airpath.shape[0]
    S = beam.wavelength.shape[0]
    d_all = jnp.stack(diffracted)  # (3, Q, P)
    inc = beam.incident.astype(dt)
    inc_polar = jnp.stack(_components_unitize([inc[:, 0], inc[:, 1], inc[:, 2]]), axis=-1)
    if index_rows is not None:
        index_rows = jnp.pad(index_rows, ((0, P - index_rows.shape[0]), (0, 0))).T  # (Q*S, P)

    def evaluate(k, dcur):
        """Sample k = q * S + s: (term, F, polar, stol, index, d after the polarization call)."""
        s = k % S
        sc = [(dcur[i] - inc[s, i]) / beam.wavelength[s] for i in range(3)]
        stol = 0.5 * physics.safe_norm3(*sc)
        if model.increasing:
            n = _fit_index(model, stol).astype(jnp.int32)
        else:
            n = lax.dynamic_index_in_dim(index_rows, k, keepdims=False)
        st = jnp.take(model.stencils, n, axis=0)  # (P, 8)
        Fv = polint([st[:, j] for j in range(4)], [st[:, 4 + j] for j in range(4)], stol)
        sign = jnp.where(Fv < 0.0, -1.0, 1.0)
        if L.nopolar:
            polar, dnext = jnp.ones_like(stol), dcur
        else:
            # C quirk: polarization_factor() normalises d in place; the next source sees that d.
            dnext = _components_unitize(dcur)
            if model.polarized:
                polar = physics.polarization_factor(beam.kahn, inc_polar[s], jnp.stack(dnext, axis=-1),
                                                    beam.polar_vector)
            else:  # K = 0: 0.5 ((1 + c^2) - (0 cos 2psi) s^2) is 0.5 (1 + c^2) exactly
                c = inc_polar[s, 0] * dnext[0] + inc_polar[s, 1] * dnext[1] + inc_polar[s, 2] * dnext[2]
                polar = 0.5 * (1.0 + c * c)
        om = lax.dynamic_index_in_dim(omega, k // S, keepdims=False)
        term = sign * Fv * Fv * polar * om * model.weights[s]
        return term, Fv, polar, stol, n, dnext

    def body(k, carry):
        I, dcur, _ = carry
        q, s = k // S, k % S
        d0 = lax.dynamic_index_in_dim(d_all, q, axis=1, keepdims=False)
        dcur = [jnp.where(s == 0, d0[i], dcur[i]) for i in range(3)]
        term, Fv, polar, stol, n, dnext = evaluate(k, dcur)
        om = lax.dynamic_index_in_dim(omega, q, keepdims=False)
        return I + term, dnext, (Fv, polar, om, stol, n)

    zeros = jnp.zeros((P,), dt)
    init = (zeros, [d_all[i, 0] for i in range(3)], (zeros, zeros, zeros, zeros, jnp.zeros((P,), jnp.int32)))
    if Q * S <= 4:  # unrolled: one fused pass per sample
        carry = init
        for k in range(Q * S):
            carry = body(k, carry)
        I, _, last = carry
    else:
        I, _, last = lax.fori_loop(0, Q * S, body, init)
    pixel = I * R_E_SQR * beam.fluence * model.molecules / float(L.steps) + 0.0
    if model.fmap:
        pixel = last[0]  # C: -Fmap stores the last fitted F
    pixel = jnp.where(active, pixel, 0.0)
    omega_sum = jnp.where(active[None, :], omega, 0.0).sum()
    last = tuple(x[: rows * F].reshape(rows, F) for x in last) if details else ()
    return pixel[: rows * F].reshape(rows, F), omega_sum, last


@functools.partial(jax.jit, static_argnames=("chunk_rows", "chunks", "details"))
def _scan(model: BackgroundModel, indices, chunk_rows: int, chunks: int, details: bool):
    F = model.layout.fpixels

    def body(_, i):
        row0 = i * chunk_rows
        rows_idx = None
        if indices is not None:
            rows_idx = lax.dynamic_slice_in_dim(indices, row0 * F, chunk_rows * F)
        img, omega_sum, last = _chunk(model, row0, chunk_rows, rows_idx, details)
        return None, (img, omega_sum, last)

    _, (imgs, omegas, lasts) = lax.scan(body, None, jnp.arange(chunks))
    n = chunks * chunk_rows
    return imgs.reshape(n, F), omegas.sum(), tuple(x.reshape(n, F) for x in lasts)


def render_background(
    model: BackgroundModel,
    indices: Optional[Int[Array, "pixels QS"]] = None,
    *,
    chunk_rows: Optional[int] = None,
    details: bool = False,
):
    """The amorphous-scattering image of a model: photons per pixel, nonBragg.c's pixel loop.

    Differentiable and traceable (jit, grad, jvp, vmap).

    Arguments:
        model: the sample and detector (`background_model` in `nanobragg_jax.api`, or the
            companions' set-up).
        indices: (spixels * fpixels, sub-pixels * sources) int, the fit index of every evaluation
            (`table.sequential_nearest`); required when `model.increasing` is False, ignored
            otherwise.
        chunk_rows: pixel rows per chunk of the scan (memory knob; default from a sample budget).
        details: also return, per pixel, the values of its last evaluation (C's loop variables
            after the pixel: F, polarization, solid angle, stol, fit index), which -img extraction
            and -Fmap use.
    Returns:
        (image (spixels, fpixels) in the detector's dtype, C's solid-angle sum over every rendered
        sub-pixel in steradian), plus the tuple (F, polar, omega, stol, index) of (spixels, fpixels)
        arrays when `details`.
    Raises:
        ValueError: an unordered table without indices.
    """
    L = model.layout
    if not model.increasing and indices is None:
        raise ValueError("render_background: an unordered table needs the sequential fit indices")
    plan = block_plan(L, chunk_rows or default_chunk_rows(L, SAMPLE_BUDGET), 1)
    chunks = plan.chunks_per_block * plan.blocks
    if indices is not None and not model.increasing:
        need = chunks * plan.chunk_rows * L.fpixels
        indices = jnp.asarray(indices, jnp.int32).reshape(-1, L.oversample**2 * L.sources)
        indices = jnp.pad(indices, ((0, need - indices.shape[0]), (0, 0)), constant_values=1)
    else:
        indices = None
    img, omega_sum, last = _scan(model, indices, plan.chunk_rows, chunks, details)
    img = img[: L.spixels]
    if details:
        return img, omega_sum, tuple(x[: L.spixels] for x in last)
    return img, omega_sum


def sample_stols(model: BackgroundModel):
    """(spixels, fpixels, sub-pixels * sources) stol of every evaluation, in C's order within a
    pixel, and the (spixels, fpixels) mask of rendered pixels: the input of
    `table.sequential_nearest` for an unordered table (C searches only at rendered pixels)."""
    return _stols(model)


@jax.jit
def _stols(model: BackgroundModel):
    L, det, beam = model.layout, model.detector, model.beam
    dt = det.pix0.dtype
    P = L.spixels * L.fpixels
    flat = jnp.arange(P)
    spix, fpix = flat // L.fpixels, flat % L.fpixels
    active = rendered_pixels(model, spix, fpix)
    diffracted, _, _ = subpixel_geometry(model, spix.astype(dt), fpix.astype(dt))
    Q, S = diffracted[0].shape[0], beam.wavelength.shape[0]
    out = []
    for q in range(Q):
        d = [diffracted[i][q] for i in range(3)]
        for s in range(S):
            sc = [(d[i] - beam.incident[s, i]) / beam.wavelength[s] for i in range(3)]
            out.append(0.5 * physics.safe_norm3(*sc))
            if not L.nopolar:
                d = _components_unitize(d)
    stols = jnp.stack(out, axis=-1)
    return stols.reshape(L.spixels, L.fpixels, Q * S), active.reshape(L.spixels, L.fpixels)
