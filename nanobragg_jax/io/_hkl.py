"""Structure-factor lists ("h k l F" text files) read the way nanoBragg.c reads them (L2141-2213).

C reads the file twice with fscanf, as a stream of numbers, not line by line:
1. `%lg%lg%lg%lg` until a record fails: bounds (min/max of h, k, l) and the record count `hkls`.
   The bounds are C ints, so a non-integer index is truncated toward zero when it sets a bound.
2. `%d%d%d%lg` until a record fails: stores F at [h-h_min, k-k_min, l-l_min].
Both passes take four numbers per record whatever the line layout, so a file with extra columns
is read as a shifted token stream (c-behaviour F2; golden hkl_5col).

Nothing is lost silently (issue 11): a first pass that stops on something that is not a number
(`1 2 x 5`, a `# comment`) is refused, naming the file, the line and its text; a second pass that
stops early (an index written `1.0`, a shifted stream of extra columns) and numbers left over after
the last whole record keep C's result and add a warning to `HKLTable.notes`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import read_input_text
from nanobragg_jax.io._cnumbers import CScanner, format_g

# Any character outside what plain decimal numbers and C white space use sends a file to the
# exact scanners.
_NOT_CLEAN = re.compile(r"[^0-9eE+\-. \t\n\v\f\r]")
_C_INT_MAX = 2**31 - 1
_C_INT_START = 1_000_000_000  # C initialises h_min=1e9, h_max=-1e9 (ints)


@dataclass
class HKLTable:
    """The C program's Fhkl array and its bounds.

    F has shape (h_range+1, k_range+1, l_range+1): C allocates one extra (zero) slab per axis, at
    index `range`, and the Fdump file contains it.  `hkls` is C's count: records read from an hkl
    file, or h_range*k_range*l_range for a dump.  `warnings` holds the lines C prints while reading;
    `notes` our one-line warnings where C's reading silently loses data (see the module docstring).
    """

    hkl_min: tuple[int, int, int]
    hkl_max: tuple[int, int, int]
    F: np.ndarray
    hkls: int
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # ours: where C's reading loses data

    @property
    def ranges(self) -> tuple[int, int, int]:
        """C's h_range, k_range, l_range (max - min + 1)."""
        return tuple(hi - lo + 1 for lo, hi in zip(self.hkl_min, self.hkl_max))


def _clean_records(text: str):
    """Both passes at C speed when the file is clean, else None (the exact scanners then run).

    Clean: only ASCII digits, signs, '.', 'e'/'E' and C white space, and every complete record's
    three indices are plain decimal ints within C's int range and its F a plain decimal number.
    Then each token is exactly one %d or %lg conversion (Python's int/float accept the same
    strings as strtol/strtod here, and round the same way), so the token stream is simply four
    tokens per record in both passes; leftover tokens (fewer than four) end both passes in C too.
    Returns (pass-1 records (n, 4) float64, pass-2 indices (n, 3) int64, pass-2 F (n,), the number
    of tokens after the last whole record).
    """
    if _NOT_CLEAN.search(text):
        return None
    tokens = text.split()  # == C isspace() splitting for the characters allowed above
    n = len(tokens) // 4
    try:
        idx = np.fromiter(map(int, tokens[0: 4 * n: 4] + tokens[1: 4 * n: 4] + tokens[2: 4 * n: 4]),
                          np.int64, 3 * n).reshape(3, n).T
        F = np.fromiter(map(float, tokens[3: 4 * n: 4]), np.float64, n)
    except (ValueError, OverflowError):  # "1.0" as an index, "1e", "+-2", huge ints ...
        return None
    if n and np.abs(idx).max() > _C_INT_MAX:
        return None
    records = np.empty((n, 4), np.float64)
    records[:, :3] = idx
    records[:, 3] = F
    return records, idx, F, len(tokens) - 4 * n


def _first_pass_scan(text: str):
    """Pass 1 the general way: fscanf("%lg%lg%lg%lg") until a record is incomplete.

    Returns (records (n, 4) float64, where the scan stopped: the offset of the first character it
    could not read, or None when only white space and fewer than four numbers were left; how many
    numbers were left after the last whole record).
    """
    scanner = CScanner(text)
    rows = []
    while True:
        record = []
        for _ in range(4):
            value = scanner.scan_double()
            if value is None:
                break
            record.append(value)
        if len(record) < 4:
            break
        rows.append(record)
    stop = None if scanner.at_end() else _skip_to_text(text, scanner.pos)
    return np.array(rows, dtype=np.float64).reshape(len(rows), 4), stop, len(record)


def _skip_to_text(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _second_pass_scan(text: str):
    """Pass 2 the general way: fscanf("%d%d%d%lg"); "1.0" as an index stops the whole pass.

    Returns (indices (n, 3), F (n,), offset where the pass stopped).
    """
    scanner = CScanner(text)
    idx, F = [], []
    while True:
        ints = []
        for _ in range(3):
            value = scanner.scan_int()
            if value is None:
                break
            ints.append(value)
        if len(ints) < 3:
            break
        value = scanner.scan_double()
        if value is None:
            break
        idx.append(ints)
        F.append(value)
    stop = _skip_to_text(text, scanner.pos)
    return np.array(idx, dtype=np.int64).reshape(len(idx), 3), np.array(F, dtype=np.float64), stop


def _line_at(text: str, pos: int) -> tuple[int, str]:
    """(1-based line number, the line's text) of a character offset."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text.count("\n", 0, pos) + 1, text[start:end if end >= 0 else len(text)].strip()


def _c_bound(values: np.ndarray, lower: bool) -> int:
    """C's running `if (h_min > h) h_min = h;` with int h_min starting at +-1e9.

    C quirk F2: the double is truncated toward zero when stored in the int bound.  Running the
    truncating update in file order ends at trunc(min) (trunc is monotonic); NaN never compares.
    """
    finite = values[~np.isnan(values)]
    start = _C_INT_START if lower else -_C_INT_START
    if finite.size == 0:
        return start
    extreme = float(finite.min() if lower else finite.max())
    if (lower and not extreme < start) or (not lower and not extreme > start):
        return start
    return int(math.trunc(extreme))


def _bounds_and_warnings(records: np.ndarray, path: str):
    idx = records[:, :3]
    if np.isinf(idx).any():
        line, axis = np.argwhere(np.isinf(idx))[0]
        raise InputError(f"hkl file {path!r}: infinite index {format_g(idx[line, axis])} in record {line}")
    lo = tuple(_c_bound(idx[:, a], True) for a in range(3))
    hi = tuple(_c_bound(idx[:, a], False) for a in range(3))
    # C prints a warning for each index with x != ceil(x - 0.4) (every non-integer, NaN too),
    # numbering records from 0; in file order, h before k before l.
    with np.errstate(invalid="ignore"):
        flagged = ~(idx == np.ceil(idx - 0.4))
    warnings = [
        f"WARNING: non-integer value for {'hkl'[axis]} ({format_g(idx[line, axis])}) at line {line}"
        for line, axis in np.argwhere(flagged)
    ]
    return lo, hi, warnings


def read_hkl(path, default_F: float = 0.0) -> HKLTable:
    """Read an hkl file exactly as nanoBragg.c does (see the module docstring; C F2, I2).

    Arguments:
        path: the "h k l F" text file (`-hkl`).
        default_F: F of the indices the file does not list (`-default_F`), electrons; it fills
            only [0, range) on each axis, the extra slab stays 0 (F2).
    Returns:
        HKLTable: hkl_min, hkl_max (int triples), F (h_range+1, k_range+1, l_range+1) float64 in
        electrons (the last record for an index wins), hkls (records counted by the first pass),
        C's warning lines and our notes.
    Raises:
        InputError: the file cannot be read; the first pass stops on something that is not a
            number; an infinite index; no records (negative index ranges); a record of the second
            pass outside the first pass's bounds (C writes outside its array there).
    """
    path_s = str(path)
    text = read_input_text(path, "hkl file")
    clean = _clean_records(text)
    records, stop, left = (clean[0], None, clean[3]) if clean is not None else _first_pass_scan(text)
    if stop is not None:
        # C stops reading here and renders with the records before it, without a word.
        line, content = _line_at(text, stop)
        raise InputError(f"hkl file {path_s!r}, line {line}: '{content}' is not 'h k l F' "
                         f"(nanoBragg.c would silently stop reading there)")
    hkl_min, hkl_max, warnings = _bounds_and_warnings(records, path_s)
    ranges = [hi - lo + 1 for lo, hi in zip(hkl_min, hkl_max)]
    if min(ranges) < 0:
        raise InputError(f"hkl file {path_s!r}: not enough HKL indices (found {len(records)} 'h k l F' records)")

    F = np.zeros([r + 1 for r in ranges], dtype=np.float64)
    # C quirk F2: default_F fills only [0, range) on each axis; the padding slab stays 0.
    if default_F != 0.0:
        F[: ranges[0], : ranges[1], : ranges[2]] = default_F

    notes = []
    if left and len(records):
        notes.append(f"hkl file {path_s!r}: the last {left} number{'s' * (left > 1)} do not make a "
                     "whole 'h k l F' record and are ignored, as nanoBragg.c does")
    if clean is not None:
        idx, values = clean[1:3]
    else:
        idx, values, stop2 = _second_pass_scan(text)
        if len(idx) < len(records):
            line, content = _line_at(text, stop2)
            notes.append(
                f"hkl file {path_s!r}, line {line} ('{content}'): an index that is not a whole number "
                f"stops nanoBragg.c's second reading pass, so only {len(idx)} of {len(records)} "
                "structure factors are stored, the rest keep -default_F (C quirk F2)")
    offsets = idx - np.array(hkl_min, dtype=np.int64)
    bad = np.any((offsets < 0) | (offsets > np.array(ranges)), axis=1) if len(idx) else np.zeros(0, bool)
    if bad.any():
        # C writes outside its array here (undefined behaviour); we refuse instead.
        first = int(np.argmax(bad))
        h, k, l = (int(v) for v in idx[first])
        raise InputError(
            f"hkl file {path_s!r}: record {first} reads as index ({h} {k} {l}), outside the bounds "
            f"{hkl_min}..{hkl_max} found in the first pass")
    if len(idx):
        # C stores in file order, so the last record for an index wins.
        flat = np.ravel_multi_index(offsets.T, F.shape)
        _, last_rev = np.unique(flat[::-1], return_index=True)
        keep = len(flat) - 1 - last_rev
        F.flat[flat[keep]] = values[keep]
    return HKLTable(hkl_min=hkl_min, hkl_max=hkl_max, F=F, hkls=int(len(records)), warnings=warnings,
                    notes=notes)

