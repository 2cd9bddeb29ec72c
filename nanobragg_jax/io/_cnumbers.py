"""How the C program turns text into numbers and numbers into text.

nanoBragg.c reads its files with three different C routines, and they disagree on edge cases:
- `fscanf("%lg")` / `fscanf("%d")` (hkl files, Fdump header, -mat): a stream of conversions, where
  one conversion may stop in the middle of a token and the next one starts right there;
- `atof` (= strtod prefix; SMV header values, source files): never fails, 0.0 when nothing parses;
- `printf("%g")` for every number it writes into headers and on stdout.
This module reproduces the glibc behaviour of each (probed against glibc with a small C program).
"""

from __future__ import annotations

import math
import re

# C's isspace() in the "C" locale.
C_SPACE = " \t\n\v\f\r"

_SIGN = r"[+-]?"
# glibc scanf %lg: a decimal mantissa needs a digit; a dangling exponent marker ("1e", "1e+") is
# consumed but ignored (probed: "1e+ 2" reads 1 then 2).
_SCANF_DEC = re.compile(r"([+-]?)(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d*))?")
_HEX = re.compile(r"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?\d+))?")
_SPECIAL = re.compile(r"([+-]?)(nan|infinity|inf)", re.IGNORECASE)
_SCANF_INT = re.compile(r"[+-]?\d+")
# strtod: an exponent counts only when digits follow it.
_STRTOD_DEC = re.compile(r"([+-]?)(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?")
_STRTOD_NAN_PAREN = re.compile(r"\([0-9A-Za-z_]*\)")


def _skip_space(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in C_SPACE:
        pos += 1
    return pos


def _hex_value(sign: str, mant: str, exp: str | None) -> float:
    if "." not in mant:
        mant = mant + "."
    value = float.fromhex("0x" + mant + "p" + (exp or "0"))
    return -value if sign == "-" else value


def _special_value(sign: str, word: str) -> float:
    value = math.nan if word.lower() == "nan" else math.inf
    return -value if sign == "-" else value


class CScanner:
    """A read position in a text, advanced by scanf-like conversions (`%lg`, `%d`).

    Each method returns the value, or None on a matching failure (as fscanf would stop there).
    """

    def __init__(self, text: str, pos: int = 0):
        self.text = text
        self.pos = pos

    def at_end(self) -> bool:
        return _skip_space(self.text, self.pos) >= len(self.text)

    def scan_double(self) -> float | None:
        text = self.text
        pos = _skip_space(text, self.pos)
        m = _SPECIAL.match(text, pos)
        if m:
            # glibc reads "inf" or the whole "infinity"; a partial "infin" is a failure.
            if m.group(2).lower() == "inf" and text[m.end(): m.end() + 1].lower() == "i":
                return None
            self.pos = m.end()
            return _special_value(m.group(1), m.group(2))
        m = _HEX.match(text, pos)
        if m:
            self.pos = m.end()
            return _hex_value(m.group(1), m.group(2), m.group(3))
        m = _SCANF_DEC.match(text, pos)
        if not m:
            return None
        self.pos = m.end()
        sign, mant, exp = m.groups()
        if exp is not None and exp.lstrip("+-") != "":
            mant = mant + "e" + exp
        return float(sign + mant)

    def scan_int(self) -> int | None:
        pos = _skip_space(self.text, self.pos)
        m = _SCANF_INT.match(self.text, pos)
        if not m:
            return None
        self.pos = m.end()
        return int(m.group(0))


def c_atof(text: str) -> float:
    """C atof/strtod on a string: the longest numeric prefix after white space, else 0.0.

    Reads decimal, hexadecimal ("0x1p3") and "inf"/"infinity"/"nan" as strtod does.

    Arguments:
        text: the text to read.
    Returns:
        The number, 0.0 when the text does not start (after C white space) with one.
    """
    pos = _skip_space(text, 0)
    m = _SPECIAL.match(text, pos)
    if m:
        word = m.group(2)
        if word.lower() == "infinity" or word.lower() == "inf":
            return _special_value(m.group(1), "inf")
        return _special_value(m.group(1), "nan")
    m = _HEX.match(text, pos)
    if m:
        return _hex_value(m.group(1), m.group(2), m.group(3))
    m = _STRTOD_DEC.match(text, pos)
    if not m:
        return 0.0
    return float(m.group(0))


def format_g(x: float) -> str:
    """C's printf("%g"): 6 significant digits, exponent at least two digits, glibc 'nan'/'-nan'.

    Arguments:
        x: the number (anything float() accepts).
    Returns:
        The text C prints, e.g. "1e+06", "0.0001", "-0", "inf", "-nan".
    """
    x = float(x)
    if math.isnan(x):
        # glibc prints the sign bit of a NaN.
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    # Python's %-formatting follows C99 for %g (exponent "e+06", "-0", "inf", "-inf").
    return "%g" % x


