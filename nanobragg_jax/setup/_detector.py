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

from nanobragg_jax.constants import DBL_MIN
from nanobragg_jax.errors import InputError
from nanobragg_jax.vectors import cross, dot, rotate_about_axis, rotate_xyz, unitize

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
    close_abs: bool = True  # derived close_distance = |ratio * distance| (nanoBragg); nonBragg: no fabs


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
    beam, _ = unitize(vecs["beam"])
    fdet, _ = unitize(vecs["fdet"])
    sdet, _ = unitize(vecs["sdet"])
    odet, omag = unitize(vecs["odet"])
    regenerated = False
    if omag != 1.0:
        # C quirk G5: an odet that is not exactly unit length is replaced by unit(f x s).
        odet, _ = unitize(cross(fdet, sdet))
        regenerated = True
    polar, _ = unitize(vecs["polar"])
    spindle, _ = unitize(vecs["spindle"])
    vert, _ = unitize(cross(beam, polar))
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


def detector_geometry(xp, det: DetectorStatic, *, Fbeam, Sbeam, Fclose, Sclose, distance,
                      close_distance, rotx, roty, rotz, twotheta):
    """L1698-1776: pix0 and the final detector vectors, then C's re-derived beam centre and distance.

    `close_distance` is only used when det.close_given (else C derives it from `distance`).
    Rotations are applied as R_2theta Rz Ry Rx (G8); the ratio beam . normal ignores two-theta (G9).

    Arguments:
        xp: the array module (numpy on the host, jax.numpy inside `build_model`).
        det: the static detector (unit vectors fdet, sdet, odet, beam, the two-theta axis, pivot,
            close_given, close_abs).
        Fbeam, Sbeam: beam centre along fast and slow, m (used with the beam pivot).
        Fclose, Sclose: beam centre along fast and slow, m (used with the sample pivot).
        distance: sample-to-detector distance along the beam, m.
        close_distance: distance along the detector normal, m (see above).
        rotx, roty, rotz: detector rotations about x, y, z, rad.
        twotheta: two-theta angle about det.twotheta_axis, rad (the axis is not normalised, G6).
    Returns:
        dict of scalars and 3-vectors (array module xp), SI: pix0 (3,) m, fdet, sdet, odet (3,)
        unit vectors after the rotations, ratio (beam . rotated normal, 0 replaced by DBL_MIN),
        and C's re-derived Fclose, Sclose, close_distance, Fbeam, Sbeam, distance (m).
    """
    f0 = xp.asarray(det.fdet)
    s0 = xp.asarray(det.sdet)
    o0 = xp.asarray(det.odet)
    b = xp.asarray(det.beam)
    axis = xp.asarray(det.twotheta_axis)
    # C quirk G9: ratio uses the rotated normal WITHOUT the twotheta swing.
    ratio = dot(b, rotate_xyz(xp, o0, rotx, roty, rotz))
    ratio = xp.where(ratio == 0.0, DBL_MIN, ratio)
    if not det.close_given:
        close_distance = ratio * distance
        if det.close_abs:
            close_distance = xp.abs(close_distance)
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
    Fclose = -dot(pix0, f)
    Sclose = -dot(pix0, s)
    close_distance = dot(pix0, o)
    # ... and the beam centre from where a beam of length close_distance/ratio would end (G9).
    hit = close_distance / ratio * b - pix0
    Fbeam = dot(f, hit)
    Sbeam = dot(s, hit)
    distance = close_distance / ratio
    return dict(pix0=pix0, fdet=f, sdet=s, odet=o, ratio=ratio, Fclose=Fclose, Sclose=Sclose,
                close_distance=close_distance, Fbeam=Fbeam, Sbeam=Sbeam, distance=distance)


# |close distance| below this fraction of pix0's distance from the sample is rounding (-twotheta 90
# with the beam pivot leaves 6e-17 of it): the detector plane passes through the sample.
_EDGE_ON = 1e-12


def check_beam_geometry(det: DetectorStatic, g: dict) -> None:
    """Refuse the set-ups where nanoBragg.c divides by a vanishing geometric quantity and renders an
    image without meaning (host values of `detector_geometry`).

    * a zero beam vector: C's ratio beam.normal is 0 (DBL_MIN) and the beam has no direction;
    * the detector plane through the sample (close distance 0): every pixel is seen edge-on, so the
      solid angles are 0, C's distance is 0 (then lambda*distance/pixel, the reciprocal pixel size, is
      0 and the auto-oversample divides by it).  A beam parallel to the detector plane gives this
      with the beam pivot, and -twotheta 90 with it leaves a rounding residue (6e-18 m).

    A beam parallel to the detector with the sample pivot and a -close_distance keeps a meaningful
    image (a detector at 90 degrees): that one is rendered as C does, with a warning (G9).

    Raises:
        InputError: one line naming the quantity and the flags that set it.
    """
    if not any(det.beam):
        raise InputError("-beam_vector 0 0 0: the beam has no direction")
    pix0 = [float(x) for x in g["pix0"]]
    close = float(g["close_distance"])
    reach = math.sqrt(dot(pix0, pix0))
    if not abs(close) > _EDGE_ON * reach:
        parallel = float(g["ratio"]) == DBL_MIN
        raise InputError(
            "the detector plane passes through the sample (close distance %g m%s): the beam never "
            "meets the detector and every pixel is seen edge-on, so nanoBragg.c's image is all zero "
            "or meaningless; check -beam_vector, -odet_vector, -twotheta, -detector_rot* and "
            "-distance/-close_distance"
            % (close, ", the beam is parallel to it" if parallel else ""))
