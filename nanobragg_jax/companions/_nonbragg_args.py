"""nonBragg.c's command line: its variables after the argv pass, and its flag table in test order
(specs/nonbragg.md 2.2; nonBragg.c L362-786).  Units are converted as C converts them (mm -> m,
deg -> rad, mrad -> rad, percent -> fraction); NaN means "not given", as in C."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Optional

from nanobragg_jax.companions._cargs import flag, scan, seen, setter, switch
from nanobragg_jax.constants import DEFAULT_FLUENCE, RTD

NAN = math.nan


@dataclasses.dataclass
class NonBraggSettings:
    """nonBragg.c's variables right after its argv pass (specs/nonbragg.md 2.2), filled by its flag table.

    Units as nonBragg.c converts them: lengths in metres (sample size, beam centre, distances, detector
    size, pixel, beam size, wavelength), angles in radians (rotations, two-theta, divergence, phi), the
    `density` in g/m^3, `molecular_weight` in g/mol, `fluence` in photons/m^2, `flux` in photons/s,
    `exposure` in s, `dispersion` a fraction; `ORGX`/`ORGY` are in pixels, `kahn` is the Kahn
    polarization factor.  NaN means "not given", as in C; -1 in the step, count, oversample and `roi`
    fields means automatic.  Vectors are unitless, as typed.  The seed is stored negated, as in C.
    `image` holds (the -img pixels, (width, height)) when -img was read.  `seen` and `warnings`
    record what the pass saw, for our warnings; they are not C variables.
    """
    sample_x: float = 1e-4  # m, thickness along the beam
    sample_y: float = 1e-4
    sample_z: float = 1e-4
    density: float = 1e6  # g/m^3
    molecules: float = 0.0
    molecular_weight: float = 18.0
    Xbeam: float = NAN
    Ybeam: float = NAN
    Xclose: float = NAN
    Yclose: float = NAN
    ORGX: float = NAN
    ORGY: float = NAN
    pivot: str = "beam"
    fdet: tuple = (0.0, 0.0, 1.0)
    sdet: tuple = (0.0, -1.0, 0.0)
    beam: tuple = (1.0, 0.0, 0.0)
    polar: tuple = (0.0, 0.0, 1.0)
    twotheta_axis: tuple = (0.0, 1.0, 0.0)
    distance: float = 0.1
    close_distance: float = NAN
    source_distance: float = 10.0
    twotheta: float = 0.0
    rotx: float = 0.0
    roty: float = 0.0
    rotz: float = 0.0
    detsize_x: float = 0.1024
    detsize_y: float = 0.1024
    fpixels: int = 0
    spixels: int = 0
    curved: bool = False
    pixel: float = 1e-4
    point_pixel: bool = False
    fmap: bool = False
    kahn: float = 0.0
    nopolar: bool = False
    oversample: int = -1
    roi: tuple = (-1, -1, -1, -1)
    lambda0: float = 1e-10
    fluence: float = DEFAULT_FLUENCE
    flux: float = 0.0
    exposure: float = 1.0
    beamsize: float = 1e-4
    dispersion: float = 0.0
    dispsteps: int = -1
    hdivrange: float = -1.0
    vdivrange: float = -1.0
    hdivstep: float = -1.0
    vdivstep: float = -1.0
    hdivsteps: int = -1
    vdivsteps: int = -1
    round_div: bool = True
    adc: float = 40.0
    gain: float = 1.0
    phi0: float = 0.0
    osc: float = -1.0
    phistep: float = -1.0
    phisteps: int = -1
    img: Optional[str] = None
    ignore: list = dataclasses.field(default_factory=list)
    stolout: str = "output.stol"
    stolfile: Optional[str] = None
    stol_unit: str = "stol"
    sourcefile: Optional[str] = None
    floatfile: str = "floatimage.bin"
    intfile: str = "intimage.img"
    pgmfile: str = "image.pgm"
    noisefile: str = "noiseimage.img"
    calculate_noise: bool = True
    intfile_scale: float = 0.0
    pgm_scale: float = 0.0
    printout: bool = False
    printout_pixel: tuple = (-1, -1)
    progress: bool = True
    seed: int = 0
    image: object = None  # (-img pixels, (width, height)) when -img was read
    # what the pass saw, for warnings (not C variables)
    seen: set = dataclasses.field(default_factory=set)
    warnings: list = dataclasses.field(default_factory=list)


def _vector(field):
    def apply(s, v):
        setattr(s, field, (v[0], v[1], v[2]))
        s.seen.add(field)
    return apply


def _pivot(s, v):
    if "sample" in v[0]:
        s.pivot = "sample"
    if "beam" in v[0]:
        s.pivot = "beam"


def _table(unit):
    def apply(s, v):
        s.stolfile, s.stol_unit = v[0], unit
    return apply


def _ignore(s, v):
    # C quirk NB-25: stored as (unsigned short) of the double: -1 -> 65535, 1.7 -> 1.
    x = v[0]
    s.ignore.append(int(math.trunc(x)) & 0xFFFF if math.isfinite(x) and abs(x) < 2**31 else 0)


def _energy(s, v):
    s.lambda0 = (12398.42 / v[0]) / 1e10 if v[0] != 0.0 else math.inf


def _printout_pixel(s, v):
    s.printout_pixel = (v[0], v[1])


mm = 1e-3
TABLE = (
    flag("-samplesize -sample_size", 1, "f", setter("sample_x", "sample_y", "sample_z", scale=mm), 367),
    flag("-sample_thick -sample_x -thick", 1, "f", setter("sample_x", scale=mm), 373),
    flag("-sample_width -sample_y -width", 1, "f", setter("sample_y", scale=mm), 377),
    flag("-sample_heigh -sample_z -heigh", 1, "f", setter("sample_z", scale=mm), 381),
    flag("-density -sample_den", 1, "f", setter("density", scale=1e6), 385),
    flag("-molecules -sample_molecules", 1, "f", setter("molecules"), 389),
    flag("=-MW -molecular", 1, "f", setter("molecular_weight"), 393),
    flag("-Xbeam", 1, "f", setter("Xbeam", scale=mm, pivot="beam"), 397),
    flag("-Ybeam", 1, "f", setter("Ybeam", scale=mm, pivot="beam"), 402),
    flag("-Xclose", 1, "f", setter("Xclose", scale=mm, pivot="sample"), 407),
    flag("-Yclose", 1, "f", setter("Yclose", scale=mm, pivot="sample"), 412),
    flag("-ORGX", 1, "f", setter("ORGX", pivot="sample"), 417),
    flag("-ORGY", 1, "f", setter("ORGY", pivot="sample"), 422),
    flag("-pivot", 1, "s", _pivot, 427),
    flag("-fdet_vector", 3, "fff", _vector("fdet"), 432),
    flag("-sdet_vector", 3, "fff", _vector("sdet"), 438),
    flag("-odet_vector", 3, "fff", _vector("odet"), 444),  # NB-10: overwritten by unit(f x s)
    flag("-beam_vector", 3, "fff", _vector("beam"), 450),
    flag("-polar_vector", 3, "fff", _vector("polar"), 456),
    flag("-spindle_axis", 3, "fff", _vector("spindle"), 462),  # NB-10: unused
    flag("-twotheta_axis", 3, "fff", _vector("twotheta_axis"), 468),  # NB-2: also fires -twotheta
    flag("-pix0_vector", 3, "fff", _vector("pix0"), 474),  # NB-10: recomputed by both pivots
    flag("-distance", 1, "f", setter("distance", scale=mm, pivot="beam"), 481),
    flag("-close_distance", 1, "f", setter("close_distance", scale=mm, pivot="sample"), 486),
    flag("-source_distance", 1, "f", setter("source_distance", scale=mm), 491),
    flag("-twotheta", 1, "f", seen("twotheta", setter("twotheta", scale=1 / RTD, pivot="sample")), 495),
    flag("-detector_rotx", 1, "f", setter("rotx", scale=1 / RTD), 500),
    flag("-detector_roty", 1, "f", setter("roty", scale=1 / RTD), 504),
    flag("-detector_rotz", 1, "f", setter("rotz", scale=1 / RTD), 508),
    flag("-detsize=8", 1, "f", setter("detsize_x", "detsize_y", scale=mm), 512),
    flag("-detsize_x", 1, "f", setter("detsize_x", scale=mm), 517),
    flag("-detsize_y", 1, "f", setter("detsize_y", scale=mm), 521),
    flag("-detpixels=10", 1, "i", setter("fpixels", "spixels"), 525),
    flag("-detpixels_f -detpixels_x", 1, "i", setter("fpixels"), 529),
    flag("-detpixels_s -detpixels_y", 1, "i", setter("spixels"), 533),
    flag("-curved_det", 1, "", switch(curved=True), 537),  # NB-9: needs a following token
    flag("-pixel", 1, "f", setter("pixel", scale=mm), 541),
    flag("-point_pixel", 0, "", switch(point_pixel=True), 545),
    flag("-Fmap", 0, "", switch(fmap=True), 549),
    flag("-polar=6", 1, "f", setter("kahn", nopolar=False), 553),
    flag("-nopolar", 0, "", switch(nopolar=True), 558),
    flag("-oversample", 1, "i", setter("oversample"), 562),
    flag("-roi", 4, "iiii", lambda s, v: setattr(s, "roi", tuple(v)), 566),
    flag("-lambda -wave", 1, "f", setter("lambda0", scale=1e-10), 573),
    flag("-energy", 1, "f", _energy, 577),
    flag("-fluence", 1, "f", setter("fluence"), 581),
    flag("-flux", 1, "f", setter("flux"), 585),
    flag("-exposure", 1, "f", setter("exposure"), 589),
    flag("-beamsize", 1, "f", setter("beamsize", scale=mm), 593),
    flag("-dispersion", 1, "f", setter("dispersion", scale=1e-2), 597),
    flag("-dispsteps", 1, "i", setter("dispsteps"), 601),
    flag("-divergence", 1, "f", setter("hdivrange", "vdivrange", scale=1e-3), 605),
    flag("-hdivrange", 1, "f", setter("hdivrange", scale=1e-3), 609),
    flag("-vdivrange", 1, "f", setter("vdivrange", scale=1e-3), 613),
    flag("-hdivstep=9", 1, "f", setter("hdivstep", scale=1e-3), 617),
    flag("-hdivsteps", 1, "i", setter("hdivsteps"), 621),
    flag("-vdivstep=9", 1, "f", setter("vdivstep", scale=1e-3), 625),
    flag("-vdivsteps", 1, "i", setter("vdivsteps"), 629),
    flag("-divsteps", 1, "i", setter("hdivsteps", "vdivsteps"), 633),
    flag("-round_div", 0, "", switch(round_div=True), 637),
    flag("-square_div", 0, "", switch(round_div=False), 642),
    flag("-adc", 1, "f", setter("adc"), 647),
    flag("-gain", 1, "f", seen("gain", setter("gain")), 651),
    flag("-phi=4", 1, "f", setter("phi0", scale=1 / RTD), 655),
    flag("-osc", 1, "f", setter("osc", scale=1 / RTD), 659),
    flag("-phistep=8", 1, "f", setter("phistep", scale=1 / RTD), 663),
    flag("-phisteps", 1, "i", setter("phisteps"), 667),
    flag("-img", 1, "s", setter("img"), 683),
    flag("-ignore", 1, "f", _ignore, 687),
    flag("-stolout>7", 1, "s", setter("stolout"), 692),
    flag("-stol=5", 1, "s", _table("stol"), 696),
    flag("-4stol=6", 1, "s", _table("4stol"), 701),
    flag("-Q=2", 1, "s", _table("Q"), 706),
    flag("-sourcefile", 1, "s", setter("sourcefile"), 711),
    flag("-floatfile -floatimage", 1, "s", setter("floatfile"), 715),
    flag("-intfile -intimage", 1, "s", setter("intfile"), 719),
    flag("-pgmfile -pgmimage", 1, "s", setter("pgmfile"), 723),
    flag("-noisefile -noiseimage", 1, "s", setter("noisefile", calculate_noise=True), 727),
    flag("-nonoise", 0, "", switch(calculate_noise=False), 732),
    flag("-nopgm", 0, "", seen("nopgm", lambda s, v: None), 737),  # NB-10: PGM always written
    flag("-noreject", 0, "", lambda s, v: None, 742),
    flag("-scale", 1, "f", setter("intfile_scale"), 747),
    flag("-pgmscale", 1, "f", setter("pgm_scale"), 752),
    flag("-coherent", 0, "", lambda s, v: None, 757),  # never read
    flag("-printout", 0, "", switch(printout=True), 762),
    flag("-noprogress", 0, "", switch(progress=False), 767),
    flag("-progress", 0, "", switch(progress=True), 772),
    flag("-printout_pixel", 2, "ii", _printout_pixel, 777),  # NB-3: also fires -printout
    flag("-seed", 1, "i", lambda s, v: setattr(s, "seed", -v[0]), 782),
)


def parse_nonbragg(argv, read_header=None) -> NonBraggSettings:
    """nonBragg.c's two passes over argv (pass 1 only looks for -img, L299-310).

    read_header(settings): called between the passes when -img was found (C reads the image header
    there, so any flag overrides it); its result is kept as `settings.image`.
    Returns the settings with `warnings` about what C does silently (flags it ignores, values it
    reads as 0, NB-2, NB-9, NB-10, NB-12)."""
    argv = [str(a) for a in argv]
    s = NonBraggSettings(seed=-int(time.time()))
    for i, tok in enumerate(argv):
        if tok.startswith("-") and "-img" in tok and len(argv) > i + 1:
            s.img = argv[i + 1]
    s.image = read_header(s) if (s.img is not None and read_header is not None) else None
    header_close = s.close_distance
    s.warnings += scan(argv, TABLE, s, "nonBragg")
    if s.img is not None and not math.isnan(header_close) and any(
            "-distance" in t and "-close_distance" not in t for t in argv):
        s.warnings.append("the -img header's CLOSE_DISTANCE wins over -distance, as in nonBragg.c (NB-19)")
    if len(s.ignore) > 69999:
        from nanobragg_jax.errors import InputError

        raise InputError(f"{len(s.ignore)} -ignore values: nonBragg.c's list holds 69999 (NB-25)")
    s.warnings += _quirk_warnings(argv, s)
    return s


def _quirk_warnings(argv, s) -> list:
    out = []
    tt_axis = [i for i, t in enumerate(argv) if "-twotheta_axis" in t]
    tt_plain = [i for i, t in enumerate(argv) if "-twotheta" in t and "-twotheta_axis" not in t]
    if tt_axis and (not tt_plain or max(tt_plain) < max(tt_axis)):
        out.append("-twotheta_axis also sets the two-theta angle (to its first value, in degrees) "
                   "and the sample pivot, as nonBragg.c does (NB-2); give -twotheta after it")
    if argv and "-curved_det" in argv[-1]:
        out.append("-curved_det as the last argument is ignored by nonBragg.c (NB-9)")
    for name, why in (("odet", "-odet_vector has no effect: the normal is always fast x slow (NB-10)"),
                      ("pix0", "-pix0_vector has no effect: both pivots recompute it (NB-10)"),
                      ("nopgm", "-nopgm has no effect: nonBragg.c always writes the PGM (NB-10)")):
        if name in s.seen:
            out.append(why)
    if "gain" in s.seen and s.img is None:
        out.append("-gain has no effect without -img (NB-10)")
    ax = s.twotheta_axis
    norm = math.sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2])
    if "twotheta_axis" in s.seen and abs(norm - 1.0) > 1e-12:
        out.append(f"-twotheta_axis has length {norm:g}; nonBragg.c does not normalise it, so "
                   "two-theta also scales the detector (NB-12)")
    return out
