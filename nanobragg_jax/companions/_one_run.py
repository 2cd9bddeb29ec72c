"""nanobragg's one-run options: nonBragg's background and noisify's detector response added to the
spots in the same process (`--stol`, `--bg-*`, `--response`, `--psf`, ...).

The background uses the spots' own detector, sources, oversampling, ROI and polarization (from the
Experiment, through the same host geometry as the nonbragg drop-in), so the result equals
`nanobragg` + `nonbragg` with the matching flags, the two float images added in float32, and
`noisify` on the sum, bit for bit.
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax import setup as su
from nanobragg_jax.args import background_table
from nanobragg_jax.background import STOL_UNITS, stol_table
from nanobragg_jax.constants import AVOGADRO
from nanobragg_jax.io import read_stol_file
from nanobragg_jax.layout import Layout
from nanobragg_jax.noise import CRandom, f32
from nanobragg_jax.response import apply_psf, poisson_counts, readout_adu
from nanobragg_jax.vectors import unitize


def experiment_background(exp, params=None):
    """The background of a nanobragg Experiment as the kernel's plain arrays.

    Returns (geometry, source and sample arrays for `programs.render_background_frame` (the table's
    come from `programs.table_arrays`), its Layout, the StolTable, warnings).
    The sample is --bg-thick x --bg-width x --bg-height (width and height clipped to -beamsize, as
    nonBragg), --bg-density or --bg-molecules, --bg-mw; the detector is the experiment's at `params`
    (default its own), without sensor layers (nonBragg has none)."""
    s, st = exp.settings, exp.static
    name, unit = background_table(s)
    rows, warnings = read_stol_file(name, "--" + unit)
    table = stol_table(rows, STOL_UNITS[unit], name)
    p = exp.params if params is None else params
    geo = su.geometry_report(exp, p)
    det = st.detector
    fluence = float(p["fluence"])
    width, height, _ = su.clip_sample(s.bg_width, s.bg_height, s.beamsize)
    volume = s.bg_thick * width * height
    density = s.bg_density
    if s.bg_molecules != 0.0:
        density = s.bg_molecules / volume / AVOGADRO * s.bg_mw
    molecules = volume * density * AVOGADRO / s.bg_mw
    positions, wavelengths = su.source_vectors(np, st.sources, det.beam, det.polar, det.vert,
                                               lambda0=s.lambda0)
    weights = st.sources.file_I if st.sources.file_I is not None else np.ones(st.sources.count)
    polar = det.polar
    for _ in range(4):  # the in-place re-normalisation of every polarization call: its fixed point
        polar, _ = unitize(polar)
    L = exp.layout
    layout = Layout(spixels=L.spixels, fpixels=L.fpixels, oversample=L.oversample, sources=L.sources,
                    point_pixel=L.point_pixel, curved=L.curved, nopolar=L.nopolar, roi=L.roi,
                    has_mask=L.has_mask, dtype="float64")
    arrays = {
        "pix0": geo["pix0"], "fdet": geo["fdet"], "sdet": geo["sdet"], "odet": geo["odet"],
        "pixel_size": np.float64(det.pixel_size), "close_distance": np.float64(geo["close_distance"]),
        "distance": np.float64(geo["distance"]), "beam": np.asarray(det.beam, np.float64),
        "incident": -np.asarray(su.unit_rows(np, np.asarray(positions))),
        "wavelength": np.asarray(wavelengths, np.float64), "weights": np.asarray(weights, np.float64),
        "polar_vector": np.asarray(polar, np.float64), "kahn": np.float64(st.kahn),
        "fluence": np.float64(fluence), "molecules": np.float64(molecules),
    }
    if not table.increasing:
        warnings.append(f"--{unit} {name}: the table is not in increasing order, so each pixel's F "
                        "depends on the pixels before it, as in nonBragg.c (NB-7)")
    if st.thick.steps > 1 or st.thick.range != 0.0:
        warnings.append("the background ignores -detector_thick (nonBragg has no sensor layers, NB-23)")
    for flag, given, used in (("--bg-height", s.bg_height, height), ("--bg-width", s.bg_width, width)):
        if used < given:  # nonBragg's clipping (C4), said in the flags' own unit
            warnings.append(f"background: {flag} {given * 1e3:g} mm is larger than -beamsize "
                            f"{used * 1e3:g} mm, so the lit sample is clipped to the beam (as nonBragg)")
    return arrays, layout, table, warnings


def detector_response(img, s, out=print):
    """noisify's noise image of the float image `img` (photons, float32), with the one-run options
    of `s` (a nanobragg Settings): a fresh generator, seeds -seed and --calib-seed, adc -adc.

    Returns ((spixels, fpixels) uint16 or uint32 pixels, bits)."""
    shape = img.shape
    photon = np.ascontiguousarray(img, np.float32).reshape(-1)
    rng = CRandom()
    counts, total, seed, _ = poisson_counts(photon, rng, s.seed, s.calib_seed, flicker=s.flicker,
                                            calibration=s.calibration)
    fwhm = f32(s.psf_fwhm_um / 1e6)  # noisify's float psf_fwhm (m)
    if s.psf is not None and fwhm > 0.0:
        w = fwhm / s.pixel_size
        out("%.0f photons on noise image before PSF" % total)
        counts, lines = apply_psf(counts, shape[1], shape[0], s.psf, w, s.psf_radius)
        for line in lines:
            out(line)
    bits = int(s.bits)
    u16, u32, total, overloads, _ = readout_adu(counts, rng, seed, gain=s.gain, adc=s.adc_offset,
                                                readout=s.readout, bits=bits)
    out("%.0f photons on noise image (%d overloads)" % (total, overloads))
    return (u16 if bits == 16 else u32).reshape(shape), bits
