"""Structure-factor lookup in the C table layout: nearest neighbour and tricubic Lagrange interpolation.

The table `Fhkl` has shape (h_range+1, k_range+1, l_range+1) with the zero padding slab nanoBragg
allocates at index `range`; `hkl_min`/`hkl_max` are the integer bounds.
"""

from __future__ import annotations

import jax.numpy as jnp


def _flat_index(table_shape, ih, ik, il):
    _, nk, nl = table_shape
    return (ih * nk + ik) * nl + il


def nearest_F(crystal, h0, k0, l0, has_table: bool):
    """F of the nearest reflection (h0, k0, l0) inside the table, else default_F (C L2998-3007)."""
    if not has_table:
        return jnp.broadcast_to(crystal.default_F, h0.shape).astype(crystal.Fhkl.dtype)
    lo = crystal.hkl_min.astype(h0.dtype)
    hi = crystal.hkl_max.astype(h0.dtype)
    inside = (
        (h0 >= lo[0]) & (h0 <= hi[0]) & (k0 >= lo[1]) & (k0 <= hi[1]) & (l0 >= lo[2]) & (l0 <= hi[2])
    )
    shape = crystal.Fhkl.shape
    ih = jnp.clip(h0 - lo[0], 0, shape[0] - 1).astype(jnp.int32)
    ik = jnp.clip(k0 - lo[1], 0, shape[1] - 1).astype(jnp.int32)
    il = jnp.clip(l0 - lo[2], 0, shape[2] - 1).astype(jnp.int32)
    F = jnp.take(crystal.Fhkl.reshape(-1), _flat_index(shape, ih, ik, il))
    return jnp.where(inside, F, crystal.default_F)


def interpolation_out_of_range(crystal, h, k, l):
    """C's test (L2931-2937) for a 4-point stencil that would leave the table."""
    lo = crystal.hkl_min.astype(h.dtype)
    hi = crystal.hkl_max.astype(h.dtype)
    rng = hi - lo + 1.0
    out = jnp.zeros(h.shape, bool)
    for x, i in ((h, 0), (k, 1), (l, 2)):
        out = out | ((x - lo[i] + 3.0) > rng[i]) | ((x - 2.0) < lo[i])
    return out


def polint(xa, ya, x):
    """4-point Lagrange value at x, term by term as C's polint (nanoBragg.c and nonBragg.c L2181):
    products left to right, one division per term, the terms summed left to right (bit for bit
    in float64; equal abscissae divide by zero as in C).  xa, ya: four coordinates and values,
    arrays of any broadcastable shape (numpy or jax.numpy; differentiable)."""
    x0, x1, x2, x3 = xa
    y0, y1, y2, y3 = ya
    t0 = (x - x1) * (x - x2) * (x - x3) * y0 / ((x0 - x1) * (x0 - x2) * (x0 - x3))
    t1 = (x - x0) * (x - x2) * (x - x3) * y1 / ((x1 - x0) * (x1 - x2) * (x1 - x3))
    t2 = (x - x0) * (x - x1) * (x - x3) * y2 / ((x2 - x0) * (x2 - x1) * (x2 - x3))
    t3 = (x - x0) * (x - x1) * (x - x2) * y3 / ((x3 - x0) * (x3 - x1) * (x3 - x2))
    return t0 + t1 + t2 + t3


def interpolated_F(crystal, h, k, l):
    """Tricubic Lagrange interpolation of amplitudes on floor(h)-1 .. floor(h)+2 (C polin3:
    l first, then k, then h).  Indices are clipped into the table; callers only use the result
    where `interpolation_out_of_range` is False."""
    shape = crystal.Fhkl.shape
    lo = crystal.hkl_min.astype(h.dtype)
    flat = crystal.Fhkl.reshape(-1)
    base = [jnp.floor(x) for x in (h, k, l)]
    coords = [[b + (d - 1.0) for d in range(4)] for b in base]
    idx = [
        [jnp.clip(c - lo[i], 0, shape[i] - 1).astype(jnp.int32) for c in coords[i]] for i in range(3)
    ]
    h_vals = []
    for i1 in range(4):
        k_vals = []
        for i2 in range(4):
            ys = [jnp.take(flat, _flat_index(shape, idx[0][i1], idx[1][i2], idx[2][i3])) for i3 in range(4)]
            k_vals.append(polint(coords[2], ys, l))
        h_vals.append(polint(coords[1], k_vals, k))
    return polint(coords[0], h_vals, h)
