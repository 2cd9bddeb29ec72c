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
    """C atof: the longest numeric prefix, 0.0 when there is none (atof("-N") == 0)."""
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
    """C atoi: leading digits only (atoi("2.5") == 2, atoi("-N") == 0)."""
    m = _STRTOL.match(token)
    return int(m.group(1)) if m else 0


def is_number(token: str) -> bool:
    return bool(NUMBER.match(token))


# --- the table's types -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Pattern:
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
    # C quirk G1: any vector flag switches the convention to CUSTOM.
    def apply(s, v):
        s.beam_convention = "custom"
        setattr(s, field, (atof(v[0]), atof(v[1]), atof(v[2])))

    return apply


def convention_flag(name, pivot) -> Apply:
    return switch(beam_convention=name, detector_pivot=pivot)


def read_cell(s, v):
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
    if "rand" in v[0]:
        s.misset_random = True
        s.misset = None  # the random draw replaces the angles (C keeps them, but never uses them)
        return True  # C `continue`
    if len(v) >= 3:  # second C test, argc > i+3 (C quirk P1: -misset_seed lands here too)
        s.misset_random = False
        s.misset = (atof(v[0]) / RTD, atof(v[1]) / RTD, atof(v[2]) / RTD)
    return None


def read_pivot(s, v):
    if "sample" in v[0]:
        s.detector_pivot = "sample"
    if "beam" in v[0]:
        s.detector_pivot = "beam"


def read_detector_abs(s, v):
    if "inf" in v[0] or atof(v[0]) == 0.0:
        s.detector_thick = 0.0
        s.detector_mu = 0.0
    else:
        s.detector_mu = 1.0 / (atof(v[0]) * 1e-6)


def read_energy(s, v):
    e = atof(v[0])
    # C divides by the energy without a check; 0 eV would give inf (our check rejects it first).
    s.lambda0 = (HC_EV_ANGSTROM / e) / 1.0e10 if e != 0 else math.inf


def read_roi(s, v):
    s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax = (atoi(t) for t in v[:4])


def read_printout_pixel(s, v):
    s.printout_fpixel, s.printout_spixel = atoi(v[0]), atoi(v[1])  # C quirk P4: fast, then slow


def negated_seed(field) -> Apply:
    def apply(s, v):
        setattr(s, field, -atoi(v[0]))  # seeds are stored negated, as in C

    return apply


def F(specs: str, guard: int, values: str, apply: Apply, group: str, help: str, **kw) -> Flag:
    return Flag(tuple(_p(x) for x in specs.split()), guard, values, apply, group, help, **kw)


