"""PGM previews (-pgmfile): binary P5 with C's comment line (L3209-3222)."""

from __future__ import annotations

import re

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_write_bytes, read_input_bytes
from nanobragg_jax.io._cnumbers import format_g

_HEADER = re.compile(rb"P5\s+(?:#[^\n]*\n\s*)*(\d+)\s+(?:#[^\n]*\n\s*)*(\d+)\s+(?:#[^\n]*\n\s*)*(\d+)\s")
_SCALE = re.compile(rb"# pixels scaled by ([^\n]*)\n")


def pgm_bytes(pixels_uint8: np.ndarray, pgm_scale: float) -> bytes:
    """The bytes of a binary (P5) PGM file as nanoBragg.c writes it (L3209-3222; C row O4).

    The header is "P5", "fast slow", the comment "# pixels scaled by <scale>" (C's %g) and "255",
    one per line, followed by the pixels in raster order.

    Arguments:
        pixels_uint8: the preview pixels, (slow, fast) uint8.
        pgm_scale: the scale the pixels were made with (photons per pixel -> grey level), for the
            comment only.
    Returns:
        The whole file.
    Raises:
        ValueError: pixels that are not a 2-D uint8 array.
    """
    data = np.asarray(pixels_uint8)
    if data.ndim != 2 or data.dtype != np.uint8:
        raise ValueError(f"PGM pixels must be 2-D uint8 (slow, fast), got {data.dtype} {data.shape}")
    spixels, fpixels = data.shape
    # C: "P5\n%d %d\n" then "# pixels scaled by %lg\n" then "255\n"; %lg prints like %g.
    head = f"P5\n{fpixels} {spixels}\n# pixels scaled by {format_g(pgm_scale)}\n255\n".encode("ascii")
    return head + np.ascontiguousarray(data).tobytes()


def write_pgm(path, pixels_uint8: np.ndarray, pgm_scale: float) -> None:
    """Write the PGM exactly as C does (atomic).

    Arguments:
        path: the file to write.
        pixels_uint8: the preview pixels, (slow, fast) uint8.
        pgm_scale: the scale written in the comment line.
    Raises:
        ValueError: pixels that are not a 2-D uint8 array.
        InputError: the file cannot be written.
    """
    atomic_write_bytes(path, pgm_bytes(pixels_uint8, pgm_scale))


def read_pgm(path) -> tuple[np.ndarray, dict]:
    """Read a binary (P5) PGM, gzipped when the name ends in .gz.

    Arguments:
        path: the file.
    Returns:
        (pixels, info): pixels (height, width) = (slow, fast) uint8; info {"width", "height", "maxval",
        "scale"}, with "scale" the text of C's "# pixels scaled by" comment, or None.
    Raises:
        InputError: an unreadable file, one that is not a binary PGM, a maxval over 255, or too few
            pixel bytes.
    """
    raw = read_input_bytes(path, "PGM file", allow_gzip=True)
    m = _HEADER.match(raw)
    if not m:
        raise InputError(f"PGM file {str(path)!r}: not a binary (P5) PGM")
    width, height, maxval = (int(g) for g in m.groups())
    if maxval > 255:
        raise InputError(f"PGM file {str(path)!r}: maxval {maxval} is not 8-bit")
    body = raw[m.end(): m.end() + width * height]
    if len(body) < width * height:
        raise InputError(f"PGM file {str(path)!r}: {len(body)} pixel bytes, {width}x{height} needs {width * height}")
    scale = _SCALE.search(raw[: m.end()])
    info = {"width": width, "height": height, "maxval": maxval,
            "scale": scale.group(1).decode("ascii", "replace") if scale else None}
    return np.frombuffer(body, dtype=np.uint8).reshape(height, width).copy(), info
