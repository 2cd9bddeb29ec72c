"""What the set-up reports: the SMV header values, the summary C prints before rendering, and
one-line warnings for C behaviours that look accidental and changed this run's geometry or sampling.
"""

from __future__ import annotations

import math

import numpy as np

from nanobragg_jax.constants import RTD
from nanobragg_jax.io import smv_header_fields
from nanobragg_jax.setup._crystal import cell_parameters
from nanobragg_jax.setup._detector import DetectorStatic
from nanobragg_jax.vectors import dot


def header_fields(exp, r: dict) -> dict:
    """SMV header fields (O6, L3167-3184) in C's units."""
    s, det = exp.settings, exp.static.detector
    px = det.pixel_size
    Fbeam, Sbeam = r["Fbeam"], r["Sbeam"]
    return smv_header_fields(
        fpixels=det.fpixels, spixels=det.spixels, pixel_size_mm=px * 1000.0,
        distance_mm=r["distance"] * 1000.0, wavelength_A=s.lambda0 * 1e10,
        beam_center_x_mm=r["Xbeam"] * 1000.0, beam_center_y_mm=r["Ybeam"] * 1000,
        adxv_center=(Fbeam * 1000.0, (det.detsize_s - Sbeam) * 1000),
        mosflm_center=((Sbeam - 0.5 * px) * 1000.0, (Fbeam - 0.5 * px) * 1000),
        denzo_beam=((Sbeam - 0.0 * px) * 1000.0, (Fbeam - 0.0 * px) * 1000),
        dials_origin=r["dials_origin"], xds_org=(r["ORGX"], r["ORGY"]),
        close_distance_mm=r["close_distance"] * 1000.0, phi_deg=s.phi0 * RTD,
        osc_range_deg=exp.static.phi.range * RTD, twotheta_deg=s.detector_twotheta * RTD)


_SHAPE_NAMES = {"round": "ellipsoidal", "square": "parallelpiped", "gauss": "gaussian",
                "tophat": "tophat-spot"}


def summary_block(exp, r: dict, fluence: float, hkls: int) -> list:
    """The summary block C prints before rendering (L2459-2506)."""
    s, st, L = exp.settings, exp.static, exp.layout
    det, c = st.detector, st.centre
    N = exp.params["N"]
    grid = st.sources
    lines = [
        "  %d initialized hkls (all others =%g)" % (hkls, s.default_F),
        "  %s xtal: %.0fx%.0fx%.0f cells" % (_SHAPE_NAMES.get(s.xtal_shape, s.xtal_shape), *N),
        "  wave=%g meters +/- %g%% in %d steps" % (s.lambda0, grid.disp.range * 100, grid.disp.steps),
        "  polarization effect disabled" if s.nopolar
        else "  Kahn polarization factor: %f" % s.polarization,
    ]
    if s.curved_detector:
        lines.append("  curved detector: all pixels same distance from origin")
    if s.point_pixel:
        lines.append("  pixel obliquity effect disabled")
    b, pol = det.beam, det.polar
    normal = (b[1] * pol[2] - b[2] * pol[1], b[2] * pol[0] - b[0] * pol[2],
              b[0] * pol[1] - b[1] * pol[0])
    lines += [
        "  incident fluence: %g photons/m^2" % fluence,
        "  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)"
        % (r["distance"], det.detsize_f, det.detsize_s, det.pixel_size, det.fpixels, det.spixels),
        "  sensor is %g m thick in %d layers with mu= %g" % (st.thick.range, st.thick.steps, st.mu),
        "  Xbeam=%g Ybeam=%g" % (c.Xbeam, c.Ybeam),
        "  Fbeam=%g Sbeam=%g" % (r["Fbeam"], r["Sbeam"]),
        "  Xclose=%g Yclose=%g" % (c.Xclose, c.Yclose),
        "  Fclose=%g Sclose=%g" % (r["Fclose"], r["Sclose"]),
        "  DIRECTION_OF_DETECTOR_X-AXIS= %g %g %g" % tuple(r["fdet"]),
        "  DIRECTION_OF_DETECTOR_Y-AXIS= %g %g %g" % tuple(r["sdet"]),
        "  DIRECTION_OF_DETECTOR_Z-AXIS= %g %g %g" % tuple(r["odet"]),
        "  INCIDENT_BEAM_DIRECTION= %g %g %g" % tuple(b),
        "  spindle ROTATION_AXIS= %g %g %g" % tuple(det.spindle),
        "  POLARIZATION_PLANE_NORMAL= %g %g %g" % normal,
        "  dials origin= %g %g %g" % tuple(r["dials_origin"]),
        "  roi: %d < x < %d && %d < y < %d" % L.roi,
        "  hdivrange=%g hdivstep=%g  radians" % (grid.hdiv.range, grid.hdiv.step),
        "  vdivrange=%g vdivstep=%g  radians" % (grid.vdiv.range, grid.vdiv.step),
        "  %d divergence steps" % grid.divsteps,
        "  %d sources" % L.sources,
        "  %d mosaic domains over mosaic spread of %g degrees"
        % (L.mosaic_domains, float(exp.params["mosaic_spread"])),
        "  %d phi steps from %g to %g degrees" % (L.phisteps, s.phi0 * RTD, (s.phi0 + st.phi.range) * RTD),
        "  %dx%d pixel oversample steps" % (L.oversample, L.oversample)
        + (" +thick" if s.oversample_thick else "") + (" +polar" if s.oversample_polar else "")
        + (" +omega" if s.oversample_omega else ""),
    ]
    if st.mask is not None:
        lines.append("  skipping zero-flagged pixels in %s" % s.maskfilename)
    if s.calculate_noise:
        lines += ["", "  noise image paramters:", "  seed: %d" % s.seed,
                  "  water droplet size: %g m" % s.water_size]
    return lines


def quirk_warnings(exp, r: dict, *, read_dump: bool) -> list:
    """Set-up quirks that changed the result (the argv-level ones come from the parser)."""
    s, st = exp.settings, exp.static
    det = st.detector
    out = []
    if det.odet_regenerated:
        out.append("-odet_vector is not exactly unit length, so nanoBragg.c replaced it by "
                   "unit(fdet x sdet) (C quirk G5)")
    elif det.convention == "custom":
        o, f, sd = (np.asarray(v) for v in (det.odet, det.fdet, det.sdet))
        if abs(o @ f) > 1e-9 or abs(o @ sd) > 1e-9:
            out.append("the detector normal is not perpendicular to the fast/slow axes; nanoBragg.c "
                       "keeps it (C quirk G5): check -odet_vector")
    axis_len = math.sqrt(sum(x * x for x in det.twotheta_axis))
    if s.detector_twotheta != 0.0 and abs(axis_len - 1.0) > 1e-12:
        out.append("the two-theta axis has length %g and nanoBragg.c does not normalise it, so the "
                   "two-theta 'rotation' also scales the detector (C quirk G6)" % axis_len)
    if s.detector_twotheta != 0.0:
        out.append("with -twotheta, nanoBragg.c reports DISTANCE and the beam centre along the rotated "
                   "normal, not where the beam hits the detector (C quirk G9)")
    if float(r["ratio"]) == float(np.finfo(np.float64).tiny):
        out.append("the beam is parallel to the detector plane: nanoBragg.c's distance becomes "
                   "%g m (C quirk G9)" % float(r["distance"]))
    if st.user_cell:
        want = np.array([s.cell_alpha, s.cell_beta, s.cell_gamma]) * RTD
        got = _printed_angles(r)
        if np.any(np.abs(got - np.where(want > 0, want, 90.0)) > 1e-6):
            out.append("nanoBragg.c's triclinic set-up gives cell angles %.4f %.4f %.4f instead of the "
                       "requested ones (C quirk C1)" % tuple(got))
    if read_dump:
        out.append("no -hkl given: structure factors were read from the %s left in the working "
                   "folder, even with -default_F (C quirk F1)" % s.dumpfilename)
    if s.phisteps > 0 and s.phistep > 0.0 and s.osc < 0.0 and s.phisteps != 2:
        out.append("-phistep with -phisteps but no -osc: nanoBragg.c renders 2 phi steps "
                   "(C quirk A11)")
    for name, rng, step, steps in (("h", s.hdivrange, s.hdivstep, s.hdivsteps),
                                   ("v", s.vdivrange, s.vdivstep, s.vdivsteps)):
        if steps > 0 and rng < 0.0 and step <= 0.0:
            out.append("-%sdivsteps without a range: nanoBragg.c spreads the sources over 1 radian "
                       "(C quirk S-3)" % name)
    if s.dispsteps > 0 and s.dispersion == 0.0:
        out.append("-dispsteps without -dispersion has no effect (C quirk S-3)")
    if s.oversample_thick and st.thick.range == 0.0:
        out.append("-oversample_thick without a sensor thickness: nanoBragg.c recomputes the capture "
                   "fraction at every sub-pixel as exp(0) - exp(0) = 0, so the whole image is 0 "
                   "(C quirk A12); give -detector_thick or drop -oversample_thick")
    elif st.thick.range > 0.0 and st.mu == 0.0:
        out.append("-detector_thick with an attenuation of 0 (-detector_abs 0 or inf before it): every "
                   "layer's capture fraction is exp(0) - exp(0) = 0, so the whole image is 0 "
                   "(C quirk A12)")
    if st.sample_xyz[1] < s.sample_y or st.sample_xyz[2] < s.sample_z:
        out.append("the crystal was clipped to the %g mm beam (C quirk C4)" % (s.beamsize * 1000))
    return out


def _printed_angles(r):
    _, angles, _, _ = cell_parameters(r["real_A"], r["recip_A"], r["V_cell"])
    return np.array(angles) * RTD


def header_geometry(g, det: DetectorStatic):
    """XDS origin, DIALS origin (mm) and the beam in the detector frame (L1760-1776), host floats."""
    p = det.pixel_size
    pix0 = np.asarray(g["pix0"], dtype=np.float64)
    ORGX = float(g["Fclose"]) / p + 0.5
    ORGY = float(g["Sclose"]) / p + 0.5
    # C quirk (O6): DIALS origin assumes the MOSFLM lab frame whatever the convention.
    dials = (1000.0 * float(dot(pix0, (0.0, 0.0, 1.0))),
             1000.0 * float(dot(pix0, (0.0, 1.0, 0.0))),
             1000.0 * float(dot(pix0, (-1.0, 0.0, 0.0))))
    b = det.beam
    xds_beam = tuple(float(dot(b, np.asarray(g[k]))) for k in ("fdet", "sdet", "odet"))
    return dict(ORGX=ORGX, ORGY=ORGY, dials_origin=dials, xds_incident_beam=xds_beam)
