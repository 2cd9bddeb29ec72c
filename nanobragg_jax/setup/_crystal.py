"""Unit cell -> real and reciprocal vectors, exactly as nanoBragg.c builds them (L1792-2062).

The arithmetic is written once for any array module `xp` (numpy on the host for printing and
static decisions, jax.numpy in build_model so the cell, misset and orientation stay differentiable).

The crystal is always parametrised by its cell (a, b, c in Angstrom; alpha, beta, gamma in radians):
  * `-cell` alone: C's default orientation of the cell, including its triclinic error (C quirk C1).
  * `-mat`: an orientation matrix U, computed once on the host, with U.B(cell) = the mat's reciprocal
    vectors at the default cell.  With `-mat` and `-cell` C keeps the mat's directions and forces the
    lengths to the cell (user_cell rescale), which the same pipeline reproduces.
"""

from __future__ import annotations

import math

import numpy as np

from nanobragg_jax.constants import DBL_MIN, RTD
from nanobragg_jax.vectors import cross, dot, magnitude, rotate_xyz


def _clamp_sin(xp, s):
    return xp.where(s > 1.0, 1.0, xp.where(s < -1.0, -1.0, s))


def _clamp_cos(xp, c):
    # C: `if(cos*cos > 1.0) cos = 1.0` - the sign is not kept.
    return xp.where(c * c > 1.0, 1.0, c)


def default_orientation(xp, a, b, c, alpha, beta, gamma):
    """L1802-1876: reciprocal vectors a*, b*, c* (rows, 1/A) of C's default orientation, and V_cell.

    C quirk C1: c*_z = c*.V/(a.b.c.sin(gamma*)) instead of V*/(a*.b*.sin(gamma*)); the lengths survive
    the later rescale, the angles of a triclinic cell do not.
    """
    aavg = (alpha + beta + gamma) / 2
    skew = xp.sin(aavg) * xp.sin(aavg - alpha) * xp.sin(aavg - beta) * xp.sin(aavg - gamma)
    skew = xp.abs(skew)
    V_cell = 2.0 * a * b * c * xp.sqrt(skew)
    V_cell = xp.where(V_cell <= 0.0, DBL_MIN, V_cell)
    V_star = 1.0 / V_cell
    a_star = xp.abs(b * c * xp.sin(alpha) * V_star)
    b_star = xp.abs(c * a * xp.sin(beta) * V_star)
    c_star = xp.abs(a * b * xp.sin(gamma) * V_star)
    a_star = xp.where(a_star <= 0.0, DBL_MIN, a_star)
    b_star = xp.where(b_star <= 0.0, DBL_MIN, b_star)
    c_star = xp.where(c_star <= 0.0, DBL_MIN, c_star)
    sin_gamma_star = _clamp_sin(xp, c * V_star / a_star / b_star)
    cos_alpha_star = _clamp_cos(xp, (xp.cos(beta) * xp.cos(gamma) - xp.cos(alpha))
                                / (xp.sin(beta) * xp.sin(gamma)))
    cos_beta_star = _clamp_cos(xp, (xp.cos(gamma) * xp.cos(alpha) - xp.cos(beta))
                               / (xp.sin(gamma) * xp.sin(alpha)))
    cos_gamma_star = _clamp_cos(xp, (xp.cos(alpha) * xp.cos(beta) - xp.cos(gamma))
                                / (xp.sin(alpha) * xp.sin(beta)))
    zero = a_star * 0.0
    av = xp.stack([a_star, zero, zero])
    bv = xp.stack([b_star * cos_gamma_star, b_star * sin_gamma_star, zero])
    cv = xp.stack([c_star * cos_beta_star,
                   c_star * (cos_alpha_star - cos_beta_star * cos_gamma_star) / sin_gamma_star,
                   c_star * V_cell / (a * b * c * sin_gamma_star)])  # C quirk C1
    return xp.stack([av, bv, cv]), V_cell


def apply_umat(xp, U, v):
    """C rotate_umat(): v'_i = U_i0 v0 + U_i1 v1 + U_i2 v2, summed left to right."""
    return xp.stack([U[i][0] * v[0] + U[i][1] * v[1] + U[i][2] * v[2] for i in range(3)])


def crystal_vectors(xp, cell, misset=None, U=None, user_cell=True):
    """L1792-2062 for one parameter set.

    cell: (a, b, c [A], alpha, beta, gamma [rad]); misset: (rx, ry, rz) rad or None (not applied);
    U: host orientation (3, 3) or None; user_cell: C's rescale of the lengths to the cell.
    Returns dict with real (3, 3) rows a, b, c in Angstrom, recip rows a*, b*, c* in 1/A, V_cell (A^3).
    """
    a, b, c, alpha, beta, gamma = (cell[i] for i in range(6))
    recip0, V_user = default_orientation(xp, a, b, c, alpha, beta, gamma)
    rows = [recip0[0], recip0[1], recip0[2]]
    if U is not None:
        rows = [apply_umat(xp, U, r) for r in rows]
    if misset is not None:
        # C3: misset rotates the reciprocal vectors, X then Y then Z.
        rows = [rotate_xyz(xp, r, misset[0], misset[1], misset[2]) for r in rows]
    ast, bst, cst = rows
    axb = cross(ast, bst, xp)
    bxc = cross(bst, cst, xp)
    cxa = cross(cst, ast, xp)
    V_star = dot(ast, bxc)
    if user_cell:
        # C: force |a| = cell a etc. (vector_rescale; a zero old magnitude counts as 1).
        def rescale(v, new_mag):
            old = magnitude(v, xp)
            old = xp.where(old <= 0.0, 1.0, old)
            return new_mag / old * v
        bxc = rescale(bxc, a / V_user)
        cxa = rescale(cxa, b / V_user)
        axb = rescale(axb, c / V_user)
        V_star = 1.0 / V_user
    V_cell = 1.0 / V_star
    ra, rb, rc = V_cell * bxc, V_cell * cxa, V_cell * axb
    # C regenerates the reciprocal vectors from the real ones.
    sa = V_star * cross(rb, rc, xp)
    sb = V_star * cross(rc, ra, xp)
    sc = V_star * cross(ra, rb, xp)
    return dict(real=xp.stack([ra, rb, rc]), recip=xp.stack([sa, sb, sc]), V_cell=V_cell,
                V_star=V_star)


def cell_parameters(real, recip, V_cell):
    """C's printed cell (L1986-2046): lengths and angles (radians) of real and reciprocal cells."""
    real = np.asarray(real, dtype=np.float64)
    recip = np.asarray(recip, dtype=np.float64)
    la = [float(np.sqrt(np.sum(v * v))) for v in real]
    ls = [float(np.sqrt(np.sum(v * v))) for v in recip]
    V_star = 1.0 / V_cell

    def angle(sin_v, cos_v):
        sin_v = min(max(sin_v, -1.0), 1.0)
        if cos_v * cos_v > 1.0:
            cos_v = 1.0
        return math.atan2(sin_v, cos_v)

    real_angles = (
        angle(ls[0] * V_cell / la[1] / la[2], float(real[1] @ real[2]) / la[1] / la[2]),
        angle(ls[1] * V_cell / la[0] / la[2], float(real[0] @ real[2]) / la[0] / la[2]),
        angle(ls[2] * V_cell / la[0] / la[1], float(real[0] @ real[1]) / la[0] / la[1]),
    )
    recip_angles = (
        angle(la[0] * V_star / ls[1] / ls[2], float(recip[1] @ recip[2]) / ls[1] / ls[2]),
        angle(la[1] * V_star / ls[0] / ls[2], float(recip[0] @ recip[2]) / ls[0] / ls[2]),
        angle(la[2] * V_star / ls[0] / ls[1], float(recip[0] @ recip[1]) / ls[0] / ls[1]),
    )
    return tuple(la), real_angles, tuple(ls), recip_angles


def orientation_from_mat(mat_recip, cell):
    """Host: U with U.B(cell) = mat_recip (rows a*, b*, c* in 1/A) at the given cell."""
    B, _ = default_orientation(np, *[np.float64(x) for x in cell])
    # rows: R = B U^T  ->  U^T = B^-1 R
    return np.linalg.solve(B, np.asarray(mat_recip, dtype=np.float64)).T


def cell_from_mat(mat_recip):
    """Host: the cell C derives from a -mat alone (no -cell): run C's pipeline without the rescale."""
    ast, bst, cst = (np.asarray(r, dtype=np.float64) for r in mat_recip)
    bxc, cxa, axb = np.cross(bst, cst), np.cross(cst, ast), np.cross(ast, bst)
    V_cell = 1.0 / float(ast @ bxc)
    real = np.stack([V_cell * bxc, V_cell * cxa, V_cell * axb])
    recip = V_cell ** -1 * np.stack([np.cross(real[1], real[2]), np.cross(real[2], real[0]),
                                     np.cross(real[0], real[1])])
    lengths, angles, _, _ = cell_parameters(real, recip, V_cell)
    return np.array(list(lengths) + list(angles), dtype=np.float64)


def cells_from_size(sample_xyz, lengths_m, N):
    """C4 (L2065-2070): N = ceil(size/|a|) when a size is given, then N <= 1 becomes 1."""
    out = []
    for size, length, n in zip(sample_xyz, lengths_m, N):
        if size > 0:
            n = float(math.ceil(size / length))
        if n <= 1.0:
            n = 1.0
        out.append(float(n))
    return out


def format_cell_summary(real, recip, V_cell):
    """The lines C prints after building the cell (L2048-2060)."""
    (la, ra, ls, rs) = cell_parameters(real, recip, V_cell)
    real = np.asarray(real)
    recip = np.asarray(recip)
    lines = [
        "Unit Cell: %g %g %g %g %g %g" % (la[0], la[1], la[2], ra[0] * RTD, ra[1] * RTD, ra[2] * RTD),
        "Recp Cell: %g %g %g %g %g %g" % (ls[0], ls[1], ls[2], rs[0] * RTD, rs[1] * RTD, rs[2] * RTD),
        "volume = %g A^3" % V_cell,
        "real-space cell vectors (Angstrom):",
        "     %-10s  %-10s  %-10s" % ("a", "b", "c"),
    ]
    for i, axis in enumerate("XYZ"):
        lines.append("%s: %11.8f %11.8f %11.8f" % (axis, real[0][i], real[1][i], real[2][i]))
    lines += ["reciprocal-space cell vectors (Angstrom^-1):",
              "     %-10s  %-10s  %-10s" % ("a_star", "b_star", "c_star")]
    for i, axis in enumerate("XYZ"):
        lines.append("%s: %11.8f %11.8f %11.8f" % (axis, recip[0][i], recip[1][i], recip[2][i]))
    return lines
