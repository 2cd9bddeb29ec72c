"""`build_model`: the continuous parameters (command-line units) -> the kernel's `Model` pytrees.

A pure JAX function of `params`, traceable and differentiable: mm, degrees and Angstrom are
converted to SI here, once.  `geometry_report` evaluates the same geometry on the host (numpy) for
the header and the printed summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional

import numpy as np

from nanobragg_jax.constants import AVOGADRO, R_E_SQR, RTD, WATER_F, WATER_MW
from nanobragg_jax.setup import _crystal as xtal
from nanobragg_jax.setup import _mosaic as mos
from nanobragg_jax.setup import _sources as src
from nanobragg_jax.setup._detector import (
    DetectorStatic,
    detector_geometry,
    fs_from_beam_centre,
)
from nanobragg_jax.setup._summary import header_geometry
from nanobragg_jax.vectors import c_divide

if TYPE_CHECKING:
    from nanobragg_jax.render import Model
    from nanobragg_jax.setup._experiment import Experiment


def cell_radians(cell_deg, xp):
    """(a, b, c [A], alpha, beta, gamma [deg]) -> the same with the angles in radians."""
    return [cell_deg[0], cell_deg[1], cell_deg[2], cell_deg[3] / RTD, cell_deg[4] / RTD,
            cell_deg[5] / RTD]


def geometry_from_params(xp, det: DetectorStatic, p: dict) -> dict:
    """Detector geometry (SI, see `detector_geometry`) from the params dict (CLI units), with array
    module xp (numpy for host values, jax.numpy inside `build_model`)."""
    bc = c_divide(xp, xp.asarray(p["beam_center"]), 1000.0)
    Fbeam, Sbeam = fs_from_beam_centre(det.convention, bc[0], bc[1], det.pixel_size,
                                           det.detsize_s)
    if det.convention == "custom":
        Fclose, Sclose = bc[0], bc[1]  # C: CUSTOM sets Fclose = Xbeam, Sclose = Ybeam
    else:
        cc = c_divide(xp, xp.asarray(p["close_center"]), 1000.0)
        Fclose, Sclose = cc[0], cc[1]
    rot = xp.asarray(p["detector_rot"]) / RTD
    return detector_geometry(
        xp, det, Fbeam=Fbeam, Sbeam=Sbeam, Fclose=Fclose, Sclose=Sclose,
        distance=c_divide(xp, xp.asarray(p["distance"]), 1000.0),
        close_distance=c_divide(xp, xp.asarray(p["close_distance"]), 1000.0),
        rotx=rot[0], roty=rot[1], rotz=rot[2], twotheta=xp.asarray(p["twotheta"]) / RTD)


def full_params(exp: Experiment, params: Optional[Mapping] = None) -> dict:
    """`params` completed with the experiment's own values for the names it lacks.

    Arguments:
        exp: the experiment (`build_experiment`); `exp.params` holds every parameter.
        params: some or all parameters in command-line units (mm, deg, A, ...); None: none.
    Returns:
        dict name -> value holding every name of `exp.params`, with `params` taking precedence.
    Raises:
        KeyError: a name that is not one of the experiment's parameters (`exp.params`).
        ValueError: a value whose shape is not that of the experiment's own value (e.g. a `cell`
            of 3 numbers where it takes 6): JAX would index past its end without an error.  Under
            `jax.vmap` the shapes are those of one batch element.
    """
    unknown = set(params or ()) - set(exp.params)
    if unknown:
        raise KeyError(f"unknown parameter(s) {sorted(unknown)}; this experiment has {sorted(exp.params)}")
    full = dict(exp.params)
    if params is not None:
        for name, value in params.items():
            want, got = np.shape(exp.params[name]), tuple(getattr(value, "shape", np.shape(value)))
            if got != want:
                raise ValueError(f"parameter {name!r} has shape {got}; this experiment's {name} has "
                                 f"shape {want}")
        full.update(params)
    return full


def build_model(exp: Experiment, params: Optional[Mapping] = None) -> Model:
    """The kernel's Model for the experiment at `params`: a pure JAX function, differentiable with
    respect to every entry (jax.grad, jvp, vmap over any of them).

    Arguments:
        exp: the experiment (`build_experiment`); its static decisions are fixed.
        params: some or all of the continuous parameters in command-line units (mm, deg, A, ...;
            the names and units of `nanobragg_jax.api.PARAMETERS`); missing names take the
            experiment's values.  None: the experiment's own.
    Returns:
        Model in SI units (metres, radians, photons/m^2).
    Raises:
        KeyError: an unknown parameter name.
    """
    params = full_params(exp, params)
    # Imported here, not at the top: the set-up itself is host code, and the CLI's warm start
    # (which never builds a Model on the host) then imports neither JAX's numpy nor equinox.
    import jax.numpy as jnp

    from nanobragg_jax.render import Detector, Model

    st, L = exp.static, exp.layout
    p = {k: jnp.asarray(v) for k, v in params.items()}
    det = st.detector
    g = geometry_from_params(jnp, det, p)
    mask = None if st.mask is None else jnp.asarray(st.mask)
    detector = Detector(
        pix0=g["pix0"], fdet=g["fdet"], sdet=g["sdet"], odet=g["odet"],
        pixel_size=jnp.asarray(det.pixel_size), close_distance=g["close_distance"],
        distance=g["distance"], beam=jnp.asarray(det.beam),
        thickstep=jnp.asarray(st.thick.step), mu=jnp.asarray(st.mu), mask=mask)
    beam, crystal, spindle = sample_and_beam(exp, p)
    return Model(detector=detector, beam=beam, crystal=crystal, spindle=spindle, layout=L)


def sample_and_beam(exp: Experiment, p: dict):
    """(Beam, Crystal, Spindle) pytrees from the params dict `p` (jax arrays, CLI units): the part
    of the Model every detector shares (`build_model`, `build_panel_models`)."""
    import jax.numpy as jnp

    from nanobragg_jax.render import Beam, Crystal, Spindle

    st = exp.static
    det = st.detector
    lambda0 = p["lambda"] / 1e10
    div = p["divergence"] / 1000.0
    positions, wavelengths = src.source_vectors(
        jnp, st.sources, det.beam, det.polar, det.vert, lambda0=lambda0,
        hdivrange=div[0], vdivrange=div[1], dispersion=p["dispersion"])
    beam = Beam(incident=-src.unit_rows(jnp, positions), wavelength=wavelengths,
                polar_vector=jnp.asarray(det.polar), kahn=jnp.asarray(st.kahn),
                fluence=p["fluence"])

    cv = xtal.crystal_vectors(jnp, cell_radians(p["cell"], jnp),
                              p["misset"] / RTD, st.U, st.user_cell)
    umats = mos.rotation_matrices(jnp, p["mosaic_spread"] / RTD, st.mosaic.axes,
                                  st.mosaic.fractions, apply=st.mosaic_apply)
    if st.hkl is not None:
        Fhkl = p.get("Fhkl", jnp.asarray(st.hkl.F))
        hkl_min = jnp.asarray(np.asarray(st.hkl.hkl_min), dtype=jnp.int32)
        hkl_max = jnp.asarray(np.asarray(st.hkl.hkl_max), dtype=jnp.int32)
    else:
        Fhkl = jnp.zeros((1, 1, 1))
        hkl_min = hkl_max = jnp.zeros(3, dtype=jnp.int32)
    w = st.water_size
    # C quirk A7: the water term is already scaled by r_e^2*fluence here, and again at the end.
    I_bg = WATER_F * WATER_F * R_E_SQR * p["fluence"] * w * w * w * 1e6 * AVOGADRO / WATER_MW
    crystal = Crystal(
        cell=cv["real"] * 1e-10, recip=cv["recip"], N=p["N"], fudge=jnp.asarray(st.fudge),
        umats=umats, Fhkl=Fhkl, hkl_min=hkl_min, hkl_max=hkl_max, default_F=p["default_F"],
        I_bg=I_bg, dmin=jnp.asarray(st.dmin))
    spindle = Spindle(phi0=p["phi0"] / RTD, phistep=p["phistep"] / RTD,
                      axis=jnp.asarray(det.spindle))
    return beam, crystal, spindle


def geometry_report(exp: Experiment, params: dict) -> dict:
    """Eager host values of the derived geometry (SI unless the key says mm).

    Arguments:
        exp: the experiment (`build_experiment`).
        params: every continuous parameter in command-line units (see `full_params`); "Fhkl" is
            ignored.
    Returns:
        dict of host floats and float64 arrays: the keys of `detector_geometry` (m, unit vectors),
        ORGX, ORGY (pixels), dials_origin (mm), xds_incident_beam (from `header_geometry`),
        real_A (3, 3) rows a, b, c in Angstrom, recip_A (3, 3) rows a*, b*, c* in 1/Angstrom,
        V_cell in Angstrom^3 (crystal at phi = 0 after the misset), Xbeam, Ybeam in m.
    """
    det = exp.static.detector
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items() if k != "Fhkl"}
    g = geometry_from_params(np, det, p)
    out = {k: (np.asarray(v, dtype=np.float64) if np.ndim(v) else float(v)) for k, v in g.items()}
    out.update(header_geometry(g, det))
    cv = xtal.crystal_vectors(np, cell_radians(p["cell"], np),
                              p["misset"] / RTD,
                              exp.static.U, exp.static.user_cell)
    out["real_A"] = np.asarray(cv["real"])
    out["recip_A"] = np.asarray(cv["recip"])
    out["V_cell"] = float(cv["V_cell"])
    out["Xbeam"], out["Ybeam"] = (float(x) / 1000.0 for x in p["beam_center"])
    return out

