"""-sourcefile lists, read with nanoBragg.c's read_text_file (L3867-3968) quirks and all.

Columns: X Y Z (source position, only its direction matters), I (weight, unused by C: S-1),
lambda in METRES.  Missing columns are NaN; the caller replaces them with C's defaults (L2327-2343:
X,Y,Z = -source_distance * beam, I = 1, lambda = lambda0).

How C walks a line (c-behaviour S-2), reproduced here step by step:
- lines come from fgets with a 10240-byte buffer (a longer line is read as several lines);
- after skipping leading separators " \\t,;:!", a line that is exactly "\\n" is blank and skipped;
  any other line is a source, even a comment line ("# x") or a CRLF blank line;
- for each column: value = atof(rest); skip characters of "0123456789-+.EGeg"; if the rest is
  exactly "\\n", the line ends; else skip to the next separator, skip separators; if the rest is
  exactly "\\n", the line ends; else go to the next column (at most 5).
So when anything other than a separator or a number sits right before the "\\n" ("\\r\\n", trailing
text, no final newline), the walk never sees a bare "\\n" and every remaining column becomes atof("")=0.
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import read_input_text
from nanobragg_jax.io._cnumbers import c_atof

SEPARATORS = " \t,;:!"
NUMBER_CHARS = "0123456789-+.EGeg"
FGETS_BUFFER = 10240
N_COLUMNS = 5


def _span(text: str, pos: int, chars: str) -> int:
    """strspn from pos: first index whose character is not in chars."""
    n = len(text)
    while pos < n and text[pos] in chars:
        pos += 1
    return pos


def _cspan(text: str, pos: int, chars: str) -> int:
    """strcspn from pos: first index whose character is in chars."""
    n = len(text)
    while pos < n and text[pos] not in chars:
        pos += 1
    return pos


def fgets_lines(text: str, size: int = FGETS_BUFFER) -> list[str]:
    """The successive strings fgets(buf, size) returns: up to size-1 chars, newline included."""
    out, start, n = [], 0, len(text)
    while start < n:
        newline = text.find("\n", start, start + size - 1)
        end = newline + 1 if newline >= 0 else min(n, start + size - 1)
        out.append(text[start:end])
        start = end
    return out


def _walk_line(line: str, n_columns: int) -> list[float]:
    """Values C stores for one non-blank line; columns it never reaches stay NaN."""
    row = [float("nan")] * n_columns
    # C string functions stop at a NUL byte.
    line = line.split("\0", 1)[0]
    pos = _span(line, 0, SEPARATORS)
    column = 0
    while True:
        row[column] = c_atof(line[pos:])
        pos = _span(line, pos, NUMBER_CHARS)
        if line[pos:] == "\n":
            break
        pos = _cspan(line, pos, SEPARATORS)
        pos = _span(line, pos, SEPARATORS)
        if line[pos:] == "\n":
            break
        column += 1
        if column >= n_columns:
            break
    return row


def _source_lines(text: str):
    """(1-based line number, fgets string) of every string C's read_text_file does not skip."""
    number = 1
    for line in fgets_lines(text):
        if line.split("\0", 1)[0][_span(line, 0, SEPARATORS):] != "\n":
            yield number, line
        number += line.count("\n")


def parse_text_columns(text: str, n_columns: int = N_COLUMNS) -> np.ndarray:
    """C's read_text_file on a text: (lines, n_columns) float64 with NaN for unread columns.

    Every line C reads is a row, comment lines and CRLF blank lines included (S-2; the deviations
    of `read_source_file` are not applied here).

    Arguments:
        text: the file's text.
        n_columns: columns per line (5: X Y Z in m, I, lambda in m).
    Returns:
        (lines, n_columns) float64: C's atof of each column (text reads as 0), NaN where the walk
        never reached the column.
    """
    rows = [_walk_line(line, n_columns) for _, line in _source_lines(text)]
    return np.array(rows, dtype=np.float64).reshape(len(rows), n_columns)


def _split(text: str) -> list:
    """The fields of a line split at C's separators (empty strings between adjacent ones)."""
    for sep in SEPARATORS[1:]:
        text = text.replace(sep, " ")
    return text.split(" ")


# Wavelengths in this range (metres, as C reads the column) are surely Angstrom.
_ANGSTROM_LIKE = (0.5, 5.0)


def read_source_file(path, notes: list | None = None) -> np.ndarray:
    """(n, 5) float64 columns X Y Z I lambda(m); NaN where the file gave no value.

    C's read_text_file (S-2) with two deviations (issue 11; C's result there is a NaN image):
    a comment line (first character after separators '#') and a line holding only a carriage
    return are skipped, with a warning appended to `notes`, where C reads each as a source at
    (0, 0, 0) with wavelength 0.  Wavelengths of 0.5-5 (Angstrom written where C reads metres) get
    a warning.

    Arguments:
        path: the source file.  notes: a list our one-line warnings are appended to (or None).
    Returns:
        (n, 5) float64 table in file order, comment and empty lines left out.
    Raises:
        InputError: the file cannot be read or holds no source (C exits with code 9); a source
            with a wavelength <= 0 or infinite, or at position (0, 0, 0) (no direction): C renders
            NaN or meaningless images from those.
    """
    text = read_input_text(path, "-sourcefile")
    notes = [] if notes is None else notes
    name = str(path)
    kept, skipped = [], []
    for number, line in _source_lines(text):
        body = line.split("\0", 1)[0][_span(line, 0, SEPARATORS):]
        if body.startswith("#") or body.strip("\r\n") == "":
            skipped.append(number)
            continue
        kept.append((number, line.strip(), _walk_line(line, N_COLUMNS)))
    if skipped:
        lines = ", ".join(str(n) for n in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        notes.append(f"-sourcefile {name!r}: skipped {len(skipped)} comment or empty line"
                     f"{'s' * (len(skipped) > 1)} (line {lines}); nanoBragg.c reads each as a source at "
                     "(0, 0, 0) with wavelength 0 and writes a NaN image")
    if not kept:
        raise InputError(f"-sourcefile {name!r}: no sources in the file")
    for number, content, (x, y, z, _, lam) in kept:
        where = f"-sourcefile {name!r}, line {number} ('{content[:60]}')"
        if not np.isnan(lam) and not (0.0 < lam < np.inf):
            raise InputError(f"{where}: wavelength {lam:g} m (the fifth column, in metres; text or a "
                             "\\r before the newline zeroes the columns after it, C quirk S-2)")
        if x == 0.0 and y == 0.0 and z == 0.0:
            raise InputError(f"{where}: a source at (0, 0, 0) has no direction")
    wide = [n for n, content, _ in kept if len([t for t in _split(content) if t]) > N_COLUMNS]
    if wide:
        notes.append(f"-sourcefile {name!r}, line {wide[0]}: more than {N_COLUMNS} columns (X Y Z I lambda); "
                     f"nanoBragg.c ignores the rest, and so do we ({len(wide)} such line"
                     f"{'s' * (len(wide) > 1)})")
    angstrom = [(n, row[4]) for n, _, row in kept if _ANGSTROM_LIKE[0] <= row[4] <= _ANGSTROM_LIKE[1]]
    if angstrom:
        n, lam = angstrom[0]
        notes.append(f"-sourcefile {name!r}, line {n}: a wavelength of {lam:g} m? The fifth column is in "
                     f"metres, as in nanoBragg.c: {lam:g} Angstrom is {lam * 1e-10:g}")
    return np.array([row for _, _, row in kept], dtype=np.float64).reshape(len(kept), N_COLUMNS)
