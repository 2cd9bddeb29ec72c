"""CrystFEL geometry files (`.geom`, crystfel_geometry(5)): the panels, in CrystFEL's lab frame.

Read as CrystFEL 0.10+ reads them (libcrystfel datatemplate.c, image.c): `key = value` lines, `;`
starts a comment, `panel/key = value` sets a panel's field, a top-level field is the default of
every panel FIRST MENTIONED after it, `bad*/key` lines are bad regions, `clen` (top level only) and
`coffset` (per panel) place the panels along z.  Position of panel coordinate (fs, ss), in metres:

    (cnx + fs*fsx + ss*ssx, cny + fs*fsy + ss*ssy, (clen + coffset)/pitch + fs*fsz + ss*ssz) * pitch

with pitch = 1/res and (fs, ss) = (0, 0) the outer corner of the panel's first pixel.  CrystFEL's
frame: +z along the beam, +y up, +x = y cross z; `setup` maps it onto ours (specs/panels.md).
What a simulator cannot use (data locations, HDF5 masks, peak lists, groups) is skipped; a field
CrystFEL does not know is a warning, as in CrystFEL.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

import numpy as np

from nanobragg_jax.constants import HC_EV_ANGSTROM
from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import read_input_text
from nanobragg_jax.panels import AXIS_TOLERANCE, PanelSet, make_panel


@dataclasses.dataclass
class CrystFELGeometry:
    """A CrystFEL geometry file, read.

    Attributes:
        panels: the panels in CrystFEL's lab frame (x, y in the detector plane, z along the beam),
            metres, with their bad regions as masks.
        wavelength: m, when the file gives a literal `wavelength` or `photon_energy`; else None.
        warnings: one line each (unknown fields, skipped data-file masks, ...).
    """

    panels: PanelSet
    wavelength: Optional[float]
    warnings: list


# Fields a simulator has no use for: data layout, peak lists, pixel flagging by value.
_SKIPPED = {"data", "peak_list", "peak_list_type", "bandwidth", "max_adu", "saturation_map",
            "saturation_map_file", "flag_lessthan", "flag_morethan", "flag_equal",
            "badrow_direction", "mask_good", "mask_bad"}
_DATA_MASKS = re.compile(r"^mask(\d*_(data|file|goodbits|badbits))?$|^mask_file$")
_PANEL_FLOATS = ("corner_x", "corner_y", "coffset", "res", "adu_per_eV", "adu_per_photon")
_PANEL_INTS = ("min_fs", "max_fs", "min_ss", "max_ss", "mask_edge_pixels")
_REQUIRED = ("min_fs", "max_fs", "min_ss", "max_ss", "corner_x", "corner_y", "fs", "ss", "res")
_DIRECTION = re.compile(r"([+-]?)(\d*\.?\d*(?:[eE][+-]?\d+)?)([xyz])")


class _Reader:
    def __init__(self, path: str):
        self.path = path
        self.line = 0
        self.warnings: list = []

    def fail(self, message: str):
        where = f"{self.path}:{self.line}" if self.line else self.path
        raise InputError(f"CrystFEL geometry {where}: {message}")

    def warn(self, message: str) -> None:
        self.warnings.append(f"CrystFEL geometry {self.path}:{self.line}: {message}")

    def number(self, key: str, value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            self.fail(f"{key} = {value!r} is not a number")
        if not np.isfinite(x):
            self.fail(f"{key} = {value!r} is not finite")
        return x

    def whole(self, key: str, value: str) -> int:
        x = self.number(key, value)
        if x != int(x):
            self.fail(f"{key} = {value!r} is not a whole number")
        return int(x)

    def length(self, key: str, value: str) -> float:
        """A length 'nnn [m|mm]' (metres without a unit); a data-file location is refused."""
        words = value.split()
        if len(words) not in (1, 2) or (len(words) == 2 and words[1] not in ("m", "mm")):
            self.fail(f"{key} = {value!r}: expected a length 'nnn [m|mm]'")
        try:
            x = float(words[0])
        except ValueError:
            self.fail(f"{key} = {value!r} is a data-file location; give the value in m or mm")
        return x * (1e-3 if len(words) == 2 and words[1] == "mm" else 1.0)

    def direction(self, key: str, value: str) -> np.ndarray:
        """CrystFEL's fs/ss vectors: signed terms like '-0.001x +0.9999y [+0.01z]' (pixel units)."""
        text = value.replace(" ", "").replace("\t", "")
        pos, out = 0, np.zeros(3)
        for m in _DIRECTION.finditer(text):
            if m.start() != pos or (not m.group(1) and pos > 0):
                self.fail(f"{key} = {value!r}: expected terms like '+1.0x -0.5y'")
            coeff = m.group(2)
            if coeff in ("", "."):
                scale = 1.0
            else:
                try:
                    scale = float(coeff)
                except ValueError:
                    self.fail(f"{key} = {value!r}: bad coefficient {coeff!r}")
            out["xyz".index(m.group(3))] += -scale if m.group(1) == "-" else scale
            pos = m.end()
        if pos != len(text) or pos == 0:
            self.fail(f"{key} = {value!r}: expected terms like '+1.0x -0.5y'")
        return out

    def wavelength(self, key: str, value: str) -> Optional[float]:
        """A literal wavelength (m) from wavelength / photon_energy; None for a data location."""
        words = value.split()
        try:
            x = float(words[0])
        except (ValueError, IndexError):
            return None  # a data-file location: the flags' wavelength is used anyway
        unit = words[1] if len(words) > 1 else ("eV" if key == "photon_energy" else "")
        scale = {("wavelength", "m"): 1.0, ("wavelength", "A"): 1e-10}.get((key, unit))
        if scale is not None:
            return x * scale
        if key == "photon_energy" and unit in ("eV", "keV") and x > 0:
            return HC_EV_ANGSTROM / (x * (1e3 if unit == "keV" else 1.0)) * 1e-10
        self.fail(f"{key} = {value!r}: unknown unit")

    def panel_field(self, fields: dict, key: str, value: str, where: str) -> None:
        if key in _PANEL_FLOATS:
            fields[key] = self.number(key, value)
            if key.startswith("adu_per"):
                fields.pop("adu_per_photon" if key == "adu_per_eV" else "adu_per_eV", None)
        elif key in _PANEL_INTS:
            fields[key] = self.whole(key, value)
        elif key in ("fs", "ss"):
            fields[key] = self.direction(f"{where}{key}", value)
        elif key == "no_index":
            word = value.strip().lower()
            fields[key] = word == "true" or (word not in ("false",) and self.number(key, value) != 0)
        elif key == "clen":
            self.fail(f"{where}clen: clen is a top-level property (CrystFEL 0.10); "
                      "use coffset for a per-panel offset")
        elif key in _SKIPPED or key.startswith("dim") or key.startswith("saturation"):
            pass
        elif _DATA_MASKS.match(key):
            self.warn(f"{where}{key}: masks stored in data files are not read; use bad regions")
        else:
            self.warn(f"unrecognised field '{where}{key}' (ignored, as CrystFEL does)")


def _bad_field(r: _Reader, region: dict, key: str, value: str) -> None:
    if key in ("min_x", "max_x", "min_y", "max_y", "min_fs", "max_fs", "min_ss", "max_ss"):
        kind = "xy" if key.endswith(("_x", "_y")) else "fsss"
        if region.setdefault("kind", kind) != kind:
            r.fail(f"bad region {region['name']}: x/y and fs/ss ranges cannot be mixed")
        region[key] = r.number(key, value) if kind == "xy" else r.whole(key, value)
    elif key == "panel":
        region["panel"] = value
    else:
        r.warn(f"unrecognised field '{region['name']}/{key}' (ignored, as CrystFEL does)")


def read_crystfel_geometry(path: str) -> CrystFELGeometry:
    """Read a CrystFEL geometry file.

    Arguments:
        path: the `.geom` file.
    Returns:
        CrystFELGeometry: the panels in CrystFEL's lab frame (SI), the literal wavelength if any,
        and warnings.
    Raises:
        InputError: unreadable file, a line without '=', a bad number or direction, a missing
            required field (clen; per panel min/max_fs/ss, corner_x/y, fs, ss, res), an empty
            panel range, non-square or skewed pixels, a bad region naming no or an unknown panel,
            or defaults at the end of the file that reach no panel.
    """
    r = _Reader(str(path))
    text = read_input_text(path, "CrystFEL geometry").replace("\r", "\n")
    defaults: dict = {}
    panels: dict = {}  # name -> fields (insertion order = file order)
    bad: dict = {}
    clen = shift_x = shift_y = None
    wavelength = None
    unused_defaults = False
    for r.line, raw in enumerate(text.split("\n"), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            r.fail(f"no '=' in {line!r}")
        key, value = (x.strip() for x in line.split("=", 1))
        if "/" not in key:
            if key == "clen":
                clen = r.length(key, value)
            elif key in ("detector_shift_x", "detector_shift_y"):
                shift = r.length(key, value)
                shift_x, shift_y = (shift, shift_y) if key.endswith("x") else (shift_x, shift)
            elif key in ("wavelength", "photon_energy"):
                wavelength = r.wavelength(key, value)
            elif key == "electron_voltage":
                r.fail("electron_voltage: electron diffraction is not simulated")
            elif key.startswith(("group_", "rigid_group")) or key in _SKIPPED:
                pass
            else:
                r.panel_field(defaults, key, value, "")
                unused_defaults = True
            continue
        name, key = key.split("/", 1)
        if name.startswith("bad"):
            _bad_field(r, bad.setdefault(name, {"name": name, "line": r.line}), key, value)
            continue
        if name not in panels:
            panels[name] = dict(defaults, line=r.line)
            unused_defaults = False
        r.panel_field(panels[name], key, value, f"{name}/")
    r.line = 0
    if not panels:
        r.fail("no panels")
    if unused_defaults:
        r.fail("statements at the end of the file set defaults for panels defined after them, "
               "and none is (CrystFEL refuses this too)")
    if clen is None:
        r.fail("no clen (camera length)")
    built = [_panel(r, name, f, clen, shift_x or 0.0, shift_y or 0.0) for name, f in panels.items()]
    built = _apply_bad_regions(r, built, panels, bad)
    return CrystFELGeometry(PanelSet(tuple(built), source=str(path)), wavelength, r.warnings)


def _panel(r: _Reader, name: str, f: dict, clen: float, shift_x: float, shift_y: float):
    r.line = f["line"]
    missing = [k for k in _REQUIRED if k not in f]
    if missing:
        r.fail(f"panel {name} has no {', '.join(missing)}")
    fpixels = f["max_fs"] - f["min_fs"] + 1
    spixels = f["max_ss"] - f["min_ss"] + 1
    if fpixels < 1 or spixels < 1 or f["min_fs"] < 0 or f["min_ss"] < 0:
        r.fail(f"panel {name}: empty or negative pixel range (min/max_fs, min/max_ss)")
    if f["res"] <= 0:
        r.fail(f"panel {name}: res must be positive (pixels per metre)")
    pitch = 1.0 / f["res"]
    fs, ss = f["fs"], f["ss"]
    nf, ns = np.linalg.norm(fs), np.linalg.norm(ss)
    if nf == 0 or ns == 0:
        r.fail(f"panel {name}: zero fs or ss vector")
    if abs(nf - ns) > AXIS_TOLERANCE * nf:
        r.fail(f"panel {name}: |fs| = {nf:.6g} and |ss| = {ns:.6g} differ: non-square pixels "
               "are not supported")
    origin = np.array([f["corner_x"] * pitch + shift_x, f["corner_y"] * pitch + shift_y,
                       clen + f.get("coffset", 0.0)])
    mask = np.ones((spixels, fpixels), dtype=bool)
    if f.get("no_index"):
        mask[:] = False
    edge = f.get("mask_edge_pixels", 0)
    if edge > 0:
        mask[:edge, :] = mask[-edge:, :] = mask[:, :edge] = mask[:, -edge:] = False
    try:
        # Square pixels: the mean of |fs| and |ss| (equal within AXIS_TOLERANCE) sets the size.
        panel = make_panel(name, origin, fs, ss, pitch * 0.5 * (nf + ns), fpixels, spixels,
                           mask=mask, adu_per_photon=f.get("adu_per_photon"),
                           adu_per_eV=f.get("adu_per_eV"))
    except InputError as exc:
        r.fail(str(exc))
    # CrystFEL's raw vectors, for the x/y bad regions (pixel units, corner coordinates).
    f["_corner"] = (f["corner_x"] + shift_x / pitch, f["corner_y"] + shift_y / pitch)
    return panel


def _apply_bad_regions(r: _Reader, built: list, fields: dict, bad: dict) -> list:
    """Bad regions as masks (image.c): fs/ss ranges inclusive, in the data block's coordinates;
    x/y ranges exclusive, tested at each pixel's corner (fs, ss integers) in pixel units."""
    names = list(fields)
    masks = [p.mask.copy() for p in built]
    for region in bad.values():
        r.line = region["line"]
        kind = region.get("kind")
        if kind is None:
            r.fail(f"bad region {region['name']} has no coordinate ranges")
        if kind == "fsss":
            pname = region.get("panel")
            if pname is None:
                if len(names) != 1:
                    r.fail(f"bad region {region['name']} names no panel")
                pname = names[0]
                r.warn(f"assuming {region['name']}/panel = {pname}")
            if pname not in fields:
                r.fail(f"bad region {region['name']}: no panel {pname!r}")
            k, f = names.index(pname), fields[pname]
            lo_f, hi_f = region.get("min_fs", 0), region.get("max_fs", 0)
            lo_s, hi_s = region.get("min_ss", 0), region.get("max_ss", 0)
            if lo_f < f["min_fs"] or lo_s < f["min_ss"] or hi_f > f["max_fs"] or hi_s > f["max_ss"]:
                r.fail(f"bad region {region['name']} is outside panel {pname}")
            masks[k][lo_s - f["min_ss"]: hi_s - f["min_ss"] + 1,
                     lo_f - f["min_fs"]: hi_f - f["min_fs"] + 1] = False
        else:
            lims = [region.get(k, np.nan) for k in ("min_x", "max_x", "min_y", "max_y")]
            for k, name in enumerate(names):
                f, p = fields[name], built[k]
                ss, fs = np.mgrid[0:p.spixels, 0:p.fpixels]
                x = fs * f["fs"][0] + ss * f["ss"][0] + f["_corner"][0]
                y = fs * f["fs"][1] + ss * f["ss"][1] + f["_corner"][1]
                inside = (x > lims[0]) & (x < lims[1]) & (y > lims[2]) & (y < lims[3])
                masks[k][inside] = False
    return [dataclasses.replace(p, mask=None if m.all() else m) for p, m in zip(built, masks)]
