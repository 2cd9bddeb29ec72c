"""MOSFLM orientation ("A") matrix files for -mat (nanoBragg.c L1879-1896).

The file's first three lines hold the matrix row by row; its COLUMNS are a*, b*, c* (in 1/Angstrom
times the wavelength: MOSFLM's A includes lambda).  C reads the nine numbers with three
fscanf("%lg%lg%lg") calls, i.e. as a number stream, and ignores whatever follows (MOSFLM files go
on with the U matrix and the cell).  The caller divides by lambda in Angstrom (C2).
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import read_input_text
from nanobragg_jax.io._cnumbers import CScanner


def read_mat(path) -> np.ndarray:
    """(3, 3) array whose rows are a*, b*, c* as written in the file (not divided by lambda).

    Deviation from C: C silently ignores a -mat file it cannot open (leaving a zero cell) and keeps
    old values for numbers it cannot parse; we raise InputError in both cases.

    Arguments:
        path: the MOSFLM A-matrix file (`-mat`); its first nine numbers are read (C2, I3).
    Returns:
        (3, 3) float64, rows a*, b*, c* in 1/Angstrom times the wavelength (the file's columns);
        the caller divides by lambda in Angstrom.
    Raises:
        InputError: the file cannot be read, or fewer than nine numbers can be scanned.
    """
    text = read_input_text(path, "-mat file")
    scanner = CScanner(text)
    values = []
    for _ in range(9):
        value = scanner.scan_double()
        if value is None:
            raise InputError(
                f"-mat file {str(path)!r}: expected 9 numbers (3 lines of 3), could read only {len(values)}")
        values.append(value)
    file_rows = np.array(values, dtype=np.float64).reshape(3, 3)
    # file line i = component i of (a*, b*, c*): transpose to get one vector per row.
    return file_rows.T.copy()
