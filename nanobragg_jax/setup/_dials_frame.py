"""nanoBragg's lab frame -> dxtbx's (DIALS, NXmx, miniCBF): the one place where the conventions are
mapped (specs/dials-frame.md).

Every nanoBragg convention (MOSFLM, DENZO, XDS, ADXV, "DIALS", CUSTOM), pivot, two-theta, detector
rotation, spindle axis and misset ends up in the final vectors of the set-up (`geometry_report`:
pix0, fdet, sdet after the rotations and the pivot; the crystal's a, b, c at phi = 0 after the
misset).  A single proper rotation R takes them to dxtbx's frame, v_dxtbx = R v_nanobragg:

    z = -unit(beam)                          dxtbx's beam travels along -z
    x = unit(spindle - (spindle . b) b)      the rotation axis along +x (polar vector when the spindle
                                             lies along the beam)
    y = z cross x;  R = rows(x, y, z),  det R = +1

(MOSFLM and DENZO: R = [[0,0,1],[0,1,0],[-1,0,0]], the map behind C's DIALS_ORIGIN header, which is
right for those two only; XDS and ADXV: diag(1,-1,-1)).  A mirror would reverse the handedness of
the spindle and the crystal, so none is used.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from nanobragg_jax.constants import RTD
from nanobragg_jax import io as models  # dxtbx's models (io/_expt.py)
from nanobragg_jax.setup._experiment import Experiment
from nanobragg_jax.setup._model import geometry_report
from nanobragg_jax.vectors import rotate_about_axis

SMV_MAX = 65535.0  # nanoBragg's int and noise images are clipped to 16 bits


def lab_rotation(beam, spindle, polar=None) -> np.ndarray:
    """R (3, 3), a proper rotation with R beam = (0, 0, -1) and R spindle along +x.

    Arguments:
        beam: nanoBragg's beam direction (along the beam, any length).
        spindle: the rotation axis; its part perpendicular to the beam goes to +x.
        polar: used instead of the spindle when the spindle lies along the beam.
    Returns:
        (3, 3) float64 rows x, y, z of dxtbx's axes in nanoBragg's frame (specs/dials-frame.md §2).
    Raises:
        ValueError: the spindle (and polar) lie along the beam.
    """
    b = np.asarray(beam, dtype=np.float64)
    b = b / np.linalg.norm(b)
    for axis in (spindle, polar):
        if axis is None:
            continue
        a = np.asarray(axis, dtype=np.float64)
        perp = a - (a @ b) * b
        if np.linalg.norm(perp) > 1e-12 * max(np.linalg.norm(a), 1e-300):
            x = perp / np.linalg.norm(perp)
            z = -b
            return np.vstack([x, np.cross(z, x), z])
    raise ValueError("the spindle and polar axes both lie along the beam")


def scan_angles(exp: Experiment, params: Optional[dict] = None) -> tuple:
    """(start, width) in degrees of the dxtbx image a nanoBragg frame is, or None for a still.

    nanoBragg samples phi at the left ends phi0 + i*phistep, i < phisteps (A11), so the mean
    sampled angle lies phistep/2 below the centre of [phi0, phi0 + osc].  The exported image is
    centred on the mean sampled angle instead, with the frame's range (-osc) as its width:
    start = phi0 + (phisteps - 1) phistep / 2 - osc / 2, i.e. phi0 - phistep/2 when
    osc = phisteps*phistep.  The samples are then the midpoints of the image's equal sub-intervals,
    so processing sees no rotation offset (measured 0.006 deg against 0.05 deg without it,
    specs/dials-frame.md §9).  A sweep advances -phi by osc per frame, as the scan does.
    """
    p = exp.params if params is None else params
    phi = exp.static.phi
    width = float(phi.range) * RTD
    if width == 0.0:
        return None
    step = float(np.asarray(p["phistep"]))
    start = float(np.asarray(p["phi0"])) + (phi.steps - 1) * step / 2.0 - width / 2.0
    return start, width


def experiment_model(exp: Experiment, params: Optional[dict] = None, *, frames: int = 1,
                     pedestal: float = 0.0,
                     imageset: Optional[models.ImagesetModel] = None) -> models.ExperimentModel:
    """The experiment as dxtbx models (beam, one panel, goniometer, scan, the true crystal).

    Arguments:
        exp: the set-up (`build_experiment`) of the first frame.
        params: its continuous parameters (CLI units); None: exp.params.
        frames: images in the scan: frame k (1-based) is the run with -phi phi0 + (k-1)*osc.
        pedestal: a constant the stored pixels carry: nanoBragg's ADC offset (`-adc`) for its SMV
            images, 0 for counts with it removed (what the CLI writes to NXmx and miniCBF).
        imageset: where the pixels are, or None for a geometry-only experiment.
    Returns:
        io.ExperimentModel in dxtbx's frame (mm, Angstrom, degrees).  A still (no oscillation)
        has no scan, and its crystal is the one at phi0; otherwise the crystal is at scan angle 0.
    """
    p = exp.params if params is None else params
    det, st = exp.static.detector, exp.static
    g = geometry_report(exp, p)
    R = lab_rotation(det.beam, det.spindle, det.polar)
    beam = models.BeamModel(direction=tuple(-(R @ np.asarray(det.beam))),
                            wavelength=float(np.asarray(p["lambda"])),
                            polarization_normal=tuple(R @ np.asarray(det.vert)),
                            polarization_fraction=0.5 * (1.0 + float(st.kahn)))
    thick = float(exp.settings.detector_thick)
    px = det.pixel_size * 1000.0
    panel = models.PanelModel(
        origin=tuple(1000.0 * (R @ g["pix0"])), fast_axis=tuple(R @ g["fdet"]),
        slow_axis=tuple(R @ g["sdet"]),
        pixel_size=(px, px), image_size=(det.fpixels, det.spixels),
        trusted_range=(-1.0, SMV_MAX - float(exp.settings.adc_offset) + pedestal),
        thickness=1000.0 * thick, material="Si" if thick > 0 else "", mu=st.mu / 1000.0 if thick > 0 else 0.0,
        pedestal=pedestal)
    angles = scan_angles(exp, p)
    real = np.asarray(g["real_A"], dtype=np.float64)
    if angles is None:  # a still: the crystal as rendered, at phi0
        phi0 = float(np.asarray(p["phi0"])) / RTD
        real = np.stack([rotate_about_axis(np, v, np.asarray(det.spindle), phi0) for v in real])
        scan = None
    else:
        scan = models.ScanModel(image_range=(1, int(frames)), oscillation=angles, exposure_time=1.0)
    crystal = models.CrystalModel(*(tuple(R @ v) for v in real))
    gonio = models.GoniometerModel(tuple(R @ np.asarray(det.spindle)))
    return models.ExperimentModel(beam=beam, panels=(panel,), goniometer=gonio, scan=scan, crystal=crystal,
                                  imageset=imageset)

