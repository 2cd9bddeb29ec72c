"""The rendering kernel: one pure function of the Model, scanned over chunks of pixel rows.

Loop order and accumulation follow nanoBragg.c's pixel loop (L2643-3071, c-behaviour A1-A10):
pixel -> detector layer -> sub-pixel (slow, fast) -> source -> phi step -> mosaic domain.  Inside a
chunk, per-pixel quantities are vectorised with pixels on the minor axis and the samples (sub-pixel
and source, then phi and domain) are walked by loops, each iteration one fused pass over the
pixels (docs/performance.md says why).  The carry (`carry.py`) threads the run-order state C keeps
between pixels: the phi=0 vectors (c-parity only) and the one-way switch that turns
structure-factor interpolation off (both modes, as C does).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import jax.lax as lax
import jax.numpy as jnp
from jaxtyping import Array, Float

from nanobragg_jax.constants import R_E_SQR
from nanobragg_jax.layout import as_dtype, block_plan, run_blocks
from nanobragg_jax.render import physics as ph
from nanobragg_jax.render import structure_factors as sf
from nanobragg_jax.render._carry import carry_for_mode
from nanobragg_jax.render._pixel_geometry import (
    capture_fraction,
    cast_model,
    pixel_capture,
    rendered_pixels,
    solid_angle,
    subpixel_geometry,
)
from nanobragg_jax.render._pytrees import Model

# Pixels per chunk are padded to a multiple of this (the widest SIMD vector, in float32 lanes).
_PIXEL_ALIGN = 16


# ----------------------------------------------------------------------------------------------
# Per-chunk physics
# ----------------------------------------------------------------------------------------------


def _lattice_terms(model: Model, h, k, l):
    """(F_latt, F_latt^2) for every sample (C6); h, k, l: fractional indices, any common shape.

    For the square shape F_latt is returned up to its sign (only its square and its zeros reach
    the image), as one quotient of the three axes' sincg numerators and denominators.
    """
    L, cr = model.layout, model.crystal
    dt = h.dtype
    N = cr.N.astype(dt)
    if L.shape == "square":
        num = den = None
        for x, n in zip((h, k, l), (N[0], N[1], N[2])):
            # C applies sincg only for axes with N > 1; sincg with N = 1 is exactly 1.
            a, b = ph.sincg_parts(x, jnp.where(n > 1.0, n, 1.0))
            num = a if num is None else num * a
            den = b if den is None else den * b
        F_latt = num / den
        return F_latt, F_latt * F_latt
    hkl = (h, k, l)
    dh = [x - ph.c_round_half_down(x) for x in hkl]
    NNN = N[0] * N[1] * N[2]
    if L.shape == "round":
        hrad_sqr = dh[0] * dh[0] * N[0] * N[0] + dh[1] * dh[1] * N[1] * N[1] + dh[2] * dh[2] * N[2] * N[2]
        x = jnp.pi * jnp.sqrt(jnp.where(hrad_sqr * cr.fudge > 0, hrad_sqr * cr.fudge, 0.0))
        F_latt = NNN * ph.ROUND_XTAL_SCALE * ph.sinc3(x)
        return F_latt, F_latt * F_latt
    # C quirk C6: gauss and tophat use |dh a* + dk b* + dl c*|^2 in 1/A^2 times (Na Nb Nc)^2.
    recip = cr.recip.astype(dt)
    dstar = [dh[0] * recip[0, i] + dh[1] * recip[1, i] + dh[2] * recip[2, i] for i in range(3)]
    rad_star_sqr = (dstar[0] * dstar[0] + dstar[1] * dstar[1] + dstar[2] * dstar[2]) * NNN * NNN
    if L.shape == "gauss":
        F_latt = NNN * jnp.exp(-(rad_star_sqr / 0.63 * cr.fudge))
    elif L.shape == "tophat":
        F_latt = NNN * (rad_star_sqr * cr.fudge < 0.3969).astype(dt)
    else:
        raise ValueError(f"unknown crystal shape {L.shape!r}")
    return F_latt, F_latt * F_latt


def lattice_factor(model: Model, hkl):
    """F_latt for (..., 3) fractional indices (the trace's per-sample entry point)."""
    return _lattice_terms(model, hkl[..., 0], hkl[..., 1], hkl[..., 2])[0]


def _sample_loop_inputs(model: Model, carry, state, reach, scattering_at):
    """Per-chunk inputs of the sample loop: crystal vectors per (phi, domain) and the chunk's
    first evaluation (C order), which starts from the carried vectors."""
    L, cr, sw = model.layout, model.crystal, model.spindle
    dt = as_dtype(L)
    QS, P = reach.shape
    phis = sw.phi0 + sw.phistep * jnp.arange(L.phisteps, dtype=dt)
    cell = cr.cell.astype(dt)
    phi_cells = ph.rotate_axis(cell[None, :, :], sw.axis[None, None, :], phis[:, None])  # (PHI,3,3)
    state, first_cells, other_cells = carry.step(state, phis, phi_cells, reach.any())
    umats = cr.umats.astype(dt)
    # a = U_m . ap (C5: mosaic applied after phi, in the lab frame); rows (phi, domain) in C order
    cells = jnp.einsum("myx,fjx->fmjy", umats, other_cells).reshape(-1, 3, 3)
    cells_first = jnp.einsum("myx,fjx->fmjy", umats, first_cells).reshape(-1, 3, 3)
    # Both carries take this same path (the spec carry hands back identical vectors), so spec
    # and c-parity share every operation and agree bit for bit where the carryover does not apply.
    # The first reached sample in C order (pixel outermost): first pixel with any reached
    # position, then its first position.  Index arithmetic only (no cumsum over the chunk).
    pixel_reached = reach.any(axis=0)
    p0 = jnp.argmax(pixel_reached)
    qs0 = jnp.argmax(lax.dynamic_index_in_dim(reach, p0, axis=1, keepdims=False))
    is_first = (
        pixel_reached[p0] & (jnp.arange(P)[None, :] == p0) & (jnp.arange(QS)[:, None] == qs0)
    )  # (QS, P)
    s_first = scattering_at(qs0, p0)  # (3,)
    hkl_first = jnp.stack(_miller(s_first, cells_first), axis=-1)  # (PHI*M, 3)
    return state, cells, is_first, hkl_first


def _miller(s, cell):
    """[h, k, l] = cell rows . scattering vector in C's dot_product order (plain multiply-adds,
    no dot_general, so they fuse into the per-sample loop).  s: (3, ...), cell (..., 3, 3)."""
    return [s[0] * cell[..., j, 0] + s[1] * cell[..., j, 1] + s[2] * cell[..., j, 2] for j in range(3)]


def _evaluate(model: Model, h, k, l, reach):
    """One sample for every pixel: (F_cell candidates, F_latt^2, evaluated, out-of-range)."""
    L, cr = model.layout, model.crystal
    _, F_latt_sqr = _lattice_terms(model, h, k, l)
    evaluated = reach
    if not L.water:
        # C L2868: `if (F_latt == 0.0 && water_size == 0.0) continue;`  Tested on the square so
        # F_latt has a single consumer and the whole chain fuses into one loop.
        evaluated = evaluated & (F_latt_sqr != 0.0)
    h0, k0, l0 = (ph.c_round_half_down(x) for x in (h, k, l))
    F_near = sf.nearest_F(cr, h0, k0, l0, L.has_table)
    return F_near, F_latt_sqr, evaluated


def _chunk(model: Model, carry, state, interp_on, row0, rows: int):
    """Render `rows` pixel rows starting at row0.

    Returns (state, interp_on, image rows, the rows' solid-angle sum over rendered samples).

    Per-pixel and per-(sub-pixel, source) quantities are vectorised with pixels on the minor axis.
    The phi steps and mosaic domains (and sub-pixels and sources) are then walked by a loop over
    samples in nanoBragg's order, each iteration one fused elementwise pass over the chunk's
    pixels: it vectorises well, holds no (pixels x samples) array, and accumulates I exactly as C
    does (I += term, in C's order).  "C order" means nanoBragg's loop order, pixel outermost.
    """
    L, det, beam, cr = model.layout, model.detector, model.beam, model.crystal
    dt = as_dtype(L)  # the per-sample loop
    gdt = det.pix0.dtype  # per-pixel geometry (float64 when available; see cast_model)
    F = L.fpixels
    # Pad the pixel axis to a multiple of the vector width: XLA's CPU loops vectorise (and run
    # several times faster) only then.  Padding pixels are inactive and dropped at the end.
    P = -(-rows * F // _PIXEL_ALIGN) * _PIXEL_ALIGN
    flat = jnp.arange(P)
    spix = row0 + flat // F
    fpix = flat % F

    active = (flat < rows * F) & rendered_pixels(model, spix, fpix)

    # --- detector samples -----------------------------------------------------------------------
    diffracted, airpath, layer = subpixel_geometry(model, spix.astype(gdt), fpix.astype(gdt))
    omega_wide = solid_angle(model, airpath)  # (Q, P), in the geometry's precision
    omega = omega_wide.astype(dt)
    capture = capture_fraction(model, diffracted, layer).astype(dt)  # (Q, P)
    Q = airpath.shape[0]

    # --- sources ----------------------------------------------------------------------------------
    inc = beam.incident.astype(gdt)  # (S, 3)
    lam = beam.wavelength.astype(gdt)
    S = inc.shape[0]
    d_stack = jnp.stack(diffracted)  # (3, Q, P)

    def scattering_at(qs, p=None):
        """(d - incident) / lambda at position qs = q * S + s (C's scattering vector), for every
        pixel or pixel p.  Computed where needed, never stored for all positions at once."""
        q, src = qs // S, qs % S
        d = lax.dynamic_index_in_dim(d_stack, q, axis=1, keepdims=False)
        if p is not None:
            d = lax.dynamic_index_in_dim(d, p, axis=1, keepdims=False)
            return ((d - inc[src]) / lam[src]).astype(dt)
        return ((d - inc[src][:, None]) / lam[src]).astype(dt)

    reach = jnp.broadcast_to(active[None, :], (Q * S, P))
    if L.use_dmin:
        scattering = [((diffracted[i][:, None, :] - inc[None, :, i, None]) / lam[None, :, None]).reshape(Q * S, P)
                      for i in range(3)]
        stol = 0.5 * ph.safe_norm3(*scattering)
        # C A8: skipped before the phi loop (matters for the carry).
        skip = (stol > 0) & (cr.dmin > 0.5 / jnp.where(stol > 0, stol, 1.0))
        reach = reach & ~skip

    need_all_polar = L.oversample_polar or L.use_dmin
    polar_samples = None
    if L.nopolar and not L.oversample_polar:
        polar_pixel = jnp.ones((P,), gdt)
    else:
        d_vec = jnp.stack(diffracted, axis=-1)  # (Q, P, 3)
        if need_all_polar:
            polar_samples = ph.polarization_factor(
                beam.kahn, inc[None, :, None, :], d_vec[:, None], beam.polar_vector
            ).reshape(Q * S, P)
            # C A3: the first sample (sub-pixel, source) that survives dmin sets polar.
            first = jnp.argmax(reach, axis=0)
            polar_pixel = jnp.where(
                reach.any(axis=0), jnp.take_along_axis(polar_samples, first[None, :], 0)[0], 0.0
            )
        else:
            polar_pixel = ph.polarization_factor(beam.kahn, inc[0], d_vec[0], beam.polar_vector)
            polar_pixel = jnp.where(active, polar_pixel, 0.0)

    polar_pixel = polar_pixel.astype(dt)
    if polar_samples is not None:
        polar_samples = polar_samples.astype(dt)

    # --- the sample loop (sub-pixel, source, phi, domain), C order ---------------------------------
    state, cells, is_first, hkl_first = _sample_loop_inputs(model, carry, state, reach, scattering_at)
    FM = cells.shape[0]
    K = Q * S * FM
    oversampled = L.oversample_thick or L.oversample_polar or L.oversample_omega
    pixel_index = jnp.arange(P)

    def per_position(qs):
        """What one (sub-pixel, source) position gives every phi step and domain.  Sliced in the
        OUTER loop, so the inner loop reads plain buffers (a dynamic slice fused into the inner
        loop would be re-indexed per element and stop it vectorising)."""
        q = qs // S
        pos = {"s": scattering_at(qs),  # (3, P)
               "first": lax.dynamic_index_in_dim(is_first, qs, keepdims=False),
               "reach": lax.dynamic_index_in_dim(reach, qs, keepdims=False)}
        if L.oversample_thick:
            pos["capture"] = lax.dynamic_index_in_dim(capture, q, keepdims=False)
        if L.oversample_polar:
            pos["polar"] = lax.dynamic_index_in_dim(polar_samples, qs, keepdims=False)
        if L.oversample_omega:
            pos["omega"] = lax.dynamic_index_in_dim(omega, q, keepdims=False)
        return pos

    def miller(pos, fm):
        hkl = _miller(pos["s"], lax.dynamic_index_in_dim(cells, fm, keepdims=False))  # 3 x (P,)
        sub = lax.dynamic_index_in_dim(hkl_first, fm, keepdims=False)  # (3,)
        return [jnp.where(pos["first"], sub[j], hkl[j]) for j in range(3)]

    def sample_loop(step, init):
        """C's loops over (sub-pixel, source) then (phi, domain): step(pos, k, fm, carry)."""

        def outer(qs, carry):
            pos = per_position(qs)
            return lax.fori_loop(0, FM, lambda fm, c: step(pos, qs * FM + fm, fm, c), carry)

        return lax.fori_loop(0, Q * S, outer, init)

    if L.interpolate:
        # C quirk F4: the first out-of-range stencil (in C order) switches interpolation off for
        # the rest of the run; that evaluation already uses the nearest reflection.  A first pass
        # finds, per pixel, the first sample that triggers.
        def first_trigger(pos, k, fm, first):
            h, kk, l = miller(pos, fm)
            _, _, evaluated = _evaluate(model, h, kk, l, pos["reach"])
            hit = evaluated & sf.interpolation_out_of_range(cr, h, kk, l)
            return jnp.where(hit & (first == K), k, first)

        trig = sample_loop(first_trigger, jnp.full((P,), K, jnp.int32))
        p_trig = jnp.where((trig < K).any(), jnp.argmax(trig < K), P)
        k_trig = trig[jnp.clip(p_trig, 0, P - 1)]
        new_interp_on = interp_on & (p_trig == P)

    def accumulate(pos, k, fm, I):
        h, kk, l = miller(pos, fm)
        F_cell, F_latt_sqr, evaluated = _evaluate(model, h, kk, l, pos["reach"])
        if L.interpolate:
            on = interp_on & ((pixel_index < p_trig) | ((pixel_index == p_trig) & (k < k_trig)))
            F_cell = jnp.where(on, sf.interpolated_F(cr, h, kk, l), F_cell)
        term = F_cell * F_cell * F_latt_sqr
        if not oversampled:
            return I + jnp.where(evaluated, term, 0.0)
        # C quirk A5: each factor scales the RUNNING sum after every evaluated term.
        J = I + term
        for name in ("capture", "polar", "omega"):
            if name in pos:
                J = J * pos[name]
        return jnp.where(evaluated, J, I)

    I = sample_loop(accumulate, jnp.broadcast_to(cr.I_bg.astype(dt), (P,)))
    if L.interpolate:
        interp_on = new_interp_on

    pixel = R_E_SQR * beam.fluence * I / L.steps
    if not L.oversample_thick:
        # C quirk A4: only the LAST layer's capture fraction (its first sub-pixel where not 0).
        pixel = pixel * pixel_capture(model, capture)
    if not L.oversample_polar:
        pixel = pixel * polar_pixel
    if not L.oversample_omega:
        # C quirk A2: the solid angle of the FIRST sub-pixel stands for the whole pixel.
        pixel = pixel * omega[0]
    pixel = jnp.where(active, pixel, 0.0).astype(dt)
    # C's omega_sum (the "solid angle subtended by detector" line): every rendered sample adds
    # its pixel's cached solid angle, the first sub-pixel's unless -oversample_omega (A2).
    per_sample = omega_wide if L.oversample_omega else jnp.broadcast_to(omega_wide[:1], omega_wide.shape)
    omega_sum = jnp.where(active[None, :], per_sample, 0.0).sum()
    return state, interp_on, pixel[: rows * F].reshape(rows, F), omega_sum


# ----------------------------------------------------------------------------------------------
# Scan over chunks
# ----------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("chunk_rows", "chunks", "checkpoint"))
def render_block(model: Model, state, interp_on, row0, chunk_rows: int, chunks: int,
                 checkpoint: bool = False):
    """Render `chunks` chunks of `chunk_rows` pixel rows from row `row0`, threading the run-order
    state: the phi carry's state and the interpolation switch (see `initial_carry`).

    Arguments:
        model: a cast Model (`cast_model`).
        state, interp_on: the carry before the first row (from `initial_carry` or a previous block).
        row0: () int, first row.  chunk_rows, chunks: static sizes.  checkpoint: recompute each chunk
            in the backward pass (reverse-mode memory flat in the image size).
    Returns:
        (state, interp_on, image rows (chunks * chunk_rows, fpixels) in the layout's dtype, the
        rows' solid-angle sum over rendered samples (C's omega_sum)).  Rows past the image are 0.
    """
    carry = carry_for_mode(model.layout.mode)

    def body(c, i):
        st, on = c
        fn = functools.partial(_chunk, model, carry, rows=chunk_rows)
        if checkpoint:
            fn = jax.checkpoint(fn)
        st, on, img, omega = fn(st, on, row0 + i * chunk_rows)
        return (st, on), (img, omega)

    (state, interp_on), (imgs, omegas) = lax.scan(body, (state, interp_on), jnp.arange(chunks))
    return state, interp_on, imgs.reshape(chunks * chunk_rows, model.layout.fpixels), omegas.sum()


def initial_carry(model: Model):
    """(phi-carry state, interpolation switch) before the first pixel of a run (model cast)."""
    L = model.layout
    state = carry_for_mode(L.mode).init(model.crystal.cell.astype(as_dtype(L)))
    return state, jnp.asarray(L.interpolate)


def render(
    model: Model,
    *,
    chunk_rows: Optional[int] = None,
    blocks: int = 1,
    progress: Optional[Callable[[int, int], None]] = None,
    checkpoint: bool = False,
) -> Float[Array, "spixels fpixels"]:
    """The float image of a Model: photons per pixel, C's pixel loop (nanoBragg.c L2643-3071).

    Differentiable and traceable (call it inside jit, grad, jvp or vmap).

    Arguments:
        model: the experiment's pytrees (`nanobragg_jax.setup.build_model`).
        chunk_rows: pixel rows per chunk of the scan (memory knob; default from a sample budget,
            `layout.default_chunk_rows`).
        blocks: split the scan into this many jitted calls, so `progress` can report between them.
        progress: called as progress(rows done, rows) after each block.
        checkpoint: recompute each chunk in the backward pass (flat reverse-mode memory).
    Returns:
        (spixels, fpixels) image in the layout's dtype.
    """
    model = cast_model(model)
    L = model.layout
    plan = block_plan(L, chunk_rows, blocks)

    def step(carry, row0):
        state, interp_on, img, _ = render_block(model, *carry, jnp.asarray(row0), plan.chunk_rows,
                                                plan.chunks_per_block, checkpoint)
        if progress is not None:
            jax.block_until_ready(img)
        return (state, interp_on), img

    _, pieces = run_blocks(step, initial_carry(model), plan, progress, spixels=L.spixels)
    image = pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=0)
    return image[: L.spixels]
