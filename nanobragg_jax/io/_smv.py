"""SMV ("ADSC") images: C's GetFrame/ValueOf readers (L4124-4263) and its header writer (L3167-3184).

An SMV file is a text header "{\\nKEY=value;\\n...}\\f" padded with spaces to HEADER_BYTES (512 for
the files nanoBragg writes), then SIZE1*SIZE2 unsigned 16-bit pixels, fast index (SIZE1) fastest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_write_bytes, read_input_bytes
from nanobragg_jax.io._cnumbers import c_atof, format_g

HEADER_BYTES = 512
# GetFrame compares only the first 12 characters of this with the file (strncmp(..., 12)).
_ADSC_MAGIC = "{\nHEADER_BYTES=  512;\nDIM=2;\nBYTE_ORDER="[:12]
# The one key C writes without a ';' terminator (C quirk O6).
_NO_SEMICOLON = "DIALS_ORIGIN"


@dataclass
class SMVImage:
    """An SMV image as `read_smv` reads it, the way nanoBragg.c's GetFrame does (L4124-4263).

    Fields:
        header: the header text C sees: the first `header_bytes` bytes (latin-1), cut at the first NUL.
        header_bytes: HEADER_BYTES from the header.
        width: SIZE1, the fast pixel count.
        height: SIZE2, the slow pixel count.
        data: the pixels, (slow, fast) = (height, width) uint16, decoded in the byte order the header's
            BYTE_ORDER names.
        swap_bytes: True when BYTE_ORDER is not little_endian.  The C programs note it but never swap
            (nonBragg's -img, NB-18): a caller that reproduces them undoes the decoding with
            `data.byteswap()`.  For a -mask the order does not matter (zero stays zero).
    """
    header: str  # the header text as C sees it: HEADER_BYTES bytes, cut at the first NUL
    header_bytes: int
    width: int  # SIZE1, fast
    height: int  # SIZE2, slow
    data: np.ndarray  # uint16, (height, width) = (slow, fast), values as the header's BYTE_ORDER says
    swap_bytes: bool = False  # BYTE_ORDER is not little_endian (data is decoded so; the C programs are not)


def value_text(header: str, key: str):
    """What C's ValueOf converts for `key`: the header text after the '=' that follows the LAST
    occurrence of `key` (to the end of the header); None when the key is absent, "" when no '='
    follows it.

    Arguments:
        header: the header text.
        key: the key, matched as a substring (C quirk G11).
    Returns:
        The text after the '=', "" or None (see above).
    Raises:
        ValueError: an empty key.
    """
    if not key:
        raise ValueError("value_of: empty key")
    # C quirk G11: successive strstr calls from just after each match, so the last match wins.
    pos, found = 0, False
    while True:
        hit = header.find(key, pos)
        if hit < 0:
            break
        pos, found = hit + len(key), True
    if not found:
        return None
    eq = header.find("=", pos)
    return "" if eq < 0 else header[eq + 1:]


def value_of(header: str, key: str) -> float:
    """C ValueOf: the number after the '=' that follows the LAST occurrence of `key`.

    `key` matches as a substring ("DISTANCE" also finds "CLOSE_DISTANCE=", "ORGX" "XDS_ORGX=");
    NaN when the key is absent, 0.0 when no '=' follows it, else atof of what follows the '='.

    Arguments:
        header: the header text.
        key: the key (non-empty).
    Returns:
        The value in the header's own unit (mm, Angstrom, degrees for nanoBragg's keys).
    Raises:
        ValueError: an empty key.
    """
    text = value_text(header, key)
    if text is None:
        return math.nan
    return c_atof(text) if text else 0.0


def parse_header_fields(header: str) -> dict:
    """KEY -> value text for each 'KEY=value;' line of the header (the ';' removed), in order.

    Arguments:
        header: the header text; only the part before the first '}' is read.
    Returns:
        Dict key -> value text (a repeated key keeps its last value, in its first key's position).
    """
    body = header.split("}", 1)[0]
    fields = {}
    for line in body.split("\n"):
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        if value.endswith(";"):
            value = value[:-1]
        fields[key.strip()] = value
    return fields


def _format_value(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "%d" % int(value)
    if isinstance(value, (int, np.integer)):
        return "%d" % int(value)
    return format_g(float(value))


def format_smv_header(fields: Mapping) -> bytes:
    """The header bytes C writes for these fields: "{\\n", "KEY=value;\\n" each, "}\\f", spaces to 512.

    Numbers are formatted as C's %g (ints as %d); strings are written as given.  DIALS_ORIGIN takes a
    3-tuple (or its "x,y,z" text) and is written without ';' (C quirk O6, L3177).  A header longer
    than 512 bytes is returned unpadded, as C writes it (see header_overflow).

    Arguments:
        fields: key -> value, in the order to write (e.g. `smv_header_fields`).
    Returns:
        The header, latin-1 encoded: 512 bytes, or more when it does not fit.
    """
    parts = ["{\n"]
    for key, value in fields.items():
        if key == _NO_SEMICOLON:
            text = value if isinstance(value, str) else ",".join(format_g(float(v)) for v in value)
            parts.append(f"{key}={text}\n")
        else:
            parts.append(f"{key}={_format_value(value)};\n")
    parts.append("}\f")
    text = "".join(parts).encode("latin-1")
    # C quirk O6 (L3183): padding stops at byte 512 but nothing shortens a longer header, so long
    # values (the Pilatus golden: 518 bytes) push the pixels past the announced HEADER_BYTES=512.
    # We write what C writes; header_overflow() lets the caller warn about it.
    return text + b" " * max(0, HEADER_BYTES - len(text))


def header_overflow(fields: Mapping) -> int:
    """How many bytes the C-style header runs past 512 (0 when it fits).

    Arguments:
        fields: key -> value, as for `format_smv_header`.
    Returns:
        The number of bytes past 512.
    """
    return max(0, len(format_smv_header(fields)) - HEADER_BYTES)


def smv_header_fields(*, fpixels, spixels, pixel_size_mm, distance_mm, wavelength_A,
                      beam_center_x_mm, beam_center_y_mm, adxv_center, mosflm_center, denzo_beam,
                      dials_origin, xds_org, close_distance_mm, phi_deg, osc_range_deg,
                      twotheta_deg) -> dict:
    """The keys C writes, in C's order, with values in C's units (mm, Angstrom, degrees).

    C computes (L3170-3182; SI variables): ADXV = (Fbeam, detsize_s - Sbeam)*1000,
    MOSFLM = (Sbeam - pixel/2, Fbeam - pixel/2)*1000, DENZO = (Sbeam, Fbeam)*1000,
    XDS_ORGX/Y = ORGX, ORGY, PHI = OSC_START = phi0, TWOTHETA = detector_twotheta.

    Arguments:
        fpixels, spixels: the image size (SIZE1 fast, SIZE2 slow); every argument is keyword-only.
        pixel_size_mm, distance_mm, close_distance_mm: in mm.
        wavelength_A: in Angstrom.
        beam_center_x_mm, beam_center_y_mm: BEAM_CENTER_X/Y in mm.
        adxv_center, mosflm_center, denzo_beam: (x, y) pairs in mm, computed by the caller as above.
        dials_origin: (x, y, z) in mm (C quirk O6).
        xds_org: (ORGX, ORGY) in pixels.
        phi_deg, osc_range_deg, twotheta_deg: in degrees.
    Returns:
        Dict key -> value in C's order, for `format_smv_header`.
    """
    return {
        "HEADER_BYTES": HEADER_BYTES,
        "DIM": 2,
        "BYTE_ORDER": "little_endian",
        "TYPE": "unsigned_short",
        "SIZE1": int(fpixels),
        "SIZE2": int(spixels),
        "PIXEL_SIZE": float(pixel_size_mm),
        "DISTANCE": float(distance_mm),
        "WAVELENGTH": float(wavelength_A),
        "BEAM_CENTER_X": float(beam_center_x_mm),
        "BEAM_CENTER_Y": float(beam_center_y_mm),
        "ADXV_CENTER_X": float(adxv_center[0]),
        "ADXV_CENTER_Y": float(adxv_center[1]),
        "MOSFLM_CENTER_X": float(mosflm_center[0]),
        "MOSFLM_CENTER_Y": float(mosflm_center[1]),
        "DENZO_X_BEAM": float(denzo_beam[0]),
        "DENZO_Y_BEAM": float(denzo_beam[1]),
        "DIALS_ORIGIN": tuple(float(v) for v in dials_origin),
        "XDS_ORGX": float(xds_org[0]),
        "XDS_ORGY": float(xds_org[1]),
        "CLOSE_DISTANCE": float(close_distance_mm),
        "PHI": float(phi_deg),
        "OSC_START": float(phi_deg),
        "OSC_RANGE": float(osc_range_deg),
        "TWOTHETA": float(twotheta_deg),
        "DETECTOR_SN": "000",
        "BEAMLINE": "fake",
    }


def smv_bytes(data_uint16: np.ndarray, fields: Mapping) -> bytes:
    """Header plus little-endian pixels; checks the image shape against SIZE1/SIZE2.

    uint16 pixels are C's unsigned_short images; uint32 pixels (noisify -bits 32) are written with
    TYPE=long_integer, as noisify writes them.

    Arguments:
        data_uint16: (slow, fast) uint16 or uint32 pixels.
        fields: the header fields (`smv_header_fields`).
    Returns:
        The whole file.
    Raises:
        ValueError: pixels that are not 2-D, a shape other than (SIZE2, SIZE1), or another dtype.
    """
    data = np.asarray(data_uint16)
    if data.ndim != 2:
        raise ValueError(f"SMV data must be 2-D (slow, fast), got shape {data.shape}")
    size = (fields.get("SIZE2"), fields.get("SIZE1"))
    if None not in size and tuple(int(v) for v in size) != data.shape:
        raise ValueError(f"SMV data shape {data.shape} does not match SIZE2, SIZE1 = {size}")
    if data.dtype == np.uint32:
        fields, code = {**fields, "TYPE": "long_integer"}, "<u4"
    elif data.dtype == np.uint16:
        code = "<u2"
    else:
        raise ValueError(f"SMV data must be uint16 or uint32, got {data.dtype}")
    return format_smv_header(fields) + np.ascontiguousarray(data, dtype=code).tobytes()


def write_smv(path, data_uint16: np.ndarray, fields: Mapping) -> None:
    """Write an SMV image atomically (header as format_smv_header, pixels little-endian uint16,
    or uint32 with TYPE=long_integer; see `smv_bytes`).

    Arguments:
        path: the file to write.
        data_uint16: (slow, fast) uint16 or uint32 pixels.
        fields: the header fields.
    Raises:
        ValueError: as `smv_bytes`.
        InputError: the file cannot be written.
    """
    atomic_write_bytes(path, smv_bytes(data_uint16, fields))


def _int_value(header: str, key: str) -> int:
    value = value_of(header, key)
    return int(value) if math.isfinite(value) else 0  # C casts with (int), truncating


def read_smv(path) -> SMVImage:
    """Read an SMV file the way GetFrame does; malformed files raise InputError.

    Pixels are read as 16-bit, in the byte order BYTE_ORDER names; without SIZE1 the image is square,
    DETECTOR_DIMENSIONS a side (GetFrame's fallback).

    Arguments:
        path: the file.
    Returns:
        An `SMVImage`.
    Raises:
        InputError: an unreadable file, one shorter than 512 bytes or without the ADSC start, an
            impossible HEADER_BYTES, no BYTE_ORDER, a bad image size, or too few data bytes (C would
            zero-fill them; input I5).
    """
    name = str(path)
    raw = read_input_bytes(path, "SMV file")
    if len(raw) < HEADER_BYTES:
        raise InputError(f"SMV file {name!r}: only {len(raw)} bytes, shorter than a 512-byte header")
    first = raw[:HEADER_BYTES].decode("latin-1").split("\0", 1)[0]
    if not first.startswith(_ADSC_MAGIC):
        raise InputError(f"SMV file {name!r} does not look like an ADSC frame (no '{{\\nHEADER_BYTES=' start)")
    header_bytes = _int_value(first, "HEADER_BYTES")
    if header_bytes <= 0 or header_bytes > len(raw):
        raise InputError(f"SMV file {name!r}: impossible HEADER_BYTES={header_bytes}")
    header = raw[:header_bytes].decode("latin-1").split("\0", 1)[0]
    # GetFrame: compare the first 10 characters after the LAST "BYTE_ORDER=" with "little_endian".
    at = header.rfind("BYTE_ORDER=")
    if at < 0:
        raise InputError(f"SMV file {name!r}: header has no BYTE_ORDER")
    swap = header[at + 11: at + 21] != "little_endian"[:10]
    width, height = _int_value(header, "SIZE1"), _int_value(header, "SIZE2")
    if width == 0:
        # GetFrame's fallback for other formats: a square detector.
        width = height = _int_value(header, "DETECTOR_DIMENSIONS")
    if width <= 0 or height <= 0:
        raise InputError(f"SMV file {name!r}: bad image size SIZE1={width} SIZE2={height}")
    need = 2 * width * height
    body = raw[header_bytes: header_bytes + need]
    if len(body) < need:
        # Deviation: C zero-fills a short file silently; we refuse it.
        raise InputError(f"SMV file {name!r}: {len(body)} data bytes, SIZE1*SIZE2 needs {need}")
    data = np.frombuffer(body, dtype=">u2" if swap else "<u2").reshape(height, width).astype(np.uint16)
    return SMVImage(header=header, header_bytes=header_bytes, width=width, height=height, data=data,
                    swap_bytes=swap)
