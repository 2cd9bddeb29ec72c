"""Mosaic domain rotations as a JAX function of the spread (C's mosaic_rotation_umat, L3439-3488).

The random part (three ran1 uniforms per domain, drawn on the host in C's order from the shared
stream) fixes each domain's axis and the fraction of the spread it is tilted by; the matrices are
then a smooth function of the spread, so `jax.grad` reaches it.  C computes the tilt angle in float32
(powf and a float product); that rounding is kept so the matrices match C to the last digits.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from nanobragg_jax.setup._random_orientation import powf  # glibc's powf, as C computes the tilt angle


@dataclasses.dataclass(frozen=True)
class MosaicDraws:
    """Per-domain random inputs: unit axes (D, 3) and tilt fractions g (D,) in float32."""

    axes: np.ndarray
    fractions: np.ndarray
    uniforms: np.ndarray  # (D, 3) r1, r2, r3 in [-1, 1] (for the record and tests)


def draws_from_uniforms(r: np.ndarray) -> MosaicDraws:
    """Axis v = (sqrt(1-r2^2) sin(pi r1), sqrt(1-r2^2) cos(pi r1), r2); g = powf(1 - r3^2, 1/3)."""
    r = np.asarray(r, dtype=np.float64).reshape(-1, 3)
    axes = np.empty_like(r)
    g = np.empty(r.shape[0], dtype=np.float32)
    for m, (r1, r2, r3) in enumerate(r):
        xyrad = math.sqrt(1.0 - r2 * r2)
        axes[m] = (xyrad * math.sin(math.pi * r1), xyrad * math.cos(math.pi * r1), r2)
        g[m] = np.float32(powf(np.float32(1.0 - r3 * r3), np.float32(1.0 / 3.0)))
    return MosaicDraws(axes=axes, fractions=g, uniforms=r)


def draw_uniforms(rng, seed: int, domains: int):
    """3 ran1 calls per domain from the shared stream, as C does even for a zero spread.

    Returns ((D, 3) uniforms mapped to [-1, 1] in double as C does, new seed).
    """
    out = np.empty((domains, 3), dtype=np.float64)
    for m in range(domains):
        for k in range(3):
            u, seed = rng.ran1(seed)
            out[m, k] = 2.0 * float(u) - 1.0  # C: (double) 2.0*ran1 - 1.0
    return out, seed


def rotation_matrices(xp, spread_rad, axes, fractions, *, apply: bool = True):
    """(D, 3, 3) right-handed rotations by f32(f32(spread)*g) about each axis; domain 0 = identity.

    `apply=False` (C: mosaic_spread == 0 at set-up) gives identities.
    """
    D = int(np.asarray(axes).shape[0])
    eye = xp.eye(3, dtype=xp.asarray(spread_rad).dtype if hasattr(spread_rad, "dtype") else None)
    if not apply or D == 0:
        return xp.stack([eye] * max(D, 1))
    spread = xp.asarray(spread_rad)
    # C: rot = (float)mosaicity * powf(...), a float32 product (mosaicity is a float parameter).
    rot32 = spread.astype(np.float32) * xp.asarray(np.asarray(fractions, dtype=np.float32))
    rot = rot32.astype(spread.dtype)
    v = xp.asarray(np.asarray(axes, dtype=np.float64)).astype(spread.dtype)
    v1, v2, v3 = v[:, 0], v[:, 1], v[:, 2]
    t1 = xp.cos(rot)
    t2 = 1.0 - t1
    t8 = xp.sin(rot)
    t6 = t2 * v1
    t7 = t6 * v2
    t9 = t8 * v3
    t11 = t6 * v3
    t12 = t8 * v2
    t19 = t2 * v2 * v3
    t20 = t8 * v1
    U = xp.stack([
        xp.stack([t1 + t2 * (v1 * v1), t7 - t9, t11 + t12], axis=-1),
        xp.stack([t7 + t9, t1 + t2 * (v2 * v2), t19 - t20], axis=-1),
        xp.stack([t11 - t12, t19 + t20, t1 + t2 * (v3 * v3)], axis=-1),
    ], axis=-2)
    # C (L2442-2448): domain 0 is always forced to the identity.
    first = xp.arange(D)[:, None, None] == 0
    return xp.where(first, eye.astype(U.dtype), U)
