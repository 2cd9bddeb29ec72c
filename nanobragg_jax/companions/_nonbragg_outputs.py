"""What nonBragg.c makes of its float image on the host (specs/nonbragg.md 6.1, 7, 8): its own
statistics (NB-4), the -img extraction of F per pixel and the -stolout table (NB-15, NB-27)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from nanobragg_jax.constants import R_E_SQR
from nanobragg_jax.layout import roi_slices


@dataclasses.dataclass
class NonBraggStats:
    """nonBragg.c's statistics of its float image, as `nonbragg_statistics` computes them (NB-4).

    Fields:
        max_I: the largest ROI pixel (photons per pixel), 0 when none is > 0.
        max_s: its slow index, -1 when no pixel is > 0.
        max_f: its fast index, -1 when no pixel is > 0.
        mean: the ROI sum over C's pixel counter (`n_start`; not always the ROI pixel count, NB-4).
        rms: sqrt(sum of float32 squares / (n - 1)), photons per pixel.
        rmsd: the rms deviation from `mean`, taken as C takes it from each pixel's right-hand neighbour
            (NB-4), photons per pixel.
    """
    max_I: float
    max_s: int
    max_f: int
    mean: float
    rms: float
    rmsd: float


def _roi_mask(roi, shape):
    inside = np.zeros(shape, bool)
    box = roi_slices(roi, shape)
    if box is not None:
        inside[box] = True
    return inside


def nonbragg_statistics(img, roi, n_start: int) -> NonBraggStats:
    """nonBragg's statistics (L1683-1705) of the float32 image.

    C quirk NB-4: the counter n is never initialised (0 in the C build) and, after an -img
    extraction, holds the last table entry's pixel count: pass it as `n_start` (the rendered pixel
    count without -img).  The squares are float32 products; the rmsd pass reads each pixel's
    right-hand neighbour (index incremented before use), the last one a zero past the image."""
    img = np.ascontiguousarray(img, np.float32)
    box = roi_slices(roi, img.shape)
    max_I, max_s, max_f = 0.0, -1, -1
    total = sumsqr = sumdev = 0.0
    count = 0
    blocks = []
    if box is not None:
        rows, cols = box
        width = cols.stop - cols.start
        count = (rows.stop - rows.start) * width
        step = max(1, (1 << 18) // max(width, 1))  # cache-sized blocks of rows
        blocks = [slice(r, min(r + step, rows.stop)) for r in range(rows.start, rows.stop, step)]
        with np.errstate(over="ignore", invalid="ignore"):
            for r in blocks:
                vals = img[r, cols]
                peak = np.max(vals)
                if np.isnan(peak):
                    peak = np.nanmax(vals) if not np.all(np.isnan(vals)) else np.float32(0.0)
                if peak > max_I:  # C: the first pixel strictly greater than the running max
                    k = int(np.argmax(vals == peak))
                    max_I, max_s, max_f = float(peak), r.start + k // width, cols.start + k % width
                # C sums left to right in double, NumPy pairwise: ~1e-16 relative apart, far below
                # the digits C prints (as outputs.image_statistics)
                total += float(np.sum(vals, dtype=np.float64))
                sumsqr += float(np.sum(np.square(vals), dtype=np.float64))  # float32 squares
    n = n_start if n_start > 0 else 1
    mean = total / n
    n = max(n, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        rms = math.sqrt(sumsqr / (n - 1)) if not sumsqr < 0 else math.nan
        flat = img.ravel()
        F = img.shape[1]
        for r in blocks:  # C reads float[j + 1] (NB-4): the next pixel, a zero past the end
            start, stop = r.start * F + 1, r.stop * F + 1
            nxt = np.zeros(stop - start, np.float64)
            have = min(stop, flat.size) - start
            nxt[:have] = flat[start:start + have]
            dev = nxt.reshape(r.stop - r.start, F)[:, cols] - mean
            sumdev += float(np.sum(dev * dev))
    m = max(count, 2)
    return NonBraggStats(max_I, max_s, max_f, mean, rms,
                         math.sqrt(sumdev / (m - 1)) if not sumdev < 0 else math.nan)


def extract_bins(image, roi, ignore, adc, gain, last, stol_table, fluence, molecules, steps):
    """-img extraction (L1546-1576): F per rendered pixel from the measured image, and its bin.

    last: (F, polar, omega, stol, index) of each pixel's last evaluation (the kernel's details).
    Returns (Fimage float32 (pixels,), bin_of int (pixels,), pixels_in int (table size,)).
    """
    _, polar, omega, stol, nearest = (np.asarray(x) for x in last)
    shape = polar.shape
    inside = _roi_mask(roi, shape).ravel()
    img = np.asarray(image, np.float32).ravel()
    invalid = np.zeros(img.size, bool)
    for v in ignore:
        invalid |= img == np.float32(v)
    dev = ((img.astype(np.float64) - adc) / gain).astype(np.float32).astype(np.float64)
    sign = np.where(dev < 0.0, -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = (((((np.abs(dev) / polar.ravel()) / omega.ravel()) / fluence) / R_E_SQR) / molecules) * steps
        Fimage = (sign * np.sqrt(q)).astype(np.float32)
    xs = stol_table.stol
    n = nearest.ravel().astype(np.int64)
    with np.errstate(invalid="ignore"):
        up = stol.ravel() > (xs[n] + xs[n + 1]) / 2.0
    bins = np.where(invalid, 0, n + up)
    bins = np.where(inside, bins, 0)
    Fimage = np.where(inside, Fimage, np.float32(0.0))
    pixels_in = np.bincount(bins[inside], minlength=stol_table.size)
    return Fimage, bins, pixels_in


def stolout_lines(Fimage, bin_of, pixels_in, stol_table):
    """The -stolout file and C's WARNING lines (L1622-1681), with C's shared buffer emulated (NB-15):
    out-of-ROI pixels go to bin 0's slots and overflow into the next bins.

    Returns (file lines, stdout WARNING lines, n after the loop = the last entry's count (NB-4))."""
    size = stol_table.size
    P = Fimage.size
    buf = np.zeros(2 * P + 10 * size, np.float32)
    start = np.zeros(size, np.int64)
    start[0] = 1
    for b in range(1, size - 1):
        start[b] = start[b - 1] + 2 * pixels_in[b - 1] + 2
    cursor = start.copy()
    order = np.argsort(bin_of, kind="stable")  # pixel order within each bin, as C's loop
    counts = np.bincount(bin_of, minlength=size)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(P) - np.repeat(offsets, counts)
    slots = cursor[bin_of[order]] + within
    # Writes happen in pixel order; where slots collide (bin 0 spilling), the later pixel wins.
    write_order = np.argsort(order, kind="stable")
    slot_of_pixel = slots[write_order]
    buf[slot_of_pixel] = Fimage  # numpy fancy assignment keeps the last write for repeated slots
    lines, warns = [], []
    n = 0
    for b in range(2, size - 2):
        cnt = int(pixels_in[b])
        avg = rms = np.float32(0.0)
        if cnt > 0:
            vals = buf[start[b]:start[b] + cnt]
            s = np.add.accumulate(vals, dtype=np.float32)[-1]
            avg = np.float32(s / np.float32(cnt))
            e = np.abs((vals - avg).astype(np.float32)).astype(np.float32)
            d = np.add.accumulate((e * e).astype(np.float32), dtype=np.float32)[-1]
            rms = np.float32(math.sqrt(np.float32(d / np.float32(cnt))))
        n = cnt
        x = stol_table.stol[b] / stol_table.mult
        if cnt > 100:
            lines.append("%s %s %s   %s %s  %d" % (_g(x), _g(avg), _g(rms), _g(0.0), _g(0.0), cnt))
        else:
            warns.append("WARNING: not enough pixels in bin= %d n=%d stol= %s median= %s avg_arej= %s"
                         % (b, cnt, _g(x), _g(0.0), _g(avg)))
    return lines, warns, n


def _g(x) -> str:
    from nanobragg_jax.io import format_g

    return format_g(float(x))
