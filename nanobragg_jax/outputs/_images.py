"""Host-side conversions of the float image, exactly as nanoBragg.c does them (NumPy only).

- image_statistics: max_I, mean, rms, rmsd (L3040-3048, L3093-3119; c-behaviour O5)
- int_image: the SMV integer image (L3134-3156; O3)
- pgm_image: the 8-bit PGM preview (L3188-3207; O4)
`roi` is (xmin, xmax, ymin, ymax), inclusive, already resolved (x = fast, y = slow).  Arrays are
(slow, fast).  A mask pixel equal to 0 means "skip this pixel" (G11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from nanobragg_jax.layout import roi_slices

__all__ = ["Stats", "image_statistics", "int_image", "pgm_image",
           "last_subpixel_position"]


@dataclass
class Stats:
    """nanoBragg.c's statistics of the float image (C row O5), as `image_statistics` returns them.

    Fields:
        max_I: the largest unmasked ROI pixel (photons per pixel), 0 when none is > 0.
        max_I_x: C's Fdet of that pixel's last sub-pixel, in m (`last_subpixel_position`); 0 when no
            pixel is > 0, NaN when no position function was given.
        max_I_y: C's Sdet of the same, in m.
        mean: the mean over unmasked ROI pixels, photons per pixel.
        rms: sqrt(sum of float32-rounded squares / (sumn - 1)) over the same pixels.
        rmsd: the rms deviation from `mean` over every ROI pixel, masked ones included.
        sumn: the number of unmasked ROI pixels.
        max_s: the slow index of the max pixel, -1 when no pixel is > 0.
        max_f: its fast index, -1 likewise.
    """
    max_I: float
    max_I_x: float  # C's Fdet of the max pixel's last subpixel (m); 0 when no pixel is > 0
    max_I_y: float  # C's Sdet, likewise
    mean: float
    rms: float
    rmsd: float
    sumn: int  # pixels in the first pass (inside the ROI, not masked)
    max_s: int = -1  # slow index of the max pixel, -1 when no pixel is > 0
    max_f: int = -1  # fast index


def last_subpixel_position(s: int, f: int, pixel_size: float, oversample: int) -> tuple[float, float]:
    """(Fdet, Sdet) C holds after the subpixel loop of pixel (s, f): its LAST subpixel's centre.

    C quirk O5: max_I's position is printed from these loop variables (L2694-2695, L3044-3045),
    so with oversampling it is not the pixel centre.  Same arithmetic order as C.

    Arguments:
        s: the pixel's slow index.
        f: the pixel's fast index.
        pixel_size: in m (the result's unit).
        oversample: sub-pixels per pixel side.
    Returns:
        (Fdet, Sdet) in the unit of `pixel_size` (m), measured from the detector corner.
    """
    sub = pixel_size / oversample
    last = oversample - 1
    return (sub * (f * oversample + last) + sub / 2.0, sub * (s * oversample + last) + sub / 2.0)


# Pixels per pass of the statistics and int-image loops: blocks of whole rows small enough to stay
# in cache, so no temporary of the frame's size is ever made (a Pilatus frame in ~0.05 s).
_BLOCK_PIXELS = 1 << 18


def non_finite_count(img) -> int:
    """How many pixels of an image are NaN or infinite.

    Arguments:
        img: any float image.
    Returns:
        the count (0 for a finite image).
    """
    return int(np.size(img) - np.count_nonzero(np.isfinite(img)))


def _row_blocks(rows: slice, width: int):
    step = max(1, _BLOCK_PIXELS // max(width, 1))
    for r in range(rows.start, rows.stop, step):
        yield slice(r, min(r + step, rows.stop))


def image_statistics(float_img_f32, roi, mask=None,
                     max_pixel_pos: Optional[Callable[[int, int], tuple[float, float]]] = None) -> Stats:
    """C's statistics of the float image (nanoBragg.c L3040-3048, L3093-3119; C row O5).

    mask: (slow, fast); a pixel equal to 0 (or False) was skipped by the render loop.
    max_pixel_pos(s, f) -> (x, y) gives the printed position of the max pixel; pass e.g.
    `lambda s, f: last_subpixel_position(s, f, pixel_size, oversample)`.  Without it the position
    is NaN (0, 0 when no pixel is > 0, as C's initial values).

    C sums left to right in double; NumPy sums each block pairwise.  The two differ by ~1e-16
    relative, far below the 6 digits C prints.

    Arguments:
        float_img_f32: (slow, fast) float image, photons per pixel (rounded to float32).
        roi: (xmin, xmax, ymin, ymax), inclusive, resolved (x fast, y slow).
        mask: (slow, fast) mask, or None for none.
        max_pixel_pos: the position function above, or None.
    Returns:
        `Stats` (see its fields for units and which pixels each figure covers).
    """
    img = np.asarray(float_img_f32, dtype=np.float32)
    mask = None if mask is None else np.asarray(mask)
    box = roi_slices(roi, img.shape)
    max_I, max_x, max_y, max_s, max_f = 0.0, 0.0, 0.0, -1, -1
    sumn, total, sumsqr = 0, 0.0, 0.0
    if box is not None:
        rows, cols = box
        for r in _row_blocks(rows, cols.stop - cols.start):
            block = img[r, cols]
            if mask is not None:
                keep = mask[r, cols] != 0
                vals, where = block[keep], np.flatnonzero(keep)
            else:
                vals, where = block.ravel(), None
            if vals.size == 0:
                continue
            sumn += int(vals.size)
            total += float(np.sum(vals, dtype=np.float64))
            # C quirk O5: the square is float*float, rounded to float before the double sum.
            sumsqr += float(np.sum(np.square(vals), dtype=np.float64))
            # max_I starts at 0.0 and takes the first strictly greater pixel: the first occurrence
            # of the maximum; NaN never compares greater.
            peak = np.max(vals)
            k = int(np.argmax(vals)) if not np.isnan(peak) else (
                -1 if np.all(np.isnan(vals)) else int(np.nanargmax(vals)))
            if k >= 0 and float(vals[k]) > max_I:
                max_I = float(vals[k])
                flat = k if where is None else int(where[k])
                width = cols.stop - cols.start
                max_s, max_f = r.start + flat // width, cols.start + flat % width
    if max_s >= 0:
        max_x, max_y = max_pixel_pos(max_s, max_f) if max_pixel_pos else (math.nan, math.nan)

    n = sumn if sumn > 0 else 1
    mean = total / n
    if n <= 1:
        n = 2
    rms = math.sqrt(sumsqr / (n - 1))

    # C quirk O5: the rmsd pass covers every ROI pixel, masked ones included (their value is 0).
    m, dev2 = 0, 0.0
    if box is not None:
        rows, cols = box
        for r in _row_blocks(rows, cols.stop - cols.start):
            with np.errstate(invalid="ignore"):  # inf - inf: NaN, as in C
                dev = np.subtract(img[r, cols], mean, dtype=np.float64)
            m += int(dev.size)
            dev2 += float(np.sum(np.square(dev, out=dev)))
    if m <= 1:
        m = 2
    rmsd = math.sqrt(dev2 / (m - 1))
    return Stats(max_I=max_I, max_I_x=float(max_x), max_I_y=float(max_y), mean=mean, rms=rms,
                 rmsd=rmsd, sumn=sumn, max_s=max_s, max_f=max_f)


def _roi_max(img: np.ndarray, box) -> float:
    """The largest ROI pixel, NaN ignored, at least 0 (C's max_I when no statistics are given)."""
    if box is None:
        return 0.0
    vals = img[box]
    if np.all(np.isnan(vals)):
        return 0.0
    return max(0.0, float(np.nanmax(vals)))


def int_image(float_img_f32, roi, scale: float, adc: float,
              max_I: Optional[float] = None) -> tuple[np.ndarray, float]:
    """The integer image C writes (O3) and the scale it used.

    scale <= 0 means automatic: 55000/max_I, or 1 when max_I is 0 (max_I: Stats.max_I; computed over
    the ROI when not given, which is the same because masked pixels are 0).
    value = float*scale + adc (double), clamped to [0, 65535], then floorf((float)(value + 0.5)).
    Pixels outside the ROI are 0 (nanoBragg.c L3134-3156).

    Arguments:
        float_img_f32: (slow, fast) float image, photons per pixel.
        roi: (xmin, xmax, ymin, ymax), inclusive, resolved (x fast, y slow).
        scale: ADU per photon (`-scale`), <= 0 for automatic.
        adc: the ADC offset added to every ROI pixel, ADU (`-adc`).
        max_I: the largest pixel for the automatic scale, or None to compute it.
    Returns:
        ((slow, fast) uint16 image in ADU, the scale used).
    """
    img = np.asarray(float_img_f32, dtype=np.float32)
    box = roi_slices(roi, img.shape)
    if scale <= 0.0:
        peak = _roi_max(img, box) if max_I is None else float(max_I)
        scale = 55000.0 / peak if peak > 0.0 else 1.0
    out = np.zeros(img.shape, np.uint16)
    if box is None:
        return out, float(scale)
    rows, cols = box
    for r in _row_blocks(rows, cols.stop - cols.start):
        with np.errstate(invalid="ignore"):  # inf * 0: NaN, as in C
            v = np.multiply(img[r, cols], scale, dtype=np.float64)
            v += adc
        # C: `if (test > 65535) test = 65535; if (test < 0) test = 0;` (NaN passes both unchanged)
        np.minimum(v, 65535.0, out=v)
        np.maximum(v, 0.0, out=v)
        v += 0.5
        # C quirk O3: floorf takes a float, so v + 0.5 is rounded to float32 before the floor.
        rounded = np.floor(v.astype(np.float32))
        # (unsigned short) of NaN is 0 on x86 (cvttss2si gives INT_MIN, low 16 bits 0).
        rounded[np.isnan(rounded)] = 0.0
        out[r, cols] = rounded
    return out, float(scale)


def _c_uchar(t: np.ndarray) -> np.ndarray:
    """(unsigned char) of a double as x86 gcc does it: truncate to int32 (NaN or out of range ->
    INT_MIN), keep the low byte.  So -1.5 -> 255 and NaN -> 0 (undefined behaviour in C)."""
    ok = np.isfinite(t) & (t > -2147483649.0) & (t < 2147483648.0)
    as_int = np.where(ok, np.trunc(np.where(ok, t, 0.0)), -2147483648.0).astype(np.int64)
    return (as_int & 0xFF).astype(np.uint8)


def pgm_image(float_img_f32, roi, pgm_scale: float, rmsd: float,
              intfile_scale: float) -> tuple[np.ndarray, float]:
    """The 8-bit PGM pixels C writes (O4) and the scale it used.

    pgm_scale <= 0 means automatic: 250/(5*rmsd), or intfile_scale (the resolved int-image scale)
    when rmsd <= 0.  byte = (unsigned char)min(255, float*scale), truncated; outside the ROI 0
    (nanoBragg.c L3188-3207).

    Arguments:
        float_img_f32: (slow, fast) float image, photons per pixel.
        roi: (xmin, xmax, ymin, ymax), inclusive, resolved (x fast, y slow).
        pgm_scale: grey levels per photon (`-pgmscale`), <= 0 for automatic.
        rmsd: `Stats.rmsd` of the image, photons per pixel.
        intfile_scale: the int image's resolved scale, the fallback when rmsd <= 0.
    Returns:
        ((slow, fast) uint8 pixels, the scale used).
    """
    img = np.asarray(float_img_f32, dtype=np.float32)
    box = roi_slices(roi, img.shape)
    if pgm_scale <= 0.0:
        pgm_scale = 250.0 / (5.0 * rmsd) if rmsd > 0.0 else intfile_scale
    out = np.zeros(img.shape, np.uint8)
    if box is not None:
        rows, cols = box
        for r in _row_blocks(rows, cols.stop - cols.start):  # cache-sized blocks (~0.05 s a frame)
            with np.errstate(invalid="ignore", over="ignore"):
                t = np.multiply(img[r, cols], pgm_scale, dtype=np.float64)
                t[t > 255.0] = 255.0
            out[r, cols] = _c_uchar(t)
    return out, float(pgm_scale)
