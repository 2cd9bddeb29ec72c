"""The rendering kernel: one pure function of the Model, scanned over chunks of pixel rows.

Loop order and accumulation follow nanoBragg.c's pixel loop (L2643-3071, c-behaviour A1-A10):
pixel -> detector layer -> sub-pixel (slow, fast) -> source -> phi step -> mosaic domain.  Inside a
chunk everything is vectorised over (pixel, layer*subpixel, source, phi, domain); the carry
(`carry.py`) threads the run-order state C keeps between pixels: the phi=0 vectors (c-parity only)
and the one-way switch that turns structure-factor interpolation off (both modes, as C does).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import numpy as np

from . import physics as ph
from . import structure_factors as sf
from .carry import carry_for_mode
from .experiment import Layout, Model, as_dtype

# Elements of size (pixels x samples) one chunk may hold; sets the rows per chunk.
DEFAULT_SAMPLE_BUDGET = 1 << 21


def samples_per_pixel(layout: Layout) -> int:
    return (
        layout.thicksteps * layout.oversample**2 * layout.sources * layout.phisteps * layout.mosaic_domains
    )


def default_chunk_rows(layout: Layout, budget: int = DEFAULT_SAMPLE_BUDGET) -> int:
    per_row = max(1, layout.fpixels * samples_per_pixel(layout))
    return int(max(1, min(layout.spixels, budget // per_row)))


# ----------------------------------------------------------------------------------------------
# Per-chunk physics
# ----------------------------------------------------------------------------------------------


def _subpixel_geometry(model: Model, spix, fpix):
    """Positions of every (layer, sub-pixel) sample of the chunk's pixels (C A1, G10).

    Returns diffracted unit vectors (P, Q, 3), airpath (P, Q) and the layer index per sample (Q,).
    """
    L, det = model.layout, model.detector
    os_ = L.oversample
    sub = det.pixel_size / os_
    k = jnp.arange(os_, dtype=sub.dtype)
    Fdet = sub * (fpix[:, None] * os_ + k[None, :]) + sub / 2.0  # (P, os)
    Sdet = sub * (spix[:, None] * os_ + k[None, :]) + sub / 2.0
    Odet = jnp.arange(L.thicksteps, dtype=sub.dtype) * det.thickstep  # (T,)
    pos = (
        Fdet[:, None, None, :, None] * det.fdet
        + Sdet[:, None, :, None, None] * det.sdet
        + Odet[None, :, None, None, None] * det.odet
        + det.pix0
    )  # (P, T, os_s, os_f, 3)
    pos = pos.reshape(pos.shape[0], -1, 3)
    if L.curved:
        # C quirk G10: the flat position's lab y and z components become rotation angles about
        # the (rotated) slow and fast axes, starting from distance * beam.
        start = det.distance * det.beam
        step1 = ph.rotate_axis(jnp.broadcast_to(start, pos.shape), det.sdet, pos[..., 1] / det.distance)
        pos = ph.rotate_axis(step1, det.fdet, pos[..., 2] / det.distance)
    airpath = ph.safe_norm(pos)
    diffracted = pos / airpath[..., None]
    layer = jnp.repeat(jnp.arange(L.thicksteps), os_ * os_)
    return diffracted, airpath, layer


def _solid_angle(model: Model, airpath):
    det = model.detector
    if model.layout.point_pixel:
        return 1.0 / airpath / airpath
    return det.pixel_size * det.pixel_size / airpath / airpath * det.close_distance / airpath


def _capture_fraction(model: Model, diffracted, layer):
    det = model.detector
    if not model.layout.has_thickness:
        return jnp.ones(diffracted.shape[:-1], diffracted.dtype)
    parallax = ph.dot(diffracted, det.odet)
    t = layer.astype(diffracted.dtype)
    return jnp.exp(-t * det.thickstep * det.mu / parallax) - jnp.exp(-(t + 1.0) * det.thickstep * det.mu / parallax)


def _lattice_factor(model: Model, hkl):
    """F_latt for every sample (C6).  hkl: (..., 3) fractional indices."""
    L, cr = model.layout, model.crystal
    N = cr.N.astype(hkl.dtype)
    if L.shape == "square":
        out = jnp.ones(hkl.shape[:-1], hkl.dtype)
        for i in range(3):
            # C applies sincg only for axes with N > 1.
            out = out * jnp.where(N[i] > 1.0, ph.sincg(hkl[..., i], N[i]), 1.0)
        return out
    dh = hkl - ph.c_round_half_down(hkl)
    NNN = N[0] * N[1] * N[2]
    if L.shape == "round":
        hrad_sqr = (dh * dh * N * N).sum(-1)
        x = jnp.pi * jnp.sqrt(jnp.where(hrad_sqr * cr.fudge > 0, hrad_sqr * cr.fudge, 0.0))
        return NNN * ph.ROUND_XTAL_SCALE * ph.sinc3(x)
    # C quirk C6: gauss and tophat use |dh a* + dk b* + dl c*|^2 in 1/A^2 times (Na Nb Nc)^2.
    dstar = jnp.einsum("...j,jx->...x", dh, cr.recip.astype(hkl.dtype))
    rad_star_sqr = (dstar * dstar).sum(-1) * NNN * NNN
    if L.shape == "gauss":
        return NNN * jnp.exp(-(rad_star_sqr / 0.63 * cr.fudge))
    if L.shape == "tophat":
        return NNN * (rad_star_sqr * cr.fudge < 0.3969).astype(hkl.dtype)
    raise ValueError(f"unknown crystal shape {L.shape!r}")


def _exclusive_first(flags):
    """True at the first True of a flat C-ordered boolean array."""
    c = jnp.cumsum(flags.astype(jnp.int32))
    return flags & (c == 1)


def _chunk(model: Model, carry, state, interp_on, row0, rows: int):
    """Render `rows` pixel rows starting at row0.  Returns (state, interp_on, image rows)."""
    L, det, beam, cr, sw = model.layout, model.detector, model.beam, model.crystal, model.sweep
    dt = det.pix0.dtype
    F = L.fpixels
    r = row0 + jnp.arange(rows)
    spix = jnp.repeat(r, F)
    fpix = jnp.tile(jnp.arange(F), rows)
    P = rows * F

    # --- which pixels C renders: ROI (inclusive) and mask (O2) ------------------------------
    xmin, xmax, ymin, ymax = L.roi
    active = (spix < L.spixels) & (fpix >= xmin) & (fpix <= xmax) & (spix >= ymin) & (spix <= ymax)
    if L.has_mask:
        flat_mask = det.mask.reshape(-1)
        active = active & jnp.take(flat_mask, jnp.clip(spix, 0, L.spixels - 1) * F + fpix)

    # --- detector samples -----------------------------------------------------------------------
    diffracted, airpath, layer = _subpixel_geometry(model, spix.astype(dt), fpix.astype(dt))
    omega = _solid_angle(model, airpath)  # (P, Q)
    capture = _capture_fraction(model, diffracted, layer)  # (P, Q)
    Q = diffracted.shape[1]

    # --- sources ----------------------------------------------------------------------------------
    inc = beam.incident.astype(dt)  # (S, 3)
    lam = beam.wavelength.astype(dt)
    scattering = (diffracted[:, :, None, :] - inc[None, None]) / lam[None, None, :, None]  # (P,Q,S,3)
    reach = jnp.broadcast_to(active[:, None, None], scattering.shape[:-1])
    if L.use_dmin:
        stol = 0.5 * ph.safe_norm(scattering)
        # C A8: skipped before the phi loop (matters for the carry).
        skip = (stol > 0) & (cr.dmin > 0.5 / jnp.where(stol > 0, stol, 1.0))
        reach = reach & ~skip

    need_all_polar = L.oversample_polar or L.use_dmin
    if L.nopolar and not L.oversample_polar:
        polar_samples = None
        polar_pixel = jnp.ones((P,), dt)
    else:
        if need_all_polar:
            polar_samples = ph.polarization_factor(
                beam.kahn, inc[None, None], diffracted[:, :, None, :], beam.polar_vector
            )  # (P,Q,S)
            # C A3: the first sample (sub-pixel, source) that survives dmin sets polar.
            flat = reach.reshape(P, -1)
            first = jnp.argmax(flat, axis=1)
            polar_pixel = jnp.where(
                flat.any(axis=1), jnp.take_along_axis(polar_samples.reshape(P, -1), first[:, None], 1)[:, 0], 0.0
            )
        else:
            polar_samples = None
            polar_pixel = ph.polarization_factor(beam.kahn, inc[0], diffracted[:, 0, :], beam.polar_vector)
            polar_pixel = jnp.where(active, polar_pixel, 0.0)

    # --- crystal vectors per phi step and domain ---------------------------------------------------
    phis = sw.phi0 + sw.phistep * jnp.arange(L.phisteps, dtype=dt)
    cell = cr.cell.astype(dt)
    phi_cells = ph.rotate_axis(cell[None, :, :], sw.spindle[None, None, :], phis[:, None])  # (Φ,3,3)
    evaluated_any = reach.any()
    state, first_cells, other_cells = carry.step(state, phis, phi_cells, evaluated_any)
    umats = cr.umats.astype(dt)
    # a = U_m . ap (C5: mosaic applied after phi, in the lab frame)
    cells = jnp.einsum("myx,fjx->fmjy", umats, other_cells)  # (Φ, M, 3, 3)
    hkl = jnp.einsum("pqsy,fmjy->pqsfmj", scattering, cells)  # (P,Q,S,Φ,M,3)
    # The chunk's first evaluation starts from the carried vectors.  Both carries take this same
    # path (the spec carry hands back identical vectors), so spec and c-parity share every
    # operation and agree bit for bit wherever the carryover does not apply.
    is_first = _exclusive_first(reach.reshape(-1)).reshape(reach.shape)
    s_first = scattering.reshape(-1, 3)[jnp.argmax(is_first.reshape(-1))]
    cells_first = jnp.einsum("myx,fjx->fmjy", umats, first_cells)
    hkl_first = jnp.einsum("y,fmjy->fmj", s_first, cells_first)
    hkl = jnp.where(is_first[:, :, :, None, None, None], hkl_first, hkl)

    # --- structure factors and lattice transform ----------------------------------------------------
    F_latt = _lattice_factor(model, hkl)
    hkl0 = ph.c_round_half_down(hkl)
    evaluated = reach[..., None, None]
    if not L.water:
        # C L2868: `if (F_latt == 0.0 && water_size == 0.0) continue;`
        evaluated = evaluated & (F_latt != 0.0)
    F_near = sf.nearest_F(cr, hkl0[..., 0], hkl0[..., 1], hkl0[..., 2], L.has_table)
    if L.interpolate:
        oor = sf.interpolation_out_of_range(cr, hkl[..., 0], hkl[..., 1], hkl[..., 2])
        trigger = (evaluated & oor).reshape(-1)
        # C quirk F4: the first out-of-range stencil switches interpolation off for the rest of
        # the run; that evaluation already uses the nearest reflection.
        still_on = interp_on & (jnp.cumsum(trigger.astype(jnp.int32)) == 0).reshape(oor.shape)
        F_interp = sf.interpolated_F(cr, hkl[..., 0], hkl[..., 1], hkl[..., 2])
        F_cell = jnp.where(still_on, F_interp, F_near)
        interp_on = interp_on & ~trigger.any()
    else:
        F_cell = F_near
    term = jnp.where(evaluated, F_cell * F_cell * F_latt * F_latt, 0.0)  # (P,Q,S,Φ,M)

    # --- accumulate (A5, A6, A7) -------------------------------------------------------------------
    if L.oversample_thick or L.oversample_polar or L.oversample_omega:
        factor = jnp.ones(term.shape, dt)
        if L.oversample_thick:
            factor = factor * capture[:, :, None, None, None]
        if L.oversample_polar:
            factor = factor * polar_samples[:, :, :, None, None]
        if L.oversample_omega:
            factor = factor * omega[:, :, None, None, None]
        # C quirk A5: each factor scales the RUNNING sum after every term, so term k is scaled
        # by the product of the factors of every later evaluated term (I_bg by all of them).
        factor = jnp.where(evaluated, factor, 1.0).reshape(P, -1)
        suffix = jnp.flip(jnp.cumprod(jnp.flip(factor, 1), axis=1), 1)
        I = cr.I_bg * suffix[:, 0] + (term.reshape(P, -1) * suffix).sum(axis=1)
    else:
        I = cr.I_bg + term.reshape(P, -1).sum(axis=1)

    pixel = ph.R_E_SQR * beam.fluence * I / L.steps
    if not L.oversample_thick:
        # C quirk A4: only the LAST layer's capture fraction (taken at its first sub-pixel).
        pixel = pixel * capture[:, (L.thicksteps - 1) * L.oversample**2]
    if not L.oversample_polar:
        pixel = pixel * polar_pixel
    if not L.oversample_omega:
        # C quirk A2: the solid angle of the FIRST sub-pixel stands for the whole pixel.
        pixel = pixel * omega[:, 0]
    pixel = jnp.where(active, pixel, 0.0)
    return state, interp_on, pixel.reshape(rows, F)


# ----------------------------------------------------------------------------------------------
# Scan over chunks
# ----------------------------------------------------------------------------------------------


def _cast_model(model: Model) -> Model:
    dt = as_dtype(model.layout)

    def cast(x):
        if isinstance(x, jax.Array) or isinstance(x, np.ndarray):
            if jnp.issubdtype(x.dtype, jnp.floating):
                return jnp.asarray(x, dt)
        return x

    return jax.tree_util.tree_map(cast, model)


@functools.partial(jax.jit, static_argnames=("chunk_rows", "chunks", "checkpoint"))
def _render_block(model: Model, state, interp_on, row0, chunk_rows: int, chunks: int, checkpoint: bool = False):
    carry = carry_for_mode(model.layout.mode)

    def body(c, i):
        st, on = c
        fn = functools.partial(_chunk, model, carry, rows=chunk_rows)
        if checkpoint:
            fn = jax.checkpoint(fn)
        st, on, img = fn(st, on, row0 + i * chunk_rows)
        return (st, on), img

    (state, interp_on), imgs = lax.scan(body, (state, interp_on), jnp.arange(chunks))
    return state, interp_on, imgs.reshape(chunks * chunk_rows, model.layout.fpixels)


def render(
    model: Model,
    *,
    chunk_rows: Optional[int] = None,
    blocks: int = 1,
    progress: Optional[Callable[[int, int], None]] = None,
    checkpoint: bool = False,
):
    """Render the float image (spixels, fpixels) in the layout's dtype.

    Differentiable and traceable (call it inside jit/grad/vmap).  `blocks` > 1 splits the scan
    into that many jitted calls so a progress callback can report rows done after each.
    """
    model = _cast_model(model)
    L = model.layout
    if chunk_rows is None:
        chunk_rows = default_chunk_rows(L)
    chunk_rows = int(max(1, min(chunk_rows, L.spixels)))
    total_chunks = -(-L.spixels // chunk_rows)
    blocks = int(max(1, min(blocks, total_chunks)))
    per_block = -(-total_chunks // blocks)
    carry = carry_for_mode(L.mode)
    state = carry.init(model.crystal.cell.astype(as_dtype(L)))
    interp_on = jnp.asarray(L.interpolate)
    pieces = []
    row0 = 0
    for b in range(blocks):
        state, interp_on, img = _render_block(
            model, state, interp_on, jnp.asarray(row0), chunk_rows, per_block, checkpoint
        )
        pieces.append(img)
        row0 += per_block * chunk_rows
        if progress is not None:
            jax.block_until_ready(img)
            progress(min(row0, L.spixels), L.spixels)
        if row0 >= L.spixels:
            break
    image = pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=0)
    return image[: L.spixels]


@functools.partial(jax.jit, static_argnames=("chunk_rows",))
def _solid_angle_rows(model: Model, row0, chunk_rows: int):
    L = model.layout
    F = L.fpixels
    r = row0 + jnp.arange(chunk_rows)
    spix = jnp.repeat(r, F)
    fpix = jnp.tile(jnp.arange(F), chunk_rows)
    xmin, xmax, ymin, ymax = L.roi
    active = (spix < L.spixels) & (fpix >= xmin) & (fpix <= xmax) & (spix >= ymin) & (spix <= ymax)
    if L.has_mask:
        active = active & jnp.take(model.detector.mask.reshape(-1), jnp.clip(spix, 0, L.spixels - 1) * F + fpix)
    dt = model.detector.pix0.dtype
    _, airpath, _ = _subpixel_geometry(model, spix.astype(dt), fpix.astype(dt))
    omega = _solid_angle(model, airpath)
    # C adds the pixel's cached solid angle once per sub-pixel and layer (A2).
    per_sample = omega if L.oversample_omega else jnp.broadcast_to(omega[:, :1], omega.shape)
    return jnp.where(active[:, None], per_sample, 0.0).sum()


def solid_angle_sum(model: Model) -> float:
    """C's `omega_sum`: the solid angle it accumulates over every rendered sample (for the
    "solid angle subtended by detector = omega_sum/steps" line)."""
    model = _cast_model(model)
    L = model.layout
    rows = max(1, min(L.spixels, (1 << 20) // max(1, L.fpixels * L.thicksteps * L.oversample**2)))
    total = 0.0
    for row0 in range(0, L.spixels, rows):
        total += float(_solid_angle_rows(model, jnp.asarray(row0), rows))
    return total
