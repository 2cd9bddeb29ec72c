"""`nanobragg compare`: two images (raw float32 or SMV, optionally gzipped; miniCBF; NXmx) compared
as the goldens are: correlation, sum ratio, the worst pixel and its relative error, and how many pixels
lie outside |B - A| <= rtol |A| + atol max|A| (default rtol 1e-5, atol 1e-7: the goldens' tolerance;
host side, NumPy only).  The CLI exits 1 when any pixel does.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import os
import tempfile
from typing import Optional

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io import IMAGE_FORMATS, read_minicbf, read_nxmx, read_smv

_SMV_START = b"{\nHEADER_BYTES="


def _raw_bytes(path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read '{path}': {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"'{path}': broken gzip file ({exc})") from None
    return raw


def _read_smv_bytes(raw: bytes, path) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:  # read_smv takes a path; the file may be gzipped
        name = os.path.join(tmp, "image.img")
        with open(name, "wb") as fh:
            fh.write(raw)
        try:
            return read_smv(name).data.astype(np.float64)
        except InputError as exc:
            raise InputError(str(exc).replace(name, str(path))) from None


def _companion_shape(path) -> Optional[tuple]:
    """(slow, fast) from an SMV image next to a raw float file (same stem, or the usual names)."""
    folder = os.path.dirname(os.path.abspath(path))
    stem = os.path.basename(path).split(".")[0]
    for name in (stem + ".img", stem + ".img.gz", "int.img", "int.img.gz", "intimage.img", "noise.img",
                 "noiseimage.img"):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            raw = _raw_bytes(candidate)
            if raw.startswith(_SMV_START):
                return _read_smv_bytes(raw, candidate).shape
    return None


def load_image(path, shape=None) -> np.ndarray:
    """A 2-D float64 image (slow, fast) from raw float32 or SMV (gzip accepted), miniCBF (.cbf) or
    NXmx (.nxs/.nx5/.h5/.hdf5: its first frame, one panel).

    Arguments:
        path: the image file; the format comes from the extension (`io.IMAGE_FORMATS`), else from
            the content (SMV when it starts with C's header, raw little-endian float32 otherwise).
        shape: (slow, fast) of a raw float file; None: from an SMV image next to it with the same
            stem (or int.img, intimage.img, noise.img, noiseimage.img), else a square image.
    Returns:
        (slow, fast) float64 array in the file's own unit (photons per pixel for a float image,
        counts/ADU for SMV, miniCBF and NXmx).
    Raises:
        InputError: an unreadable file or broken gzip, a bad SMV/miniCBF/NXmx file (from the io
            readers), an NXmx file with several panels, a raw file whose size is not a multiple of
            4 bytes or does not fit `shape` (or no shape can be told).
    """
    kind = IMAGE_FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())
    if kind == "cbf":
        return read_minicbf(path)[0].astype(np.float64)
    if kind == "nxmx":
        images = read_nxmx(path)[0]
        if images.ndim != 3:
            raise InputError(f"'{path}': an NXmx file with several panels cannot be compared as one image")
        return images[0].astype(np.float64)
    raw = _raw_bytes(path)
    if raw.startswith(_SMV_START):
        return _read_smv_bytes(raw, path)
    if len(raw) % 4:
        raise InputError(f"'{path}': {len(raw)} bytes is not a whole number of float32 values")
    data = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    shape = tuple(shape) if shape else _companion_shape(path)
    if shape is None:
        side = math.isqrt(data.size)
        if side * side != data.size:
            raise InputError(f"'{path}': cannot tell the image shape of {data.size} values; give --shape S F")
        shape = (side, side)
    if shape[0] * shape[1] != data.size:
        raise InputError(f"'{path}': {data.size} values do not fit the shape {shape[0]}x{shape[1]}")
    return data.reshape(shape)


@dataclasses.dataclass
class Comparison:
    """The result of `compare_images`: how image B differs from the reference A.

    Pixel values are in the images' own unit (photons per pixel for float images, counts for SMV).

    Fields:
        shape: (slow, fast) of both images.
        correlation: Pearson correlation of the pixels (NaN for a single pixel or constant images).
        sum_ratio: sum(B) / sum(A), NaN when sum(A) is 0.
        worst_pixel: (slow, fast) of the largest error relative to |A| (with a floor of 1e-7 max|A|).
        worst_a: A at the worst pixel.
        worst_b: B at the worst pixel.
        worst_rel: |B - A| / |A| at the worst pixel (inf where A is 0 and B is not).
        max_abs: the largest |B - A|.
        failing: the pixels outside |B - A| <= rtol |A| + atol max|A| (NaN pixels included).
        rtol: the relative tolerance used.
        atol: the absolute tolerance used, as a fraction of max|A|.
    """
    shape: tuple
    correlation: float
    sum_ratio: float  # sum(B) / sum(A)
    worst_pixel: tuple  # (slow, fast)
    worst_a: float
    worst_b: float
    worst_rel: float  # |B - A| / |A| at the worst pixel (inf where A is 0 and B is not)
    max_abs: float
    failing: int  # pixels outside |B - A| <= rtol |A| + atol max|A| (NaN pixels included)
    rtol: float = 1e-5
    atol: float = 1e-7

    def lines(self) -> list:
        s, f = self.worst_pixel
        return [
            f"shape (slow, fast): {self.shape[0]} x {self.shape[1]}",
            f"correlation: {self.correlation:.9g}",
            f"sum ratio B/A: {self.sum_ratio:.9g}",
            f"worst pixel (slow, fast) = ({s}, {f}): A = {self.worst_a:.9g}  B = {self.worst_b:.9g}  "
            f"relative error = {self.worst_rel:.3g}",
            f"max |B - A| = {self.max_abs:.3g}",
            f"pixels outside {self.rtol:g}*|A| + {self.atol:g}*max|A|: {self.failing} of "
            f"{self.shape[0] * self.shape[1]}",
        ]


def compare_images(a_path, b_path, shape=None, rtol: float = 1e-5, atol: float = 1e-7) -> Comparison:
    """Compare image B with the reference A.

    Arguments:
        a_path, b_path: raw float32 (shape from --shape, an SMV file next to it, or square) or SMV
            images, gzip accepted.
        shape: (slow, fast) for raw files, or None.
        rtol, atol: a pixel agrees when |B - A| <= rtol |A| + atol max|A|.
    Returns:
        A `Comparison` (its `failing` counts the pixels that do not agree).
    Raises:
        InputError: unreadable files, unknown shape, shapes that differ, a negative tolerance.
    """
    if not (rtol >= 0 and atol >= 0):
        raise InputError(f"tolerances must be >= 0, got --rtol {rtol:g} --atol {atol:g}")
    a = load_image(a_path, shape)
    b = load_image(b_path, shape if shape else a.shape)
    if a.shape != b.shape:
        raise InputError(f"the images differ in shape: {a.shape} vs {b.shape}")
    diff = np.abs(b - a)
    peak = float(np.nanmax(np.abs(a))) if a.size else 0.0
    # Worst pixel: largest error relative to the pixel, with a floor of 1e-7 of the peak so empty
    # background pixels do not dominate (the same floor as the goldens' tolerance).
    floor = max(1e-7 * peak, np.finfo(np.float64).tiny)
    k = int(np.nanargmax(diff / np.maximum(np.abs(a), floor))) if a.size else 0
    s, f = divmod(k, a.shape[1])
    rel = float(diff.flat[k] / abs(a.flat[k])) if a.flat[k] != 0 else (0.0 if diff.flat[k] == 0 else math.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.size > 1 else math.nan
        ratio = float(b.sum() / a.sum()) if a.sum() != 0 else math.nan
    failing = int(np.count_nonzero(~(diff <= rtol * np.abs(a) + atol * peak)))
    return Comparison(a.shape, corr, ratio, (s, f), float(a.flat[k]), float(b.flat[k]), rel,
                      float(np.nanmax(diff)) if a.size else 0.0, failing, rtol, atol)


