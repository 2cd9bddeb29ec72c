"""Random orientations drawn on nanoBragg.c's shared stream: mosaic domain rotations
(mosaic_rotation_umat, L3439-3488), `-misset random` (L1899-1912) and umat2misset (L3491-3610),
bit for bit on the host (`nanobragg_jax.noise.CRandom` holds the stream).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from nanobragg_jax.noise import CRandom, f32


def _load_powf():
    """glibc's powf through ctypes (C computes the mosaic angle with powf)."""
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        powf = libm.powf
        powf.argtypes = [ctypes.c_float, ctypes.c_float]
        powf.restype = ctypes.c_float
        return powf
    except (OSError, AttributeError):  # pragma: no cover - non-glibc platforms
        return None


_POWF = _load_powf()


def powf(x: float, y: float) -> float:
    """float32 power as C's powf; without a loadable libm, the double pow rounded to float32
    (equal except in rare last-bit cases)."""
    if _POWF is not None:
        return float(_POWF(x, y))
    return f32(math.pow(f32(x), f32(y)))  # pragma: no cover


def mosaic_rotation_umat(rng: CRandom, mosaicity: float, idum: int) -> tuple[np.ndarray, int]:
    """Random rotation (3, 3), row-major, about a uniform random axis.  C L3439-3488.

    `mosaicity` is in radians and passes through a C `float` parameter."""
    mosaicity = f32(mosaicity)
    r, idum = rng.ran1(idum)
    r1 = 2.0 * r - 1.0
    r, idum = rng.ran1(idum)
    r2 = 2.0 * r - 1.0
    r, idum = rng.ran1(idum)
    r3 = 2.0 * r - 1.0
    xyrad = math.sqrt(1.0 - r2 * r2)
    # C quirk: the angle is computed in float (float mosaicity times powf), then widened
    rot = f32(mosaicity * powf(f32(1.0 - r3 * r3), f32(1.0 / 3.0)))
    v1 = xyrad * math.sin(math.pi * r1)
    v2 = xyrad * math.cos(math.pi * r1)
    v3 = r2
    c = math.cos(rot)
    t = 1.0 - c
    s = math.sin(rot)
    tv1 = t * v1
    tv2v3 = t * v2 * v3
    umat = np.array(
        [
            [c + t * (v1 * v1), tv1 * v2 - s * v3, tv1 * v3 + s * v2],
            [tv1 * v2 + s * v3, c + t * (v2 * v2), tv2v3 - s * v1],
            [tv1 * v3 - s * v2, tv2v3 + s * v1, c + t * (v3 * v3)],
        ],
        dtype=np.float64,
    )
    return umat, idum


def _normalise_rows(u, norms):
    for i in range(3):
        if norms[i] > 0:
            u[i] = [u[i][0] / norms[i], u[i][1] / norms[i], u[i][2] / norms[i]]


def _row_norms(u):
    return [math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) for r in u]


def _unit_cross(p, q):
    x = [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]]
    m = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
    if m > 0:
        x = [x[0] / m, x[1] / m, x[2] / m]
    return x


def umat2misset(U: np.ndarray) -> tuple[float, float, float]:
    """Misset angles (rx, ry, rz) in radians of a rotation matrix, as C's umat2misset (L3491-3610):
    rows normalised, zero rows replaced by cross products (done twice), rows normalised again."""
    u = [[float(U[i][j]) for j in range(3)] for i in range(3)]
    mx, my, mz = _row_norms(u)
    _normalise_rows(u, (mx, my, mz))
    # a single surviving row: complete it with unit axes (C's special cases)
    if mx >= 0 and my <= 0 and mz <= 0:
        u[1], u[2] = [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    if mx <= 0 and my >= 0 and mz <= 0:
        u[0], u[2] = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    if mx <= 0 and my <= 0 and mz >= 0:
        u[0], u[1] = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    for _ in range(2):  # C repeats the cross-product repair verbatim
        xcy = _unit_cross(u[0], u[1])
        ycz = _unit_cross(u[1], u[2])
        zcx = _unit_cross(u[2], u[0])
        if mx <= 0:
            u[0] = ycz
        if my <= 0:
            u[1] = zcx
        if mz <= 0:
            u[2] = xcy
    _normalise_rows(u, _row_norms(u))
    if u[2][0] * u[2][0] < 1.0:
        rotx = math.atan2(u[2][1], u[2][2])
        roty = math.atan2(-u[2][0], math.sqrt(u[2][1] * u[2][1] + u[2][2] * u[2][2]))
        rotz = math.atan2(u[1][0], u[0][0])
    else:  # gimbal lock
        rotx = math.atan2(1.0, 1.0) * 4
        roty = math.atan2(1.0, 1.0) * 2
        rotz = math.atan2(u[0][1], -u[1][1])
    return rotx, roty, rotz


def random_misset(rng: CRandom, misset_seed: int) -> tuple[tuple[float, float, float], int]:
    """`-misset random` (C L1899-1912): 3 draws on the shared table, then umat2misset.
    Returns the angles (rad) and the new misset seed."""
    # C quirk: the cap is passed as 90.0, which mosaic_rotation_umat reads as 90 RADIANS
    umat, misset_seed = mosaic_rotation_umat(rng, 90.0, misset_seed)
    return umat2misset(umat), misset_seed


def mosaic_umats(rng: CRandom, spread_rad: float, domains: int, mosaic_seed: int) -> tuple[np.ndarray, int]:
    """The (D, 3, 3) mosaic domain rotations (C L2436-2449) and the new mosaic seed."""
    domains = int(domains)
    umats = np.empty((max(domains, 0), 3, 3), dtype=np.float64)
    for m in range(domains):
        # C quirk: every domain is drawn (3 ran1 calls), even with zero spread ...
        umats[m], mosaic_seed = mosaic_rotation_umat(rng, spread_rad, mosaic_seed)
    if domains > 0:
        umats[0] = np.eye(3)  # ... and domain 0 is then forced to the identity
    return umats, mosaic_seed
