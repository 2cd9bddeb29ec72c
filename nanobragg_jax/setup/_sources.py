"""X-ray sources: the divergence x dispersion grid (S-3, S-4, S-5) or a -sourcefile (S-1, S-2).

The host decides which grid points survive C's elliptical trimming (static: it fixes the source
count); `source_vectors(xp, ...)` then builds the positions and wavelengths from the continuous
parameters (ranges, dispersion, lambda0), so they stay differentiable inside build_model.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from nanobragg_jax.constants import SOURCE_DISTANCE
from nanobragg_jax.setup._sampling import Axis
from nanobragg_jax.vectors import rotate_about_axis


@dataclasses.dataclass(frozen=True)
class SourceGrid:
    """Static description of the sources."""

    hdiv: Axis
    vdiv: Axis
    disp: Axis
    kept: tuple  # ((hdiv_tic, vdiv_tic), ...) grid points that survive the trimming, C order
    divsteps: int  # C's count for the summary (-1 with a sourcefile: never computed)
    file_xyz: Optional[np.ndarray] = None  # (S, 3) positions from -sourcefile (defaults filled)
    file_I: Optional[np.ndarray] = None  # (S,) weights (printed only: C quirk S-1)
    file_lambda: Optional[np.ndarray] = None  # (S,) m; NaN = use lambda0
    lines: tuple = ()

    @property
    def count(self) -> int:
        if self.file_xyz is not None:
            return int(self.file_xyz.shape[0])
        return len(self.kept) * self.disp.steps


def _deviation(step, tic, rng):
    return step * tic - rng / 2.0


def divergence_grid(hdiv: Axis, vdiv: Axis, disp: Axis, round_div: bool) -> SourceGrid:
    """S-4 (L2353-2365): keep (h, v) unless round_div and
    4*[(h^2 - s_h^2/4*(1 - n_h%2))/R_h^2 + (same for v)] > 1.1.

    Arguments:
        hdiv: horizontal divergence Axis, rad (after `sanity`).
        vdiv: vertical divergence Axis, rad (after `sanity`).
        disp: dispersion Axis, a fraction of lambda0 (after `sanity`).
        round_div: apply C's elliptical trimming (`-round_div`, the C default).
    Returns:
        SourceGrid with the kept (hdiv_tic, vdiv_tic) pairs in C order (hdiv outer), `divsteps`
        their count, and the summary lines (the lambda lines keep a format for `source_summary`).
        With a zero range the test is NaN and nothing is trimmed (S-4).
    """
    kept, lines = [], []
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(hdiv.steps):
            for j in range(vdiv.steps):
                h = _deviation(hdiv.step, i, hdiv.range)
                v = _deviation(vdiv.step, j, vdiv.range)
                test = (np.float64(h * h - hdiv.step * hdiv.step / 4.0 * (1 - hdiv.steps % 2))
                        / np.float64(hdiv.range) / np.float64(hdiv.range))
                test += (np.float64(v * v - vdiv.step * vdiv.step / 4.0 * (1 - vdiv.steps % 2))
                         / np.float64(vdiv.range) / np.float64(vdiv.range))
                # C quirk S-4: with a zero range the test is NaN and nothing is trimmed.
                if round_div and test * 4.0 > 1.1:
                    continue
                kept.append((i, j))
                lines.append("divergence deviation: %g %g" % (h, v))
    for k in range(disp.steps):
        lam_rel = 1.0 + disp.step * k - disp.range / 2.0
        lines.append(("lambda%d = %%.15g" % k, lam_rel))  # lambda0 filled in by the caller
    return SourceGrid(hdiv=hdiv, vdiv=vdiv, disp=disp, kept=tuple(kept), divsteps=len(kept),
                      lines=tuple(lines))


def file_sources(table: np.ndarray, beam, hdiv: Axis, vdiv: Axis, disp: Axis,
                 source_distance: float = SOURCE_DISTANCE) -> SourceGrid:
    """S-2 (L2320-2345): NaN columns become -source_distance * beam (10 m in nanoBragg, whose flag
    is commented out; nonBragg's -source_distance), I = 1, lambda = lambda0.

    Arguments:
        table: (S, 5) float columns X Y Z (m), I (weight), lambda (m), NaN where the file gave no
            value (from `io.read_source_file`).
        beam: beam direction, 3 components (unit vector, lab frame).
        hdiv, vdiv, disp: the sampled axes, stored in the grid only (not used for file sources).
        source_distance: distance in m at which a missing X Y Z is placed (along -beam).
    Returns:
        SourceGrid with `file_xyz` (S, 3) m, `file_I` (S,) weights (NaN -> 1; printed only, S-1),
        `file_lambda` (S,) m with NaN kept (filled with lambda0 by `source_vectors`), divsteps -1.
    """
    table = np.array(table, dtype=np.float64, copy=True)
    for col in range(3):
        nan = np.isnan(table[:, col])
        table[nan, col] = -source_distance * beam[col]
    I = np.where(np.isnan(table[:, 3]), 1.0, table[:, 3])
    return SourceGrid(hdiv=hdiv, vdiv=vdiv, disp=disp, kept=(), divsteps=-1,
                      file_xyz=table[:, :3], file_I=I, file_lambda=table[:, 4].copy())


def source_vectors(xp, grid: SourceGrid, beam, polar, vert, *, lambda0, hdivrange=None,
                   vdivrange=None, dispersion=None, source_distance=SOURCE_DISTANCE):
    """Positions (S, 3) before normalisation and wavelengths (S,), in C's source order.

    hdivrange/vdivrange (rad) and dispersion (fraction) rescale the grid: steps keep their ratio to
    the range (at the defaults the C values come back exactly).  Order: hdiv, vdiv, then lambda.
    source_distance (m): where generated sources sit (only their direction reaches the image).

    Arguments:
        xp: the array module (numpy or jax.numpy).
        grid: the SourceGrid from `divergence_grid` or `file_sources`.
        beam: beam direction, 3 components (unit vector).
        polar: polarization vector, 3 components: the axis of the vdiv rotation (S-5).
        vert: unit(beam x polar), 3 components: the axis of the hdiv rotation (S-5).
        lambda0: central wavelength, m.
        hdivrange, vdivrange: ranges in rad replacing the grid's (None: keep the grid's).
        dispersion: dispersion fraction replacing the grid's (None: keep the grid's).
        source_distance: m, see above.
    Returns:
        (positions, wavelengths): positions (S, 3) in m, not normalised (see `unit_rows`), and
        wavelengths (S,) in m, lambda_k = lambda0*(1 + k*step - dispersion/2) (S-5).  For file
        sources, the file's positions and wavelengths (NaN wavelengths replaced by lambda0).
    """
    if grid.file_xyz is not None:
        lam = grid.file_lambda
        missing = np.isnan(lam)
        lam_filled = np.where(missing, 0.0, lam)
        wavelengths = xp.where(xp.asarray(missing), lambda0, xp.asarray(lam_filled))
        return xp.asarray(grid.file_xyz), wavelengths

    def scaled(axis: Axis, new_range):
        if axis.range == 0.0 or new_range is None:
            return axis.step, axis.range
        return axis.step * (new_range / axis.range), new_range

    hstep, hrange = scaled(grid.hdiv, hdivrange)
    vstep, vrange = scaled(grid.vdiv, vdivrange)
    dstep, drange = scaled(grid.disp, dispersion)
    start = -source_distance * xp.asarray(beam)
    polar = xp.asarray(polar)
    vert = xp.asarray(vert)
    positions, wavelengths = [], []
    for i, j in grid.kept:
        hdiv = hstep * i - hrange / 2.0
        vdiv = vstep * j - vrange / 2.0
        # S-5: rotate about the polarization vector by vdiv, then about unit(b x polar) by hdiv.
        vec = rotate_about_axis(xp, rotate_about_axis(xp, start, polar, vdiv), vert, hdiv)
        for k in range(grid.disp.steps):
            positions.append(vec)
            wavelengths.append(lambda0 * (1.0 + dstep * k - drange / 2.0))
    return xp.stack(positions), xp.stack(wavelengths)


def unit_rows(xp, positions):
    """C unitize() per source (a zero vector stays zero, giving NaN images later as in C).

    Arguments:
        xp: the array module (numpy or jax.numpy).
        positions: (S, 3) source positions, any length unit.
    Returns:
        (S, 3) unit directions, dimensionless; rows of zero length stay zero.
    """
    mag = xp.sqrt(positions[:, 0] * positions[:, 0] + positions[:, 1] * positions[:, 1]
                  + positions[:, 2] * positions[:, 2])
    safe = xp.where(mag == 0.0, 1.0, mag)
    return xp.where((mag == 0.0)[:, None], 0.0, positions / safe[:, None])


def source_summary(grid: SourceGrid, positions, wavelengths, lambda0):
    """C's printout of the sources (L2352-2433).

    Arguments:
        grid: the SourceGrid the sources came from (its stored lines are printed first).
        positions: (S, 3) source positions, m (from `source_vectors`).
        wavelengths: (S,) wavelengths, m.
        lambda0: central wavelength, m (fills the grid's "lambda%d" lines).
    Returns:
        List of str: the grid lines, the "created a total of S sources" line and one
        "x y z weight lambda" line per source (weight 1/S, or the file's I column).
    """
    lines = []
    for item in grid.lines:
        if isinstance(item, tuple):
            fmt, rel = item
            lines.append(fmt % (lambda0 * rel))
        else:
            lines.append(item)
    positions = np.asarray(positions)
    wavelengths = np.asarray(wavelengths)
    n = positions.shape[0]
    weights = grid.file_I if grid.file_I is not None else np.full(n, 1.0 / n)
    lines.append("  created a total of %d sources:" % n)
    for s in range(n):
        x, y, z = positions[s]
        lines.append("%g %g %g   %g %g" % (x, y, z, weights[s], wavelengths[s]))
    return lines
