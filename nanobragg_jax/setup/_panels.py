"""Multi-panel detectors in the set-up (specs/panels.md): a `PanelSet` replaces the flags' one
panel, and `build_panel_models` turns it into one Model per group of equally sized panels, whose
Detector leaves carry a leading panel axis (`render.render_panels` renders it).

    exp = build_experiment(settings)                 # --geom FILE: panels from a CrystFEL file
    exp = single_panel_experiment(exp)               # or the flags' own detector as a panel set
    for indices, model in build_panel_models(exp, params): ...

The panels' continuous parameters are `panel_shift` (P, 3) mm, a lab-frame translation of each
panel, and `panel_rotation` (P, 3) deg, rotations about lab x, then y, then z (C's rotate() order)
about the panel's centre.  Both are 0 for the geometry as read, and at 0 they are exact
identities, so a panel set made from the flags gives the flags' detector bit for bit.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from nanobragg_jax.constants import DBL_MIN, RTD
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import read_crystfel_geometry, smv_header_fields
from nanobragg_jax.layout import resolve_roi
from nanobragg_jax.panels import Panel, PanelSet
from nanobragg_jax.setup._detector import DetectorStatic
from nanobragg_jax.setup._model import full_params, geometry_from_params, geometry_report, sample_and_beam
from nanobragg_jax.setup._sampling import auto_oversample
from nanobragg_jax.setup._summary import header_geometry
from nanobragg_jax.vectors import cross, dot, rotate_xyz, unitize

# The flags' detector parameters; a panel set replaces them by panel_shift and panel_rotation.
FLAG_DETECTOR_PARAMS = ("distance", "close_distance", "beam_center", "close_center", "detector_rot",
                        "twotheta")
# Settings of the flags' detector that a panel set overrides, and the flag that sets each.
OVERRIDDEN_DETECTOR_FLAGS = _OVERRIDDEN = {
    "distance": "-distance", "close_distance": "-close_distance", "Xbeam": "-Xbeam",
    "Ybeam": "-Ybeam", "Xclose": "-Xclose", "Yclose": "-Yclose", "ORGX": "-ORGX", "ORGY": "-ORGY",
    "detector_rotx": "-detector_rotx", "detector_roty": "-detector_roty",
    "detector_rotz": "-detector_rotz", "detector_twotheta": "-twotheta", "pixel_size": "-pixel",
    "fpixels": "-detpixels", "spixels": "-detpixels", "detsize_f": "-detsize",
    "detsize_s": "-detsize", "fdet_vector": "-fdet_vector", "sdet_vector": "-sdet_vector",
    "odet_vector": "-odet_vector", "pix0_vector": "-pix0_vector", "twotheta_axis": "-twotheta_axis",
}


def crystfel_frame(det: DetectorStatic) -> np.ndarray:
    """(3, 3) matrix whose columns are CrystFEL's x, y, z axes in our lab frame (lab = M v_cf).

    Arguments:
        det: the set-up's detector decisions (beam, spindle and polarization unit vectors).
    Returns:
        (3, 3) float64 proper rotation.
    Raises:
        InputError: the spindle and the polarization both lie along the beam.

    CrystFEL: z along the beam, y up, x = y cross z (the NeXus McStas frame).  We take z = the
    beam, x = minus the spindle's component perpendicular to the beam (the polarization's when the
    spindle is along the beam), y = z cross x: the map the DIALS export uses (specs/dials-frame.md
    section 2) followed by McStas = diag(-1, 1, -1) . DIALS.  MOSFLM: x_cf = -z, y_cf = +y,
    z_cf = +x.
    """
    b = np.asarray(unitize(det.beam)[0])
    perp = None
    for v in (det.spindle, det.polar):
        w = np.asarray(v, dtype=np.float64)
        w = w - (w @ b) * b
        if np.linalg.norm(w) > 1e-12:
            perp = w / np.linalg.norm(w)
            break
    if perp is None:
        raise InputError("the spindle and polarization axes are both along the beam: "
                         "CrystFEL's x axis is undefined")
    ex = -perp
    ey = np.asarray(cross(b, ex))
    return np.column_stack([ex, ey, b])


def panels_from_flags(exp) -> PanelSet:
    """The flags' detector as a one-panel set.

    Arguments:
        exp: an Experiment built from flags (without panels).
    Returns:
        PanelSet of one panel "panel0": pix0, fdet, sdet, odet from the set-up's detector geometry
        (evaluated with jax.numpy like `build_model`, so the values are the same bits), the flags'
        pixel size, counts and -mask.
    """
    import jax.numpy as jnp

    st = exp.static
    det = st.detector
    p = {k: jnp.asarray(v) for k, v in exp.params.items() if k != "Fhkl"}
    g = geometry_from_params(jnp, det, p)
    panel = Panel(name="panel0", origin=np.asarray(g["pix0"]), fast=np.asarray(g["fdet"]),
                  slow=np.asarray(g["sdet"]), normal=np.asarray(g["odet"]),
                  pixel_size=det.pixel_size, fpixels=det.fpixels, spixels=det.spixels,
                  mask=st.mask)
    return PanelSet((panel,), source="flags")


def _panel_oversample(exp, panels: PanelSet) -> int:
    """C's auto-oversample rule (L2075-2087) for the most demanding panel (closest along the beam,
    largest pixels): each panel as its own run would take its own value; one value serves all."""
    s = exp.settings
    if s.oversample > 0:
        return exp.layout.oversample
    real = geometry_report(exp, exp.params)["real_A"]
    xtal = float(np.max(np.asarray(exp.params["N"]) * np.linalg.norm(real, axis=1) * 1e-10))
    beam = exp.static.detector.beam
    best = 1
    for p in panels:
        ratio = abs(float(dot(beam, p.normal)))
        if ratio > 1e-12:
            n, _ = auto_oversample(-1, xtal, s.lambda0, abs(p.close_distance) / ratio, p.pixel_size)
            best = max(best, n)
    return best


def _summary_lines(panels: PanelSet) -> list:
    lines = [f"detector: {len(panels)} panels from {panels.source} (they replace the flags' "
             "detector above)"]
    for k, p in enumerate(panels):
        masked = 0 if p.mask is None else int((~p.mask).sum())
        lines.append(
            "  panel %d %s: %dx%d pixels of %g mm, origin %g %g %g mm, fast %g %g %g, slow %g %g %g, "
            "normal %g %g %g%s" % (k, p.name, p.fpixels, p.spixels, p.pixel_size * 1000,
                                   *(p.origin * 1000), *p.fast, *p.slow, *p.normal,
                                   f", {masked} pixels masked" if masked else ""))
    return lines


def with_panels(exp, panels: PanelSet, *, oversample=None, warnings=()):
    """The experiment with `panels` in place of the flags' detector.

    Arguments:
        exp: an Experiment without panels (`build_experiment`).
        panels: the PanelSet, lab frame.
        oversample: sub-pixels per pixel edge; None: -oversample if given, else C's auto rule for
            the most demanding panel.
        warnings: extra one-line warnings to add.
    Returns:
        a new Experiment: params without the flags' detector parameters, with `panel_shift` and
        `panel_rotation` (zeros, (P, 3)); layout sized for panel 0 (each group has its own,
        `panel_layouts`); summary lines describing the panels.
    Raises:
        InputError: -curved_det (a sphere has no panels).
        ValueError: the experiment already has panels.
    """
    if exp.panels is not None:
        raise ValueError("the experiment already has a panel set")
    if exp.layout.curved:
        raise InputError("-curved_det cannot be combined with a panel set (--geom)")
    if oversample is None:
        oversample = _panel_oversample(exp, panels)
    params = {k: v for k, v in exp.params.items() if k not in FLAG_DETECTOR_PARAMS}
    params["panel_shift"] = np.zeros((len(panels), 3))
    params["panel_rotation"] = np.zeros((len(panels), 3))
    first = panels[0]
    layout = dataclasses.replace(exp.layout, oversample=int(oversample))
    layout = _group_layout(exp.settings, layout, [first])
    lines = _summary_lines(panels)
    if oversample != exp.layout.oversample:
        lines.append("%dx%d pixel oversample steps for the panels" % (oversample, oversample))
    return dataclasses.replace(exp, layout=layout, params=params, panels=panels,
                               summary=list(exp.summary) + lines,
                               warnings=list(exp.warnings) + list(warnings))


def single_panel_experiment(exp):
    """The flags' detector as a one-panel set (`panels_from_flags`), with the flags' sampling.

    Arguments:
        exp: an Experiment built from flags (without panels).
    Returns:
        the Experiment with that panel set: `api.simulate_panels` of it renders pixel for pixel,
        bit for bit, what `build_model` + `render` give, in both modes.
    """
    return with_panels(exp, panels_from_flags(exp), oversample=exp.layout.oversample)


def _group_layout(settings, layout, panels):
    spixels, fpixels = panels[0].shape
    roi = resolve_roi(settings.roi_xmin, settings.roi_xmax, settings.roi_ymin, settings.roi_ymax,
                      fpixels, spixels)
    return dataclasses.replace(layout, spixels=spixels, fpixels=fpixels, roi=roi,
                               has_mask=any(p.mask is not None for p in panels))


def panel_layouts(exp) -> list:
    """The static layout of each group of equally sized panels.

    Arguments:
        exp: an Experiment with panels.
    Returns:
        [(panel indices, Layout)]: the experiment's layout with the group's size, -roi resolved for
        that size (each panel as its own run), and a mask when any panel of the group has one.
    """
    out = []
    for idx, _ in exp.panels.groups():
        out.append((idx, _group_layout(exp.settings, exp.layout, [exp.panels[i] for i in idx])))
    return out


def _panel_detector(jnp, exp, panels, shift_mm, rotation_deg):
    """The stacked Detector of `panels` (one size): leaves with a leading panel axis."""
    from nanobragg_jax.render import Detector

    st = exp.static
    G = len(panels)
    spixels, fpixels = panels[0].shape
    size = np.array([p.pixel_size for p in panels])
    comps = {k: np.stack([getattr(p, k) for p in panels], axis=1) for k in
             ("origin", "fast", "slow", "normal")}  # (3, G): components first, for vectors.py
    # From the centre to the origin, at the geometry as read (a constant of the set-up).
    half = -0.5 * size * (fpixels * comps["fast"] + spixels * comps["slow"])
    rot = jnp.asarray(rotation_deg) / RTD

    def turn(v):
        return rotate_xyz(jnp, v, rot[:, 0], rot[:, 1], rot[:, 2])

    # origin' = centre + R (origin - centre); written so that zero shift and rotation give the
    # origin's own bits (x + 0.0 == x).
    origin = comps["origin"] + jnp.asarray(shift_mm).T / 1000.0 + (turn(half) - half)
    fast, slow, normal = (turn(comps[k]) for k in ("fast", "slow", "normal"))
    close = dot(origin, normal)
    masks = [p.mask for p in panels]
    mask = None
    if any(m is not None for m in masks):
        mask = jnp.stack([jnp.ones((spixels, fpixels), bool) if m is None else jnp.asarray(m, bool)
                          for m in masks])
    return Detector(
        pix0=origin.T, fdet=fast.T, sdet=slow.T, odet=normal.T, pixel_size=jnp.asarray(size),
        close_distance=close, distance=close, beam=jnp.tile(jnp.asarray(st.detector.beam), (G, 1)),
        thickstep=jnp.full((G,), st.thick.step), mu=jnp.full((G,), st.mu), mask=mask)


def build_panel_models(exp, params=None) -> list:
    """One Model per group of equally sized panels: a pure JAX function of `params`,
    differentiable with respect to every entry (panel_shift and panel_rotation included).

    Arguments:
        exp: an experiment with panels (`with_panels`, `--geom`).
        params: some or all of `exp.params` (CLI units); None: the experiment's own.
    Returns:
        [(panel indices, Model)], the Model's Detector leaves stacked along a leading panel axis
        (pix0, fdet, sdet, odet (G, 3); pixel_size, close_distance (G,); mask (G, S, F) or None).
    Raises:
        KeyError: an unknown parameter name.
        ValueError: the experiment has no panel set.
    """
    if exp.panels is None:
        raise ValueError("this experiment has no panel set: use build_model (or "
                         "single_panel_experiment(exp))")
    import jax.numpy as jnp

    from nanobragg_jax.render import Model

    p = {k: jnp.asarray(v) for k, v in full_params(exp, params).items()}
    beam, crystal, spindle = sample_and_beam(exp, p)
    out = []
    for idx, layout in panel_layouts(exp):
        sel = np.asarray(idx)
        detector = _panel_detector(jnp, exp, [exp.panels[i] for i in idx],
                                   p["panel_shift"][sel], p["panel_rotation"][sel])
        out.append((idx, Model(detector=detector, beam=beam, crystal=crystal, spindle=spindle,
                               layout=layout)))
    return out


def panel_header(exp, k: int) -> dict:
    """SMV header fields of panel k, as a CUSTOM nanoBragg run of that panel alone would write
    them (O6).

    Arguments:
        exp: an Experiment with panels.  k: panel index.
    Returns:
        dict of `io.smv_header_fields`: DISTANCE along the beam to the panel's plane,
        CLOSE_DISTANCE along its normal, BEAM_CENTER_X/Y where the beam meets the plane (mm from the
        outer corner of pixel (0, 0), along fast and slow), TWOTHETA 0, DIALS_ORIGIN with C's
        MOSFLM-frame map (O6).
    """
    p, s = exp.panels[k], exp.settings
    det = dataclasses.replace(exp.static.detector, pixel_size=p.pixel_size)
    beam = np.asarray(det.beam)
    close = p.close_distance
    ratio = float(beam @ p.normal) or DBL_MIN  # C: a zero ratio becomes DBL_MIN (G9)
    distance = close / ratio
    hit = distance * beam - p.origin
    Fbeam, Sbeam = float(p.fast @ hit), float(p.slow @ hit)
    g = dict(pix0=p.origin, fdet=p.fast, sdet=p.slow, odet=p.normal,
             Fclose=-float(p.origin @ p.fast), Sclose=-float(p.origin @ p.slow))
    hg = header_geometry(g, det)
    px = p.pixel_size
    return smv_header_fields(
        fpixels=p.fpixels, spixels=p.spixels, pixel_size_mm=px * 1000.0,
        distance_mm=distance * 1000.0, wavelength_A=s.lambda0 * 1e10,
        beam_center_x_mm=Fbeam * 1000.0, beam_center_y_mm=Sbeam * 1000.0,
        adxv_center=(Fbeam * 1000.0, (p.spixels * px - Sbeam) * 1000.0),
        mosflm_center=((Sbeam - 0.5 * px) * 1000.0, (Fbeam - 0.5 * px) * 1000.0),
        denzo_beam=(Sbeam * 1000.0, Fbeam * 1000.0), dials_origin=hg["dials_origin"],
        xds_org=(hg["ORGX"], hg["ORGY"]), close_distance_mm=close * 1000.0,
        phi_deg=s.phi0 * RTD, osc_range_deg=exp.static.phi.range * RTD, twotheta_deg=0.0)


def given_flags(settings, fields: dict) -> list:
    """The flags of `fields` the user gave, each once, in the order of `fields`.

    Arguments:
        settings: the run's Settings.  fields: Settings field -> the flag that sets it.
    Returns:
        [flag]: those whose field differs from nanoBragg's default, or that are spelled out on the
        command line (a flag given at its default value counts too).
    """
    from nanobragg_jax.args import Settings

    default = Settings()
    typed = set(settings.argv)
    out = []
    for field, flag in fields.items():
        a, b = getattr(settings, field), getattr(default, field)
        same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        if (not same or flag in typed) and flag not in out:
            out.append(flag)
    return out


def _overridden_flags(settings) -> list:
    """The detector flags the user gave (values differing from nanoBragg's defaults)."""
    return given_flags(settings, _OVERRIDDEN)


def attach_crystfel_geometry(exp, path: str):
    """`with_panels` for the panels of a CrystFEL geometry file (`--geom`), mapped into the lab
    frame with `crystfel_frame`.

    Arguments:
        exp: the Experiment built from the flags.  path: the geometry file.
    Returns:
        the Experiment with the file's panels; warnings name the detector flags the file replaces
        and a file wavelength that differs from the beam's.
    Raises:
        InputError: the file (see `io.read_crystfel_geometry`), or a flag that needs the flags'
            one detector: -mask (use bad regions), -trace_pixel, -curved_det.
    """
    s = exp.settings
    refuse_single_panel_options(s, "--geom")
    geom = read_crystfel_geometry(path)
    panels = geom.panels.transformed(crystfel_frame(exp.static.detector))
    warnings = list(geom.warnings)
    flags = _overridden_flags(s)
    if flags:
        warnings.append(f"--geom {path}: the geometry file replaces the detector given by "
                        f"{', '.join(flags)}")
    if geom.wavelength is not None and abs(geom.wavelength - s.lambda0) > 1e-6 * s.lambda0:
        warnings.append(f"--geom {path}: the file's wavelength ({geom.wavelength * 1e10:g} A) is not "
                        f"used; the beam's is -lambda/-energy's {s.lambda0 * 1e10:g} A")
    return with_panels(exp, panels, warnings=warnings)


def refuse_single_panel_options(s, option: str) -> None:
    """InputError for the options that need the flags' one detector: -mask, -trace_pixel."""
    if s.maskfilename is not None:
        hint = ("give bad regions in the geometry file" if option == "--geom"
                else "a panel set has no single mask image")
        raise InputError(f"-mask cannot be combined with {option}: {hint}")
    if s.trace_pixel is not None:
        raise InputError(f"-trace_pixel traces the flags' single detector; it is not available with {option}")


def attach_panels(exp, panels: PanelSet, option: str):
    """`with_panels` for a panel set read from a file other than a CrystFEL geometry (a DIALS
    experiment list with several panels), already in the lab frame.

    Arguments:
        exp: the Experiment built from the flags.  panels: the PanelSet.  option: the option that
            gave it, for messages (`--experiment FILE`).
    Returns:
        the Experiment with the panels.
    Raises:
        InputError: -mask, -trace_pixel or -curved_det, which need the flags' one detector.
    """
    refuse_single_panel_options(exp.settings, option)
    return with_panels(exp, panels)
