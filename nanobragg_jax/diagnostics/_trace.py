"""-trace_pixel S F: every intermediate quantity of one pixel, as `TRACE_PY:` lines with the keys of
the C traces in the goldens (`TRACE_C:`), so `nanobragg trace-diff` can name the first divergence.

The pixel is recomputed here by explicit loops in C's order (layer, sub-pixel, source, phi, domain)
on float64 host values - an independent reference for the vectorised kernel.  The run-order state
the pixel starts from (the c-parity phi vectors, the interpolation switch) comes from rendering the
pixels before it with the kernel's own carry.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import jax.numpy as jnp
import numpy as np

from nanobragg_jax.constants import R_E, R_E_SQR
from nanobragg_jax.render import physics as ph
from nanobragg_jax.render import structure_factors as sf
from nanobragg_jax.render import carry_for_mode, lattice_factor, render_block


def _g(x) -> str:
    return format(float(x), ".15g")


def _vec(v) -> str:
    return " ".join(_g(x) for x in np.asarray(v, float).reshape(-1))


def _state_before(model, slow: int, fast: int):
    """(phi-carry state, interpolation switch) the run has when it reaches pixel (slow, fast)."""
    L = model.layout
    carry = carry_for_mode(L.mode)
    state = carry.init(jnp.asarray(model.crystal.cell, jnp.float64))
    on = jnp.asarray(L.interpolate)
    xmin, xmax, ymin, ymax = L.roi
    if not (L.use_dmin or L.interpolate):
        # Every active pixel reaches the phi loop: the state only depends on whether an active
        # pixel precedes this one in raster order.
        rows = np.arange(L.spixels)[:, None]
        cols = np.arange(L.fpixels)[None, :]
        active = (cols >= xmin) & (cols <= xmax) & (rows >= ymin) & (rows <= ymax)
        if L.has_mask:
            active &= np.asarray(model.detector.mask, bool)
        before = active.reshape(-1)[: slow * L.fpixels + fast].any()
        phis = model.spindle.phi0 + model.spindle.phistep * jnp.arange(L.phisteps, dtype=jnp.float64)
        cell = jnp.asarray(model.crystal.cell, jnp.float64)
        phi_cells = ph.rotate_axis(cell[None], jnp.asarray(model.spindle.axis, jnp.float64)[None, None], phis[:, None])
        state, _, _ = carry.step(state, phis, phi_cells, jnp.asarray(bool(before)))
        return state, bool(on)
    passes = [(xmin, xmax, ymin, min(ymax, slow - 1)), (xmin, min(xmax, fast - 1), max(ymin, slow), min(ymax, slow))]
    for roi in passes:
        if roi[0] > roi[1] or roi[2] > roi[3]:
            continue
        m = dataclasses.replace(L, roi=roi)
        sub = type(model)(model.detector, model.beam, model.crystal, model.spindle, m)
        state, on, _, _ = render_block(sub, state, on, jnp.asarray(0), L.spixels, 1, False)
    return state, bool(on)


def trace_pixel(model, slow: int, fast: int, emit: Callable[[str], None] = print, prefix: str = "TRACE_PY") -> float:
    """Print the trace of pixel (slow, fast) and return its final (double) value.

    The pixel is recomputed in C's loop order (A9) with the scaling of A6 (r_e^2 fluence I / steps,
    then capture, polar and omega unless oversampled, A5).

    Arguments:
        model: the Model (`setup.build_model`); host float64 values are read from it.
        slow, fast: pixel indices (0-based).
        emit: called with each output line (str): the DETECTOR_* lines, then `prefix`: key value.
        prefix: the tag of the trace lines ("TRACE_PY"; the C build writes "TRACE_C").
    Returns:
        float: the pixel's value in photons, in double precision (the trace's I_pixel_final; the
        float image stores it rounded to float32).
    """
    L = model.layout
    det = {k: np.asarray(getattr(model.detector, k), float) for k in ("pix0", "fdet", "sdet", "odet", "beam")}
    px = float(model.detector.pixel_size)
    close = float(model.detector.close_distance)
    distance = float(model.detector.distance)
    thickstep = float(model.detector.thickstep)
    mu = float(model.detector.mu)
    inc = np.asarray(model.beam.incident, float)
    lam = np.asarray(model.beam.wavelength, float)
    pol_vec = jnp.asarray(model.beam.polar_vector, jnp.float64)
    kahn = float(model.beam.kahn)
    cr = model.crystal
    N = np.asarray(cr.N, float)
    umats = np.asarray(cr.umats, float)
    recip = np.asarray(cr.recip, float)
    cell = np.asarray(cr.cell, float)
    phi0, phistep = float(model.spindle.phi0), float(model.spindle.phistep)
    spindle = jnp.asarray(model.spindle.axis, jnp.float64)

    out = lambda key, value: emit(f"{prefix}: {key} {value}")
    emit(f"DETECTOR_FAST_AXIS {_vec(det['fdet'])}")
    emit(f"DETECTOR_SLOW_AXIS {_vec(det['sdet'])}")
    emit(f"DETECTOR_NORMAL_AXIS {_vec(det['odet'])}")
    emit(f"DETECTOR_PIX0_VECTOR {_vec(det['pix0'])}")
    emit(f"TRACE_CONFIG: tracing pixel (spixel={slow}, fpixel={fast})")

    state, interp_on = _state_before(model, slow, fast)
    carry = carry_for_mode(L.mode)
    phis = phi0 + phistep * np.arange(L.phisteps)
    phi_cells = ph.rotate_axis(jnp.asarray(cell)[None], spindle[None, None], jnp.asarray(phis)[:, None])
    _, first_cells, other_cells = carry.step(state, jnp.asarray(phis), phi_cells, jnp.asarray(True))
    first_cells, other_cells = np.asarray(first_cells), np.asarray(other_cells)
    fresh = True  # the pixel's first evaluation starts from the carried state

    os_ = L.oversample
    sub = px / os_
    I = float(cr.I_bg)
    polar = 1.0 if L.nopolar else 0.0
    omega = 0.0
    capture = 1.0
    cos2t = 0.0
    for t in range(L.thicksteps):
        capture = 0.0 if L.has_thickness else 1.0
        for subS in range(os_):
            for subF in range(os_):
                Fdet = sub * (fast * os_ + subF) + sub / 2.0
                Sdet = sub * (slow * os_ + subS) + sub / 2.0
                pos = Fdet * det["fdet"] + Sdet * det["sdet"] + t * thickstep * det["odet"] + det["pix0"]
                if L.curved:
                    v = ph.rotate_axis(jnp.asarray(distance * det["beam"]), jnp.asarray(det["sdet"]), pos[1] / distance)
                    pos = np.asarray(ph.rotate_axis(v, jnp.asarray(det["fdet"]), pos[2] / distance))
                airpath = float(np.sqrt(pos @ pos))
                d = pos / airpath
                if omega == 0.0 or L.oversample_omega:
                    omega = 1.0 / airpath / airpath if L.point_pixel else px * px / airpath / airpath * close / airpath
                if capture == 0.0 or L.oversample_thick:
                    par = float(d @ det["odet"])
                    capture = np.exp(-t * thickstep * mu / par) - np.exp(-(t + 1) * thickstep * mu / par)
                for s in range(L.sources):
                    q = (d - inc[s]) / lam[s]
                    stol = 0.5 * float(np.sqrt(q @ q))
                    if L.use_dmin and stol > 0 and float(cr.dmin) > 0.5 / stol:
                        continue
                    cos2t = float(d @ inc[s])
                    if polar == 0.0 or L.oversample_polar:
                        polar = float(ph.polarization_factor(kahn, jnp.asarray(inc[s]), jnp.asarray(d), pol_vec))
                    cells = first_cells if fresh else other_cells
                    fresh = False
                    for i, phi in enumerate(phis):
                        for m in range(L.mosaic_domains):
                            abc = cells[i] @ umats[m].T  # rows a, b, c after mosaic
                            hkl = abc @ q
                            F_latt, parts = _lattice(model, hkl, N, recip)
                            if F_latt == 0.0 and not L.water:
                                continue
                            hkl0 = np.ceil(hkl - 0.5)
                            F_cell, interp_on = _structure_factor(model, hkl, hkl0, interp_on)
                            term = F_cell * F_cell * F_latt * F_latt
                            I += term
                            if L.oversample_thick:
                                I *= capture
                            if L.oversample_polar:
                                I *= polar
                            if L.oversample_omega:
                                I *= omega
                            if m != 0:
                                continue
                            if i == 0 and s == 0:
                                out("pix0_vector_meters", _vec(det["pix0"]))
                                out("fdet_vec", _vec(det["fdet"]))
                                out("sdet_vec", _vec(det["sdet"]))
                                out("pixel_pos_meters", _vec(pos))
                                out("R_distance_meters", _g(airpath))
                                out("omega_pixel_sr", _g(omega))
                                out("close_distance_meters", _g(close))
                                out("obliquity_factor", _g(close / airpath))
                                out("diffracted_vec", _vec(d))
                                out("incident_vec", _vec(inc[s]))
                                out("lambda_meters", _g(lam[s]))
                                out("lambda_angstroms", _g(lam[s] * 1e10))
                                out("scattering_vec_A_inv", _vec(q))
                                for name, v in zip("abc", abc):
                                    out(f"rot_{name}_angstroms", _vec(v * 1e10))
                                for name, v in zip("abc", recip):
                                    out(f"rot_{name}_star_A_inv", _vec(v))
                                out("hkl_frac", _vec(hkl))
                                out("hkl_rounded", " ".join(str(int(x)) for x in hkl0))
                                if L.shape == "square":  # C traces the lattice factors of this shape only
                                    for name, v in zip("abc", parts):
                                        out(f"F_latt_{name}", _g(v))
                                    out("F_latt", _g(F_latt))
                            if s == 0 and L.shape == "square":
                                emit(
                                    f"{prefix}_PHI phi_tic={i} phi_deg={_g(np.degrees(phi))} k_frac={_g(hkl[1])} "
                                    f"F_latt_b={_g(parts[1])} F_latt={_g(F_latt)}"
                                )
                            if s == 0 and i == 0:
                                out("F_cell", _g(F_cell))
                            if s == 2 and i == 0:
                                for key, val in (
                                    ("F_cell", F_cell), ("F_latt", F_latt), ("F_cell_squared", F_cell * F_cell),
                                    ("F_latt_squared", F_latt * F_latt), ("I_contribution", term), ("polar", polar),
                                    ("cos2theta", cos2t), ("lambda_angstroms", lam[s] * 1e10), ("source_index", s),
                                ):
                                    out_key = f"{prefix}_SOURCE2: {key} {_g(val)}"
                                    emit(out_key)
    fluence = float(model.beam.fluence)
    value = R_E_SQR * fluence * I / L.steps
    if not L.oversample_thick:
        value *= capture
    if not L.oversample_polar:
        value *= polar
    if not L.oversample_omega:
        value *= omega
    out("I_before_scaling", _g(I))
    out("r_e_meters", _g(R_E))
    out("r_e_sqr", _g(R_E_SQR))
    out("fluence_photons_per_m2", _g(fluence))
    out("steps", str(L.steps))
    out("oversample_thick", str(int(L.oversample_thick)))
    out("oversample_polar", str(int(L.oversample_polar)))
    out("oversample_omega", str(int(L.oversample_omega)))
    out("capture_fraction", _g(capture))
    out("polar", _g(polar))
    out("omega_pixel", _g(omega))
    out("cos_2theta", _g(cos2t))
    out("I_pixel_final", _g(value))
    out("floatimage_accumulated", _g(np.float32(value)))
    return value


def _lattice(model, hkl, N, recip):
    """(F_latt, per-axis factors with C's sign) for one sample."""
    L = model.layout
    if L.shape == "square":
        parts = []
        for i in range(3):
            if N[i] > 1:
                v = float(ph.sincg(jnp.asarray(hkl[i]), N[i]) * ph.sincg_c_sign(jnp.asarray(hkl[i]), N[i]))
            else:
                v = 1.0
            parts.append(v)
        return parts[0] * parts[1] * parts[2], parts
    F = float(lattice_factor(model, jnp.asarray(hkl)[None])[0])
    return F, [float("nan")] * 3


def _structure_factor(model, hkl, hkl0, interp_on: bool):
    cr, L = model.crystal, model.layout
    near = float(sf.nearest_F(cr, *(jnp.asarray(x) for x in hkl0), L.has_table))
    if not (L.interpolate and interp_on):
        return near, interp_on
    if bool(sf.interpolation_out_of_range(cr, *(jnp.asarray(x)[None] for x in hkl))[0]):
        return near, False  # C quirk F4: switched off for the rest of the run
    return float(sf.interpolated_F(cr, *(jnp.asarray(x) for x in hkl))), True


def print_trace(exp, slow: int, fast: int, emit: Callable[[str], None] = print, p: Optional[dict] = None) -> float:
    """CLI entry: trace pixel (slow, fast) of an Experiment.

    Arguments:
        exp: the Experiment (`setup.build_experiment`).
        slow, fast: pixel indices (0-based).
        emit: called with each output line (str).
        p: continuous parameters in command-line units for `setup.build_model` (None: the
            experiment's own).
    Returns:
        float: the pixel's value in photons (see `trace_pixel`).
    Raises:
        KeyError: a name in `p` that is not one of the experiment's parameters (`build_model`).
    """
    from nanobragg_jax.setup import build_model

    return trace_pixel(build_model(exp, p), slow, fast, emit=emit)
