"""The rendering kernel: one pure function of the Model, scanned over chunks of pixel rows.

Loop order and accumulation follow nanoBragg.c's pixel loop (L2643-3071, c-behaviour A1-A10):
pixel -> detector layer -> sub-pixel (slow, fast) -> source -> phi step -> mosaic domain.  Inside a
chunk, per-pixel quantities are vectorised with pixels on the minor axis and the samples (sub-pixel
and source, then phi and domain) are walked by loops, each iteration one fused pass over the
pixels (docs/performance.md says why).  The detector positions (layers x sub-pixels) come in blocks
(`layout.position_block`), so memory is flat in the oversampling; a block of several positions is
vectorised with the pixels and its terms are added to each pixel in C's order.  The carry (`carry.py`) threads the run-order state C keeps
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
from nanobragg_jax.layout import (
    DEFAULT_SAMPLE_BUDGET,
    GRAD_SAMPLE_BUDGET,
    as_dtype,
    block_plan,
    padded_pixels,
    position_block,
    positions_per_pixel,
    run_blocks,
)
from nanobragg_jax.render import physics as ph
from nanobragg_jax.render import structure_factors as sf
from nanobragg_jax.render._carry import carry_for_mode
from nanobragg_jax.render._pixel_geometry import (
    capture_fraction,
    cast_model,
    last_layer_capture,
    rendered_pixels,
    solid_angle,
    subpixel_geometry,
)
from nanobragg_jax.render._pytrees import Model

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
    """F_latt for (..., 3) fractional indices (the trace's per-sample entry point).

    Lattice shapes as in C6 (square: product of sincg over the axes with N > 1, returned up to its
    sign; round: sinc3 of h - h0 (C7); gauss and tophat: |dh a* + dk b* + dl c*|^2 in 1/A^2).

    Arguments:
        model: the Model (layout.shape picks the lattice shape; crystal.N, recip, fudge are read).
        hkl: (..., 3) fractional Miller indices h, k, l, floating.
    Returns:
        (...) F_latt, dimensionless, in hkl's dtype.
    Raises:
        ValueError: an unknown layout.shape.
    """
    return _lattice_terms(model, hkl[..., 0], hkl[..., 1], hkl[..., 2])[0]


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


def _loop(n: int, body, init, block: Optional[int] = None, checkpoint: bool = False):
    """`lax.fori_loop(0, n, body, init)` (a plain call when n = 1); with `checkpoint` and `block` < n, run as checkpointed
    blocks of about `block` iterations, so the backward pass holds one block's residuals at a time
    (nearly equal blocks; iterations past n in the last one leave the carry unchanged)."""
    if n == 1:
        return body(0, init)
    if not checkpoint or block is None or block >= n:
        return lax.fori_loop(0, n, body, init)
    blocks = -(-n // max(1, block))
    size = -(-n // blocks)

    @jax.checkpoint
    def run_block(i0, c):
        def step(j, c):
            i = i0 + j
            if blocks * size == n:
                return body(i, c)
            new = body(jnp.minimum(i, n - 1), c)
            return jax.tree_util.tree_map(lambda a, b: jnp.where(i < n, a, b), new, c)

        return lax.fori_loop(0, size, step, c)

    return lax.fori_loop(0, blocks, lambda b, c: run_block(b * size, c), init)


def _chunk(model: Model, carry, state, interp_on, row0, rows: int, checkpoint: bool = False,
           positions: Optional[int] = None):
    """Render `rows` pixel rows starting at row0.

    Returns (state, interp_on, image rows, the rows' solid-angle sum over rendered samples).

    The samples of every pixel, (layer, sub-pixel) positions x sources x phi steps x mosaic
    domains, are walked in nanoBragg's order (A9).  Positions come in blocks of B
    (`layout.position_block`): each block's geometry is a (B, pixels) array, so memory does not
    grow with the oversampling.  With B = 1 (many pixels), each sample is one fused elementwise
    pass over the chunk's pixels that adds its term to I, exactly as C does (I += term, in C's
    order).  With B > 1 (few pixels, many sub-pixels) each pass covers B positions of every pixel
    at once; the block's terms are kept and then added to each pixel one by one in C's order, so
    the sums are the same to the bit.  Quantities C takes from one sample of the pixel (the solid
    angle of the first sub-pixel A2, the polarization of the first sample reaching the phi loop
    A3, the capture fraction of the last layer A4) are computed at that sample only.  "C order"
    means nanoBragg's loop order, pixel outermost.  `checkpoint`: recompute each block of samples
    in the backward pass (reverse-mode memory flat in the sampling).  `positions`: B (default
    `layout.position_block`).
    """
    L, det, beam, cr = model.layout, model.detector, model.beam, model.crystal
    dt = as_dtype(L)  # the per-sample loop
    gdt = det.pix0.dtype  # per-pixel geometry (float64 when available; see cast_model)
    F = L.fpixels
    # Pad the pixel axis to a multiple of the vector width: XLA's CPU loops vectorise (and run
    # several times faster) only then.  Padding pixels are inactive and dropped at the end.
    P = padded_pixels(rows * F)
    flat = jnp.arange(P)
    spix = row0 + flat // F
    fpix = flat % F
    active = (flat < rows * F) & rendered_pixels(model, spix, fpix)
    spix_g, fpix_g = spix.astype(gdt), fpix.astype(gdt)

    Q = positions_per_pixel(L)
    S = L.sources
    QS = Q * S
    # positions per block; with `checkpoint`, sized for the backward pass's residuals
    B = min(Q, positions or position_block(L, rows, GRAD_SAMPLE_BUDGET if checkpoint else DEFAULT_SAMPLE_BUDGET))
    NB = -(-Q // B)  # blocks
    inc = beam.incident.astype(gdt)  # (S, 3)
    lam = beam.wavelength.astype(gdt)
    pixel_index = flat[None, :]
    ity = jax.dtypes.canonicalize_dtype(jnp.int64)  # sample indices (int64 when x64 is on)

    def block_geometry(b):
        """Block b's positions (B, 1) (unclamped), which of them exist (B, 1), and their geometry
        (`subpixel_geometry`, positions clamped into range)."""
        q = b * B + jnp.arange(B, dtype=ity)
        return q[:, None], (q < Q)[:, None], subpixel_geometry(model, spix_g, fpix_g, jnp.minimum(q, Q - 1))

    # A chunk whose positions all fit in one block computes its geometry once (C's loop order
    # needs it again for the per-pixel factors and the dmin pass).
    block0 = block_geometry(0) if NB == 1 else None

    def geometry_of(b):
        return block0 if NB == 1 else block_geometry(b)

    def scattering(d, src):
        """(d - incident) / lambda for source src (C's scattering vector), geometry precision."""
        return [(d[i] - inc[src, i]) / lam[src] for i in range(3)]

    def reached(sc, base):
        """Which samples reach the phi loop: C A8, a source is skipped when dmin > 0.5 / stol."""
        if not L.use_dmin:
            return base
        stol = 0.5 * ph.safe_norm3(*sc)
        return base & ~((stol > 0) & (cr.dmin > 0.5 / jnp.where(stol > 0, stol, 1.0)))

    # --- the first sample of every pixel that reaches the phi loop (C order) -------------------------
    if L.use_dmin:
        def first_reach(b, first_qs):
            q, valid, (d, _, _) = geometry_of(b)
            base = active[None, :] & valid

            def per_source(src, fq):
                qs = q * S + src
                return jnp.minimum(fq, jnp.where(reached(scattering(d, src), base), qs, QS).min(axis=0))

            return lax.fori_loop(0, S, per_source, first_qs)

        first_qs = _loop(NB, first_reach, jnp.full((P,), QS, ity))
    else:
        first_qs = jnp.where(active, 0, QS).astype(ity)
    pixel_reached = first_qs < QS

    # --- per-pixel factors C takes from one sample (A2, A3, A4) -----------------------------------------
    # The geometry of one position per pixel: row 0 the pixel's first sample that reaches the phi
    # loop (A3), then the first sub-pixel (A2) when dmin can make them differ, then the last
    # layer's first sub-pixel (A4) when there is absorption.  Taken from the block when there is
    # one, else computed for those positions alone.
    fq = jnp.minimum(first_qs, QS - 1)
    src_first = fq % S  # (P,)
    rows_q = [fq // S]
    if L.use_dmin:
        rows_q.append(jnp.zeros_like(fq))
    if L.has_thickness and not L.oversample_thick:
        rows_q.append(jnp.full_like(fq, (L.thicksteps - 1) * L.oversample**2))
    rows_q = jnp.stack(rows_q)  # (R, P)
    if NB == 1:
        d_all, air_all, _ = block0[2]
        if Q == 1:
            d_one, air_one = [x[:1] for x in d_all], air_all[:1]
        else:
            d_one = [jnp.take_along_axis(x, rows_q, axis=0) for x in d_all]
            air_one = jnp.take_along_axis(air_all, rows_q, axis=0)
        layer_one = rows_q // L.oversample**2
    else:
        d_one, air_one, layer_one = subpixel_geometry(model, spix_g, fpix_g, rows_q)
    # C A2: the first sub-pixel's solid angle (without dmin, row 0 is the first sub-pixel wherever
    # a pixel is rendered; elsewhere the value is never used).
    omega_first = solid_angle(model, air_one[1 if L.use_dmin else 0])  # (P,), geometry precision
    # C quirk A4: only the LAST layer's capture fraction (taken at its first sub-pixel).
    capture_last = capture_fraction(model, [x[-1:] for x in d_one], layer_one[-1:, 0])[0].astype(dt)
    if L.has_thickness and not L.oversample_thick:  # ... at its first sub-pixel where it is not 0
        capture_last = last_layer_capture(model, spix_g, fpix_g, capture_last, active)
    polar_pixel = jnp.ones((P,), dt)
    if not L.nopolar and not L.oversample_polar:
        # C A3: the first sample (sub-pixel, source) that survives dmin sets polar.
        # (without dmin every pixel's first sample is its first sub-pixel with the first source)
        incident = inc[src_first] if L.use_dmin else inc[0]
        pol = ph.polarization_factor(beam.kahn, incident, jnp.stack([x[0] for x in d_one], axis=-1),
                                     beam.polar_vector)
        polar_pixel = jnp.where(pixel_reached, pol, 0.0).astype(dt)

    # --- crystal vectors per (phi, domain) and the chunk's first evaluation --------------------------
    sw = model.spindle
    phis = sw.phi0 + sw.phistep * jnp.arange(L.phisteps, dtype=dt)
    cell = cr.cell.astype(dt)
    phi_cells = ph.rotate_axis(cell[None, :, :], sw.axis[None, None, :], phis[:, None])  # (PHI,3,3)
    state, first_cells, other_cells = carry.step(state, phis, phi_cells, pixel_reached.any())
    umats = cr.umats.astype(dt)
    # a = U_m . ap (C5: mosaic applied after phi, in the lab frame); rows (phi, domain) in C order
    cells = jnp.einsum("myx,fjx->fmjy", umats, other_cells).reshape(-1, 3, 3)
    cells_first = jnp.einsum("myx,fjx->fmjy", umats, first_cells).reshape(-1, 3, 3)
    FM = cells.shape[0]
    K = QS * FM  # samples per pixel
    # Both carries take this same path (the spec carry hands back identical vectors), so spec
    # and c-parity share every operation and agree bit for bit where the carryover does not apply.
    # The first reached sample in C order (pixel outermost): the first pixel with any reached
    # sample, then its first one.  It starts from the carried vectors.
    p0 = jnp.argmax(pixel_reached)
    qs0 = jnp.minimum(first_qs[p0], QS - 1)
    first_pixel = pixel_reached[p0] & (pixel_index == p0)  # (1, P)

    # --- the samples, C order ------------------------------------------------------------------------
    oversampled = L.oversample_thick or L.oversample_polar or L.oversample_omega

    def block_inputs(b):
        """What block b's positions give every source: geometry and the per-position factors."""
        q, valid, (d, airpath, layer) = geometry_of(b)
        blk = {"q": q, "d": d, "base": active[None, :] & valid}
        # The chunk's first evaluation, if this block holds it: its Miller indices from the carried
        # vectors and the scattering vector of this block's own geometry.
        j = jnp.clip(qs0 // S - b * B, 0, B - 1)
        s0 = jnp.stack([lax.dynamic_index_in_dim(lax.dynamic_index_in_dim(x, j, keepdims=False), p0,
                                                 keepdims=False) for x in d])
        s_first = ((s0 - inc[qs0 % S]) / lam[qs0 % S]).astype(dt)  # (3,)
        blk["hkl_first"] = jnp.stack(_miller(s_first, cells_first), axis=-1)  # (FM, 3)
        if L.oversample_thick:
            blk["capture"] = capture_fraction(model, d, layer).astype(dt)
        if L.oversample_omega:
            blk["omega"] = solid_angle(model, airpath).astype(dt)
        return blk

    def source_inputs(blk, src):
        """Per (position, source) quantities, (B, P).  Made in the OUTER loop, so the inner loop
        reads plain buffers (a dynamic slice fused into the inner loop would be re-indexed per
        element and stop it vectorising)."""
        sc = scattering(blk["d"], src)
        qs = blk["q"] * S + src
        pos = {"s": jnp.stack(sc).astype(dt), "reach": reached(sc, blk["base"]),
               "first": first_pixel & (qs == qs0), "k0": qs * FM, "hkl_first": blk["hkl_first"]}
        if L.oversample_thick:
            pos["capture"] = blk["capture"]
        if L.oversample_polar:
            pos["polar"] = ph.polarization_factor(beam.kahn, inc[src], jnp.stack(blk["d"], axis=-1),
                                                  beam.polar_vector).astype(dt)
        if L.oversample_omega:
            pos["omega"] = blk["omega"]
        return pos

    def miller(pos, fm):
        hkl = _miller(pos["s"], lax.dynamic_index_in_dim(cells, fm, keepdims=False))
        sub = lax.dynamic_index_in_dim(pos["hkl_first"], fm, keepdims=False)  # (3,)
        return [jnp.where(pos["first"], sub[j], hkl[j]) for j in range(3)]

    def walk(step, init, finish=None, block_init=None):
        """C's loops: blocks of positions -> source -> (phi, domain); step(pos, fm, acc) -> acc,
        where acc starts each block as block_init(acc) and ends as finish(acc).  With
        `checkpoint`, each block (and, where one block alone is over GRAD_SAMPLE_BUDGET, each run of
        sources or phi/domain steps) is recomputed in the backward pass."""
        lanes = B * P
        per_source = lanes * FM
        budget = GRAD_SAMPLE_BUDGET

        def per_block(b, acc):
            blk = block_inputs(b)
            a = acc if block_init is None else block_init(acc)

            def per_src(src, a):
                pos = source_inputs(blk, src)
                return _loop(FM, lambda fm, a: step(pos, fm, a), a, max(1, budget // lanes), checkpoint)

            a = _loop(S, per_src, a, max(1, budget // per_source), checkpoint)
            return a if finish is None else finish(acc, a)

        return _loop(NB, per_block, init, 1, checkpoint)

    if L.interpolate:
        # C quirk F4: the first out-of-range stencil (in C order) switches interpolation off for
        # the rest of the run; that evaluation already uses the nearest reflection.  A first pass
        # finds, per pixel, the first sample that triggers.
        def first_trigger(pos, fm, first):
            h, kk, l = miller(pos, fm)
            _, _, evaluated = _evaluate(model, h, kk, l, pos["reach"])
            hit = evaluated & sf.interpolation_out_of_range(cr, h, kk, l)
            return jnp.where(hit & (first == K), pos["k0"] + fm, first)

        trig = walk(first_trigger, jnp.full((P,), K, ity),
                    block_init=lambda t: jnp.full((B, P), K, ity),
                    finish=lambda t, tb: jnp.minimum(t, tb.min(axis=0)))
        p_trig = jnp.where((trig < K).any(), jnp.argmax(trig < K), P)
        k_trig = trig[jnp.clip(p_trig, 0, P - 1)]
        new_interp_on = interp_on & (p_trig == P)

    factor_names = [n for n, on in (("capture", L.oversample_thick), ("polar", L.oversample_polar),
                                    ("omega", L.oversample_omega)) if on]

    def term(pos, fm):
        """(F_cell^2 F_latt^2, evaluated) of one sample in every lane."""
        h, kk, l = miller(pos, fm)
        F_cell, F_latt_sqr, evaluated = _evaluate(model, h, kk, l, pos["reach"])
        if L.interpolate:
            k = pos["k0"] + fm
            on = interp_on & ((pixel_index < p_trig) | ((pixel_index == p_trig) & (k < k_trig)))
            F_cell = jnp.where(on, sf.interpolated_F(cr, h, kk, l), F_cell)
        return F_cell * F_cell * F_latt_sqr, evaluated

    def add(I, t, evaluated, factors):
        """C's `I += term` (A9); with -oversample_thick/polar/omega, C quirk A5: each factor
        scales the RUNNING sum after every evaluated term."""
        # The select between the product and the sum also keeps XLA from contracting them into
        # one FMA (C rounds the product first), the same whether the term was just computed or
        # kept from a block.
        if not oversampled:
            return I + jnp.where(evaluated, t, 0.0)
        J = I + jnp.where(evaluated, t, 0.0)
        for f in factors:
            J = J * f
        return jnp.where(evaluated, J, I)

    I0 = jnp.broadcast_to(cr.I_bg.astype(dt), (P,))
    if B == 1:
        def accumulate(pos, fm, I):
            t, evaluated = term(pos, fm)
            return add(I, t[0], evaluated[0], [pos[n][0] for n in factor_names])

        I = walk(accumulate, I0)
    else:
        def block_terms(b, I):
            """All terms of block b's samples, then added to each pixel in C order."""
            blk = block_inputs(b)

            def per_src(_, src):
                pos = source_inputs(blk, src)

                def per_fm(_, fm):
                    t, evaluated = term(pos, fm)
                    return None, (t, evaluated)

                _, out = lax.scan(per_fm, None, jnp.arange(FM))
                return None, (out, [pos[n] for n in factor_names if n == "polar"])

            _, ((T, E), pols) = lax.scan(per_src, None, jnp.arange(S))  # (S, FM, B, P)
            T, E = T.reshape(S * FM, B, P), E.reshape(S * FM, B, P)
            per_block = {n: blk[n] for n in factor_names if n != "polar"}

            def add_sample(n, I):
                q, j = n // (S * FM), n % (S * FM)
                row = lambda a, i0, i1: lax.dynamic_slice(a, (i0, i1, 0), (1, 1, P))[0, 0]
                factors = []
                for name in factor_names:
                    if name == "polar":
                        factors.append(row(pols[0], j // FM, q))
                    else:
                        factors.append(lax.dynamic_index_in_dim(per_block[name], q, keepdims=False))
                return add(I, row(T, j, q), row(E, j, q), factors)

            return lax.fori_loop(0, B * S * FM, add_sample, I)

        I = _loop(NB, block_terms, I0, 1, checkpoint)
    if L.interpolate:
        interp_on = new_interp_on

    pixel = R_E_SQR * beam.fluence * I / L.steps
    if not L.oversample_thick:
        # C quirk A4: only the LAST layer's capture fraction (its first sub-pixel where not 0).
        pixel = pixel * capture_last
    if not L.oversample_polar:
        pixel = pixel * polar_pixel
    if not L.oversample_omega:
        # C quirk A2: the solid angle of the FIRST sub-pixel stands for the whole pixel.
        pixel = pixel * omega_first.astype(dt)
    pixel = jnp.where(active, pixel, 0.0).astype(dt)
    return state, interp_on, pixel[: rows * F].reshape(rows, F), _omega_sum(model, active, omega_first,
                                                                            geometry_of, NB)


def _omega_sum(model: Model, active, omega_first, geometry_of, NB: int):
    """C's omega_sum (the "solid angle subtended by detector" line): every rendered sample (layer,
    sub-pixel) adds its pixel's cached solid angle, the first sub-pixel's unless -oversample_omega
    (A2).  geometry_of(b): block b's (positions, which exist, geometry)."""
    L = model.layout
    Q = positions_per_pixel(L)
    if not L.oversample_omega:
        if Q * active.shape[0] > DEFAULT_SAMPLE_BUDGET:
            return Q * jnp.where(active, omega_first, 0.0).sum()
        return jnp.where(active[None, :], jnp.broadcast_to(omega_first, (Q,) + omega_first.shape), 0.0).sum()

    def block_sum(b, total):
        _, valid, (_, airpath, _) = geometry_of(b)
        return total + jnp.where(active[None, :] & valid, solid_angle(model, airpath), 0.0).sum()

    return _loop(NB, block_sum, jnp.zeros((), omega_first.dtype))


# ----------------------------------------------------------------------------------------------
# Scan over chunks
# ----------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("chunk_rows", "chunks", "checkpoint", "positions"))
def render_block(model: Model, state, interp_on, row0, chunk_rows: int, chunks: int,
                 checkpoint: bool = False, positions: Optional[int] = None):
    """Render `chunks` chunks of `chunk_rows` pixel rows from row `row0`, threading the run-order
    state: the phi carry's state and the interpolation switch (see `initial_carry`).

    Arguments:
        model: a cast Model (`cast_model`).
        state, interp_on: the carry before the first row (from `initial_carry` or a previous block).
        row0: () int, first row.  chunk_rows, chunks: static sizes.  checkpoint: recompute each chunk,
            and each block of samples in it, in the backward pass (reverse-mode memory flat in the
            image size and the sampling).  positions: detector positions (layer, sub-pixel) per
            block of samples (default `layout.position_block`; memory and speed knob only).
    Returns:
        (state, interp_on, image rows (chunks * chunk_rows, fpixels) in the layout's dtype, the
        rows' solid-angle sum over rendered samples (C's omega_sum)).  Rows past the image are 0.
    """
    carry = carry_for_mode(model.layout.mode)

    def body(c, i):
        st, on = c
        fn = functools.partial(_chunk, model, carry, rows=chunk_rows, checkpoint=checkpoint,
                               positions=positions)
        if checkpoint:
            fn = jax.checkpoint(fn)
        st, on, img, omega = fn(st, on, row0 + i * chunk_rows)
        return (st, on), (img, omega)

    (state, interp_on), (imgs, omegas) = lax.scan(body, (state, interp_on), jnp.arange(chunks))
    return state, interp_on, imgs.reshape(chunks * chunk_rows, model.layout.fpixels), omegas.sum()


def initial_carry(model: Model):
    """(phi-carry state, interpolation switch) before the first pixel of a run (model cast).

    Arguments:
        model: the Model, already passed through `cast_model` (layout.mode, layout.interpolate and
            crystal.cell are read).
    Returns:
        (state, interp_on): the carry's initial state (`carry_for_mode(mode).init`: None for
        "spec", crystal.cell (3, 3) rows a0, b0, c0 in m, in the layout's dtype, for "c-parity")
        and a scalar array of layout.interpolate (the F4 switch starts at the set-up's choice).
    Raises:
        ValueError: an unknown layout.mode.
    """
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
    positions: Optional[int] = None,
) -> Float[Array, "spixels fpixels"]:
    """The float image of a Model: photons per pixel, C's pixel loop (nanoBragg.c L2643-3071).

    Differentiable and traceable (call it inside jit, grad, jvp or vmap).

    Arguments:
        model: the experiment's pytrees (`nanobragg_jax.setup.build_model`).
        chunk_rows: pixel rows per chunk of the scan (memory knob; default from a sample budget,
            `layout.default_chunk_rows`).
        blocks: split the scan into this many jitted calls, so `progress` can report between them.
        progress: called as progress(rows done, rows) after each block.
        checkpoint: recompute each chunk, and each block of samples in it, in the backward pass
            (reverse-mode memory flat in the image size and the sampling).
        positions: detector positions per block of samples (default from the sample budget,
            `layout.position_block`; the image does not depend on it).
    Returns:
        (spixels, fpixels) image in the layout's dtype.
    """
    model = cast_model(model)
    L = model.layout
    plan = block_plan(L, chunk_rows, blocks)

    def step(carry, row0):
        state, interp_on, img, _ = render_block(model, *carry, jnp.asarray(row0), plan.chunk_rows,
                                                plan.chunks_per_block, checkpoint, positions)
        if progress is not None:
            jax.block_until_ready(img)
        return (state, interp_on), img

    _, pieces = run_blocks(step, initial_carry(model), plan, progress, spixels=L.spixels)
    image = pieces[0] if len(pieces) == 1 else jnp.concatenate(pieces, axis=0)
    return image[: L.spixels]
