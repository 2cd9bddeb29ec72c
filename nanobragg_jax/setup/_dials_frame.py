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

The inverse (`settings_from_experiment`, `--experiment FILE.expt`) reads a list into nanoBragg's
MOSFLM frame, v_nanobragg = R_MOSFLM^T v_dxtbx, with the CUSTOM convention and the sample pivot
(specs/dials-frame.md section 5); an experiment built so is exported with that same R_MOSFLM, so
a list read in and written out keeps its frame.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Optional

import numpy as np

from nanobragg_jax import io as models  # dxtbx's models (io/_expt.py)
from nanobragg_jax.args import Settings
from nanobragg_jax.constants import RTD
from nanobragg_jax.errors import InputError
from nanobragg_jax.panels import PanelSet, make_panel
from nanobragg_jax.setup import _crystal as xtal
from nanobragg_jax.setup._experiment import Experiment
from nanobragg_jax.setup._model import cell_radians, geometry_report
from nanobragg_jax.setup._panels import OVERRIDDEN_DETECTOR_FLAGS, given_flags
from nanobragg_jax.setup._sampling import resolve_phi
from nanobragg_jax.vectors import rotate_about_axis

SMV_MAX = 65535.0  # nanoBragg's int and noise images are clipped to 16 bits
# lab_rotation of the MOSFLM convention (beam +x, spindle +z): the frame --experiment reads into.
R_MOSFLM = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])


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

    Arguments:
        exp: the set-up (`build_experiment`); its static phi Axis (rad) gives osc and the steps.
        params: continuous parameters in command-line units, read for "phi0" and "phistep"
            (degrees); None: exp.params.
    Returns:
        (start, width) in degrees, floats, or None when the oscillation range is 0 (a still).
    """
    p = exp.params if params is None else params
    phi = exp.static.phi
    width = float(phi.range) * RTD
    if width == 0.0:
        return None
    step = float(np.asarray(p["phistep"]))
    start = float(np.asarray(p["phi0"])) + (phi.steps - 1) * step / 2.0 - width / 2.0
    return start, width


def export_rotation(exp: Experiment) -> np.ndarray:
    """The R of `experiment_model`: R_MOSFLM for an experiment read from a list (--experiment), so
    the list comes back in its own frame; else `lab_rotation` of the set-up's beam and spindle."""
    det = exp.static.detector
    if exp.settings.experiment_file is not None:
        return R_MOSFLM
    return lab_rotation(det.beam, det.spindle, det.polar)


def _panel_models(exp: Experiment, g: Optional[dict], R: np.ndarray, **common) -> tuple:
    """The detector's panels as dxtbx PanelModels: the flags' one panel (g: its geometry report)
    or every panel of a panel set, as read (panel_shift and panel_rotation are not applied)."""
    det = exp.static.detector
    if exp.panels is None:
        px = det.pixel_size * 1000.0
        return (models.PanelModel(origin=tuple(1000.0 * (R @ g["pix0"])), fast_axis=tuple(R @ g["fdet"]),
                                  slow_axis=tuple(R @ g["sdet"]), pixel_size=(px, px),
                                  image_size=(det.fpixels, det.spixels), **common),)
    return tuple(models.PanelModel(origin=tuple(1000.0 * (R @ p.origin)), fast_axis=tuple(R @ p.fast),
                                   slow_axis=tuple(R @ p.slow), pixel_size=(1000.0 * p.pixel_size,) * 2,
                                   image_size=(p.fpixels, p.spixels), name=p.name, **common)
                 for p in exp.panels)


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
        io.ExperimentModel in dxtbx's frame (mm, Angstrom, degrees), one PanelModel per panel (a
        panel set's panels as read).  A still (no oscillation) has no scan, and its crystal is the
        one at phi0; otherwise the crystal is at scan angle 0.
    """
    p = exp.params if params is None else params
    det, st = exp.static.detector, exp.static
    g = geometry_report(exp, p) if exp.panels is None else None
    R = export_rotation(exp)
    beam = models.BeamModel(direction=tuple(-(R @ np.asarray(det.beam))),
                            wavelength=float(np.asarray(p["lambda"])),
                            polarization_normal=tuple(R @ np.asarray(det.vert)),
                            polarization_fraction=0.5 * (1.0 + float(st.kahn)))
    thick = float(exp.settings.detector_thick)
    panels = _panel_models(
        exp, g, R, trusted_range=(-1.0, SMV_MAX - float(exp.settings.adc_offset) + pedestal),
        thickness=1000.0 * thick, material="Si" if thick > 0 else "", mu=st.mu / 1000.0 if thick > 0 else 0.0,
        pedestal=pedestal)
    angles = scan_angles(exp, p)
    cv = xtal.crystal_vectors(np, cell_radians(np.asarray(p["cell"], dtype=np.float64), np),
                              np.asarray(p["misset"], dtype=np.float64) / RTD, st.U, st.user_cell)
    real = np.asarray(cv["real"], dtype=np.float64)
    if angles is None:  # a still: the crystal as rendered, at phi0
        phi0 = float(np.asarray(p["phi0"])) / RTD
        real = np.stack([rotate_about_axis(np, v, np.asarray(det.spindle), phi0) for v in real])
        scan = None
    else:
        scan = models.ScanModel(image_range=(1, int(frames)), oscillation=angles, exposure_time=1.0)
    crystal = models.CrystalModel(*(tuple(R @ v) for v in real))
    gonio = models.GoniometerModel(tuple(R @ np.asarray(det.spindle)))
    return models.ExperimentModel(beam=beam, panels=panels, goniometer=gonio, scan=scan, crystal=crystal,
                                  imageset=imageset)



# --- the inverse: a DIALS experiment list in place of flags (--experiment) -------------------------------
# Settings fields the experiment list sets, and the flag a user sets each with (for the warning).
_BEAM_FLAGS = {"lambda0": "-lambda", "beam_vector": "-beam_vector", "polar_vector": "-polar_vector",
               "polarization": "-polar", "spindle_vector": "-spindle_axis"}
_DETECTOR_FLAGS = {**OVERRIDDEN_DETECTOR_FLAGS, "detector_pivot": "-pivot", "detector_thick": "-detector_thick",
                   "detector_mu": "-detector_abs", "curved_detector": "-curved_det"}
_SCAN_FLAGS = {"phi0": "-phi", "osc": "-osc", "phistep": "-phistep", "phisteps": "-phisteps"}
_CRYSTAL_FLAGS = {"user_cell": "-cell", "matfilename": "-mat", "misset": "-misset",
                  "misset_random": "-misset random"}


@dataclasses.dataclass(frozen=True)
class ExperimentInput:
    """What a DIALS experiment list puts in place of flags (`settings_from_experiment`).

    settings: the Settings with the list's beam, detector (its first panel), goniometer and scan
    in nanoBragg's CUSTOM convention, MOSFLM frame.  mat_recip: (3, 3) rows a*, b*, c* (1/Angstrom,
    nanoBragg's frame) of the list's crystal, as a -mat file would give them, or None (the flags'
    crystal).  panels: the PanelSet of a detector with several panels, or None.  warnings: the
    one-line warning naming the flags the list replaced, if any.
    """

    settings: Settings
    mat_recip: Optional[np.ndarray]
    panels: Optional[PanelSet]
    warnings: list


def experiment_images(experiments) -> list:
    """[(experiment index, image index within its scan, or None for a still)], one per image of an
    experiment list in order: a scan's images, then the next experiment's (`--image K` is the
    K-th, 1-based).

    Arguments:
        experiments: sequence of io.ExperimentModel (`io.read_expt`); each `scan` is None or has
            `num_images`.
    Returns:
        list of (int, int or None) tuples, one per image: a still contributes (i, None), a scan
        (i, 0) ... (i, num_images - 1).
    """
    out = []
    for i, e in enumerate(experiments):
        if e.scan is None:
            out.append((i, None))
        else:
            out.extend((i, k) for k in range(e.scan.num_images))
    return out


def _exactly_unit(v: np.ndarray) -> tuple:
    """v / |v| nudged by an ulp until C's magnitude of it is exactly 1.0: nanoBragg.c replaces an
    odet whose length is not exactly 1 by unit(fdet x sdet) (G5), which may point the other way."""
    u = v / np.linalg.norm(v)
    for _ in range(64):
        if math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]) == 1.0:
            break
        k = int(np.argmax(np.abs(u)))
        u[k] = np.nextafter(u[k], 0.0 if u[0] * u[0] + u[1] * u[1] + u[2] * u[2] > 1.0 else 2.0 * u[k])
    return tuple(float(x) for x in u)


def settings_from_experiment(settings: Settings, experiments, path: str, image: int = 1) -> ExperimentInput:
    """The flags' settings with a DIALS experiment list's geometry in their place (--experiment).

    Arguments:
        settings: the parsed command line.
        experiments: the list's io.ExperimentModel objects (`io.read_expt`).
        path: the list's file name (for messages).
        image: which image to render, 1-based over the list (`experiment_images`).
    Returns:
        ExperimentInput.  Map (specs/dials-frame.md section 5), Q = R_MOSFLM^T, v_nb = Q v_dxtbx:
        beam_vector = Q (-direction); polar_vector = unit(vert x beam) with vert = Q
        polarization_normal (nanoBragg's vert, section 3); -polar = 2 polarization_fraction - 1;
        spindle_axis = Q rotation_axis; the first panel's fdet, sdet = Q fast, Q slow, odet = the
        unit normal pointing away from the sample (exactly unit, G5), -Xbeam, -Ybeam = Fclose =
        -origin.f, Sclose = -origin.s and -close_distance = origin.o with -pivot sample (CUSTOM:
        pix0 = -Fclose f - Sclose s + close o, exactly the origin); the pixel size and counts;
        the sensor thickness (mm) and mu (1/mm) when the thickness is > 0.  A scan image k
        (0-based) of [start, width] is rendered with -osc width and -phi start + k width +
        width/2 - (phisteps - 1) phistep/2 (phisteps, phistep by C's rule from -osc and the
        flags' -phistep/-phisteps), the inverse of `scan_angles`; a still with -phi 0 and no
        oscillation; a scan of negative width turns the other way about the reversed axis.  The
        crystal, when present, is the -mat orientation rows (Q A)^T.
    Raises:
        InputError: no image `image`, no panel, non-square pixels, panels of different sensors,
            a beam of zero length, a list whose polarization normal lies along the beam.
    """
    where = f"--experiment {path}"
    images = experiment_images(experiments)
    if not 1 <= image <= len(images):
        raise InputError(f"--image {image}: {path} has {len(images)} image{'s' * (len(images) != 1)}")
    index, k = images[image - 1]
    e = experiments[index]
    Q = R_MOSFLM.T
    s = settings
    detector = {k: v for k, v in _DETECTOR_FLAGS.items()
                if k != "detector_pivot" or s.beam_convention == "custom"}  # conventions set the pivot
    scan = _SCAN_FLAGS if e.scan is None else {k: _SCAN_FLAGS[k] for k in ("phi0", "osc")}  # steps are kept
    overridden = given_flags(s, {**_BEAM_FLAGS, **detector, **scan,
                            **(_CRYSTAL_FLAGS if e.crystal is not None else {})})
    if s.beam_convention not in ("mosflm", "custom"):
        overridden.insert(0, f"-{s.beam_convention}")

    direction = np.asarray(e.beam.direction, dtype=np.float64)
    if not np.linalg.norm(direction) > 0:
        raise InputError(f"{where}: the beam direction is zero")
    beam = Q @ (-direction / np.linalg.norm(direction))
    vert = Q @ np.asarray(e.beam.polarization_normal, dtype=np.float64)
    vert = vert - (vert @ beam) * beam
    if not np.linalg.norm(vert) > 1e-12:
        raise InputError(f"{where}: the polarization normal lies along the beam")
    polar = np.cross(vert, beam)
    axis = np.array([0.0, 0.0, 1.0]) if e.goniometer is None else Q @ np.asarray(e.goniometer.rotation_axis)
    scan = None if e.scan is None else tuple(float(x) for x in e.scan.oscillation)
    if scan is not None and scan[1] < 0:  # C reads a negative -osc as "not given": turn the axis instead
        axis, scan = -axis, (-scan[0], -scan[1])
    change = dict(beam_convention="custom", lambda0=float(e.beam.wavelength) * 1e-10,
                  beam_vector=tuple(float(x) for x in beam),
                  polar_vector=tuple(float(x) for x in polar / np.linalg.norm(polar)),
                  polarization=2.0 * float(e.beam.polarization_fraction) - 1.0,
                  spindle_vector=tuple(float(x) for x in axis))

    if not e.panels:
        raise InputError(f"{where}: the detector has no panel")
    for q in e.panels:
        if abs(q.pixel_size[0] - q.pixel_size[1]) > 1e-9 * q.pixel_size[0]:
            raise InputError(f"{where}: panel {q.name!r} has non-square pixels {q.pixel_size} mm "
                             "(nanoBragg's pixels are square)")
    sensors = {(q.thickness, q.mu if q.thickness > 0 else 0.0) for q in e.panels}
    if len(sensors) > 1:
        raise InputError(f"{where}: panels with different sensors (thickness, mu) {sorted(sensors)}; "
                         "nanoBragg has one sensor for all panels")
    panels = PanelSet(tuple(make_panel(q.name if [r.name for r in e.panels].count(q.name) == 1 else f"panel{j}",
                                       Q @ np.asarray(q.origin) / 1000.0, Q @ np.asarray(q.fast_axis),
                                       Q @ np.asarray(q.slow_axis), q.pixel_size[0] / 1000.0,
                                       q.image_size[0], q.image_size[1])
                            for j, q in enumerate(e.panels)), source=path)
    first, q0 = panels[0], e.panels[0]
    odet = _exactly_unit(first.normal)
    origin = first.origin
    thick = float(q0.thickness) / 1000.0
    change.update(
        detector_pivot="sample", fdet_vector=tuple(float(x) for x in first.fast),
        sdet_vector=tuple(float(x) for x in first.slow), odet_vector=odet,
        Xbeam=float(-(origin @ first.fast)), Ybeam=float(-(origin @ first.slow)),
        close_distance=float(origin @ np.asarray(odet)),
        Xclose=math.nan, Yclose=math.nan, ORGX=math.nan, ORGY=math.nan,
        detector_rotx=0.0, detector_roty=0.0, detector_rotz=0.0, detector_twotheta=0.0,
        twotheta_axis=None, pix0_vector=None, curved_detector=False,
        pixel_size=first.pixel_size, fpixels=first.fpixels, spixels=first.spixels,
        detsize_f=first.pixel_size * first.fpixels, detsize_s=first.pixel_size * first.spixels,
        detector_thick=thick, detector_mu=float(q0.mu) * 1000.0 if thick > 0 and q0.mu > 0 else -1.0)

    if e.scan is None:  # a still: the crystal as given, no rotation
        change.update(phi0=0.0, osc=0.0, phistep=-1.0, phisteps=1)
    else:
        start, width = scan
        phi = resolve_phi(width / RTD, s.phistep, s.phisteps)
        phi0 = start + k * width + width / 2.0 - (phi.steps - 1) * (phi.step * RTD) / 2.0
        change.update(phi0=phi0 / RTD, osc=width / RTD)
    mat_recip = None
    if e.crystal is not None:
        mat_recip = (Q @ e.crystal.A).T
        change.update(user_cell=False, cell_a=0.0, cell_b=0.0, cell_c=0.0, cell_alpha=0.0, cell_beta=0.0,
                      cell_gamma=0.0, matfilename=None, misset=None, misset_random=False)
    warnings = []
    if overridden:
        warnings.append(f"{where} replaces the flags {', '.join(overridden)}")
    new = dataclasses.replace(s, **change)
    return ExperimentInput(settings=new, mat_recip=mat_recip, panels=panels if len(panels) > 1 else None,
                           warnings=warnings)


def experiment_list_path(settings: Settings, workdir: str) -> str:
    """The --experiment file, relative names taken from `workdir`."""
    name = settings.experiment_file
    return name if os.path.isabs(name) else os.path.join(workdir, name)
