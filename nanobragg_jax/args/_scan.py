"""nanoBragg.c's pass over argv, reproduced token by token, plus the project's bad-input checks.

C (L400-1114) first pre-scans argv for -img/-mask and reads their SMV headers, then makes one pass in
which every token starting with '-' is tested against every pattern of the flag table in order,
with substring matching, arity guards and atof/atoi; only some patterns stop the testing.  We do
exactly that (so accidental matches such as `-misset_seed` also setting the misset angles happen,
C quirk P1), and on top of it:
- the token's *own* flag (the one whose pattern it matches most specifically) is checked strictly:
  the right number of values, numbers where numbers are needed, files that exist, sane values;
  anything else raises InputError with one line naming the flag and the value;
- a field whose final value came from an accidental match gets a warning in `settings.warnings`.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import os
import shlex
import time

from nanobragg_jax.args._checks import check_final, check_values, parse_time_warnings
from nanobragg_jax.args._flags import (
    INTEGER,
    OUR_NAMES,
    PRESCAN,
    RTD,
    SERIES_OPTION_NAMES,
    TABLE,
    all_spellings,
    is_number,
)
from nanobragg_jax.args._settings import Settings
from nanobragg_jax.errors import InputError

_UNTRACKED = {"warnings", "mask_image", "argv"}


def parse_args(argv: "list[str] | str", workdir: str = ".") -> Settings:
    """nanoBragg flags (a list of tokens, or one string split like a shell) -> Settings.

    Reproduces nanoBragg.c's parsing (substring matches, arity guards, atof/atoi, last flag wins,
    the -img/-mask header ingestion).

    Arguments:
        argv: the tokens after the program name, a list of str (other items are converted with
            str) or one string split with shlex.
        workdir: the folder relative file names are checked (and -img/-mask headers read) in.
    Returns:
        Settings in SI units (see `Settings`: metres, radians, ...; the flags' mm, degrees and
        Angstrom are converted), with `argv` the tokens, the seeds defaulting to -time() (R2) and
        the parse-time warnings in `warnings`.
    Raises:
        InputError: bad input (unknown flag, wrong value count, non-number, missing file, ...),
            with one line naming the flag and the value.
        ValueError: a string `argv` that shlex cannot split (an unbalanced quote).
    """
    tokens = shlex.split(argv) if isinstance(argv, str) else [str(t) for t in argv]
    s = Settings()
    # C: seed = -time(NULL) and misset_seed = seed, both captured before any flag is read.
    s.seed = s.misset_seed = -int(time.time())
    s.argv = list(tokens)
    tokens = _take_our_options(tokens, s, workdir)
    origin = {}  # field -> (kind, token index, Flag or path); kind = own | accident | header
    _prescan(tokens, s, origin, workdir)
    _main_pass(tokens, s, origin, workdir)
    check_final(s, origin)
    parse_time_warnings(s, origin, tokens)
    return s


# --- our own options ---------------------------------------------------------------------------------
def _take_our_options(tokens, s, workdir="."):
    """Remove our options (and their values) so that C's scan sees only nanoBragg's own argv."""
    rest, i = [], 0
    while i < len(tokens):
        name, eq, inline = tokens[i].partition("=") if tokens[i].startswith("--") else (tokens[i], "", "")
        opt = OUR_NAMES.get(name)
        if opt is None:
            rest.append(tokens[i])
            i += 1
            continue
        n = {"": 0, "word": 1, "path": 1, "in": 1, "i": 1, "int": 1, "f": 1, "ii": 2}[opt.values]
        if eq:
            if n != 1:
                raise InputError(f"{name} does not take '=value'")
            vals, i = [inline], i + 1
        else:
            vals, i = tokens[i + 1:i + 1 + n], i + 1 + n
        if len(vals) < n:
            raise InputError(f"{name} needs {n} value{'s' * (n > 1)}, got {len(vals)}")
        if opt.values == "path" and vals[0].startswith("-"):
            raise InputError(f"{name} needs a file name, got '{vals[0]}'")
        if opt.choices and vals[0] not in opt.choices:
            raise InputError(f"{name}: unknown value '{vals[0]}' (choose {' or '.join(opt.choices)})")
        if opt.values in ("i", "ii"):
            for v in vals:
                if not INTEGER.match(v) or int(v) < (1 if opt.values == "i" else 0):
                    what = "a positive whole number" if opt.values == "i" else "whole numbers >= 0"
                    raise InputError(f"{name} needs {what}, got '{v}'")
            value = int(vals[0]) if n == 1 else tuple(int(v) for v in vals)
        elif opt.values == "int":
            if not INTEGER.match(vals[0]):
                raise InputError(f"{name} needs a whole number, got '{vals[0]}'")
            value = int(vals[0])
            if opt.field == "calib_seed":
                value = -value  # stored negated, as noisify's -calib_seed
        elif opt.values == "f":
            if not is_number(vals[0]) or float(vals[0]) < 0:
                raise InputError(f"{name} needs a number >= 0, got '{vals[0]}'")
            value = float(vals[0]) * opt.scale
        elif opt.values == "in":
            if not os.path.isfile(os.path.join(workdir, vals[0])):
                raise InputError(f"{name} '{vals[0]}': cannot read file (missing or not a file)")
            value = vals[0]
        else:
            value = vals[0] if n else opt.switch_value
        setattr(s, opt.field, value)
    return rest


# --- the -img / -mask pre-scan and SMV header ingestion (C quirk G11) -----------------------------------
def _prescan(tokens, s, origin, workdir="."):
    for i, tok in enumerate(tokens):
        if tok.startswith("-") and len(tokens) - 1 - i >= 1:
            if "-img" in tok:
                s.imginfilename = tokens[i + 1]
            if "-mask" in tok:
                s.maskfilename = tokens[i + 1]
    # C quirk G11: the mask is read first, so the -img header wins for keys both give.
    if s.maskfilename is not None:
        _ingest_header(s, origin, s.maskfilename, is_mask=True, workdir=workdir)
    if s.imginfilename is not None:
        _ingest_header(s, origin, s.imginfilename, is_mask=False, workdir=workdir)


def _ingest_header(s, origin, path, is_mask, workdir="."):
    flag = "-mask" if is_mask else "-img"
    where = os.path.join(workdir, path)
    if not os.path.isfile(where) or not os.access(where, os.R_OK):
        raise InputError(f"{flag} '{path}': cannot read file (missing or not a file)")
    from nanobragg_jax.io import read_smv, value_of, value_text  # NumPy readers, imported only when needed

    try:
        image = read_smv(where)
    except InputError:
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"{flag} '{path}': not a readable SMV image ({exc})") from None
    before = _snapshot(s)

    def header(key, field, scale=1.0):
        value = value_of(image.header, key)  # last substring occurrence, NaN when absent
        if not math.isnan(value):
            setattr(s, field, value * scale)
            text = value_text(image.header, key).split(";", 1)[0].strip()
            if not is_number(text):  # C's atof takes what it can (0 for text): said, not silent
                s.warn(f"{flag} '{path}': the header's {key}={text[:30]} is not a number; nanoBragg.c "
                       f"reads it as {value:g}, and so do we")
        return value

    s.fpixels, s.spixels = int(image.width), int(image.height)
    header("PIXEL_SIZE", "pixel_size", 1e-3)
    s.detsize_f = s.pixel_size * s.fpixels
    s.detsize_s = s.pixel_size * s.spixels
    header("DISTANCE", "distance", 1e-3)
    header("CLOSE_DISTANCE", "close_distance", 1e-3)
    header("WAVELENGTH", "lambda0", 1e-10)
    header("BEAM_CENTER_X", "Xbeam", 1e-3)
    y = value_of(image.header, "BEAM_CENTER_Y")
    if not math.isnan(y):
        # C quirk G11: the mask header's BEAM_CENTER_Y is measured from the other edge.
        s.Ybeam = s.detsize_s - y * 1e-3 if is_mask else y * 1e-3
    header("ORGX", "ORGX")
    header("ORGY", "ORGY")
    header("PHI", "phi0", 1 / RTD)
    header("OSC_RANGE", "osc", 1 / RTD)
    header("TWOTHETA", "header_twotheta", 1 / RTD)  # C quirk G11: stored but never used
    if is_mask:
        s.mask_image = image.data
    _record(s, before, origin, ("header", -1, path))


# --- the main pass ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _own_flag(tok):
    """The flag this token is meant for: the most specific full match (pre-scan flags included)."""
    best, best_len = None, 0
    for flag in PRESCAN + TABLE:
        n = flag.best_hit(tok)
        if n > best_len:
            best, best_len = flag, n
    return best


def _length_rejected(tok):
    """A flag whose substring is in the token but whose exact-length guard rejects it (C quirk P5)."""
    hits = [(len(p.text), f) for f in TABLE for p in f.patterns if p.hit(tok) and not p.matches(tok)]
    return max(hits, key=lambda h: h[0])[1] if hits else None


def _main_pass(tokens, s, origin, workdir="."):
    consumed = set()  # indices taken as values by the flag before them
    previous = None  # the last flag token and the values it took
    for i, tok in enumerate(tokens):
        following = tokens[i + 1:]
        if i not in consumed:
            n = _check_token(tok, following, s, previous, workdir)
            consumed.update(range(i + 1, i + 1 + n))
            previous = tokens[i:i + 1 + n]
        if not tok.startswith("-"):
            continue
        own = None if i in consumed else _own_flag(tok)
        for flag in TABLE:
            if not flag.matches(tok) or len(following) < flag.guard:
                continue
            before = _snapshot(s)
            try:
                stop = flag.apply(s, following)
            except IndexError:  # C quirk P10: C would read past the end of argv and crash
                raise InputError(f"{tok} needs a value after it (nanoBragg.c crashes here)") from None
            kind = "own" if flag is own or (own is not None and flag.name == own.name) else "accident"
            _record(s, before, origin, (kind, i, flag))
            if stop:
                break


# Where a stray value after a flag usually means per-axis values (issue 11: `-N 36 47 29`).
_PER_AXIS = {"-N": ("-Na", "-Nb", "-Nc")}


def _check_token(tok, following, s, previous=None, workdir=".") -> int:
    """Strict checks of one token that no flag took as a value; returns how many values it takes.
    `previous`: the tokens of the flag before it and the values that flag took."""
    if not tok.startswith("-") or is_number(tok):
        # Deliberate deviation (docs/parity.md): C would ignore the stray value.
        if previous and previous[0].startswith("-") and not is_number(previous[0]):
            flag = _own_flag(previous[0])
            took = len(previous) - 1
            text = (f"unexpected value '{tok}' after '{' '.join(previous)}': {previous[0]} takes "
                    f"{took} value{'s' * (took != 1)}")
            if flag is not None and flag.values == "cell":
                text += " here (it stops at the first value starting with '-', C quirk P9)"
            if flag is not None and flag.name in _PER_AXIS and took == 1:
                values = previous[1:] + [tok] + [t for t in following[:1] if is_number(t)]
                values += ["N"] * (3 - len(values))
                per_axis = " ".join(f"{n} {v}" for n, v in zip(_PER_AXIS[flag.name], values))
                text += (f" (nanoBragg.c would use {previous[1]} for all three axes and ignore the "
                         f"rest); give per-axis sizes as {per_axis}")
            raise InputError(text)
        raise InputError(f"unexpected value '{tok}' (no flag before it takes it)")
    own = _own_flag(tok)
    if own is not None:
        if own.values == "dummy" and not following:
            return 0  # C quirk P8: -curved_det as the last token is ignored (warned about later)
        return check_values(own, tok, following, workdir)
    rejected = _length_rejected(tok)
    if rejected is not None:
        s.warn(f"{tok} is ignored by nanoBragg.c: it only accepts exactly {rejected.name} "
               f"(C quirk P5); the value after it is not used")
        return sum(1 for t in following[:rejected.nvalues] if is_number(t) or not t.startswith("-"))
    if s.strict:
        raise InputError(f"unknown flag '{tok}'{suggest(tok)} (--strict)")
    if tok in SERIES_OPTION_NAMES:
        raise InputError(f"{tok} is an option of `nanobragg series` (many frames), not of a single run; "
                         "see nanobragg series --help")
    if tok.startswith("--"):  # our options' spelling: a typo of one of ours, never a nanoBragg flag
        raise InputError(f"unknown option '{tok}'{suggest(tok)}")
    # nanoBragg.c ignores a flag it does not know, and the values after it (issue 11: the SAXS
    # examples of its README pass -hdiv/-vdiv): so do we, with a warning.
    n = 0
    while n < len(following) and (is_number(following[n]) or not following[n].startswith("-")):
        n += 1
    ignored = " ".join([tok] + following[:n])
    hint = suggest(tok).lstrip("; ")
    s.warn(f"unknown flag: '{ignored}' is ignored, as nanoBragg.c ignores it"
           + (f" ({hint})" if hint else "") + "; --strict makes this an error")
    return n


def suggest(tok) -> str:
    """'; did you mean -x?' for an unknown flag: a real flag named inside it, else the closest one."""
    names = all_spellings() + (list(SERIES_OPTION_NAMES) if tok.startswith("--") else [])
    same = [n for n in names if n.lower() == tok.lower()]
    if same:
        return f"; did you mean {same[0]}? (flags are case-sensitive)"
    inside = [n for n in names if len(n) >= 5 and n[1:] in tok and n != tok]
    close = [max(inside, key=len)] if inside else difflib.get_close_matches(tok, names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


# --- which flag set which field -----------------------------------------------------------------------
def _fields():
    return [f.name for f in dataclasses.fields(Settings) if f.name not in _UNTRACKED]


def _snapshot(s):
    return {f: getattr(s, f) for f in _fields()}


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _record(s, before, origin, source):
    for field, old in before.items():
        if not _same(old, getattr(s, field)):
            origin[field] = source


__all__ = ["parse_args", "suggest"]
