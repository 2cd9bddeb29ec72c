"""The building blocks of the flag table (flags.py): C's number conversions, the Pattern/Flag types and
the small functions that apply one flag to `Settings` with nanoBragg.c's conversions and scalings."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Callable, Optional

from nanobragg_jax.constants import HC_EV_ANGSTROM, RTD

GROUPS = ("input files", "detector", "beam", "crystal", "sampling", "output", "ours")

# --- C number conversions --------------------------------------------------------------------------
_STRTOD = re.compile(
    r"\s*([+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))",
    re.IGNORECASE,
)
_STRTOL = re.compile(r"\s*([+-]?\d+)")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
INTEGER = re.compile(r"[+-]?\d+$")


def atof(token: str) -> float:
    """C atof: the longest numeric prefix, 0.0 when there is none (atof("-N") == 0).

    Used for every real-valued flag (C quirk P9, I1: text and a flag where a value belongs read 0).

    Arguments:
        token: one command-line token (leading white space is skipped).
    Returns:
        float: the value of the prefix (decimal, hexadecimal with an optional p exponent, inf,
        infinity or nan, any case), in the token's own unit; 0.0 without a numeric prefix.
    """
    m = _STRTOD.match(token)
    if not m:
        return 0.0
    text = m.group(1)
    if "x" in text.lower() and "n" not in text.lower():
        sign = -1.0 if text.startswith("-") else 1.0
        body = text.lstrip("+-")
        return sign * float.fromhex(body if "p" in body.lower() else body + "p0")
    return float(text)


def atoi(token: str) -> int:
    """C atoi: leading digits only (atoi("2.5") == 2, atoi("-N") == 0).

    Used for every integer flag (C quirk P9: `-N 2.5` is 2).

    Arguments:
        token: one command-line token (leading white space is skipped).
    Returns:
        int: the optionally signed leading digits; 0 without any.
    """
    m = _STRTOL.match(token)
    return int(m.group(1)) if m else 0


def is_number(token: str) -> bool:
    """Whether a whole token is a plain decimal number (what our strict value check accepts).

    Unlike `atof`, which reads any numeric prefix, this needs the whole token to be a number:
    optional sign, digits with an optional decimal point, optional exponent ("1", "-2.5", ".5e-3").
    Hexadecimal, "inf" and "nan" are not numbers here.

    Arguments:
        token: one command-line token.
    Returns:
        True when the token is a decimal number and nothing else.
    """
    return bool(NUMBER.match(token))


# --- the table's types -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Pattern:
    """One substring test of a flag, as one `strstr`/`strcmp`/`strlen` condition of nanoBragg.c's argv loop.

    Fields:
        text: the substring to look for, e.g. "-polar".
        rule: "strstr" (the token contains `text`), "exact" (strcmp: the token equals `text`), "len"
            (contains `text` and is exactly `length` characters long, C quirk P5) or "longer" (contains
            `text` and is longer than `length`).
        length: the character count for the "len" and "longer" rules; unused otherwise.
    """
    text: str
    rule: str = "strstr"  # strstr | exact (strcmp) | len (strstr and strlen == length) | longer (>)
    length: int = 0

    def hit(self, token: str) -> bool:
        """The substring part alone (used to spot spellings that only a length guard rejects)."""
        return token == self.text if self.rule == "exact" else self.text in token

    def matches(self, token: str) -> bool:
        if not self.hit(token):
            return False
        if self.rule == "len":
            return len(token) == self.length
        if self.rule == "longer":
            return len(token) > self.length
        return True


def _p(spec: str) -> Pattern:
    """'-polar=6' -> exact length 6; '-stolout>7' -> longer than 7; '=-N' -> strcmp; else strstr."""
    if spec.startswith("="):
        return Pattern(spec[1:], "exact")
    if "=" in spec:
        text, n = spec.split("=")
        return Pattern(text, "len", int(n))
    if ">" in spec:
        text, n = spec.split(">")
        return Pattern(text, "longer", int(n))
    return Pattern(spec)


Apply = Callable[[object, list], Optional[bool]]  # (settings, following tokens) -> True = `continue`


@dataclasses.dataclass(frozen=True)
class Flag:
    """One row of the flag table: one `if (...)` of nanoBragg.c's argv loop and what it does to `Settings`.

    Fields:
        patterns: the `Pattern`s of the row; the flag fires when any of them matches (C's `||`).
        guard: C's arity guard, `argc > i+guard` (0 for the flags tested with `argc >= i+1`, C quirk P10).
        values: what our strict check expects after the flag: "" (none), one "f" or "i" per float or
            integer value, or one of "in", "out", "path", "word", "cell", "misset", "pivot", "abs",
            "dummy".
        apply: `(settings, following tokens) -> True or None`; sets the fields with C's conversions and
            scalings (command-line units to SI); True means C ends the row with `continue`.
        group: the `--help` group, one of `GROUPS`.
        help: one-line help text.
        unit: the command-line unit shown in the help ("mm", "deg", "um", "eV", ...), "" for none.
        default: the default shown in the help, "" for none.
        line: the nanoBragg.c line of the `if`.
        check: our bad-input rule for the values: "pos" (> 0), "nonneg" (>= 0), "posint" (integer > 0)
            or "" (none).
        no_effect: why nanoBragg.c ignores what the flag sets (C quirk P11), "" when it has an effect.
        also: other spellings that work by substring match, listed in the help only (C quirk P6).
        hidden: left out of the help (a second C test of a flag listed elsewhere).
    """
    patterns: tuple  # of Pattern; the flag fires when any matches (C's ||)
    guard: int  # C's arity guard: argc > i+guard (0 for the `argc >= i+1` flags, C quirk P10)
    values: str  # what our strict check expects: "" | "f" "i" (one per value) | in out path word
    #              | cell | misset | pivot | abs | dummy
    apply: Apply
    group: str
    help: str
    unit: str = ""
    default: str = ""
    line: int = 0  # nanoBragg.c line of the `if`
    check: str = ""  # pos (> 0) | nonneg (>= 0) | posint (> 0) for our bad-input rule
    no_effect: str = ""  # why nanoBragg.c ignores what this flag sets (C quirk P11)
    also: tuple = ()  # other spellings that work by substring match (help text only, C quirk P6)
    hidden: bool = False  # left out of the help (a second C test of a flag listed elsewhere)

    @property
    def name(self) -> str:
        return self.patterns[0].text

    @property
    def spellings(self) -> tuple:
        return tuple(p.text for p in self.patterns) + self.also

    @property
    def stops(self) -> bool:
        """C skips the remaining rows for the token after this one fires (`continue`)."""
        return getattr(self.apply, "stops", False)

    @property
    def nvalues(self) -> int:
        """Tokens our strict check wants after the flag (cell/misset: the minimum)."""
        if self.values in ("", "dummy"):
            return 0
        if self.values == "misset":
            return 1
        if self.values in ("cell", "in", "out", "path", "word", "pivot", "abs"):
            return 1
        return len(self.values)

    def matches(self, token: str) -> bool:
        return any(p.matches(token) for p in self.patterns)

    def best_hit(self, token: str) -> int:
        """Length of the longest pattern of this flag found in the token (0 = none)."""
        return max((len(p.text) for p in self.patterns if p.matches(token)), default=0)


def set_fields(*fields, scale=1.0, conv=atof, pivot=None, extra=None) -> Apply:
    """Set every field to conv(first token) * scale, then the pivot, then any fixed extras."""

    def apply(s, v):
        value = conv(v[0]) * scale if conv is atof else conv(v[0])
        for f in fields:
            setattr(s, f, value)
        if pivot:
            s.detector_pivot = pivot
        for k, x in (extra or {}).items():
            setattr(s, k, x)

    return apply


def switch(**fields) -> Apply:
    """An `Apply` that sets fixed values, whatever tokens follow the flag.

    Arguments:
        **fields: `Settings` field name -> the value the flag stores in it.
    Returns:
        The `Apply` function `(settings, tokens) -> None`.
    """
    def apply(s, v):
        for k, x in fields.items():
            setattr(s, k, x)

    return apply


def stop_after(apply: Apply) -> Apply:
    """The flag's C `if` ends with `continue`: no later row is tested for the same token."""
    def wrapped(s, v):
        apply(s, v)
        return True

    wrapped.stops = True
    return wrapped


def vector_flag(field) -> Apply:
    """An `Apply` for a three-value vector flag (`-fdet_vector`, `-beam_vector`, `-spindle_axis`, ...).

    The three tokens are read with C's atof and stored as typed (not normalised, unitless; `-pix0_vector`
    is stored but never used, C quirk G7).  Any vector flag also switches the convention to "custom"
    (C quirk G1).

    Arguments:
        field: the `Settings` field that receives the (x, y, z) tuple of floats.
    Returns:
        The `Apply` function `(settings, tokens) -> None`; it reads tokens[0:3].
    """
    # C quirk G1: any vector flag switches the convention to CUSTOM.
    def apply(s, v):
        s.beam_convention = "custom"
        setattr(s, field, (atof(v[0]), atof(v[1]), atof(v[2])))

    return apply


def convention_flag(name, pivot) -> Apply:
    """An `Apply` for a convention flag (`-mosflm`, `-xds`, `-adxv`, `-denzo`, `-dials`).

    Arguments:
        name: the `Settings.beam_convention` value, e.g. "mosflm".
        pivot: the `Settings.detector_pivot` the flag sets, "beam" or "sample".
    Returns:
        The `Apply` function `(settings, tokens) -> None`.
    """
    return switch(beam_convention=name, detector_pivot=pivot)


def read_cell(s, v):
    """Apply `-cell a b c alpha beta gamma`: lengths in Angstrom (stored as given), angles in degrees
    (stored in radians).

    Values are read with atof until the first token that starts with "-" (C quirk P9); the fields not
    reached keep their values, and `Settings.user_cell` is set either way.

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag.
    Returns:
        True (C's `continue`) when fewer than six values were read, else None, so a full six-value
        `-cell` falls through to the later rows as in nanoBragg.c.
    """
    # C quirk P9: values are read until the first token starting with '-'; each early stop is a
    # `continue`, so a full six-value -cell falls through to the later patterns.
    s.user_cell = True
    fields = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
    for k, f in enumerate(fields):
        if k >= len(v) or v[k].startswith("-"):
            return True
        setattr(s, f, atof(v[k]) if k < 3 else atof(v[k]) / RTD)
    return None


def read_misset(s, v):
    """Apply `-misset rx ry rz` (degrees, stored in radians) or `-misset random`.

    "rand" anywhere in the first token selects a random orientation and clears the angles.  Three
    or more tokens set the angles and cancel an earlier `random`; this second test also fires on
    `-misset_seed N ...` (C quirk P1).

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag (at least one).
    Returns:
        True (C's `continue`) for `random`, else None.
    """
    if "rand" in v[0]:
        s.misset_random = True
        s.misset = None  # the random draw replaces the angles (C keeps them, but never uses them)
        return True  # C `continue`
    if len(v) >= 3:  # second C test, argc > i+3 (C quirk P1: -misset_seed lands here too)
        s.misset_random = False
        s.misset = (atof(v[0]) / RTD, atof(v[1]) / RTD, atof(v[2]) / RTD)
    return None


def read_pivot(s, v):
    """Apply `-pivot beam|sample`: sets `Settings.detector_pivot` when the first token contains "sample"
    or "beam" (substring tests, as in C; anything else leaves the pivot unchanged).

    Only the CUSTOM convention honours the pivot (C quirk G3).

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag (at least one).
    """
    if "sample" in v[0]:
        s.detector_pivot = "sample"
    if "beam" in v[0]:
        s.detector_pivot = "beam"


def read_detector_abs(s, v):
    """Apply `-detector_abs depth`: the sensor's attenuation depth in micrometres.

    Stores the attenuation coefficient `detector_mu = 1 / (depth * 1e-6)` in 1/m.  A token containing
    "inf", or a depth of 0, means no absorption: `detector_mu` and `detector_thick` are both set to 0.
    The value is not checked here (a depth so small that mu overflows is refused later, C row A14).

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag (at least one).
    """
    if "inf" in v[0] or atof(v[0]) == 0.0:
        s.detector_thick = 0.0
        s.detector_mu = 0.0
    else:
        s.detector_mu = 1.0 / (atof(v[0]) * 1e-6)


def read_energy(s, v):
    """Apply `-energy E`: the photon energy in eV, stored as the wavelength `lambda0` in metres,
    lambda = (hc / E) with hc = `HC_EV_ANGSTROM` eV*Angstrom, then Angstrom -> m.

    An energy of 0 gives lambda0 = inf instead of C's division by zero (our value check refuses it
    first).

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag (at least one).
    """
    e = atof(v[0])
    # C divides by the energy without a check; 0 eV would give inf (our check rejects it first).
    s.lambda0 = (HC_EV_ANGSTROM / e) / 1.0e10 if e != 0 else math.inf


def read_roi(s, v):
    """Apply `-roi xmin xmax ymin ymax`: the inclusive pixel region to render (x fast, y slow, 0-based),
    read with C's atoi.  A negative value takes its default later (0 for a minimum, the pixel count
    for a maximum; `layout.resolve_roi`, C row O2).

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag (at least four).
    """
    s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax = (atoi(t) for t in v[:4])


def read_printout_pixel(s, v):
    """Apply `-printout_pixel f s`: the one pixel to print, fast index first, then slow (C quirk P4),
    read with C's atoi.

    Arguments:
        s: the `Settings` being filled.
        v: the tokens after the flag (at least two).
    """
    s.printout_fpixel, s.printout_spixel = atoi(v[0]), atoi(v[1])  # C quirk P4: fast, then slow


def negated_seed(field) -> Apply:
    """An `Apply` for a seed flag (`-seed`, `-mosaic_seed`, `-misset_seed`): stores -atoi(token), since
    nanoBragg.c keeps its seeds negated (C row R2).

    Arguments:
        field: the `Settings` seed field to set.
    Returns:
        The `Apply` function `(settings, tokens) -> None`.
    """
    def apply(s, v):
        setattr(s, field, -atoi(v[0]))  # seeds are stored negated, as in C

    return apply


def F(specs: str, guard: int, values: str, apply: Apply, group: str, help: str, **kw) -> Flag:
    """Build one `Flag` from a compact spelling of its patterns.

    Arguments:
        specs: space-separated pattern specs, each read by `_p`: "-x" (strstr), "=-x" (exact strcmp),
            "-x=6" (strstr and exactly 6 characters), "-x>7" (strstr and longer than 7).
        guard: C's arity guard (`Flag.guard`).
        values: the values our strict check expects (`Flag.values`).
        apply: what the flag does to `Settings` (`Flag.apply`).
        group: the `--help` group.
        help: one-line help text.
        **kw: the other `Flag` fields (unit, default, line, check, no_effect, also, hidden).
    Returns:
        The `Flag`.
    Raises:
        ValueError: when a "=" or ">" spec has a length that is not an integer.
    """
    return Flag(tuple(_p(x) for x in specs.split()), guard, values, apply, group, help, **kw)


