"""Seeded random command lines for the differential test against stored nanoBragg.c results (issue 11).

`generate(seed)` returns one random, valid nanoBragg command line (a list of tokens, without output
flags) on a small detector (4-48 pixels a side), drawn from a broad set of flags: cells from cubic
to triclinic (or a MOSFLM matrix), crystal size, -default_F or a small hkl file, misset (fixed or
seeded random), mosaicity, phi sweeps, detector distance / size / pixel / beam centre, the five
conventions and the custom one (explicit vectors, -pivot), two-theta and detector rotations,
oversampling and the -oversample_* switches, sensor absorption, divergence and dispersion grids,
polarization, the four lattice shapes, -dmin, -roi, -point_pixel, -curved_det, wavelength or
energy, fluence or flux, water background, interpolation, and seeded noise images.

The generator is plain Python (`random.Random(seed)`) and deterministic across platforms, so a seed
names its command line for good.  It only produces command lines that both nanoBragg.c and
nanobragg_jax must accept with the same meaning: every flag comes with all its values, no value
starts with a flag name, no unknown flag, no beam parallel to the detector, and the total work
(pixels x sub-pixels x sources x phi steps x domains x layers) stays small so that the C program runs
well under half a second.

The stored results are in tests/data/differential/<seed>/ (see README.md there): case.json (args,
C's return code, sha256 of every output), float.bin.gz, int.img.gz and, where `wants_noise(seed)`,
noise.img.gz, plus C's stdout.  The inputs the command lines name are in
tests/data/differential/inputs/; copy `input_files(args)` into the run folder.

`CASES` lists every stored seed with a note; a note that starts with "FAULT" is a seed on which
nanobragg_jax --mode c-parity disagreed with nanoBragg.c when the data were made (kept on purpose,
so the fault stays covered once it is fixed).

Comparison rules (docs/parity.md): float image per pixel |ours - C| <= 1e-5 |C| + 1e-7 max|C|;
int image equal up to 1 count; noise image (always seeded here) identical.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "differential"
INPUTS = DATA / "inputs"

N_CASES = 150
MIN_PIXELS, MAX_PIXELS = 4, 48
# pixels * sub-pixels * sources * phi steps * mosaic domains * sensor layers, at most
WORK_BUDGET = 400_000

FLOAT_RTOL = 1e-5
FLOAT_ATOL_OF_MAX = 1e-7
INT_COUNTS = 1

HKL_FILES = ("sparse.hkl", "P1_small.hkl")
OTHER_INPUTS = ("A.mat", "sources2.txt")

CONVENTIONS = ("-mosflm", "-xds", "-dials", "-adxv", "-denzo")


# ----------------------------------------------------------------------------------------------
# number formatting: short, C-atof-friendly, never in exponent form unless asked
# ----------------------------------------------------------------------------------------------

def _f(x: float, digits: int = 4) -> str:
    """A decimal without trailing zeros ('12.5', '90', '-3.25')."""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _e(x: float) -> str:
    """A large number in exponent form ('1.5e24')."""
    mantissa, exponent = f"{x:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _uniform(r: random.Random, lo: float, hi: float, digits: int = 3) -> float:
    return round(r.uniform(lo, hi), digits)


# ----------------------------------------------------------------------------------------------
# pieces of the command line; each returns a list of flag groups (lists of tokens)
# ----------------------------------------------------------------------------------------------

def _cell(r: random.Random):
    """(groups, a length for the work estimate): a cell from cubic to triclinic, or a -mat file."""
    kind = r.choice(["cubic", "cubic", "tetragonal", "orthorhombic", "hexagonal", "rhombohedral",
                     "monoclinic", "triclinic", "triclinic", "short", "mat"])
    L = lambda: _uniform(r, 20, 110, 1)
    if kind == "mat":
        return [["-mat", "A.mat"]], 80.0, kind
    if kind == "short":  # C reads a missing b, c as a and missing angles as 90 (C quirk P9)
        a = L()
        vals = [a] if r.random() < 0.5 else [a, L(), L()]
        return [["-cell"] + [_f(v) for v in vals]], max(vals), kind
    if kind == "cubic":
        a = L(); cell = (a, a, a, 90, 90, 90)
    elif kind == "tetragonal":
        a = L(); cell = (a, a, L(), 90, 90, 90)
    elif kind == "orthorhombic":
        cell = (L(), L(), L(), 90, 90, 90)
    elif kind == "hexagonal":
        a = L(); cell = (a, a, L(), 90, 90, 120)
    elif kind == "rhombohedral":
        a = L(); al = _uniform(r, 65, 105, 2); cell = (a, a, a, al, al, al)
    elif kind == "monoclinic":
        cell = (L(), L(), L(), 90, _uniform(r, 91, 118, 2), 90)
    else:
        while True:
            angles = [_uniform(r, 70, 110, 2) for _ in range(3)]
            ca, cb, cg = (math.cos(math.radians(t)) for t in angles)
            if 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg > 0.3:
                break
        cell = (L(), L(), L(), *angles)
    return [["-cell"] + [_f(v) for v in cell]], max(cell[:3]), kind


def _crystal_size(r: random.Random):
    """-N, -Na/-Nb/-Nc or -xtalsize; returns (groups, the largest N, whether sizes came from -N)."""
    u = r.random()
    if u < 0.55:
        n = r.randint(1, 8)
        return [["-N", str(n)]], n
    if u < 0.9:
        ns = [r.randint(1, 8) for _ in range(3)]
        return [[flag, str(n)] for flag, n in zip(("-Na", "-Nb", "-Nc"), ns)], max(ns)
    if u < 0.95:
        size_um = _uniform(r, 0.1, 0.6, 2)
        flag = r.choice(["-xtalsize", "-xtal_size", "-samplesize", "-sample_size"])
        return [[flag, _f(size_um / 1000.0, 6)]], -size_um * 1e4  # negative: a size in A
    # three edges (the y and z edges are clipped to -beamsize when that is smaller, C quirk C4)
    sizes = [_uniform(r, 0.1, 0.6, 2) for _ in range(3)]
    names = r.choice([("-sample_thick", "-sample_width", "-sample_height"),
                      ("-xtal_thick", "-xtal_width", "-xtal_height"),
                      ("-sample_x", "-sample_y", "-sample_z")])
    groups = [[n, _f(v / 1000.0, 6)] for n, v in zip(names, sizes)]
    if r.random() < 0.5:
        groups.append(["-beamsize", _f(_uniform(r, 0.1, 0.6, 2) / 1000.0, 6)])
    return groups, -max(sizes) * 1e4


def _structure_factors(r: random.Random):
    u = r.random()
    groups = []
    if u < 0.6:
        groups.append(["-default_F", _f(_uniform(r, 1, 500, 1))])
        hkl = None
    elif u < 0.75:
        hkl = "sparse.hkl"
        groups.append(["-hkl", hkl])
        groups.append(["-default_F", _f(_uniform(r, 1, 50, 1))])
    else:
        hkl = "P1_small.hkl"
        groups.append(["-hkl", hkl])
        if r.random() < 0.3:
            groups.append(["-default_F", _f(_uniform(r, 1, 50, 1))])
    v = r.random()
    if v < 0.2:
        groups.append(["-interpolate"])
    elif v < 0.4:
        groups.append(["-nointerpolate"])
    return groups


def _orientation(r: random.Random):
    u = r.random()
    if u < 0.45:
        return []
    if u < 0.9:
        return [["-misset"] + [_f(_uniform(r, -180, 180, 2)) for _ in range(3)]]
    # -misset_seed first: it also matches -misset (C quirk P1), and -misset random then wins
    return [["-misset_seed", str(r.randint(1, 99999)), "-misset", "random"]]


def _mosaic(r: random.Random):
    if r.random() < 0.7:
        return [], 1
    doms = r.randint(1, 6)
    groups = [[r.choice(["-mosaic", "-mosaic", "-mosaic_spread"]), _f(_uniform(r, 0.02, 1.5, 3))],
              ["-mosaic_dom", str(doms)]]
    if r.random() < 0.6:
        groups.append(["-mosaic_seed", str(r.randint(1, 999999))])
    return groups, doms


def _phi(r: random.Random):
    if r.random() < 0.6:
        return [], 1
    phi0 = 0.0 if r.random() < 0.5 else _uniform(r, -30, 30, 2)
    osc = _uniform(r, 0.02, 2.0, 3)
    groups = [["-phi", _f(phi0)], ["-osc", _f(osc)]]
    if r.random() < 0.75:
        steps = r.randint(1, 5)
        groups.append(["-phisteps", str(steps)])
    else:  # a step size: n = ceil(osc / step), at most 5
        steps = r.randint(1, 5)
        step = osc / steps
        groups.append(["-phistep", _f(step * 1.0001, 6)])
        steps = math.ceil(osc / float(_f(step * 1.0001, 6)))
    if r.random() < 0.3:
        groups.append(["-spindle_axis"] + _unit_vector_tokens(r, (0, 0, 1), 25))
    return groups, steps


def _unit_vector_tokens(r: random.Random, base, max_deg):
    """Tokens of a unit vector within max_deg of base (6 decimals)."""
    v = _tilt(r, base, max_deg)
    return [_f(c, 6) for c in v]


def _tilt(r: random.Random, base, max_deg):
    bx, by, bz = base
    while True:
        p = [r.gauss(0, 1) for _ in range(3)]
        n = math.sqrt(sum(c * c for c in p))
        if n > 1e-3:
            break
    p = [c / n for c in p]
    d = p[0] * bx + p[1] * by + p[2] * bz
    p = [p[0] - d * bx, p[1] - d * by, p[2] - d * bz]  # perpendicular to base
    n = math.sqrt(sum(c * c for c in p)) or 1.0
    t = math.radians(r.uniform(0, max_deg))
    v = [math.cos(t) * b + math.sin(t) * c / n for b, c in zip(base, p)]
    n = math.sqrt(sum(c * c for c in v))
    return [c / n for c in v]


def _sources(r: random.Random):
    """Divergence, dispersion or a source file; returns (groups, number of sources)."""
    groups, count = [], 1
    u = r.random()
    if u < 0.05:
        return [["-sourcefile", "sources2.txt"]], 2
    if u < 0.2:
        n = r.randint(1, 4)
        groups += [["-divergence", _f(_uniform(r, 0.05, 3.0, 3))], ["-divsteps", str(n)]]
        count *= n * n
    elif u < 0.3:
        nh, nv = r.randint(1, 4), r.randint(1, 4)
        groups += [["-hdivrange", _f(_uniform(r, 0.0, 3.0, 3))], ["-hdivsteps", str(nh)],
                   ["-vdivrange", _f(_uniform(r, 0.05, 3.0, 3))], ["-vdivsteps", str(nv)]]
        count *= nh * nv
    if groups and r.random() < 0.4:
        groups.append([r.choice(["-round_div", "-square_div"])])
    if r.random() < 0.25:
        n = r.randint(1, 4)
        groups += [["-dispersion", _f(_uniform(r, 0.05, 5.0, 3))], ["-dispsteps", str(n)]]
        count *= n
    return groups, count


def _beam(r: random.Random):
    """Wavelength or energy, and the fluence; returns (groups, lambda in A)."""
    groups = []
    if r.random() < 0.75:
        lam = _uniform(r, 0.5, 2.5, 4)
        groups.append([r.choice(["-lambda", "-lambda", "-wavelength"]), _f(lam)])
    else:
        energy = _uniform(r, 5000, 20000, 2)
        groups.append(["-energy", _f(energy)])
        lam = 12398.42 / energy
    u = r.random()
    if u < 0.2:
        groups.append(["-fluence", _e(10 ** r.uniform(22, 27))])
    elif u < 0.35:
        groups += [["-flux", _e(10 ** r.uniform(10, 14))], ["-exposure", _f(_uniform(r, 0.1, 3, 2))],
                   ["-beamsize", _f(_uniform(r, 0.01, 0.3, 3))]]
    elif u < 0.4:  # without -flux the exposure changes nothing
        groups.append(["-exposure", _f(_uniform(r, 0.1, 3, 2))])
    return groups, lam


def _detector(r: random.Random):
    """Size, pixel, distance, convention, beam centre, rotations; returns (groups, fpix, spix,
    pixel_mm, distance_mm, convention)."""
    groups = []
    side = lambda: MIN_PIXELS + int((MAX_PIXELS - MIN_PIXELS + 1) * r.random() ** 1.3)
    if r.random() < 0.7:
        fpix = spix = min(side(), MAX_PIXELS)
        groups.append(["-detpixels", str(fpix)])
    else:
        fpix, spix = min(side(), MAX_PIXELS), min(side(), MAX_PIXELS)
        groups += [[r.choice(["-detpixels_f", "-detpixels_x"]), str(fpix)],
                   [r.choice(["-detpixels_s", "-detpixels_y"]), str(spix)]]
    pixel = _uniform(r, 0.05, 0.5, 3)
    groups.append([r.choice(["-pixel", "-pixel", "-pixel_size"]), _f(pixel)])
    distance = _uniform(r, 30, 300, 2)
    conv = r.choice(["default", "default", "-mosflm", "-xds", "-dials", "-adxv", "-denzo", "custom"])
    if conv in CONVENTIONS:
        groups.append([conv])
    close = conv in ("-xds", "-dials") or (conv == "custom" and r.random() < 0.5)
    if close and r.random() < 0.3:
        groups.append(["-close_distance", _f(distance)])
    else:
        groups.append(["-distance", _f(distance)])
    size_f, size_s = fpix * pixel, spix * pixel
    u = r.random()
    if u < 0.4:
        groups += [["-Xbeam", _f(size_f * r.uniform(0.15, 0.85))], ["-Ybeam", _f(size_s * r.uniform(0.15, 0.85))]]
    elif u < 0.55:
        groups += [["-Xclose", _f(size_f * r.uniform(0.15, 0.85))], ["-Yclose", _f(size_s * r.uniform(0.15, 0.85))]]
    elif u < 0.65:
        groups += [["-ORGX", _f(fpix * r.uniform(0.15, 0.85), 2)], ["-ORGY", _f(spix * r.uniform(0.15, 0.85), 2)]]
    if conv == "custom":
        # MOSFLM's vectors, each tilted a little; the beam stays far from the detector plane
        beam = _tilt(r, (1, 0, 0), 8)
        fdet = _tilt(r, (0, 0, 1), 5)
        sdet = _tilt(r, (0, -1, 0), 5)
        groups += [["-beam_vector"] + [_f(c, 6) for c in beam],
                   ["-fdet_vector"] + [_f(c, 6) for c in fdet],
                   ["-sdet_vector"] + [_f(c, 6) for c in sdet]]
        if r.random() < 0.5:
            odet = [fdet[1] * sdet[2] - fdet[2] * sdet[1], fdet[2] * sdet[0] - fdet[0] * sdet[2],
                    fdet[0] * sdet[1] - fdet[1] * sdet[0]]
            groups.append(["-odet_vector"] + [_f(c, 6) for c in odet])
        if r.random() < 0.4:
            groups.append(["-polar_vector"] + _unit_vector_tokens(r, (0, 0, 1), 10))
        if r.random() < 0.2:  # also read as -twotheta <x> (C quirk P3); x = 0 here
            groups.append(["-twotheta_axis", "0"] + _unit_vector_tokens(r, (0, 1, 0), 20)[1:])
    if r.random() < 0.3:
        groups.append(["-pivot", r.choice(["beam", "sample"])])
    if r.random() < 0.3:
        groups.append(["-twotheta", _f(_uniform(r, -35, 35, 2))])
    for axis in "xyz":
        if r.random() < 0.2:
            groups.append([f"-detector_rot{axis}", _f(_uniform(r, -6, 6, 2))])
    return groups, fpix, spix, pixel, distance, conv


def _oversample(r: random.Random, pixel, distance, lam, size_A):
    groups = []
    recommended = max(1, math.ceil(3.0 * size_A * 1e-10 / (lam * 1e-10 * distance / pixel)))
    if r.random() < 0.15 and recommended <= 3:
        os_ = recommended  # auto-selected by both programs
    else:
        os_ = r.choice([1, 1, 1, 2, 2, 3])
        groups.append(["-oversample", str(os_)])
    for flag in ("-oversample_thick", "-oversample_polar", "-oversample_omega"):
        if r.random() < 0.12:
            groups.append([flag])
    return groups, os_


def _sensor(r: random.Random):
    if r.random() < 0.7:
        return [], 1
    groups, layers = [], 1
    u = r.random()
    if u < 0.15:
        groups.append(["-detector_abs", "inf"])
    elif u < 0.25:
        groups.append(["-detector_abs", "0"])
    else:
        groups.append(["-detector_abs", _f(_uniform(r, 20, 1000, 1))])
    thick = 0.0 if r.random() < 0.15 else _uniform(r, 10, 1000, 1)
    groups.append(["-detector_thick", _f(thick)])
    if r.random() < 0.85:
        layers = r.randint(1, 5)
        groups.append([r.choice(["-detector_thicksteps", "-thicksteps"]), str(layers)])
    if r.random() < 0.7:
        # usually one group, the thickness first: "-detector_abs inf|0" placed before a thickness
        # leaves mu = 0 with a thick sensor, which captures nothing (an all-zero image)
        groups = [[tok for g in groups[1:2] + groups[:1] + groups[2:] for tok in g]]
    return groups, layers


def _extras(r: random.Random, fpix, spix, lam, distance, pixel):
    groups = []
    u = r.random()
    if u < 0.12:
        groups.append(["-round_xtal"])
    elif u < 0.24:
        groups.append(["-gauss_xtal"])
    elif u < 0.36:
        groups.append(["-tophat_spots"])
    elif u < 0.4:
        groups.append(["-square_xtal"])
    if r.random() < 0.1:
        groups.append(["-fudge", _f(_uniform(r, 0.3, 3, 2))])
    u = r.random()
    if u < 0.15:
        groups.append(["-polar", _f(_uniform(r, 0, 1, 3))])
    elif u < 0.25:
        groups.append(["-nopolar"])
    if r.random() < 0.12:  # a resolution limit somewhere on the detector
        half = 0.5 * math.hypot(fpix, spix) * pixel
        two_theta = math.atan2(half * r.uniform(0.5, 1.2), distance)
        groups.append(["-dmin", _f(lam / (2 * math.sin(max(two_theta, 1e-3) / 2)), 3)])
    if r.random() < 0.15:
        x0, x1 = sorted(r.randint(0, fpix - 1) for _ in range(2))
        y0, y1 = sorted(r.randint(0, spix - 1) for _ in range(2))
        groups.append(["-roi", str(x0), str(x1), str(y0), str(y1)])
    if r.random() < 0.1:
        groups.append(["-point_pixel"])
    if r.random() < 0.1:
        groups.append(["-curved_det"])  # never last: output flags follow
    if r.random() < 0.12:
        groups.append(["-water", _f(_uniform(r, 1, 200, 1))])
    if r.random() < 0.08:
        groups.append(["-adc", _f(_uniform(r, 0, 100, 1))])
    if r.random() < 0.05:
        groups.append(["-scale", _f(_uniform(r, 0.1, 1000, 2))])
    return groups


# ----------------------------------------------------------------------------------------------
# the public functions
# ----------------------------------------------------------------------------------------------

def _draw(seed: int):
    r = random.Random(seed * 7919 + 104729)
    cell_groups, a_max, _ = _cell(r)
    size_groups, n_max = _crystal_size(r)
    sf_groups = _structure_factors(r)
    orient_groups = _orientation(r)
    mosaic_groups, domains = _mosaic(r)
    phi_groups, phisteps = _phi(r)
    source_groups, sources = _sources(r)
    beam_groups, lam = _beam(r)
    det_groups, fpix, spix, pixel, distance, conv = _detector(r)
    size_A = -n_max if n_max < 0 else a_max * n_max
    os_groups, os_ = _oversample(r, pixel, distance, lam, size_A)
    sensor_groups, layers = _sensor(r)
    extra_groups = _extras(r, fpix, spix, lam, distance, pixel)
    noise = r.random() < 0.3
    noise_groups = [["-seed", str(r.randint(1, 99999))]] if noise else []

    groups = (cell_groups + size_groups + sf_groups + orient_groups + mosaic_groups + phi_groups
              + source_groups + beam_groups + det_groups + os_groups + sensor_groups + extra_groups
              + noise_groups)
    # Order matters to C only where one flag overrides another; the groups never conflict (the
    # convention is not mixed with vectors), so shuffle them to exercise the scan.
    r.shuffle(groups)
    # -curved_det needs one more token after it; keep it off the end (C quirk P8)
    if groups and groups[-1] == ["-curved_det"]:
        groups.insert(0, groups.pop())
    work = fpix * spix * os_ * os_ * sources * phisteps * domains * layers
    args = [tok for g in groups for tok in g]
    return args, noise, work


def generate(seed: int) -> list[str]:
    """One random valid nanoBragg command line (tokens, without output flags) for this seed."""
    args, _, work = _draw(seed)
    if work > WORK_BUDGET:  # shrink the detector until the run is cheap
        args = _shrink(args, work)
    return args


def _shrink(args, work):
    args = list(args)
    factor = math.sqrt(WORK_BUDGET / work)
    for i, tok in enumerate(args[:-1]):
        if tok in ("-detpixels", "-detpixels_f", "-detpixels_x", "-detpixels_s", "-detpixels_y"):
            args[i + 1] = str(max(MIN_PIXELS, int(int(args[i + 1]) * factor)))
    # a -roi drawn for the larger detector is clipped to the new size
    if "-roi" in args:
        i = args.index("-roi")
        fpix, spix = _pixels(args)
        x0, x1, y0, y1 = (int(v) for v in args[i + 1:i + 5])
        x0, x1 = min(x0, fpix - 1), min(x1, fpix - 1)
        y0, y1 = min(y0, spix - 1), min(y1, spix - 1)
        args[i + 1:i + 5] = [str(x0), str(x1), str(y0), str(y1)]
    return args


def _pixels(args):
    fpix = spix = None
    for i, tok in enumerate(args[:-1]):
        if tok == "-detpixels":
            fpix = spix = int(args[i + 1])
        elif tok in ("-detpixels_f", "-detpixels_x"):
            fpix = int(args[i + 1])
        elif tok in ("-detpixels_s", "-detpixels_y"):
            spix = int(args[i + 1])
    return fpix, spix


def detector_shape(args) -> tuple[int, int]:
    """(slow, fast) pixels of a generated command line."""
    fpix, spix = _pixels(args)
    return spix, fpix


def wants_noise(seed: int) -> bool:
    """Whether the case asks for a (seeded) noise image."""
    return _draw(seed)[1]


def output_flags(folder=".", noise: bool = False) -> list[str]:
    """The output flags of a run writing into `folder`: float.bin, int.img and, with noise,
    noise.img (else -nonoise); never a PGM, no progress meter."""
    folder = Path(folder)
    flags = ["-floatfile", str(folder / "float.bin"), "-intfile", str(folder / "int.img")]
    flags += ["-noisefile", str(folder / "noise.img")] if noise else ["-nonoise"]
    return flags + ["-nopgm", "-noprogress"]


def input_files(args) -> list[Path]:
    """The files under tests/data/differential/inputs/ that a command line reads."""
    names = set(HKL_FILES) | set(OTHER_INPUTS)
    return [INPUTS / tok for tok in args if tok in names]


def case_dir(seed: int) -> Path:
    return DATA / str(seed)


def _folder(key) -> Path:
    """A seed (int) names tests/data/differential/<seed>, a name (str) a reproducer's folder."""
    return repro_dir(key) if isinstance(key, str) else case_dir(key)


def load_case(key) -> dict:
    """case.json of a seed or of a reproducer (by name)."""
    return json.loads((_folder(key) / "case.json").read_text())


def reference_float(key):
    """C's float image as a (slow, fast) float32 array (key: a seed or a reproducer's name)."""
    import numpy as np

    args = load_case(key)["args"]
    raw = gzip.open(_folder(key) / "float.bin.gz").read()
    return np.frombuffer(raw, dtype="<f4").reshape(detector_shape(args))


def smv_pixels(raw: bytes, shape):
    """The unsigned-short pixels of an SMV file's bytes: the last 2*S*F bytes (nanoBragg.c writes a
    header longer than HEADER_BYTES=512 whole, C quirk O6, so the header length is not read)."""
    import numpy as np

    n = int(shape[0]) * int(shape[1])
    return np.frombuffer(raw[len(raw) - 2 * n:], dtype="<u2").reshape(shape)


def reference_smv(key, name: str = "int.img"):
    """C's int (or noise.img) image pixels as a (slow, fast) uint16 array."""
    args = load_case(key)["args"]
    return smv_pixels(gzip.open(_folder(key) / f"{name}.gz").read(), detector_shape(args))


def float_mismatch(ours, ref):
    """(number of pixels outside the parity tolerance, worst |ours-C| / allowed)."""
    import numpy as np

    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    finite = np.abs(ref[np.isfinite(ref)])
    peak = finite.max() if finite.size else 0.0
    allowed = FLOAT_RTOL * np.abs(ref) + FLOAT_ATOL_OF_MAX * peak
    with np.errstate(invalid="ignore"):
        diff = np.abs(ours - ref)
        same = (ours == ref) | (np.isnan(ours) & np.isnan(ref))  # equal infinities and NaNs agree
        bad = ~(same | (diff <= allowed))
        ratio = np.where(same, 0.0, np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1.0), np.inf))
    ratio = np.nan_to_num(ratio, nan=np.inf)
    return int(bad.sum()), float(ratio.max()) if ratio.size else 0.0


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------------
# what the stored runs found (nanobragg_jax --mode c-parity against nanoBragg.c 8-10-25)
# ----------------------------------------------------------------------------------------------

KIND_OVERSAMPLE_THICK_NO_SENSOR = (
    "FAULT kind 8: -oversample_thick with no sensor thickness (no -detector_thick, -detector_thick 0, or "
    "-detector_abs inf|0 after it). C recomputes the capture fraction per sub-pixel as "
    "exp(0)-exp(0) = 0 and multiplies every term by it: the whole image is 0. Ours renders as if the "
    "capture fraction were 1. Minimal: -default_F 100 -cell 50 -detpixels 16 -oversample_thick")

# Seeds 0..149 whose stored C result nanobragg_jax did not reproduce.
_FAULTS_0_149 = (4, 24, 38, 77, 81, 88, 94, 98, 102, 108, 111, 132, 140, 143, 149)
# Faults found by running seeds 150..449 (C and ours, not all stored): the same kind; stored too so
# that every fault seed stays covered.
EXTRA_FAULT_SEEDS = (158, 185, 189, 205, 227, 228, 236, 238, 255, 267, 269, 280, 300, 307, 313, 332,
                     341, 349, 372, 374, 448)

FAULTS: dict[int, str] = {seed: KIND_OVERSAMPLE_THICK_NO_SENSOR
                          for seed in _FAULTS_0_149 + EXTRA_FAULT_SEEDS}

# Every stored seed, with a note: "ok", or "FAULT ..." for a seed on which nanobragg_jax disagreed
# with nanoBragg.c when the references were made (kept so the fault stays covered once fixed).
CASES: list[tuple[int, str]] = [(seed, FAULTS.get(seed, "ok"))
                                for seed in list(range(N_CASES)) + list(EXTRA_FAULT_SEEDS)]

# Hand-reduced command lines of the faults of issue 11 and of the ones found with this generator,
# outside what generate() draws (exact direct-beam pixel centres, a beam in the detector plane).
# C's results are stored in tests/data/differential/repro/<name>/ (same layout, without noise).
REPRODUCERS: dict[str, tuple[list[str], str]] = {
    "oversample_thick_no_sensor": (
        "-default_F 100 -cell 50 -detpixels 16 -oversample_thick".split(),
        KIND_OVERSAMPLE_THICK_NO_SENSOR),
    "oversample_thick_abs_inf": (
        "-default_F 100 -cell 50 -detpixels 12 -N 3 -detector_thick 300 -detector_abs inf -oversample_thick".split(),
        "FAULT kind 8 (variant): -detector_abs inf after -detector_thick sets the thickness to 0 in C"),
    "oversample_thick_abs_only": (
        "-default_F 100 -cell 50 -detpixels 12 -N 3 -detector_abs 100 -oversample_thick".split(),
        "FAULT kind 8 (variant): an attenuation depth without a thickness"),
    "round_xtal_direct_beam": (
        "-default_F 100 -cell 50 -detpixels 12 -N 1 -round_xtal -Xbeam 0.6 -Ybeam 0.6 -oversample 1".split(),
        "FAULT kind 9: -round_xtal with the direct beam on a sub-pixel centre (MOSFLM: Xbeam 0.6 mm = "
        "pixel 6's centre). The scattering vector there is ~1e-17, so x = pi*sqrt(hrad^2) is tiny but "
        "not 0 and C's sinc3 = 3(sin x/x - cos x)/x^2 cancels to 0: C's pixel (6,6) is 0, ours "
        "0.0052359877 (the x->0 limit); with -N 3, 0 vs 3.817"),
    "beam_vector_along_fdet": (
        "-default_F 100 -cell 50 -detpixels 16 -beam_vector 0 0 1".split(),
        "FAULT kind 10: a custom beam along the default fast axis (beam in the detector plane). C renders "
        "(distance 0, tiny values); ours: ZeroDivisionError in auto_oversample (reciprocal_pixel_size 0) "
        "with a traceback, exit 1, even with -oversample 1"),
    "twotheta_90": (
        "-default_F 100 -cell 50 -detpixels 12 -N 3 -twotheta 90".split(),
        "FAULT (new): -twotheta 90 puts the beam in the detector plane (C: distance 6.1e-18 m, "
        "max_I 4.45e-16). Ours: OverflowError 'Python int too large to convert to C long' in "
        "render/_kernel.py scattering_at (lax.dynamic_index_in_dim) with a traceback, exit 1"),
    "roi_inverted": (
        "-default_F 100 -cell 50 -detpixels 12 -N 3 -roi 5 2 0 3".split(),
        "DIFFERENCE (deliberate?): an inverted -roi (xmin > xmax). C renders nothing and writes an "
        "all-zero image (exit 0); ours refuses: 'empty region' (exit 2). Not in docs/parity.md's "
        "list of deliberate deviations"),
}

# The whole kinds of issue 11's faults, at their edge values (added with the fixes; C's results
# stored the same way).  Kind 8: the sensor-absorption path at thickness 0, mu 0, mu infinite (which
# -detector_abs inf turns into thickness 0), one layer, with and without -oversample_thick.  Kind 9:
# every lattice shape, and the polarization, on the exact direct beam.  Kind 10: the geometries with
# a vanishing beam . normal where C's image still means something.
_EDGE = "-default_F 100 -cell 50 -detpixels 8 -N 3 "
_BEAM_ON_PIXEL = "-default_F 100 -cell 50 -detpixels 12 -Xbeam 0.6 -Ybeam 0.6 -oversample 1 "
REPRODUCERS.update({
    "sensor_thick_0": ((_EDGE + "-detector_thick 0 -oversample 2").split(),
                       "kind 8 edge: thickness 0 without -oversample_thick: capture fraction 1"),
    "sensor_abs_inf_after_thick": ((_EDGE + "-detector_thick 300 -detector_abs inf").split(),
                                   "kind 8 edge: mu infinite (-detector_abs inf resets the thickness to 0)"),
    "sensor_mu_0": ((_EDGE + "-detector_abs 0 -detector_thick 200").split(),
                    "kind 8 edge: a thickness with mu 0: every layer captures exp(0) - exp(0) = 0"),
    "sensor_mu_0_oversample_thick": ((_EDGE + "-detector_abs 0 -detector_thick 200 -oversample_thick").split(),
                                     "kind 8 edge: mu 0 with -oversample_thick"),
    "sensor_one_layer": ((_EDGE + "-detector_thick 200 -detector_thicksteps 1 -oversample 3").split(),
                         "kind 8 edge: one layer asked for (C makes it 2, step = thickness)"),
    "sensor_one_layer_oversample_thick": (
        (_EDGE + "-detector_thick 200 -detector_thicksteps 1 -oversample 3 -oversample_thick").split(),
        "kind 8 edge: one layer with -oversample_thick"),
    "sensor_thick_oversample_thick": ((_EDGE + "-detector_thick 300 -detector_abs 50 -oversample_thick "
                                       "-oversample 3").split(),
                                      "kind 8: a real sensor with -oversample_thick (per sub-pixel capture)"),
    "round_xtal_default_beam": ("-default_F 100 -cell 50 -detpixels 33 -round_xtal".split(),
                                "kind 9, the issue's example: MOSFLM's default beam centre falls on pixel "
                                "(17, 17)'s centre; C's sinc3 cancels to 0 there (x ~ 1e-13) only if the "
                                "set-up divides by 1000 exactly as C does"),
    "round_xtal_N3_default_beam": ("-default_F 100 -cell 50 -detpixels 33 -N 3 -round_xtal".split(),
                                   "kind 9: the same with N = 3"),
    "gauss_direct_beam": ((_BEAM_ON_PIXEL + "-N 3 -gauss_xtal").split(), "kind 9: gauss on the direct beam"),
    "tophat_direct_beam": ((_BEAM_ON_PIXEL + "-N 3 -tophat_spots").split(), "kind 9: tophat on the direct beam"),
    "square_direct_beam_N36": ((_BEAM_ON_PIXEL + "-N 36").split(),
                               "kind 9: sincg at h = 0 (C: N) and next to it, N = 36"),
    "polar_kahn_1_direct_beam": ((_BEAM_ON_PIXEL + "-N 3 -polar 1").split(),
                                 "kind 9: polarization at 2theta = 0 (psi = atan2(0, 0) = 0), Kahn factor 1"),
    "beam_parallel_sample_pivot": (
        "-default_F 100 -cell 50 -detpixels 8 -beam_vector 0 0 1 -pivot sample -close_distance 100".split(),
        "kind 10, meaningful: beam parallel to the detector, sample pivot, close distance given "
        "(a detector at 90 degrees; C's distance is 4.5e306 m, warned)"),
    "twotheta_90_sample_pivot": ("-default_F 100 -cell 50 -detpixels 12 -N 3 -twotheta 90 -xds".split(),
                                 "kind 10, meaningful: -twotheta 90 with XDS's sample pivot"),
    "beam_reversed": ("-default_F 100 -cell 50 -detpixels 8 -N 3 -beam_vector -1 0 0".split(),
                      "kind 10: beam . normal = -1: C's distance is -0.1 m (rendered as C does)"),
})


def repro_dir(name: str) -> Path:
    return DATA / "repro" / name


# ----------------------------------------------------------------------------------------------
# running nanobragg_jax on a stored case (tests/test_differential.py, tests/run_differential.py)
# ----------------------------------------------------------------------------------------------

# Cases nanobragg_jax refuses on purpose (docs/parity.md): C's image has no meaning there.
# seed or reproducer name -> a phrase of our one-line error.
REFUSED = {
    "beam_vector_along_fdet": "detector plane passes through the sample",
    "twotheta_90": "detector plane passes through the sample",
    "roi_inverted": "empty region",
    # C's float image has 55 infinite pixels: -oversample_omega with -point_pixel multiplies the
    # running sum by 1/R^2 ~ 300 after every term (C quirk A5) until float32 overflows.  We never
    # write an image with NaN or infinite pixels.
    134: "NaN or infinite",
}

# The fixed subset the unit test runs (every case compiles its own program, so all 171 take minutes;
# `python tests/run_differential.py --all` runs them): every fault seed, every reproducer, seed 134
# (the one C image with infinite pixels, refused), and these eleven seeds, a greedy cover, among the
# seeds whose C image is finite and not all zero, of every flag the
# generator draws (a -mat file, a source file, both hkl tables with and without interpolation,
# each lattice shape, -dmin, -roi, -curved_det, -point_pixel, -water, every convention and custom
# vectors, random misset, mosaic, phi steps, divergence, dispersion, sensor layers, the three
# -oversample_* switches, flux and fluence, -adc and -scale, noise images).  The fault seeds alone
# would not do: their C images are all zero (kind 8), whatever else they ask for.
COVERAGE_SEEDS = (3, 11, 29, 33, 40, 55, 92, 121, 134, 139, 142, 145)


def ours_argv(key, folder=".") -> list:
    """Our command line for a stored case: its stored args (not a fresh generate()), c-parity, the
    same output flags as C's run, no compile cache."""
    case = load_case(key)
    return list(case["args"]) + output_flags(folder, case["noise"]) + ["--mode", "c-parity", "--no-cache"]


def compare_outputs(key, folder) -> dict:
    """Our outputs in `folder` against C's: float pixels outside the parity tolerance and the worst
    |ours-C|/allowed, the largest int-image difference (counts) and the differing noise pixels."""
    import numpy as np

    case = load_case(key)
    shape = tuple(case["shape"])
    folder = Path(folder)
    ours = np.fromfile(folder / "float.bin", dtype="<f4").reshape(shape)
    bad, worst = float_mismatch(ours, reference_float(key))
    ints = smv_pixels((folder / "int.img").read_bytes(), shape).astype(np.int64)
    out = {"float_bad": bad, "float_worst": worst,
           "int_maxdiff": int(np.abs(ints - reference_smv(key, "int.img").astype(np.int64)).max())}
    if case["noise"]:
        noise = smv_pixels((folder / "noise.img").read_bytes(), shape)
        out["noise_diff"] = int(np.count_nonzero(noise != reference_smv(key, "noise.img")))
    return out


def agrees(result: dict) -> bool:
    """The parity rule of docs/parity.md on a `compare_outputs` result."""
    return (result["float_bad"] == 0 and result["int_maxdiff"] <= INT_COUNTS
            and result.get("noise_diff", 0) == 0)


def copy_inputs(key, folder) -> None:
    import shutil

    for path in input_files(load_case(key)["args"]):
        shutil.copy(path, folder)
