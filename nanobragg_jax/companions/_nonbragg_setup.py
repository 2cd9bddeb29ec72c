"""nonBragg.c's set-up (specs/nonbragg.md 4-5): detector, sample, table and sources from its flags,
with our detector geometry (`setup.detector_geometry`, the CUSTOM convention), sampling rules and
source grid: one implementation of conventions and pivots for the spots and the background.

Host side (NumPy): the arrays handed to the kernel are exact C values.  `background_arrays` turns
them into the kernel's inputs.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Optional

import numpy as np

from nanobragg_jax import setup as su
from nanobragg_jax.background import STOL_UNITS, StolTable, stol_table
from nanobragg_jax.constants import AVOGADRO, RTD
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import format_g as g
from nanobragg_jax.io import read_smv, read_source_file, read_stol_file, value_of
from nanobragg_jax.layout import Layout, resolve_roi
from nanobragg_jax.vectors import cross, unitize

BANNER = "nonBragg amorphous material diffraction simulator - James Holton and Ken Frankel 3-19-16"


@dataclasses.dataclass
class NonBraggRun:
    """Everything nonBragg.c decides before its pixel loop."""

    settings: object
    layout: Layout  # spixels, fpixels, oversample, sources, ROI, switches
    geometry: dict  # setup.detector_geometry's values (SI), after C's re-derivation
    detector: su.DetectorStatic
    incident: np.ndarray  # (S, 3) unit vectors along the beam
    wavelengths: np.ndarray  # (S,) m
    weights: np.ndarray  # (S,)
    polar_vector: np.ndarray  # (3,) unit E-vector (re-normalised as every polarization call does)
    table: StolTable
    fluence: float
    molecules: float
    sample: tuple  # (thick, high, wide) m after clipping
    density: float  # g/m^3 after the -molecules rule
    osc: float  # rad, header only
    header: dict
    summary: list
    warnings: list
    image: Optional[np.ndarray] = None  # -img pixels (slow, fast) as float32, or None


def read_img_header(s, workdir: str = "."):
    """nonBragg's -img ingestion (L314-355): header values into the settings BEFORE the flag pass.

    Returns the image pixels as float32 (C converts the native unsigned shorts).  Refuses a missing,
    short or non-SMV file (C reads uninitialised memory or crashes there, NB-17)."""
    path = s.img if os.path.isabs(s.img) else os.path.join(workdir, s.img)
    try:
        image = read_smv(path)
    except InputError as exc:
        raise InputError(f"-img: {exc} (nonBragg.c crashes or reads garbage here, NB-17)") from None
    data = image.data
    if image.swap_bytes:
        # C quirk NB-18: the byte order is compared but never applied.
        data = data.byteswap()
        s.warnings.append(f"-img {s.img} says it is not little_endian; nonBragg.c reads its pixels as "
                          "little-endian anyway (NB-18)")
    h = image.header
    s.fpixels, s.spixels = image.width, image.height

    def take(key, field, scale=1.0):
        v = value_of(h, key)
        if not math.isnan(v):
            setattr(s, field, v * scale)

    take("PIXEL_SIZE", "pixel", 1e-3)
    s.detsize_x, s.detsize_y = s.pixel * s.fpixels, s.pixel * s.spixels
    take("DISTANCE", "distance", 1e-3)  # the LAST '...DISTANCE' key (usually CLOSE_DISTANCE), NB-19
    take("CLOSE_DISTANCE", "close_distance", 1e-3)
    take("WAVELENGTH", "lambda0", 1e-10)
    take("BEAM_CENTER_X", "Xbeam", 1e-3)
    y = value_of(h, "BEAM_CENTER_Y")
    if not math.isnan(y):
        s.Ybeam = s.detsize_y - y / 1000.0
    take("ORGX", "ORGX")
    take("ORGY", "ORGY")
    take("PHI", "phi0", 1 / RTD)
    take("OSC_RANGE", "osc", 1 / RTD)
    return data.astype(np.float32), (image.width, image.height)


def _path(workdir, name):
    return name if os.path.isabs(name) or workdir in ("", ".") else os.path.join(workdir, name)


def _step_warnings(name, steps, rng):
    if steps > 0 and rng < 0:
        return [f"-{name}steps without a range: nonBragg.c spreads them over 1 radian (NB-14)"]
    return []


def nonbragg_setup(s, workdir: str = ".", image=None) -> NonBraggRun:
    """C's set-up after the argv pass (L827-1405).

    Arguments:
        s: NonBraggSettings (`parse_nonbragg`), with the -img header already applied.
        workdir: folder the file names are relative to.
        image: (pixels, (width, height)) from `read_img_header`, or None.
    Raises:
        InputError: no table, unreadable files, impossible values where C divides by zero or
            reads garbage.
    """
    warnings = list(s.warnings)
    if s.stolfile is None:
        raise InputError("no structure-factor table: give -stol FILE (or -4stol, -Q)")
    if not s.pixel > 0.0:
        raise InputError(f"-pixel must be positive, got {s.pixel * 1000:g} mm")
    if not (s.lambda0 > 0.0 and math.isfinite(s.lambda0)):
        raise InputError(f"the wavelength must be positive and finite, got {s.lambda0 * 1e10:g} A")
    # --- detector size, centre, ROI (5.1)
    p = s.pixel
    detsize_x = p * s.fpixels if s.fpixels != 0 else s.detsize_x
    detsize_y = p * s.spixels if s.spixels != 0 else s.detsize_y
    # C quirk NB-13: ceil(detsize/pixel), no -0.5 as in nanoBragg.
    fpixels = math.ceil(detsize_x / p) if math.isfinite(detsize_x / p) else 0
    spixels = math.ceil(detsize_y / p) if math.isfinite(detsize_y / p) else 0
    if fpixels <= 0 or spixels <= 0:
        raise InputError(f"detector has no pixels ({fpixels}x{spixels}): check -detpixels/-detsize/-pixel")
    if image is not None and (fpixels, spixels) != image[1]:
        if fpixels * spixels > image[1][0] * image[1][1]:
            raise InputError(f"-img is {image[1][0]}x{image[1][1]} pixels but the flags make the detector "
                             f"{fpixels}x{spixels} (nonBragg.c reads past the image, NB-17)")
        # C indexes the image's pixel buffer with the detector's raster index (NB-17).
        warnings.append(f"-img is {image[1][0]}x{image[1][1]} pixels but the detector {fpixels}x{spixels}: "
                        "its first pixels are read in the detector's raster order, as nonBragg.c does (NB-17)")
        image = (image[0].reshape(-1)[: fpixels * spixels], (fpixels, spixels))
    Xclose = s.ORGX * p if not math.isnan(s.ORGX) else s.Xclose  # no half pixel (unlike nanoBragg)
    Yclose = s.ORGY * p if not math.isnan(s.ORGY) else s.Yclose
    if math.isnan(Xclose):
        Xclose = (detsize_x - p) / 2.0
    if math.isnan(Yclose):
        Yclose = (detsize_y + p) / 2.0
    Xbeam = Xclose if math.isnan(s.Xbeam) else s.Xbeam
    Ybeam = Yclose if math.isnan(s.Ybeam) else s.Ybeam
    roi = resolve_roi(*s.roi, fpixels, spixels)

    # --- fluence, clipping, molecules (5.2, 5.3)
    pre = []
    if s.flux != 0.0 and s.exposure > 0.0 and s.beamsize == 0.0:
        raise InputError("-flux with -beamsize 0: the fluence is infinite (nonBragg.c writes NaN images)")
    if s.molecular_weight == 0.0:
        raise InputError("-MW 0: molecules = mass / 0 (nonBragg.c writes NaN or inf images)")
    fluence = su.resolve_fluence(s.fluence, s.flux, s.exposure, s.beamsize)
    sample_y, sample_z, clip_lines = su.clip_sample(s.sample_y, s.sample_z, s.beamsize)
    pre += clip_lines
    volume = s.sample_x * sample_y * sample_z
    density = s.density
    if s.molecules != 0.0 and volume == 0.0:
        raise InputError("-molecules with a sample of zero volume: the density is infinite")
    if s.molecules != 0.0:
        density = s.molecules / volume / AVOGADRO * s.molecular_weight
    molecules = volume * density * AVOGADRO / s.molecular_weight

    # --- vectors (5.4) and step rules (5.5)
    for name, vec in (("beam", s.beam), ("fdet", s.fdet), ("sdet", s.sdet), ("polar", s.polar)):
        if not any(float(x) != 0.0 for x in vec):
            raise InputError(f"-{name}_vector 0 0 0: a zero vector has no direction (nonBragg.c "
                             "writes a NaN or empty image)")
    beam, _ = unitize(s.beam)
    fdet, _ = unitize(s.fdet)
    sdet, _ = unitize(s.sdet)
    odet, omag = unitize(cross(fdet, sdet))  # C: the normal is always f x s (NB-10)
    if omag == 0.0:
        raise InputError("the fast and slow axes (-fdet_vector, -sdet_vector) are parallel: the "
                         "detector has no normal (nonBragg.c writes an empty image)")
    polar, _ = unitize(s.polar)
    vert, _ = unitize(cross(beam, polar))
    osc = su.resolve_phi(s.osc, s.phistep, s.phisteps).range
    warnings += _step_warnings("hdiv", s.hdivsteps, s.hdivrange) + _step_warnings("vdiv", s.vdivsteps, s.vdivrange)
    hdiv = su.sanity(su.resolve_spread(s.hdivrange, s.hdivstep, s.hdivsteps))
    vdiv = su.sanity(su.resolve_spread(s.vdivrange, s.vdivstep, s.vdivsteps))
    disp = su.sanity(su.resolve_spread(s.dispersion, -1.0, s.dispsteps))

    # --- detector geometry (5.6): nanoBragg's CUSTOM convention with nonBragg's defaults
    det = su.DetectorStatic(
        convention="custom", pivot=s.pivot, beam=beam, fdet=fdet, sdet=sdet, odet=odet, polar=polar,
        spindle=(0.0, 0.0, 1.0), vert=vert, twotheta_axis=tuple(float(x) for x in s.twotheta_axis),
        pixel_size=p, fpixels=fpixels, spixels=spixels, detsize_f=detsize_x, detsize_s=detsize_y,
        close_given=not math.isnan(s.close_distance), odet_regenerated=False, close_abs=False)
    geo = su.detector_geometry(np, det, Fbeam=Xbeam, Sbeam=Ybeam, Fclose=Xclose, Sclose=Yclose,
                               distance=s.distance, close_distance=s.close_distance, rotx=s.rotx,
                               roty=s.roty, rotz=s.rotz, twotheta=s.twotheta)
    geo = {k: np.asarray(v, dtype=np.float64) for k, v in geo.items()}
    if float(geo["close_distance"]) == 0.0 or not np.all(np.isfinite(geo["pix0"])):
        raise InputError("the detector plane passes through the sample (distance 0): every solid "
                         "angle is 0 (nonBragg.c writes a NaN pixel and zeros)")
    post = ["pivoting detector around sample" if s.pivot == "sample"
            else "pivoting detector around direct beam spot"]

    # --- table (4.2)
    rows, table_warnings = read_stol_file(_path(workdir, s.stolfile), "-" + s.stol_unit)
    warnings += table_warnings
    table = stol_table(rows, STOL_UNITS[s.stol_unit], s.stolfile)
    post.append("reading %s" % s.stolfile)
    if not table.increasing:
        warnings.append(f"-{s.stol_unit} {s.stolfile}: the table is not in increasing order, so each "
                        "pixel's F depends on the pixels before it, as in nonBragg.c (NB-7)")
    with np.errstate(invalid="ignore"):
        dup = np.unique(table.stol[2:-2]).size < table.size - 4
    if dup:
        warnings.append(f"-{s.stol_unit} {s.stolfile}: repeated abscissae; where the fit uses them it "
                        "divides by zero and the pixel is NaN, as in nonBragg.c (NB-5)")

    # --- sources (5.7)
    if s.sourcefile is not None:
        data = read_source_file(_path(workdir, s.sourcefile)).reshape(-1, 5)
        grid = su.file_sources(data, beam, hdiv, vdiv, disp, source_distance=s.source_distance)
    else:
        grid = su.divergence_grid(hdiv, vdiv, disp, s.round_div)
    positions, wavelengths = su.source_vectors(np, grid, beam, polar, vert, lambda0=s.lambda0,
                                               source_distance=s.source_distance)
    positions, wavelengths = np.asarray(positions, np.float64), np.asarray(wavelengths, np.float64)
    weights = grid.file_I if grid.file_I is not None else np.ones(grid.count)
    summary_sources = su.source_summary(grid, positions, wavelengths, s.lambda0)
    if grid.file_I is None:  # nonBragg prints weight 1 for generated sources
        head, rows_ = summary_sources[:-grid.count], summary_sources[-grid.count:]
        summary_sources = head + ["%s   1 %s" % (r.split("   ")[0], r.split()[-1]) for r in rows_]
    incident = -np.asarray(su.unit_rows(np, positions))
    oversample = s.oversample if s.oversample > 0 else 1

    layout = Layout(spixels=spixels, fpixels=fpixels, oversample=oversample, sources=grid.count,
                    point_pixel=s.point_pixel, curved=s.curved, nopolar=s.nopolar, roi=roi,
                    dtype="float64")
    # every polarization call re-normalises the E-vector in place (C L2387): its fixed point
    pv = polar
    for _ in range(4):
        pv, _ = unitize(pv)
    header = {
        "HEADER_BYTES": 512, "DIM": 2, "BYTE_ORDER": "little_endian", "TYPE": "unsigned_short",
        "SIZE1": fpixels, "SIZE2": spixels, "PIXEL_SIZE": p * 1000.0,
        "DISTANCE": float(geo["distance"]) * 1000.0, "WAVELENGTH": s.lambda0 * 1e10,
        "BEAM_CENTER_X": float(geo["Fbeam"]) * 1000.0,
        "BEAM_CENTER_Y": (detsize_y - float(geo["Sbeam"])) * 1000.0,
        "ORGX": float(geo["Fclose"]) / p, "ORGY": float(geo["Sclose"]) / p,
        "CLOSE_DISTANCE": float(geo["close_distance"]) * 1000.0,
        "PHI": s.phi0 * RTD, "OSC_START": s.phi0 * RTD, "OSC_RANGE": osc * RTD,
        "TWOTHETA": s.twotheta * RTD, "DETECTOR_SN": "000", "BEAMLINE": "fake",
    }
    summary = pre + post + summary_sources + _parameter_block(
        s, table, fluence, (s.sample_x, sample_y, sample_z), density, molecules, geo, det,
        hdiv, vdiv, grid, oversample, roi)
    return NonBraggRun(
        settings=s, layout=layout, geometry=geo, detector=det, incident=incident,
        wavelengths=wavelengths, weights=np.asarray(weights, np.float64), polar_vector=np.asarray(pv),
        table=table, fluence=fluence, molecules=molecules, sample=(s.sample_x, sample_y, sample_z),
        density=density, osc=osc, header=header, summary=summary, warnings=warnings,
        image=None if image is None else image[0].reshape(spixels, fpixels))


def _parameter_block(s, table, fluence, sample, density, molecules, geo, det, hdiv, vdiv, grid,
                     oversample, roi) -> list:
    """C's printout before the pixel loop (L1379-1405)."""
    lines = ["  %d initialized F points (will cubic-spline interpolate between them)" % table.size,
             "  wave=%s meters +/- %s%% in %d steps" % (g(s.lambda0), g(s.dispersion * 100), grid.disp.steps)]
    lines.append("  polarization effect disabled" if s.nopolar
                 else "  Kahn polarization factor: %f" % s.kahn)
    if s.curved:
        lines.append("  curved detector: all pixels same distance from origin")
    if s.point_pixel:
        lines.append("  pixel obliquity effect disabled")
    if s.fmap:
        lines.append("  Fmap mode: plotting structure factor at every pixel")
    v = lambda vec: " ".join(g(float(x)) for x in vec)  # noqa: E731
    lines += [
        "  incident fluence: %s photons/m^2" % g(fluence),
        "  sample is %s m thick x %s m high x %s m wide, %s g/cm^3 and %s g/mol (%s molecules)"
        % (g(sample[0]), g(sample[1]), g(sample[2]), g(density / 1e6), g(s.molecular_weight), g(molecules)),
        "  distance=%s detsize=%sx%s  pixel=%s meters (%dx%d pixels)"
        % (g(float(geo["distance"])), g(det.detsize_f), g(det.detsize_s), g(s.pixel), det.fpixels, det.spixels),
        "  Xbeam=%s Ybeam=%s" % (g(float(geo["Fbeam"])), g(float(geo["Sbeam"]))),
        "  detector origin: %s" % v(geo["pix0"]),
        "  DIRECTION_OF_DETECTOR_X-AXIS= %s" % v(geo["fdet"]),
        "  DIRECTION_OF_DETECTOR_Y-AXIS= %s" % v(geo["sdet"]),
        "  INCIDENT_BEAM_DIRECTION= %s" % v(det.beam),
        "  POLARIZATION_PLANE_NORMAL= %s" % v(det.polar),
        "  roi: %d < x < %d && %d < y < %d" % roi,
        "  hdivrange=%s hdivstep=%s  radians" % (g(hdiv.range), g(hdiv.step)),
        "  vdivrange=%s vdivstep=%s  radians" % (g(vdiv.range), g(vdiv.step)),
        "  %d divergence steps" % grid.divsteps,
        "  %d sources" % grid.count,
        "  %d pixel oversample steps" % oversample,
    ]
    if s.calculate_noise:
        lines += ["", "  noise image paramters:", "  seed: %d" % s.seed]
    return lines


def background_arrays(run: NonBraggRun) -> dict:
    """The kernel's geometry, source and sample inputs as plain arrays (with
    `programs.table_arrays(run.table)`, the names of `programs.ARRAY_NAMES`)."""
    geo = run.geometry
    return {
        "pix0": geo["pix0"], "fdet": geo["fdet"], "sdet": geo["sdet"], "odet": geo["odet"],
        "pixel_size": np.float64(run.detector.pixel_size), "close_distance": geo["close_distance"],
        "distance": geo["distance"], "beam": np.asarray(run.detector.beam, np.float64),
        "incident": run.incident, "wavelength": run.wavelengths, "weights": run.weights,
        "polar_vector": run.polar_vector, "kahn": np.float64(run.settings.kahn),
        "fluence": np.float64(run.fluence), "molecules": np.float64(run.molecules),
    }
