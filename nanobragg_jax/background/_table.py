"""The structure-factor profile F(stol) of an amorphous sample, and C's 4-point Lagrange fit.

nonBragg.c (specs/nonbragg.md 4.2, 6, 9.2) keeps the file's points in file order (no sorting, no
merging of duplicates), adds two guard points below (-1e99, -1e98) and two above (1e98, 1e99), and
evaluates F at a pixel's stol by the cubic through four consecutive entries found by a search that
starts from the previous evaluation's index.  For a strictly increasing table the search always ends
at the entry with stol[n] <= stol < stol[n+1] (whatever it started from), so the kernel finds it by
bisection; only an unordered table needs the sequential search (`sequential_nearest`, NB-7).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math

import numpy as np

from nanobragg_jax.errors import InputError

#: Abscissa multipliers to sin(theta)/lambda in 1/m for the three table flags (nonBragg L696-710).
STOL_UNITS = {"stol": 1e10, "4stol": 1e10 / 4, "Q": 1e10 / math.pi / 4}
_GUARDS_LOW = (-1e99, -1e98)
_GUARDS_HIGH = (1e98, 1e99)


@dataclasses.dataclass(frozen=True)
class StolTable:
    """A profile with C's guard points, host side.

    Attributes:
        stol: (n + 4,) sin(theta)/lambda in 1/m, file order, guards at both ends.
        F: (n + 4,) structure factor per molecule (electrons); a missing F is 0.
        mult: what the file's first column was multiplied by (1/m per file unit).
        increasing: the file's points are strictly increasing (the fit then depends only on stol).
    """

    stol: np.ndarray
    F: np.ndarray
    mult: float
    increasing: bool

    @property
    def size(self) -> int:
        return int(self.stol.shape[0])

    def search_grid(self, cells_per_point: int = 4) -> dict:
        """A uniform grid over the increasing table that narrows the fit-index search to a few
        entries (the kernel then bisects inside them; `fit_index` is the reference).

        For grid cell k (stol in [lo + k h, lo + (k+1) h)) the index lies in [start[k], end[k]]:
        both are taken one cell wider than the cell, so a cell number off by one in floating point
        still brackets the answer.  The index is start[k] plus the number of the next candidates'
        abscissae (`grid_window`, inf past end[k]) that are <= stol: the same comparisons as the
        search.  Returns {"grid_lo", "grid_inv_h" (1/m), "grid_start" (int32, (M,)),
        "grid_window" ((M, steps))} and "steps", the widest bracket."""
        n = self.size - 4
        x = self.stol
        lo, hi = float(x[2]), float(x[n + 1])
        M = max(1, cells_per_point * n)
        h = (hi - lo) / M if hi > lo else 1.0
        edges = lo + h * np.arange(-1, M + 2, dtype=np.float64)
        idx = np.clip(np.searchsorted(x, edges, side="right") - 1, 1, self.size - 3)
        start, end = idx[:M], idx[3:M + 3]
        span = int(np.max(end - start)) if M else 0
        # the candidates' abscissae per cell, so the kernel gathers one row instead of bisecting
        window = np.stack([x[np.clip(start + j, 0, self.size - 1)] for j in range(1, span + 1)], axis=1) \
            if span else np.zeros((M, 0))
        window = np.where(start[:, None] + np.arange(1, span + 1)[None, :] <= end[:, None], window, np.inf)
        return {"grid_lo": np.float64(lo), "grid_inv_h": np.float64(1.0 / h),
                "grid_start": start.astype(np.int32), "grid_window": window, "steps": span}

    def stencils(self) -> np.ndarray:
        """(n + 4, 8): for each index m, the fit's four abscissae stol[m-1 .. m+2] then their four F.

        Only m = 1 .. n+1 is ever used (C's search keeps the index there); other rows hold NaN."""
        n = self.size
        out = np.full((n, 8), np.nan)
        for m in range(1, n - 2):
            out[m, :4] = self.stol[m - 1:m + 3]
            out[m, 4:] = self.F[m - 1:m + 3]
        return out


def stol_table(rows, mult: float = STOL_UNITS["stol"], name: str = "table") -> StolTable:
    """C's table (nonBragg L1225-1255) from the file's rows.

    Arguments:
        rows: (n, 2) abscissa (file unit) and F, NaN where the file gave none (`io.read_stol_file`).
        mult: 1/m per file unit (`STOL_UNITS`).
        name: the file, for messages.
    Returns:
        StolTable.  The guards take the F of the first and of the last point that has one.
    Raises:
        InputError: no point has an F (C would use an uninitialised low guard, NB-24).
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    n = rows.shape[0]
    if n == 0:
        raise InputError(f"{name}: no data in the table")
    given = ~np.isnan(rows[:, 1])
    if not given.any():
        raise InputError(f"{name}: no line of the table has an F value (nonBragg.c would read "
                         "uninitialised memory, NB-24)")
    stol = np.empty(n + 4)
    F = np.empty(n + 4)
    stol[2:n + 2] = rows[:, 0] * mult
    F[2:n + 2] = np.where(given, rows[:, 1], 0.0)
    stol[:2] = _GUARDS_LOW
    stol[n + 2:] = _GUARDS_HIGH
    F[:2] = rows[np.argmax(given), 1]
    F[n + 2:] = rows[n - 1 - np.argmax(given[::-1]), 1]
    real = stol[2:n + 2]
    with np.errstate(invalid="ignore"):
        increasing = bool(np.all(np.isfinite(real)) and np.all(np.diff(real) > 0)
                          and real[0] > _GUARDS_LOW[1] and real[-1] < _GUARDS_HIGH[0])
    return StolTable(stol=stol, F=F, mult=float(mult), increasing=increasing)


def fit_index(table: StolTable, stol) -> np.ndarray:
    """Where C's search ends on an increasing table, stol[n] <= stol < stol[n+1] (n in 1..N+1).

    Arguments:
        table: a StolTable with `increasing` True (for an unordered one see `sequential_nearest`).
        stol: sin(theta)/lambda in 1/m, scalar or any shape.
    Returns:
        integer array of stol's shape: the index n of the fit's second point (the cubic uses
        entries n-1 .. n+2), clipped to 1 .. N+1 for the N points of the file.
    """
    n = np.searchsorted(table.stol, np.asarray(stol, dtype=np.float64), side="right") - 1
    return np.clip(n, 1, table.size - 3)


# ------------------------------------------------------------------------------------------------
# The sequential search of an unordered table (NB-7)

def _nearest_walk(stols, samples, nearest, out):
    """C L1506-1507 for each sample in order, carrying `nearest`; writes out[k]; returns nearest."""
    top = stols.shape[0] - 1  # C's bound `nearest <= stols`; stols[top] is the sentinel
    for k in range(samples.shape[0]):
        s = samples[k]
        while s > stols[nearest] and nearest <= top:
            nearest += 1
        while s < stols[nearest] and nearest >= 2:
            nearest -= 1
        out[k] = nearest
    return nearest


_compiled_walk = None


def sequential_nearest(stol, samples, nearest: int = 0) -> tuple[np.ndarray, int]:
    """The fit index C uses for each evaluation of an unordered table, in C's evaluation order.

    Arguments:
        stol: (T,) the table's abscissae with guards (`StolTable.stol`), 1/m.
        samples: (K,) stol (1/m) of every evaluation in C's order (pixels in raster order inside the
            ROI, sub-pixels slow then fast, then sources).
        nearest: the index before the first evaluation (C starts at 0).
    Returns:
        ((K,) int32 indices, the index after the last evaluation).
    """
    global _compiled_walk
    samples = np.ascontiguousarray(samples, dtype=np.float64).reshape(-1)
    out = np.empty(samples.shape[0], np.int32)
    walk = _nearest_walk
    if importlib.util.find_spec("numba") is not None and samples.shape[0] > 10000:
        if _compiled_walk is None:
            import numba

            _compiled_walk = numba.njit(cache=True, nogil=True)(_nearest_walk)
        walk = _compiled_walk
    # C reads one entry past the table only for stol > 1e99, which no geometry reaches; the guard
    # entry keeps the walk inside the array.
    stols = np.concatenate([np.asarray(stol, dtype=np.float64), [np.inf]])
    nearest = walk(stols, samples, int(nearest), out)
    return out, int(nearest)
