"""Fdump.bin, the C program's binary cache of its Fhkl table (L2104-2140 read, L2226-2242 write).

Layout: the text header "%d %d %d %d %d %d\\n\\f" (h_min h_max k_min k_max l_min l_max), then
(h_range+1)*(k_range+1)*(l_range+1) native (little-endian) float64, h slowest and l fastest,
including the zero padding slab at index `range` of each axis.
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_write_bytes, read_input_bytes
from nanobragg_jax.io._cnumbers import C_SPACE, CScanner
from nanobragg_jax.io._hkl import HKLTable

_C_SPACE_BYTES = C_SPACE.encode("ascii")


def fdump_header(table: HKLTable) -> bytes:
    """The text header of an Fdump.bin for `table`, as nanoBragg.c writes it (L2226-2242; C row F1).

    Arguments:
        table: the structure-factor table; only its `hkl_min` and `hkl_max` are used.
    Returns:
        b"h_min h_max k_min k_max l_min l_max\\n\\f" (ASCII, decimal integers).
    """
    (h0, k0, l0), (h1, k1, l1) = table.hkl_min, table.hkl_max
    return b"%d %d %d %d %d %d\n\f" % (h0, h1, k0, k1, l0, l1)


def write_fdump(path, table: HKLTable) -> None:
    """Write the dump byte for byte as C does (atomic): `fdump_header`, then `table.F` as
    little-endian float64, h slowest and l fastest (C row F1).

    Arguments:
        path: the file to write (C's default is Fdump.bin).
        table: the structure-factor table; `F` must have shape ranges + 1 on each axis (the C layout,
            with its zero padding slab).
    Raises:
        ValueError: `table.F` of another shape.
        InputError: the file cannot be written.
    """
    expected = tuple(r + 1 for r in table.ranges)
    F = np.asarray(table.F)
    if F.shape != expected:
        raise ValueError(f"HKLTable.F has shape {F.shape}, bounds need {expected}")
    atomic_write_bytes(path, fdump_header(table) + np.ascontiguousarray(F, dtype="<f8").tobytes())


def read_fdump(path) -> HKLTable:
    """Read a dump the way C's fscanf + fread pair reads it (L2104-2140; C row F1, input I6).

    Arguments:
        path: the dump file.
    Returns:
        `HKLTable` with the header's bounds, F as (h_range+1, k_range+1, l_range+1) float64 (structure
        factors, electrons), hkls = the product of the ranges, and a warning when leading data bytes
        were eaten as white space (the table is then shifted, as in C, and the missing tail is 0).
    Raises:
        InputError: an unreadable file, a header that is not six integers, impossible bounds, or too
            few data bytes.
    """
    path_s = str(path)
    raw = read_input_bytes(path, "Fdump file")
    # Only the text header matters to the scanner; cut the binary part off for speed.
    head = raw[:256].decode("latin-1")
    scanner = CScanner(head)
    bounds = [scanner.scan_int() for _ in range(6)]
    if any(b is None for b in bounds):
        raise InputError(f"Fdump file {path_s!r}: header is not six integers 'h_min h_max k_min k_max l_min l_max'")
    h0, h1, k0, k1, l0, l1 = bounds
    ranges = (h1 - h0 + 1, k1 - k0 + 1, l1 - l0 + 1)
    if min(ranges) < 0:
        raise InputError(f"Fdump file {path_s!r}: impossible bounds {bounds}")
    # C quirk (L2111): the format's "\n\f" are white-space directives, so fscanf skips ALL white
    # space after the numbers, including leading bytes of the first double that happen to be
    # 0x09-0x0d or 0x20.  fread then starts late and the last value comes up short.
    pos = scanner.pos
    while pos < len(raw) and raw[pos] in _C_SPACE_BYTES:
        pos += 1
    skipped = pos - scanner.pos - 2  # the writer's own "\n\f"
    shape = tuple(r + 1 for r in ranges)
    need = 8 * shape[0] * shape[1] * shape[2]
    body = raw[pos: pos + need]
    warnings = []
    if len(body) < need:
        if skipped > 0 and need - len(body) <= skipped:
            warnings.append(
                f"WARNING: {path_s}: {skipped} leading data byte(s) look like white space and were "
                "skipped, as nanoBragg.c does; the table is shifted")
        else:
            raise InputError(f"Fdump file {path_s!r}: {len(body)} data bytes, bounds {bounds} need {need}")
        # fread leaves the missing tail at calloc's zero.
        body = body + bytes(need - len(body))
    F = np.frombuffer(body, dtype="<f8").reshape(shape).astype(np.float64)
    # C sets hkls to the product of the ranges for a dump (L2128).
    return HKLTable(hkl_min=(h0, k0, l0), hkl_max=(h1, k1, l1), F=F,
                    hkls=ranges[0] * ranges[1] * ranges[2], warnings=warnings)
