"""Structure-factor profiles F(sin(theta)/lambda) for amorphous scattering (nonBragg's -stol table).

nonBragg.c reads the table with the same read_text_file as -sourcefile (specs/nonbragg.md 4.2):
columns separated by " \\t,;:!", any non-blank line is a point (a comment line becomes (0, 0),
NB-6), a line without a second number has F missing.  The guards and the unit of the first column
are the background's business (`nanobragg_jax.background.stol_table`); this reader only returns
the file's rows.
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import read_input_text
from nanobragg_jax.io._sourcefile import SEPARATORS, parse_text_columns


def read_stol_file(path, flag: str = "-stol") -> tuple[np.ndarray, list[str]]:
    """The rows of a structure-factor profile, as nonBragg.c reads them.

    Arguments:
        path: the table file.
        flag: the flag that named it (for messages).
    Returns:
        ((N, 2) float64 rows (abscissa in the file's unit, F in electrons), NaN where a line gave no
        value; warnings: one line per kind of line C reads as something the user did not mean
        (text or comment lines read as (0, 0), NB-6)).
    Raises:
        InputError: the file cannot be read or holds no line (nonBragg.c exits with status 9).
    """
    text = read_input_text(path, flag)
    rows = parse_text_columns(text, 2)
    if len(rows) == 0:
        raise InputError(f"{flag} {str(path)!r}: no data in the table")
    warnings = []
    odd = [line for line in text.split("\n") if line.strip(SEPARATORS + "\r")
           and not line.lstrip(SEPARATORS)[:1] in "0123456789+-."]
    if odd:
        warnings.append(f"{flag} {path}: {len(odd)} line(s) that do not start with a number, e.g. "
                        f"{odd[0][:30]!r}, are read as points (0, 0) as nonBragg.c does (NB-6)")
    missing = np.isnan(rows[:, 1])
    if missing.any() and not missing.all():  # all missing: refused where the table is built (NB-24)
        warnings.append(f"{flag} {path}: {int(missing.sum())} line(s) give no F, e.g. the one at "
                        f"{rows[np.argmax(missing), 0]:g}; nonBragg.c takes F = 0 there")
    if "\r" in text:
        warnings.append(f"{flag} {path}: CRLF line ends; nonBragg.c reads a blank CRLF line as the point "
                        "(0, 0) and a value before '\\r' as F = 0 (NB-6)")
    return rows, warnings
