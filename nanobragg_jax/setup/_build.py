"""`build_experiment`: nanoBragg.c's whole host set-up (L1118-2470), from `Settings` to `Experiment`.

It reads the input files, applies every automatic rule, draws the random misset and mosaic domains,
and takes all static decisions (convention, pivot, counts).  It writes no file: the structure-factor
dump C leaves behind is written by `write_structure_factor_dump`.  `build_model(exp, params)`
(`_model.py`) then turns the continuous parameters into the kernel's pytrees.
"""

from __future__ import annotations

import math
import os

import numpy as np

from nanobragg_jax.args import Settings
from nanobragg_jax.constants import AVOGADRO, RTD
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import (
    read_expt,
    read_fdump,
    read_hkl,
    read_mat,
    read_smv,
    read_source_file,
    write_fdump,
)
from nanobragg_jax.layout import Layout, resolve_roi
from nanobragg_jax.noise import CRandom
from nanobragg_jax.setup import _crystal as xtal
from nanobragg_jax.setup import _detector as geo
from nanobragg_jax.setup import _mosaic as mos
from nanobragg_jax.setup import _sampling as smp
from nanobragg_jax.setup import _sources as src
from nanobragg_jax.setup import _summary as report_
from nanobragg_jax.setup._experiment import Experiment, SetupStatic
from nanobragg_jax.setup._model import (
    cell_radians,
    geometry_from_params,
    geometry_report,
)
from nanobragg_jax.setup._dials_frame import experiment_list_path, settings_from_experiment
from nanobragg_jax.setup._panels import attach_crystfel_geometry, attach_panels, refuse_single_panel_options
from nanobragg_jax.setup._random_orientation import random_misset

_DUMP_WRITTEN = "writing dump file for next time: %s"
_DUMP_FAILED = "WARNING: unable to open dump file: %s"


def _path(workdir: str, name: str) -> str:
    return name if os.path.isabs(name) else os.path.join(workdir, name)


def _read(cache, reader, path, *args):
    """reader(path, *args), remembered in `cache` (a dict the caller keeps between set-ups) for as
    long as the file's size and modification time stay the same.  cache None: read every time."""
    if cache is None:
        return reader(path, *args)
    try:
        st = os.stat(path)
    except OSError:
        return reader(path, *args)  # the reader names the file in its error
    key = (reader.__name__, os.path.abspath(path), st.st_mtime_ns, st.st_size, args)
    if key not in cache:
        cache[key] = reader(path, *args)
    return cache[key]


def _cell_from_settings(s: Settings):
    """C (L1796-1800): missing b, c become a; missing angles 90 degrees."""
    a = s.cell_a
    b = s.cell_b if s.cell_b > 0.0 else a
    c = s.cell_c if s.cell_c > 0.0 else a
    al = s.cell_alpha if s.cell_alpha > 0.0 else math.pi / 2
    be = s.cell_beta if s.cell_beta > 0.0 else math.pi / 2
    ga = s.cell_gamma if s.cell_gamma > 0.0 else math.pi / 2
    return np.array([a, b, c, al, be, ga], dtype=np.float64)


def _load_structure_factors(s: Settings, workdir: str, lines: list, cache=None):
    """F1/F2 (L2104-2243): -hkl is read and dumped; without it an existing dump is read."""
    if s.hklfilename is not None:
        table = _read(cache, read_hkl, _path(workdir, s.hklfilename), s.default_F)
        lines.append("counting entries in %s" % s.hklfilename)
        lines += list(getattr(table, "warnings", []) or [])
        if s.default_F != 0.0:
            lines += ["initializing to default_F = %g:" % s.default_F, "done initializing:"]
        lines.append("re-reading %s" % s.hklfilename)
        lines.append(_DUMP_WRITTEN % s.dumpfilename)  # written later: write_structure_factor_dump
        return table, int(table.hkls)
    dump = _path(workdir, s.dumpfilename)
    if os.path.exists(dump):
        # C quirk F1: a dump left in the working folder is used even with -default_F.
        table = _read(cache, read_fdump, dump)
        lines.append("reading Fs from %s" % s.dumpfilename)
        table.notes += [w.replace("WARNING: ", "", 1) for w in table.warnings]
        rng = np.asarray(table.hkl_max) - np.asarray(table.hkl_min) + 1
        return table, int(rng[0] * rng[1] * rng[2])
    if s.default_F == 0.0:
        raise InputError("no -hkl file, no %s to read and -default_F is 0: nothing to simulate"
                         % s.dumpfilename)
    return None, 0


def _load_mask(s: Settings, workdir: str, fpixels: int, spixels: int):
    if s.maskfilename is None:
        return None
    data = getattr(s, "mask_image", None)  # the parser keeps the pixels it read with the header
    if data is None:
        data = read_smv(_path(workdir, s.maskfilename)).data
    flat = np.asarray(data).reshape(-1)
    if flat.size < fpixels * spixels:
        raise InputError("-mask %s has %d pixels, the detector has %dx%d"
                         % (s.maskfilename, flat.size, fpixels, spixels))
    # C indexes the mask with the detector's raster index; 0 = skip the pixel.
    return (flat[: fpixels * spixels] != 0).reshape(spixels, fpixels)


def _crystal_setup(s: Settings, workdir: str, rng: CRandom, sample_xyz, cache=None, mat_recip=None) -> dict:
    """Cell, orientation (-mat, or `mat_recip`: the rows a*, b*, c* in 1/A of an experiment list's
    crystal), misset (given or drawn) and N from the crystal size, on the host."""
    user_cell = bool(s.user_cell)
    U, lines = None, []
    cell = _cell_from_settings(s) if user_cell else None
    if s.matfilename is not None:
        mat = np.asarray(_read(cache, read_mat, _path(workdir, s.matfilename)), dtype=np.float64)
        if np.linalg.det(mat) == 0.0 or not np.all(np.isfinite(mat)):
            # C divides by the cell volume (1/(a*.(b* x c*))): an all-zero or NaN image.
            raise InputError("-mat %s: the matrix is singular (a*, b*, c* are coplanar: zero cell "
                             "volume)" % s.matfilename)
        lines.append("reading %s" % s.matfilename)
        mat_recip = mat * (1e-10 / s.lambda0)  # C2: the A matrix includes the wavelength
    if mat_recip is not None:
        if not user_cell:
            cell = xtal.cell_from_mat(mat_recip)
        U = xtal.orientation_from_mat(mat_recip, cell)
    misset, misset_given = np.zeros(3), False
    if s.misset_random:
        angles, _ = random_misset(rng, s.misset_seed)
        lines.append("random orientation misset angles: %f %f %f deg" % tuple(a * RTD for a in angles))
        misset, misset_given = np.array(angles, dtype=np.float64), True
    elif s.misset is not None:
        misset, misset_given = np.array(s.misset, dtype=np.float64), True
    cell_deg = np.concatenate([cell[:3], cell[3:] * RTD])
    cv = xtal.crystal_vectors(np, cell_radians(cell_deg, np), misset, U, user_cell)
    lines += xtal.format_cell_summary(cv["real"], cv["recip"], float(cv["V_cell"]))
    lengths_m = [float(np.sqrt(np.sum(v * v))) for v in np.asarray(cv["real"]) * 1e-10]
    N = xtal.cells_from_size(sample_xyz, lengths_m, (s.Na, s.Nb, s.Nc))
    return dict(cell_deg=cell_deg, misset=misset, misset_given=misset_given, U=U,
                user_cell=user_cell, N=N, xtalsize=[lengths_m[i] * N[i] for i in range(3)],
                lines=lines)


def build_experiment(settings: Settings, workdir: str = ".", *, file_cache: dict | None = None) -> Experiment:
    """Run C's set-up on the host; see the module docstring.

    Arguments:
        settings: the parsed command line.
        workdir: the folder relative file names are read from.
        file_cache: a dict kept by the caller between set-ups of one series: the input files
            (-hkl, dump, -mat, -sourcefile) are read once while they stay unchanged.
    Returns:
        the Experiment.
    Raises:
        InputError: an undefined crystal, impossible values, or a missing or malformed file.
    """
    s = settings
    warnings = list(getattr(s, "warnings", []) or [])
    pre, post = [], []  # summary before / after the title line
    listed = None
    if s.experiment_file is not None:  # a DIALS experiment list in place of flags
        experiments = _read(file_cache, read_expt, experiment_list_path(s, workdir))
        listed = settings_from_experiment(s, experiments, s.experiment_file, s.experiment_image or 1)
        s = listed.settings
        warnings += listed.warnings
        pre.append("geometry from the experiment list %s (image %d)" % (s.experiment_file,
                                                                      s.experiment_image or 1))
    mat_recip = None if listed is None else listed.mat_recip
    if s.geom_file is not None or (listed is not None and listed.panels is not None):  # before -mask is read
        refuse_single_panel_options(s, "--geom" if s.geom_file else f"--experiment {s.experiment_file}")

    if s.matfilename is None and s.cell_a == 0.0 and mat_recip is None:
        raise InputError("no -mat file and no -cell given: the crystal is undefined")
    if s.pixel_size <= 0.0:
        raise InputError("-pixel must be positive, got %g mm" % (s.pixel_size * 1000))
    if s.lambda0 <= 0.0 or not math.isfinite(s.lambda0):
        raise InputError("-lambda must be positive, got %g A" % (s.lambda0 * 1e10))

    # --- detector size, fluence, sample clipping (L1118-1147)
    fluence = smp.resolve_fluence(s.fluence, s.flux, s.exposure, s.beamsize)
    sample_y, sample_z, clip_lines = smp.clip_sample(s.sample_y, s.sample_z, s.beamsize)
    pre += clip_lines
    det = geo.resolve_detector(s)
    if det.fpixels <= 0 or det.spixels <= 0:
        raise InputError("detector has no pixels (%dx%d): check -detpixels/-detsize/-pixel"
                         % (det.fpixels, det.spixels))
    centre = geo.default_beam_centre(s, det)
    roi = resolve_roi(s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax, det.fpixels, det.spixels)
    if det.odet_regenerated:
        pre.append("WARNING: auto-generating odet_vector")

    # --- sampling rules (L1380-1694)
    phi = smp.resolve_phi(s.osc, s.phistep, s.phisteps)
    hdiv = smp.sanity(smp.resolve_spread(s.hdivrange, s.hdivstep, s.hdivsteps))
    vdiv = smp.sanity(smp.resolve_spread(s.vdivrange, s.vdivstep, s.vdivsteps))
    disp = smp.sanity(smp.resolve_spread(s.dispersion, s.dispstep, s.dispsteps))
    thick_raw = smp.resolve_thickness(s.detector_thick, s.detector_thickstep, s.detector_thicksteps)
    mu, mu_lines = smp.resolve_mu(thick_raw.range, s.detector_mu)
    thick = smp.sanity(thick_raw)
    spread, domains, mos_lines = smp.resolve_mosaic(s.mosaic_spread, s.mosaic_domains)
    post += mu_lines + mos_lines

    # --- detector geometry at the defaults (L1696-1776)
    post.append("%s convention selected." % det.convention)
    post.append("pivoting detector around sample" if det.pivot == "sample"
                else "pivoting detector around direct beam spot")
    interpolate, interp_lines = smp.auto_interpolate(s.interpolate, s.Na, s.Nb, s.Nc)

    # --- crystal (L1792-2070); the shared random stream starts with the misset draw
    rng = CRandom()
    cryst = _crystal_setup(s, workdir, rng, (s.sample_x, sample_y, sample_z), file_cache, mat_recip)
    N, xtalsize = cryst["N"], cryst["xtalsize"]

    # --- header geometry needs the final distance for the auto-oversample
    params = {
        "cell": cryst["cell_deg"],
        "misset": cryst["misset"] * RTD,
        "distance": np.float64(s.distance * 1000.0),
        "close_distance": np.float64(s.close_distance * 1000.0),
        "beam_center": np.array([centre.Xbeam, centre.Ybeam]) * 1000.0,
        "close_center": (np.array([centre.Xbeam, centre.Ybeam]) if det.convention == "custom"
                         else np.array([centre.Fclose, centre.Sclose])) * 1000.0,
        "lambda": np.float64(s.lambda0 * 1e10),
        "N": np.array(N, dtype=np.float64),
        "fluence": np.float64(fluence),
        "detector_rot": np.array([s.detector_rotx, s.detector_roty, s.detector_rotz]) * RTD,
        "twotheta": np.float64(s.detector_twotheta * RTD),
        "phi0": np.float64(s.phi0 * RTD),
        "phistep": np.float64(phi.step * RTD),
        "mosaic_spread": np.float64(spread * RTD),
        "divergence": np.array([hdiv.range, vdiv.range]) * 1000.0,
        "dispersion": np.float64(disp.range),
        "default_F": np.float64(s.default_F),
    }
    g = geometry_from_params(np, det, params)
    geo.check_beam_geometry(det, g)
    if not det.close_given:
        params["close_distance"] = np.float64(abs(float(g["ratio"]) * s.distance) * 1000.0)
    hdr = report_.header_geometry(g, det)
    post.append("XDS incident beam: %g %g %g" % hdr["xds_incident_beam"])
    post += interp_lines
    post += cryst["lines"]
    post.append("crystal is %g x %g x %g microns" % tuple(x * 1e6 for x in xtalsize))
    oversample, os_lines = smp.auto_oversample(s.oversample, max(xtalsize), s.lambda0,
                                               float(g["distance"]), s.pixel_size)
    post += os_lines
    volume = xtalsize[0] * xtalsize[1] * xtalsize[2]
    post.append("approximate MW = %g" % (volume * 1.2e6 * AVOGADRO / (N[0] * N[1] * N[2])))

    # --- structure factors (L2104-2250)
    table, hkls = _load_structure_factors(s, workdir, post, file_cache)
    warnings += list(getattr(table, "notes", []) or [])
    if hkls == 0:
        interpolate = 0  # C: nothing to interpolate
    if table is not None:
        params["Fhkl"] = np.asarray(table.F, dtype=np.float64)
    for t in range(thick.steps):
        post.append("thick%d = %g um" % (t, thick.step * t * 1e6))
    for i in range(phi.steps):
        post.append("phi%d = %g" % (i, (s.phi0 + phi.step * i) * RTD))

    # --- sources (L2319-2433)
    if s.sourcefilename is not None:
        notes = []
        data = np.asarray(_read(file_cache, read_source_file, _path(workdir, s.sourcefilename), notes))
        warnings += notes
        if data.size == 0:
            raise InputError("-sourcefile %s: no sources in the file" % s.sourcefilename)
        grid = src.file_sources(data.reshape(-1, 5), det.beam, hdiv, vdiv, disp)
    else:
        grid = src.divergence_grid(hdiv, vdiv, disp, s.round_div)
    positions, wavelengths = src.source_vectors(np, grid, det.beam, det.polar, det.vert,
                                                lambda0=s.lambda0)
    post += src.source_summary(grid, positions, wavelengths, s.lambda0)
    if np.any(np.asarray(wavelengths) <= 0.0) and s.sourcefilename is None:
        # C divides by each source's wavelength: 0 gives a NaN image, < 0 a meaningless one.
        raise InputError("-dispersion %g%%: the wavelengths reach %g A; the spread must stay below 200%%"
                         % (s.dispersion * 100, float(np.min(wavelengths)) * 1e10))

    # --- mosaic domains (L2436-2455): always 3 draws per domain from the shared stream
    uniforms, _ = mos.draw_uniforms(rng, s.mosaic_seed, domains)
    draws = mos.draws_from_uniforms(uniforms)
    post.append("  created a total of %d mosaic domains" % domains)

    mask = _load_mask(s, workdir, det.fpixels, det.spixels)
    static = SetupStatic(
        detector=det, centre=centre, user_cell=cryst["user_cell"],
        misset_given=cryst["misset_given"], U=cryst["U"],
        sources=grid, mosaic=draws, mosaic_apply=spread > 0.0, phi=phi, thick=thick, mu=mu,
        water_size=s.water_size, hkl=table, hkls=hkls, mask=mask, kahn=s.polarization,
        fudge=s.fudge, dmin=s.dmin, sample_xyz=(s.sample_x, sample_y, sample_z))
    layout = Layout(
        spixels=det.spixels, fpixels=det.fpixels, oversample=oversample, thicksteps=thick.steps,
        phisteps=phi.steps, mosaic_domains=domains, sources=grid.count, shape=s.xtal_shape,
        interpolate=bool(interpolate), has_table=hkls > 0, oversample_thick=s.oversample_thick,
        oversample_polar=s.oversample_polar, oversample_omega=s.oversample_omega,
        point_pixel=s.point_pixel, curved=s.curved_detector, nopolar=s.nopolar,
        has_thickness=thick.range != 0.0, use_dmin=s.dmin > 0.0, water=s.water_size != 0.0,
        roi=roi, has_mask=mask is not None, mode=s.mode, dtype=s.dtype)
    exp = Experiment(settings=s, layout=layout, params=params, static=static, header={},
                     summary=[], rng=rng, warnings=warnings,
                     fdump_path=_path(workdir, s.dumpfilename) if s.hklfilename is not None else None)
    report = geometry_report(exp, params)
    exp.header = report_.header_fields(exp, report)
    exp.summary = (pre + ["nanoBragg nanocrystal diffraction simulator - James Holton and Ken "
                          "Frankel 5-17-17"] + post + report_.summary_block(exp, report, fluence, hkls))
    exp.warnings += report_.quirk_warnings(
        exp, report, read_dump=s.hklfilename is None and table is not None)
    if s.geom_file is not None:  # a CrystFEL geometry file's panels replace the flags' detector
        exp = attach_crystfel_geometry(exp, _path(workdir, s.geom_file))
    if listed is not None and listed.panels is not None:  # an experiment list's several panels
        exp = attach_panels(exp, listed.panels, f"--experiment {s.experiment_file}")
    return exp


def write_structure_factor_dump(exp: Experiment) -> bool:
    """Write the structure-factor dump C leaves after reading -hkl (Fdump.bin, F1/F2).

    Like C, a dump that cannot be written is not an error: the summary line announcing it becomes
    C's warning instead.  Returns whether the dump was written (False also when there is none).

    Arguments:
        exp: the experiment (`build_experiment`); `exp.fdump_path` is None when no dump is due,
            `exp.static.hkl` is the table written.  On failure `exp.summary` is edited in place.
    Returns:
        bool: True when the file was written; False when no dump is due or writing failed
        (OSError or InputError are caught, never raised).
    """
    if exp.fdump_path is None:
        return False
    name = exp.settings.dumpfilename
    try:
        write_fdump(exp.fdump_path, exp.static.hkl)
        return True
    except (OSError, InputError):  # C warns and carries on
        exp.summary = [_DUMP_FAILED % name if line == _DUMP_WRITTEN % name else line
                       for line in exp.summary]
        return False
