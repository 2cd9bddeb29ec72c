"""Detector geometry the way nanoBragg.c sets it up: conventions, beam centre, pivots, rotations, pix0.

Two halves:
  * host decisions (`resolve_detector`): which convention, which pivot, the unit vectors, the default
    beam centre.  These are taken once from `Settings` (L1118-1271).
  * `detector_geometry(xp, ...)`: the arithmetic of L1698-1776 (ratio, pix0, the re-derived beam centre
    and distance), written once for any array module `xp` (numpy for exact host values, jax.numpy inside
    `build_model`, where every continuous input stays differentiable).

Everything is SI (metres, radians) here; CLI units live in setup.py's params.
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np

# C: RTD = 180.0*M_1_PI (L349); M_1_PI written out so the double is the same as glibc's constant.
RTD = 180.0 * 0.318309886183790671537767526745028724
DBL_MIN = sys.float_info.min

# Initial values of the C vectors (L191-306); CUSTOM keeps them for any vector the user did not give.
INITIAL_VECTORS = {
    "beam": (1.0, 0.0, 0.0),
    "fdet": (0.0, 0.0, 1.0),
    "sdet": (0.0, -1.0, 0.0),
    "odet": (1.0, 0.0, 0.0),
    "polar": (0.0, 0.0, 1.0),
    "spindle": (0.0, 0.0, 1.0),
    "twotheta": (0.0, 1.0, 0.0),  # C quirk G1: CUSTOM's twotheta axis is +Y, not MOSFLM's -Z
}

# Convention blocks (L1172-1247): vectors and the pivot each convention forces.
CONVENTIONS = {
    "adxv": dict(beam=(0, 0, 1), fdet=(1, 0, 0), sdet=(0, -1, 0), odet=(0, 0, 1),
                 twotheta=(-1, 0, 0), polar=(1, 0, 0), spindle=(1, 0, 0), pivot="beam"),
    "mosflm": dict(beam=(1, 0, 0), fdet=(0, 0, 1), sdet=(0, -1, 0), odet=(1, 0, 0),
                   twotheta=(0, 0, -1), polar=(0, 0, 1), spindle=(0, 0, 1), pivot="beam"),
    "denzo": dict(beam=(1, 0, 0), fdet=(0, 0, 1), sdet=(0, -1, 0), odet=(1, 0, 0),
                  twotheta=(0, 0, -1), polar=(0, 0, 1), spindle=(0, 0, 1), pivot="beam"),
    "xds": dict(beam=(0, 0, 1), fdet=(1, 0, 0), sdet=(0, 1, 0), odet=(0, 0, 1),
                twotheta=(1, 0, 0), polar=(1, 0, 0), spindle=(1, 0, 0), pivot="sample"),
    "dials": dict(beam=(0, 0, 1), fdet=(1, 0, 0), sdet=(0, 1, 0), odet=(0, 0, 1),
                  twotheta=(0, 1, 0), polar=(0, 1, 0), spindle=(0, 1, 0), pivot="sample"),
}
SETTINGS_VECTOR_FIELDS = {
    "beam": "beam_vector", "fdet": "fdet_vector", "sdet": "sdet_vector", "odet": "odet_vector",
    "polar": "polar_vector", "spindle": "spindle_vector", "twotheta": "twotheta_axis",
}


@dataclasses.dataclass(frozen=True)
class DetectorStatic:
    """Host-side decisions about the detector, fixed for the run."""

    convention: str
    pivot: str  # "beam" | "sample" after the convention override (C quirk G3)
    beam: tuple  # unit vectors (after L1260-1271)
    fdet: tuple
    sdet: tuple
    odet: tuple
    polar: tuple
    spindle: tuple
    vert: tuple  # unit(beam x polar), the horizontal-divergence axis
    twotheta_axis: tuple  # NOT normalised (C quirk G6)
    pixel_size: float
    fpixels: int
    spixels: int
    detsize_f: float
    detsize_s: float
    close_given: bool  # close_distance was given (flag or header): -distance is then ignored
    odet_regenerated: bool


def _unitize(v):
    """C's unitize(): a zero vector stays zero; returns (unit vector, magnitude)."""
    mag = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if mag == 0.0:
        return (0.0, 0.0, 0.0), mag
    return (v[0] / mag, v[1] / mag, v[2] / mag), mag


def _cross(x, y):
    return (x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0])


def detector_pixels(settings):
    """Pixel counts and detector size (L1118-1127): -detpixels wins over -detsize."""
    p = settings.pixel_size
    detsize_f = p * settings.fpixels if settings.fpixels else settings.detsize_f
    detsize_s = p * settings.spixels if settings.spixels else settings.detsize_s
    fpixels = int(math.ceil(detsize_f / p - 0.5))
    spixels = int(math.ceil(detsize_s / p - 0.5))
    return fpixels, spixels, detsize_f, detsize_s


def resolve_detector(settings) -> DetectorStatic:
    """Convention vectors, pivot and the odet check (L1172-1271)."""
    conv = settings.beam_convention
    fpixels, spixels, detsize_f, detsize_s = detector_pixels(settings)
    if conv == "custom":
        vecs = {}
        for name, init in INITIAL_VECTORS.items():
            given = getattr(settings, SETTINGS_VECTOR_FIELDS[name])
            vecs[name] = tuple(float(x) for x in (given if given is not None else init))
        pivot = settings.detector_pivot  # C: CUSTOM keeps the pivot the flags left
    else:
        table = CONVENTIONS[conv]
        # C quirk G3/P7: a convention block overwrites every vector and forces its pivot.
        vecs = {name: tuple(float(x) for x in table[name]) for name in INITIAL_VECTORS}
        pivot = table["pivot"]
    beam, _ = _unitize(vecs["beam"])
    fdet, _ = _unitize(vecs["fdet"])
    sdet, _ = _unitize(vecs["sdet"])
    odet, omag = _unitize(vecs["odet"])
    regenerated = False
    if omag != 1.0:
        # C quirk G5: an odet that is not exactly unit length is replaced by unit(f x s).
        odet, _ = _unitize(_cross(fdet, sdet))
        regenerated = True
    polar, _ = _unitize(vecs["polar"])
    spindle, _ = _unitize(vecs["spindle"])
    vert, _ = _unitize(_cross(beam, polar))
    return DetectorStatic(
        convention=conv, pivot=pivot, beam=beam, fdet=fdet, sdet=sdet, odet=odet, polar=polar,
        spindle=spindle, vert=vert, twotheta_axis=vecs["twotheta"],
        pixel_size=settings.pixel_size, fpixels=fpixels, spixels=spixels,
        detsize_f=detsize_f, detsize_s=detsize_s,
        close_given=not math.isnan(settings.close_distance), odet_regenerated=regenerated)


@dataclasses.dataclass(frozen=True)
class BeamCentre:
    """Beam-centre values after C's defaults (L1154-1257), metres."""

    Xbeam: float
    Ybeam: float
    Xclose: float
    Yclose: float
    Fclose: float  # before the convention block (ORGX-derived or detsize/2)
    Sclose: float


def default_beam_centre(settings, det: DetectorStatic) -> BeamCentre:
    """C's default chain: ORGX -> Fclose -> Xclose -> Xbeam per convention (table G2)."""
    p = det.pixel_size
    Fclose = (settings.ORGX - 0.5) * p if not math.isnan(settings.ORGX) else math.nan
    Sclose = (settings.ORGY - 0.5) * p if not math.isnan(settings.ORGY) else math.nan
    if math.isnan(Fclose):
        Fclose = (det.detsize_f - 0 * p) / 2.0
    if math.isnan(Sclose):
        Sclose = (det.detsize_s + 0 * p) / 2.0
    Xclose = settings.Xclose if not math.isnan(settings.Xclose) else Fclose
    Yclose = settings.Yclose if not math.isnan(settings.Yclose) else Sclose
    Xbeam, Ybeam = settings.Xbeam, settings.Ybeam
    conv = det.convention
    if conv == "adxv":
        dx, dy = (det.detsize_f + p) / 2.0, (det.detsize_s - p) / 2.0
    elif conv in ("mosflm", "denzo"):
        # MOSFLM's X runs along the slow axis.
        dx, dy = (det.detsize_s + p) / 2.0, (det.detsize_f + p) / 2.0
    else:
        dx, dy = Xclose, Yclose
    if math.isnan(Xbeam):
        Xbeam = dx
    if math.isnan(Ybeam):
        Ybeam = dy
    return BeamCentre(Xbeam, Ybeam, Xclose, Yclose, Fclose, Sclose)


def fs_from_beam_centre(convention, Xbeam, Ybeam, pixel_size, detsize_s):
    """(Fbeam, Sbeam) from (Xbeam, Ybeam) per convention (L1172-1257); works on arrays too."""
    if convention == "adxv":
        return Xbeam, detsize_s - Ybeam
    if convention == "mosflm":
        # C quirk G2: MOSFLM swaps X/Y and adds half a pixel (beam lands on a pixel corner).
        return Ybeam + 0.5 * pixel_size, Xbeam + 0.5 * pixel_size
    if convention == "denzo":
        return Ybeam + 0.0 * pixel_size, Xbeam + 0.0 * pixel_size
    return Xbeam, Ybeam  # xds, dials, custom: no swap, no half pixel


# ---------------------------------------------------------------------------------------------
# Arithmetic, generic over the array module (numpy on the host, jax.numpy in build_model).


def _is_zero(x):
    """True only for a concrete 0 (numpy/python); traced values always rotate (exact at 0 anyway)."""
    try:
        return float(x) == 0.0
    except Exception:  # a tracer: cannot be tested on the host
        return False


def rotate_xyz(xp, v, rx, ry, rz):
    """C rotate() (L3311): v' = Rz Ry Rx v, right-handed; each step skipped for an angle of 0."""
    x, y, z = v[0], v[1], v[2]
    if not _is_zero(rx):
        c, s = xp.cos(rx), xp.sin(rx)
        x, y, z = x, y * c + z * (-s), y * s + z * c
    if not _is_zero(ry):
        c, s = xp.cos(ry), xp.sin(ry)
        x, y, z = x * c + y * 0.0 + z * s, y, x * (-s) + y * 0.0 + z * c
    if not _is_zero(rz):
        c, s = xp.cos(rz), xp.sin(rz)
        x, y, z = x * c + y * (-s), x * s + y * c, z
    return xp.stack([x, y, z])


def rotate_about_axis(xp, v, axis, phi):
    """C rotate_axis() (L3366): Rodrigues about `axis`, which is used as given (not normalised)."""
    s, c = xp.sin(phi), xp.cos(phi)
    dot = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) * (1.0 - c)
    return xp.stack([
        axis[0] * dot + v[0] * c + (-axis[2] * v[1] + axis[1] * v[2]) * s,
        axis[1] * dot + v[1] * c + (+axis[2] * v[0] - axis[0] * v[2]) * s,
        axis[2] * dot + v[2] * c + (-axis[1] * v[0] + axis[0] * v[1]) * s,
    ])


def _dot(x, y):
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2]


def detector_geometry(xp, det: DetectorStatic, *, Fbeam, Sbeam, Fclose, Sclose, distance,
                      close_distance, rotx, roty, rotz, twotheta):
    """L1698-1776: pix0 and the final detector vectors, then C's re-derived beam centre and distance.

    `close_distance` is only used when det.close_given (else C derives it from `distance`).
    Returns a dict of arrays (SI).
    """
    f0 = xp.asarray(det.fdet)
    s0 = xp.asarray(det.sdet)
    o0 = xp.asarray(det.odet)
    b = xp.asarray(det.beam)
    axis = xp.asarray(det.twotheta_axis)
    # C quirk G9: ratio uses the rotated normal WITHOUT the twotheta swing.
    ratio = _dot(b, rotate_xyz(xp, o0, rotx, roty, rotz))
    ratio = xp.where(ratio == 0.0, DBL_MIN, ratio)
    if not det.close_given:
        close_distance = xp.abs(ratio * distance)
    distance = close_distance / ratio
    if det.pivot == "sample":
        pix0 = -Fclose * f0 - Sclose * s0 + close_distance * o0
        pix0 = rotate_xyz(xp, pix0, rotx, roty, rotz)
        pix0 = rotate_about_axis(xp, pix0, axis, twotheta)
    f = rotate_about_axis(xp, rotate_xyz(xp, f0, rotx, roty, rotz), axis, twotheta)
    s = rotate_about_axis(xp, rotate_xyz(xp, s0, rotx, roty, rotz), axis, twotheta)
    o = rotate_about_axis(xp, rotate_xyz(xp, o0, rotx, roty, rotz), axis, twotheta)
    if det.pivot == "beam":
        pix0 = -Fbeam * f - Sbeam * s + distance * b
    # C: the "close" values are re-derived from pix0 (these include twotheta) ...
    Fclose = -_dot(pix0, f)
    Sclose = -_dot(pix0, s)
    close_distance = _dot(pix0, o)
    # ... and the beam centre from where a beam of length close_distance/ratio would end (G9).
    hit = close_distance / ratio * b - pix0
    Fbeam = _dot(f, hit)
    Sbeam = _dot(s, hit)
    distance = close_distance / ratio
    return dict(pix0=pix0, fdet=f, sdet=s, odet=o, ratio=ratio, Fclose=Fclose, Sclose=Sclose,
                close_distance=close_distance, Fbeam=Fbeam, Sbeam=Sbeam, distance=distance)


def header_geometry(g, det: DetectorStatic):
    """XDS origin, DIALS origin (mm) and the beam in the detector frame (L1760-1776), host floats."""
    p = det.pixel_size
    pix0 = np.asarray(g["pix0"], dtype=np.float64)
    ORGX = float(g["Fclose"]) / p + 0.5
    ORGY = float(g["Sclose"]) / p + 0.5
    # C quirk (O6): DIALS origin assumes the MOSFLM lab frame whatever the convention.
    dials = (1000.0 * float(_dot(pix0, (0.0, 0.0, 1.0))),
             1000.0 * float(_dot(pix0, (0.0, 1.0, 0.0))),
             1000.0 * float(_dot(pix0, (-1.0, 0.0, 0.0))))
    b = det.beam
    xds_beam = tuple(float(_dot(b, np.asarray(g[k]))) for k in ("fdet", "sdet", "odet"))
    return dict(ORGX=ORGX, ORGY=ORGY, dials_origin=dials, xds_incident_beam=xds_beam)
