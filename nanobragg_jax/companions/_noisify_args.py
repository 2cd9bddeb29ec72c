"""noisify.c's command line: its variables after the argv pass and its flag table in test order
(specs/noisify.md 2.2; noisify.c L160-320)."""

from __future__ import annotations

import dataclasses
import time
from typing import Optional

from nanobragg_jax.companions._cargs import flag, scan, seen, setter, switch
from nanobragg_jax.constants import DEFAULT_FLUENCE
from nanobragg_jax.errors import InputError
from nanobragg_jax.noise import f32

INPUT_NAME = "floatimage.bin"
UNSET = -1e99


@dataclasses.dataclass
class NoisifySettings:
    """noisify.c's variables right after its argv pass (specs/noisify.md 2.2), filled by `parse_noisify`.

    Units as noisify.c converts them: lengths in metres (beam centre, distance, detector size, pixel,
    `psf_fwhm`, the latter rounded to a C float), `psf_radius` in pixels, `fluence` in photons/m^2,
    `adc` in ADU and `gain` in ADU/photon; `readout` is in ADU rms and `flicker` and `calibration` are
    fractions rms.  `lambda_text` (Angstrom), `phi0` and `osc` (degrees) are copied into the image
    header as given.  `Xbeam`/`Ybeam` equal to `UNSET` (-1e99) were not given.  Seeds are stored
    negated, as noisify.c stores them (the built-in `calib_seed` is positive).  `inputs` lists every
    input file name C tried, in order; `seen`, `warnings` and `lines` record what the pass saw, our
    warnings and the lines C prints while parsing.
    """
    lambda_text: float = 1.0  # Angstrom, copied to the header as given (NZ-19)
    Xbeam: float = UNSET
    Ybeam: float = UNSET
    distance: float = 0.1
    detsize_x: float = 0.1024
    detsize_y: float = 0.1024
    xpixels: int = 0
    ypixels: int = 0
    pixel: float = 1e-4
    psf: Optional[str] = None  # "gauss" | "fiber" | None
    psf_radius: int = 0
    psf_fwhm: float = f32(46e-6)  # m, a C float
    fluence: float = DEFAULT_FLUENCE
    inputs: list = dataclasses.field(default_factory=list)  # every input name C tried to open, in order
    header: Optional[str] = None
    pgmfile: str = "image.pgm"
    intfile: str = "intimage.img"
    bits: int = 16
    noisefile: str = "noiseimage.img"
    calculate_noise: bool = True
    write_pgm: bool = True
    readout: float = 0.0
    flicker: float = 0.0
    calibration: float = 0.03
    photon_scale: float = 1.0
    seed: int = 0
    calib_seed: int = 123456789
    adc: float = 40.0
    gain: float = 1.0
    phi0: float = 0.0
    osc: float = 1.0
    seen: set = dataclasses.field(default_factory=set)
    warnings: list = dataclasses.field(default_factory=list)
    lines: list = dataclasses.field(default_factory=list)  # stdout lines C prints while parsing


def _psf(s, v):
    tok = v[0]
    s.psf = None
    if "gauss" in tok:
        s.psf = "gauss"
    if "fiber" in tok:
        s.psf = "fiber"
    if s.psf is None:
        s.lines.append("WARNING: unknown psf type: %s" % tok)
        s.warnings.append(f"-psf {tok}: unknown type, no PSF is applied (noisify.c: gauss or fiber)")


def _fwhm(s, v):
    s.psf_fwhm = f32(v[0] / 1e6)


TABLE = (
    flag("-lambda", 1, "f", setter("lambda_text"), 172),
    flag("-Xbeam", 1, "f", setter("Xbeam", scale=1e-3), 177),
    flag("-Ybeam", 1, "f", setter("Ybeam", scale=1e-3), 181),
    flag("-distance", 1, "f", setter("distance", scale=1e-3), 185),
    flag("-detsize=8", 1, "f", setter("detsize_x", "detsize_y", scale=1e-3), 189),
    flag("-detsize_x", 1, "f", setter("detsize_x", scale=1e-3), 194),
    flag("-detsize_y", 1, "f", setter("detsize_y", scale=1e-3), 198),
    flag("-detpixels=10", 1, "i", setter("xpixels", "ypixels"), 202),
    flag("-detpixels_x", 1, "i", setter("xpixels"), 206),
    flag("-detpixels_y", 1, "i", setter("ypixels"), 210),
    flag("-pixel", 1, "f", seen("pixel", setter("pixel", scale=1e-3)), 214),
    flag("-psf=4", None, "s", _psf, 218),  # C quirk NZ-3: unguarded
    flag("-psf_rad", 1, "f", lambda s, v: setattr(s, "psf_radius", int(v[0]) if abs(v[0]) < 2**31 else 0), 225),
    flag("-psf_si -psf_fw -psf_wi", 1, "f", _fwhm, 229),
    flag("-fluence", 1, "f", setter("fluence"), 233),
    flag("-floatfile -floatimage -bin", 1, "s", lambda s, v: s.inputs.append(v[0]), 237),
    flag("-header", 1, "s", setter("header"), 242),
    flag("-pgmfile -pgmimage", 1, "s", setter("pgmfile"), 246),
    flag("-intfile -intimage", 1, "s", setter("intfile"), 250),
    flag("-bits", 1, "i", setter("bits"), 254),
    flag("-noisefile -noiseimage", 1, "s", setter("noisefile"), 258),
    flag("-nonoise", 0, "", switch(calculate_noise=False), 262),
    flag("-nopgm", 0, "", switch(write_pgm=False), 267),
    flag("-readout -readnoi", 1, "f", setter("readout"), 271),
    flag("-flicker", 1, "f", setter("flicker"), 275),
    flag("-calibration", 1, "f", setter("calibration"), 279),
    flag("-scale", 1, "f", setter("photon_scale"), 283),
    flag("-seed", 1, "i", lambda s, v: setattr(s, "seed", -v[0]), 287),
    flag("-calib_seed", 1, "i", lambda s, v: setattr(s, "calib_seed", -v[0]), 291),
    flag("-badpix_seed", 1, "i", seen("badpix_seed", lambda s, v: None), 295),
    flag("-hotpix_seed", 1, "i", seen("hotpix_seed", lambda s, v: None), 299),
    flag("-adc", 1, "f", setter("adc"), 303),
    flag("-gain", 1, "f", setter("gain"), 307),
    flag("-phi", 1, "f", setter("phi0"), 311),  # no length test: -phistep sets it too (NZ-19)
    flag("-osc", 1, "f", setter("osc"), 315),
)


def parse_noisify(argv) -> NoisifySettings:
    """noisify.c's argv pass.  Any token containing 'floatimage.bin' is an input name before any
    flag test (NZ-9).  Raises InputError where C crashes (-psf as the last token, NZ-3)."""
    argv = [str(a) for a in argv]
    if argv and argv[-1].startswith("-") and _is_psf(argv[-1]):
        raise InputError(f"{argv[-1]} needs a type after it (gauss or fiber); noisify.c crashes here (NZ-3)")
    s = NoisifySettings(seed=-int(time.time()))

    def input_token(tok):
        if INPUT_NAME in tok:
            s.inputs.append(tok)
            return True
        return False

    s.warnings += scan(argv, TABLE, s, "noisify", skip=input_token)
    if any(t in s.seen for t in ("badpix_seed", "hotpix_seed")):
        s.warnings.append("-badpix_seed and -hotpix_seed are read but unused by noisify.c (NZ-18)")
    if any("-psf_si" in t for t in argv):
        s.warnings.append("-psf_sigma is read as the FWHM, not a standard deviation, as noisify.c does (NZ-7)")
    if s.psf_radius < 0 and s.psf is not None:
        s.warnings.append("a negative -psf_radius spreads nothing and adds the light it books as lost "
                          "back evenly, as noisify.c does (NZ-15)")
    if s.bits not in (16, 32):
        s.warnings.append(f"-bits {s.bits}: noisify.c writes 512-byte images without pixels and without "
                          "the first header lines (NZ-5)")
    if any("-seed_calib" in t for t in argv):
        s.warnings.append("-seed_calib sets the main -seed, not -calib_seed (NZ-18)")
    return s


def _is_psf(tok):
    return "-psf" in tok and len(tok) == 4
