"""Raw float images (-floatfile): little-endian float32, fast index fastest, no header (L3121-3129)."""

from __future__ import annotations

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_write_bytes, read_input_bytes


def write_float_image(path, img) -> None:
    """Write a (slow, fast) image as raw little-endian float32 (C's `(float)` cast of each pixel), atomically.

    Arguments:
        path: the file to write.
        img: (slow, fast) array, photons per pixel; any real dtype (converted to float32).
    Raises:
        ValueError: an array that is not 2-D.
        InputError: the file cannot be written.
    """
    data = np.asarray(img)
    if data.ndim != 2:
        raise ValueError(f"float image must be 2-D (slow, fast), got shape {data.shape}")
    # The array's own buffer goes to the file (no 25 MB bytes copy for a Pilatus frame).
    atomic_write_bytes(path, memoryview(np.ascontiguousarray(data, dtype="<f4")).cast("B"))


def read_float_image(path, shape=None) -> np.ndarray:
    """Read a raw float32 image (gzipped when the name ends in .gz).

    Arguments:
        path: the file: little-endian float32, no header.
        shape: (slow, fast); without it the result is 1-D.
    Returns:
        Native float32 array, (slow, fast) or (pixels,), photons per pixel for nanoBragg's images.
    Raises:
        InputError: an unreadable file, a length that is not a whole number of float32, or a value
            count that does not fit `shape`.
    """
    raw = read_input_bytes(path, "float image", allow_gzip=True)
    if len(raw) % 4:
        raise InputError(f"float image {str(path)!r}: {len(raw)} bytes is not a whole number of float32")
    data = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if shape is None:
        return data
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != data.size:
        raise InputError(f"float image {str(path)!r}: {data.size} values, shape {shape} needs {int(np.prod(shape))}")
    return data.reshape(shape)
