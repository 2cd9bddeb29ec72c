"""Bad-input checks and parse-time quirk warnings for the argv scan (argv_scan.py).

nanoBragg.c accepts almost anything (atof("abc") == 0, a missing file is skipped); the project's rule
is stricter: wrong value counts, non-numbers, missing files and impossible values raise InputError with
one line naming the flag and the value.  The warnings tell the user where nanoBragg.c's parsing does
something accidental that changes the result; each names its quirk id from docs/c-behaviour.md.
"""

from __future__ import annotations

import math
import os

from nanobragg_jax.args._flags import ACCIDENT_NOTES, INTEGER, RTD, is_number
from nanobragg_jax.errors import InputError

_PLACEHOLDER = {"fff": "x y z", "iiii": "xmin xmax ymin ymax", "ii": "fast slow", "f": "a number",
                "i": "a whole number", "in": "a file name", "out": "a file name", "path": "a file name",
                "pivot": "beam or sample", "abs": "a depth in um, or inf", "misset": "rx ry rz or random"}
_CHECKS = {"pos": (lambda x: x > 0, "must be > 0"), "nonneg": (lambda x: x >= 0, "must be >= 0"),
           "posint": (lambda x: x > 0, "must be > 0")}
_FORCED_PIVOT = {"mosflm": "beam", "denzo": "beam", "adxv": "beam", "xds": "sample", "dials": "sample"}
_VECTORS = ("fdet_vector", "sdet_vector", "odet_vector", "beam_vector", "polar_vector", "spindle_vector",
            "twotheta_axis", "pix0_vector")
_SILENT_ACCIDENTS = {"-printout"}  # C quirk P4: -printout_pixel also turns on -printout (stdout only)


def describe_values(flag) -> str:
    """How an error message names the values a flag wants, e.g. "x y z" for a vector flag.

    Arguments:
        flag: a `Flag` of the table.
    Returns:
        A short phrase for `flag.values` ("a number", "fast slow", ...), or `flag.values` itself when
        there is no phrase for it.
    """
    return _PLACEHOLDER.get(flag.values, flag.values)


def _is_value(token: str) -> bool:
    return is_number(token) or not token.startswith("-")


def _take(tok, following, n, what):
    got = 0
    while got < min(n, len(following)) and _is_value(following[got]):
        got += 1
    if got < n:
        plural = "s" if n > 1 else ""
        raise InputError(f"{tok} needs {n} value{plural} ({what}), got {got}"
                         + (f": {' '.join(following[:got])}" if got else ""))
    return following[:n]


def _number(tok, t, kind, check):
    if kind == "i":
        if not INTEGER.match(t):
            raise InputError(f"{tok} {t}: needs a whole number, got '{t}'")
        x = int(t)
        if abs(x) > 2**31 - 1:
            raise InputError(f"{tok} {t}: out of range")
    else:
        if not is_number(t):
            raise InputError(f"{tok} {t}: '{t}' is not a number")
        x = float(t)
    if check:
        ok, msg = _CHECKS[check]
        if not ok(x):
            raise InputError(f"{tok} {t}: {msg}")
    return x


def _file(tok, following, kind, workdir="."):
    (name,) = _take(tok, following, 1, "a file name")
    if name.startswith("-"):
        raise InputError(f"{tok} needs a file name, got '{name}'")
    where = os.path.join(workdir, name)
    if kind == "in":
        if not os.path.isfile(where) or not os.access(where, os.R_OK):
            why = "no such file" if not os.path.exists(where) else "not a readable file"
            raise InputError(f"{tok} '{name}': cannot read file ({why})")
    elif kind == "out":
        check_output_path(tok, name, workdir)
    return 1


def check_output_path(tok: str, name: str, workdir: str = ".") -> None:
    """Refuse an output file that cannot be written, before anything is rendered.

    Arguments:
        tok: the flag that names it (for the message).  name: the file name.
        workdir: the folder a relative name is in.
    Raises:
        InputError: the name is a folder, its folder does not exist, or the file or folder is not
            writable.
    """
    where = os.path.join(workdir, name)
    folder = os.path.dirname(where) or "."
    if os.path.isdir(where) or not os.path.isdir(folder):
        raise InputError(f"{tok} '{name}': cannot write there (no such folder, or it is a folder)")
    if not os.access(where if os.path.exists(where) else folder, os.W_OK):
        raise InputError(f"{tok} '{name}': cannot write there (no permission)")


def check_values(flag, tok, following, workdir: str = ".") -> int:
    """Check the values of the token's own flag; returns how many tokens they take.  File names are
    checked relative to `workdir`."""
    kind = flag.values
    if kind == "":
        return 0
    if kind == "dummy":  # C quirk P8: -curved_det needs any one token after it
        return 1 if following and _is_value(following[0]) else 0
    if kind == "cell":  # C quirk P9: up to six values, stopping at the first '-' token
        n = 0
        while n < min(6, len(following)) and not following[n].startswith("-"):
            _number(tok, following[n], "f", "")
            n += 1
        if n == 0:
            raise InputError(f"{tok} needs 1 to 6 values (a b c al be ga)")
        return n
    if kind == "misset":
        if following and "rand" in following[0]:
            return 1
        for t in _take(tok, following, 3, "rx ry rz in degrees, or random"):
            _number(tok, t, "f", "")
        return 3
    if kind == "pivot":
        (v,) = _take(tok, following, 1, "beam or sample")
        if v not in ("beam", "sample"):
            raise InputError(f"{tok} {v}: must be beam or sample")
        return 1
    if kind == "abs":
        (v,) = _take(tok, following, 1, "a depth in um, or inf")
        if "inf" not in v:
            depth_um = _number(tok, v, "f", "nonneg")
            if depth_um != 0.0 and depth_um * 1e-6 < 1e-308:
                # C: mu = 1/depth overflows to inf, and a layer at depth 0 then gives 0*inf = NaN
                raise InputError(f"{tok} {v}: the depth is too small (1/depth overflows)")
        return 1
    if kind in ("in", "out", "path"):
        return _file(tok, following, kind, workdir)
    for k, t in zip(kind, _take(tok, following, len(kind), describe_values(flag))):
        _number(tok, t, k, flag.check)
    return len(kind)


# --- checks on the whole command line ---------------------------------------------------------------
def _source(origin, field):
    kind, _, src = origin.get(field, ("default", -1, None))
    if kind == "header":
        return f"the header of '{src}'"
    return src.name if kind in ("own", "accident") else "the default"


def check_final(s, origin):
    """Checks on the whole command line once the argv pass is done; may add warnings to `s`.

    The cell is completed as nanoBragg.c completes it (a missing or non-positive b, c is a, an angle
    is 90 degrees; L1796-1800) before it is checked; a cell completed that way is a warning (C quirk P9).

    Arguments:
        s: the filled `Settings` (SI units: lengths in m, cell lengths in Angstrom, angles in rad).
        origin: `Settings` field -> (kind, token index, `Flag` or file path) of what set it, kind one of
            "own", "accident", "header"; fields absent were not set.
    Raises:
        InputError: a cell with a <= 0, an angle >= 180 degrees or zero volume; an empty `-roi`
            (xmin > xmax or ymin > ymax, C row O2); a pixel size, wavelength, distance or detector size
            that is not > 0 (NaN too) or is infinite; an `--out` file of unknown format; `--image` without
            `--experiment`; both `--geom` and `--experiment`; a `-mask` with fewer pixels than the
            detector (a mask of another shape only warns).
    """
    if s.user_cell:
        a = s.cell_a
        b = s.cell_b if s.cell_b > 0 else a  # C fills missing lengths and angles (L1796-1800)
        c = s.cell_c if s.cell_c > 0 else a
        angles = [x if x > 0 else math.pi / 2 for x in (s.cell_alpha, s.cell_beta, s.cell_gamma)]
        if a <= 0:
            raise InputError(f"-cell: the a axis must be > 0, got {a:g}")
        if any(x >= math.pi for x in angles):
            raise InputError("-cell: angles must be < 180 degrees, got "
                             + " ".join(f"{x * RTD:g}" for x in angles))
        ca, cb, cg = (math.cos(x) for x in angles)
        if 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg <= 1e-12:
            raise InputError(f"-cell {a:g} {b:g} {c:g} " + " ".join(f"{x * RTD:g}" for x in angles)
                             + ": the angles give a cell of zero volume")
        given = (s.cell_b, s.cell_c, s.cell_alpha, s.cell_beta, s.cell_gamma)
        if any(not x > 0 for x in given):  # C quirk P9: a short -cell, or lengths/angles <= 0
            s.warn(f"-cell assumed to be {a:g} {b:g} {c:g} " + " ".join(f"{x * RTD:g}" for x in angles)
                   + ": nanoBragg.c takes a missing or non-positive b, c as a and angle as 90 degrees "
                   "(C quirk P9)")
    if "roi_xmin" in origin and (s.roi_xmin > s.roi_xmax or s.roi_ymin > s.roi_ymax):
        raise InputError(f"-roi {s.roi_xmin} {s.roi_xmax} {s.roi_ymin} {s.roi_ymax}: empty region "
                         "(need xmin <= xmax and ymin <= ymax)")
    for field, what in (("pixel_size", "pixel size"), ("lambda0", "wavelength"), ("distance", "distance"),
                        ("detsize_f", "detector size"), ("detsize_s", "detector size")):
        value = getattr(s, field)
        if not value > 0 or math.isinf(value):
            raise InputError(f"{_source(origin, field)}: impossible {what} {value:g}")
    if s.out_file is not None:
        from nanobragg_jax.io import image_format  # NumPy and the format modules: only when asked

        image_format(s.out_file, "--out")
    if s.experiment_image is not None and s.experiment_file is None:
        raise InputError(f"--image {s.experiment_image} needs --experiment FILE.expt (the images it counts)")
    if s.experiment_file is not None and s.geom_file is not None:
        raise InputError("--geom and --experiment both give the detector: use one of them")
    if s.mask_image is not None:
        fp, sp = _final_pixels(s)
        h, w = s.mask_image.shape
        if h * w < fp * sp:  # C would read past the end of the mask (a larger mask is read as raster)
            raise InputError(f"-mask '{s.maskfilename}': the mask is {w}x{h} pixels but the detector is "
                             f"{fp}x{sp} (fast x slow)")
        if (h, w) != (sp, fp):
            s.warn(f"-mask '{s.maskfilename}': the mask is {w}x{h} pixels and the detector {fp}x{sp} "
                   f"(fast x slow); nanoBragg.c uses the mask's first {fp * sp} pixels in file order, "
                   "not a crop, and so do we")


def _final_pixels(s):
    """The pixel counts nanoBragg.c settles on (L1119-1127)."""
    detsize_f = s.pixel_size * s.fpixels if s.fpixels else s.detsize_f
    detsize_s = s.pixel_size * s.spixels if s.spixels else s.detsize_s
    return math.ceil(detsize_f / s.pixel_size - 0.5), math.ceil(detsize_s / s.pixel_size - 0.5)


# --- warnings -----------------------------------------------------------------------------------------
# Values that are surely in the wrong unit (issue 11): (flag, Settings field, scale to the flag's
# unit, test on the flag's value, what the user probably meant).  nanoBragg.c takes them as given,
# and so do we, with a warning.
_UNIT_TRAPS = (
    ("-lambda", "lambda0", 1e10, lambda x: x > 100.0, "the wavelength is in Angstrom"),
    ("-energy", "lambda0", 1e10, lambda x: x > 100.0, "the energy is in eV (12398 eV = 1 A), not keV"),
    ("-distance", "distance", 1e3, lambda x: x < 1.0, "the distance is in mm, not metres"),
    ("-close_distance", "close_distance", 1e3, lambda x: x < 1.0, "the distance is in mm, not metres"),
    ("-pixel", "pixel_size", 1e3, lambda x: x > 10.0, "the pixel size is in mm (172 um is 0.172)"),
    ("-detector_thick", "detector_thick", 1e6, lambda x: 0.0 < x < 1.0,
     "the sensor thickness is in um (0.45 mm is 450)"),
    ("-xtalsize", "sample_x", 1e3, lambda x: x > 10.0, "the crystal size is in mm"),
    ("-beamsize", "beamsize", 1e3, lambda x: x > 100.0, "the beam size is in mm"),
)


def _unit_warnings(s, origin, tokens):
    for name, field, scale, suspicious, meant in _UNIT_TRAPS:
        kind, i, src = origin.get(field, ("default", -1, None))
        if kind != "own" or src.name != name:
            continue
        value = getattr(s, field) * scale
        shown = 12398.42 / value if name == "-energy" else value  # back to the flag's own unit
        if math.isfinite(value) and suspicious(value):
            s.warn(f"{tokens[i]} {shown:g}: {meant}; nanoBragg.c takes it as given, and so do we")


def parse_time_warnings(s, origin, tokens):
    """Add to `s.warnings` one line for each place where nanoBragg.c's parsing does something the user
    probably did not mean; each line ends with its C quirk id (specs/c-behaviours.md).

    Covers: tokens also read as another flag (P1, P3, P6), values surely in the wrong unit (I1),
    `-pix0_vector` (G7, P2), vectors discarded by a later convention flag (P7), the custom convention
    picked by a vector flag (G1), an ignored `-pivot` (G3), beam-centre flags the pivot ignores (G4),
    a trailing `-curved_det` (P8), flags with no effect (P11), and header values C ignores or prefers
    (G11).  Nothing is refused here.

    Arguments:
        s: the filled `Settings`; its `warnings` list is appended to.
        origin: `Settings` field -> (kind, token index, `Flag` or file path) of what set it, as for
            `check_final`.
        tokens: the command-line tokens (without the program name).
    """
    _accident_warnings(s, origin, tokens)
    _unit_warnings(s, origin, tokens)
    used = {src.name for kind, _, src in origin.values() if kind == "own"}
    conv = s.beam_convention
    given_vectors = [f for f in _VECTORS if getattr(s, f) is not None]
    if s.pix0_vector is not None:
        mm = any("-pix0_vector_mm" in t for t in tokens)
        s.warn("-pix0_vector has no geometric effect in nanoBragg.c: pix0 is recomputed from the beam "
               "centre and distance; the flag only selects the custom convention (C quirk G7)"
               + ("; -pix0_vector_mm is read as -pix0_vector, values unscaled (C quirk P2)" if mm else ""))
    if given_vectors and conv != "custom":
        s.warn(f"the -{conv} flag comes after the vector flags, so nanoBragg.c discards the vectors "
               f"given ({', '.join(given_vectors)}) (C quirk P7)")
    if conv == "custom" and not all(getattr(s, f) is not None for f in _VECTORS[:4]):
        s.warn("a vector flag selected nanoBragg.c's custom convention: the beam centre gets no half-pixel "
               "shift and no X/Y swap, and vectors not given keep C's initial values (beam 1 0 0, "
               "fast 0 0 1, slow 0 -1 0, normal 1 0 0, two-theta axis 0 1 0) (C quirk G1)")
    kind, _, src = origin.get("detector_pivot", ("default", -1, None))
    if kind == "own" and src.name == "-pivot" and conv in _FORCED_PIVOT \
            and s.detector_pivot != _FORCED_PIVOT[conv]:
        s.warn(f"-pivot {s.detector_pivot} is ignored: the {conv} convention forces pivot = "
               f"{_FORCED_PIVOT[conv]} (C quirk G3)")
    ignored = {"beam": ("-Xclose", "-Yclose", "-ORGX", "-ORGY"), "sample": ("-Xbeam", "-Ybeam")}
    forced = _FORCED_PIVOT.get(conv, "")
    for flag in ignored.get(forced, ()):
        if flag in used:
            effect = "is ignored" if forced == "beam" else "only goes into the header"
            s.warn(f"{flag} {effect} in the {conv} convention (C quirk G4)")
    if tokens and tokens[-1].startswith("-") and "-curved_det" in tokens[-1] and not s.curved_detector:
        s.warn("-curved_det as the last token is ignored by nanoBragg.c: it needs one more token after it "
               "(C quirk P8); the detector stays flat")
    from nanobragg_jax.args._flags import TABLE  # no_effect notes (C quirk P11)

    for flag in TABLE:
        if flag.no_effect and flag.name in used:
            s.warn(f"{flag.name} has no effect in nanoBragg.c ({flag.no_effect}) (C quirk P11)")
    if origin.get("close_distance", ("",))[0] == "header" and origin.get("distance", ("",))[0] == "own":
        s.warn(f"-distance has no effect: the header of '{origin['close_distance'][2]}' sets CLOSE_DISTANCE, "
               "which nanoBragg.c uses instead; give -close_distance (C quirk G11)")
    if not math.isnan(s.header_twotheta) and s.header_twotheta != 0:
        s.warn(f"the header TWOTHETA={s.header_twotheta * RTD:g} is ignored by nanoBragg.c (C quirk G11); "
               "give -twotheta")


def _accident_warnings(s, origin, tokens):
    groups = {}
    for field, (kind, i, src) in origin.items():
        if kind == "accident" and src.name not in _SILENT_ACCIDENTS:
            groups.setdefault((i, src.name), []).append(field)
    for (i, name), fields in sorted(groups.items()):
        note = ACCIDENT_NOTES.get(name, "substring match")
        text = (f"'{tokens[i]}' is also read as {name} by nanoBragg.c ({note}): it sets "
                f"{', '.join(sorted(fields))}")
        if "misset_random" in fields and not s.misset_random:
            text += "; this cancels the earlier -misset random"
        s.warn(text)
