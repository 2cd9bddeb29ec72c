"""Set-up rules against the numbers c-behaviour.md measured on the C program (G2-G9, A11, S-3/S-4,
C1, C4, C5) and the build_model contract (jit, grad, numpy/JAX agreement)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nanobragg_jax.setup import _sampling as smp
from nanobragg_jax.noise import CRandom
from nanobragg_jax.setup._random_orientation import mosaic_umats
from nanobragg_jax.errors import InputError
from nanobragg_jax.constants import DBL_MIN, RTD
from nanobragg_jax.setup._mosaic import draw_uniforms, draws_from_uniforms, rotation_matrices
from nanobragg_jax.args import Settings
from nanobragg_jax.setup import build_experiment, build_model, geometry_report, write_structure_factor_dump
from nanobragg_jax.setup._sources import divergence_grid, source_vectors

DEG = 1.0 / RTD


def settings(**kw):
    base = dict(user_cell=True, cell_a=100.0, cell_b=100.0, cell_c=100.0, cell_alpha=90 * DEG,
                cell_beta=90 * DEG, cell_gamma=90 * DEG, default_F=100.0, oversample=1,
                calculate_noise=False, misset_seed=-1, seed=-1)
    base.update(kw)
    return Settings(**base)


def build(tmp_path, **kw):
    return build_experiment(settings(**kw), workdir=str(tmp_path))


# --- G2: beam-centre defaults per convention (4 fast x 6 slow pixels of 0.1 mm) -------------------
@pytest.mark.parametrize("conv, fbeam_mm, sbeam_mm", [
    ("mosflm", 0.3, 0.4), ("denzo", 0.25, 0.35), ("adxv", 0.25, 0.35),
    ("xds", 0.2, 0.3), ("dials", 0.2, 0.3), ("custom", 0.2, 0.3)])
def test_beam_centre_defaults(tmp_path, conv, fbeam_mm, sbeam_mm):
    exp = build(tmp_path, beam_convention=conv, fpixels=4, spixels=6, pixel_size=1e-4)
    r = geometry_report(exp, exp.params)
    assert r["Fbeam"] * 1000 == pytest.approx(fbeam_mm, abs=1e-12)
    assert r["Sbeam"] * 1000 == pytest.approx(sbeam_mm, abs=1e-12)


# --- G3: the convention forces the pivot; CUSTOM keeps the flags' pivot ----------------------------
@pytest.mark.parametrize("conv, flag_pivot, want", [
    ("mosflm", "sample", "beam"), ("adxv", "sample", "beam"), ("denzo", "sample", "beam"),
    ("xds", "beam", "sample"), ("dials", "beam", "sample"),
    ("custom", "sample", "sample"), ("custom", "beam", "beam")])
def test_pivot_override(tmp_path, conv, flag_pivot, want):
    exp = build(tmp_path, beam_convention=conv, detector_pivot=flag_pivot, fpixels=8, spixels=8)
    assert exp.static.detector.pivot == want


def test_twotheta_pivots_around_beam_in_mosflm(tmp_path):
    """G3 + G9: MOSFLM -distance 100 -twotheta 20 keeps the beam spot, header DISTANCE=93.9693."""
    exp = build(tmp_path, fpixels=4, spixels=6, pixel_size=1e-4, detector_twotheta=20 * DEG,
                detector_pivot="sample")
    r = geometry_report(exp, exp.params)
    assert float(exp.header["DISTANCE"]) == pytest.approx(93.9693, abs=5e-5)
    # the beam really hits the original spot (Fbeam 0.3 mm, Sbeam 0.4 mm) at 100 mm
    hit = r["pix0"] + 0.3e-3 * r["fdet"] + 0.4e-3 * r["sdet"]
    np.testing.assert_allclose(hit, [0.1, 0.0, 0.0], atol=1e-15)
    assert r["distance"] == pytest.approx(0.1 * math.cos(20 * DEG), rel=1e-14)


# --- G5: odet check ----------------------------------------------------------------------------------
def test_odet_kept_when_not_perpendicular(tmp_path):
    exp = build(tmp_path, beam_convention="custom", fdet_vector=(1, 0, 0), sdet_vector=(0, 1, 0),
                beam_vector=(0, 0, 1), fpixels=4, spixels=4, pixel_size=1e-4)
    r = geometry_report(exp, exp.params)
    np.testing.assert_array_equal(r["odet"], [1.0, 0.0, 0.0])
    assert float(r["ratio"]) == DBL_MIN
    # close_distance = pix0.o = -Fbeam (0.2 mm), distance = close/DBL_MIN: C printed -9e303
    assert r["distance"] == pytest.approx(-0.2e-3 / DBL_MIN, rel=1e-12)
    assert "WARNING: auto-generating odet_vector" not in exp.summary


def test_odet_regenerated_when_not_unit(tmp_path):
    exp = build(tmp_path, beam_convention="custom", odet_vector=(2, 0, 0), fpixels=4, spixels=4)
    assert exp.static.detector.odet_regenerated
    assert exp.summary[0] == "WARNING: auto-generating odet_vector"
    # unit(f x s) with the initial f (0,0,1), s (0,-1,0)
    np.testing.assert_allclose(exp.static.detector.odet, (1.0, 0.0, 0.0))


# --- G6: twotheta_axis is not normalised -------------------------------------------------------------
def test_twotheta_axis_not_normalised(tmp_path):
    common = dict(beam_convention="custom", detector_pivot="sample", fpixels=8, spixels=8)
    flat = geometry_report(*(lambda e: (e, e.params))(build(tmp_path, **common)))
    exp = build(tmp_path, twotheta_axis=(5, 0, 0), detector_twotheta=5 * DEG, **common)
    r = geometry_report(exp, exp.params)
    c = math.cos(5 * DEG)
    # Rodrigues with |axis| = 5: x' = x (25 (1 - cos) + cos), i.e. about 1.09 (C measured 1.09)
    assert r["pix0"][0] / flat["pix0"][0] == pytest.approx(25 * (1 - c) + c, rel=1e-14)
    assert r["pix0"][0] / flat["pix0"][0] == pytest.approx(1.09, abs=0.002)


# --- A11: phi grid -------------------------------------------------------------------------------
@pytest.mark.parametrize("osc, step, steps, want", [
    (-1, -1, -1, (0.0, 0.0, 1)),
    (0.5, -1, -1, (0.5, 0.25, 2)),
    (-1, 0.3, -1, (0.3, 0.3, 2)),
    (-1, -1, 4, (1.0, 0.25, 4)),
    (1.0, 0.3, -1, (1.0, 0.3, 4)),
    (-1, 0.3, 7, (0.3, 0.3, 2)),
    (-1, -1, 0, (1.0, 1.0, 1)),
    (2.0, -1, 4, (2.0, 0.5, 4)),
])
def test_phi_rules(osc, step, steps, want):
    rad = lambda x: x * DEG if x > 0 else x
    a = smp.resolve_phi(rad(osc), rad(step), steps)
    assert (a.range * RTD, a.step * RTD, a.steps) == pytest.approx(want, rel=1e-12)


# --- S-3 / S-4: divergence, dispersion, thickness ------------------------------------------------
def test_divergence_range_and_step_is_asymmetric():
    h = smp.sanity(smp.resolve_spread(0.28e-3, 0.02e-3, -1))
    v = smp.sanity(smp.resolve_spread(-1.0, -1.0, -1))
    g = divergence_grid(h, v, smp.Axis(0, 0, 1), round_div=True)
    pos, _ = source_vectors(np, g, (1, 0, 0), (0, 0, 1), (0, -1, 0), lambda0=1e-10)
    hdiv = [h.step * i - h.range / 2 for i, _ in g.kept]
    assert len(hdiv) == 14 and hdiv[0] == pytest.approx(-0.14e-3) and hdiv[-1] == pytest.approx(0.12e-3)
    assert pos.shape == (14, 3)


def test_divergence_count_alone_spans_one_radian():
    h = smp.sanity(smp.resolve_spread(-1.0, -1.0, 3))
    assert [h.step * i - h.range / 2 for i in range(h.steps)] == pytest.approx([-0.5, -1 / 6, 1 / 6])


@pytest.mark.parametrize("rng, step, n, kept", [
    (1e-3, -1.0, 3, 5), (1e-3, -1.0, 2, 4), (0.28e-3, 0.02e-3, -1, 167)])
def test_round_divergence_trimming(rng, step, n, kept):
    a = smp.sanity(smp.resolve_spread(rng, step, n))
    g = divergence_grid(a, a, smp.Axis(0, 0, 1), round_div=True)
    assert len(g.kept) == kept
    assert len(divergence_grid(a, a, smp.Axis(0, 0, 1), round_div=False).kept) == a.steps ** 2


def test_dispersion_and_thickness_rules():
    assert smp.sanity(smp.resolve_spread(0.0, -1.0, 5)) == smp.Axis(0.0, 0.0, 1)  # -dispsteps alone
    assert smp.resolve_spread(0.02, -1.0, 3) == smp.Axis(0.02, 0.01, 3)
    assert smp.resolve_thickness(450e-6, -1.0, 4).step == pytest.approx(150e-6)
    assert smp.resolve_thickness(100e-6, -1.0, -1) == smp.Axis(100e-6, 50e-6, 2)
    assert smp.resolve_thickness(100e-6, -1.0, 1) == smp.Axis(100e-6, 100e-6, 2)  # 1 becomes 2
    assert smp.resolve_thickness(-1.0, -1.0, 5).range == 0.5e-6
    assert smp.resolve_mu(450e-6, -1.0)[0] == pytest.approx(1 / 450e-6)


def test_mosaic_domain_rules():
    assert smp.resolve_mosaic(-1.0, -1)[:2] == (0.0, 1)
    assert smp.resolve_mosaic(0.01, -1)[:2] == (0.01, 10)
    assert smp.resolve_mosaic(-1.0, 5)[:2] == (0.0, 1)
    assert smp.resolve_mosaic(0.0, 5)[:2] == (0.0, 1)
    assert smp.resolve_mosaic(0.01, 5)[:2] == (0.01, 5)


def test_interpolation_uses_command_line_N():
    assert smp.auto_interpolate(2, 1, 1, 1)[0] == 1  # -xtalsize with the default N: on (F3)
    assert smp.auto_interpolate(2, 3, 3, 3)[0] == 0
    assert smp.auto_interpolate(0, 1, 1, 1)[0] == 0


def test_fluence_and_clipping():
    assert smp.resolve_fluence(1.0, 1e12, 0.5, 0.05e-3) == pytest.approx(1e12 * 0.5 / 0.05e-3 ** 2)
    y, z, lines = smp.clip_sample(0.2e-3, 0.2e-3, 0.1e-3)
    assert (y, z) == (0.1e-3, 0.1e-3) and len(lines) == 2


# --- C1, C4: the cell ------------------------------------------------------------------------------
def test_triclinic_cell_angles_are_off_as_in_c(tmp_path):
    exp = build(tmp_path, cell_a=70.0, cell_b=80.0, cell_c=90.0, cell_alpha=75 * DEG,
                cell_beta=85 * DEG, cell_gamma=95 * DEG, fpixels=8, spixels=8)
    assert "Unit Cell: 70 80 90 75.0391 85.0136 95.0081" in exp.summary


def test_cells_from_crystal_size(tmp_path):
    exp = build(tmp_path, cell_a=70.0, cell_b=70.0, cell_c=70.0, sample_x=0.2e-3, sample_y=0.2e-3,
                sample_z=0.2e-3, fpixels=8, spixels=8)
    assert list(exp.params["N"]) == [28572.0, 14286.0, 14286.0]
    assert "crystal is 200.004 x 100.002 x 100.002 microns" in exp.summary
    # F3: the command-line N (1) decides; no table was loaded, so it is then switched off (hkls = 0)
    assert "auto-selected tricubic interpolation of structure factors" in exp.summary
    assert not exp.layout.interpolate


# --- C5: mosaic matrices as a function of the spread ----------------------------------------------
@pytest.mark.parametrize("spread_deg, domains, seed", [(0.5, 6, -777), (1.0, 3, -12345678), (20.0, 4, -3)])
def test_mosaic_matrices_match_crandom(spread_deg, domains, seed):
    want, _ = mosaic_umats(CRandom(), spread_deg * DEG, domains, seed)
    r, _ = draw_uniforms(CRandom(), seed, domains)
    d = draws_from_uniforms(r)
    got = rotation_matrices(jnp, jnp.asarray(spread_deg * DEG), d.axes, d.fractions)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-12)


def test_mosaic_matrices_known_values():
    """c-behaviour 2: -mosaic 1 with the default mosaic seed, domain 1, all digits."""
    r, _ = draw_uniforms(CRandom(), -12345678, 3)
    d = draws_from_uniforms(r)
    U = np.asarray(rotation_matrices(np, np.float64(1.0 * DEG), d.axes, d.fractions))
    assert U[1, 0, 0] == pytest.approx(0.99986368592193575, abs=1e-15)
    assert U[1, 0, 1] == pytest.approx(-0.01594877166007503, abs=1e-15)
    assert U[2, 1, 2] == pytest.approx(0.011207199804992794, abs=1e-15)
    np.testing.assert_array_equal(U[0], np.eye(3))


# --- build_model: jit, grad, agreement with the host values -----------------------------------------
def test_build_model_matches_host_geometry(tmp_path):
    exp = build(tmp_path, fpixels=16, spixels=12, detector_rotx=4 * DEG, detector_roty=3 * DEG,
                detector_twotheta=10 * DEG, misset=(10 * DEG, 20 * DEG, 30 * DEG), cell_alpha=75 * DEG,
                mosaic_spread=0.3 * DEG, mosaic_domains=3, hdivrange=1e-3, hdivsteps=3, dispersion=0.01,
                dispsteps=3)
    m = jax.jit(lambda p: build_model(exp, p))(exp.params)
    r = geometry_report(exp, exp.params)
    for key in ("pix0", "fdet", "sdet", "odet"):
        np.testing.assert_allclose(np.asarray(getattr(m.detector, key)), r[key], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(m.crystal.cell) * 1e10, r["real_A"], rtol=1e-12, atol=1e-12)
    assert m.beam.incident.shape == (9, 3) and exp.layout.sources == 9
    assert m.crystal.umats.shape == (3, 3, 3)


@pytest.mark.parametrize("conv", ["mosflm", "xds"])
def test_build_model_is_differentiable(tmp_path, conv):
    exp = build(tmp_path, beam_convention=conv, fpixels=16, spixels=16, detector_twotheta=5 * DEG,
                detector_rotx=2 * DEG, misset=(1 * DEG, 2 * DEG, 3 * DEG), mosaic_spread=0.5 * DEG,
                mosaic_domains=3, hdivrange=1e-3, vdivrange=1e-3, hdivsteps=3, vdivsteps=3,
                dispersion=0.01, dispsteps=3, water_size=1e-6)

    def f(p):
        m = build_model(exp, p)
        return (jnp.sum(m.detector.pix0) + jnp.sum(m.detector.odet) + m.detector.close_distance
                + jnp.sum(m.crystal.cell) * 1e9 + jnp.sum(m.crystal.recip) + jnp.sum(m.crystal.umats)
                + jnp.sum(m.beam.incident) + m.beam.wavelength[0] * 1e10 + m.crystal.I_bg * 1e-20
                + m.spindle.phi0 + m.spindle.phistep + jnp.sum(m.crystal.N))

    p = {k: jnp.asarray(v) for k, v in exp.params.items()}
    grads = jax.grad(f)(p)
    for key, g in grads.items():
        assert np.all(np.isfinite(np.asarray(g))), key
    # the pivot decides which centre and distance drive pix0
    moving = ("distance", "beam_center") if conv == "mosflm" else ("close_center",)
    for key in ("cell", "misset", "lambda", "detector_rot", "twotheta", "mosaic_spread",
                "divergence", "dispersion", "fluence") + moving:
        assert np.any(np.asarray(grads[key]) != 0.0), key
    # finite differences agree with the gradient for the distance
    g = jax.grad(lambda d: jnp.sum(build_model(exp, dict(p, distance=d)).detector.pix0))
    h = 1e-3
    fd = (jnp.sum(build_model(exp, dict(p, distance=p["distance"] + h)).detector.pix0)
          - jnp.sum(build_model(exp, dict(p, distance=p["distance"] - h)).detector.pix0)) / (2 * h)
    assert float(g(p["distance"])) == pytest.approx(float(fd), rel=1e-7, abs=1e-15)


def test_pix0_gradient_wrt_distance_mosflm(tmp_path):
    exp = build(tmp_path, fpixels=16, spixels=16)
    p = {k: jnp.asarray(v) for k, v in exp.params.items()}
    # BEAM pivot: pix0 = ... + distance*b with b = (1,0,0): d sum(pix0)/d distance(mm) = 1e-3
    gd = jax.grad(lambda d: jnp.sum(build_model(exp, dict(p, distance=d)).detector.pix0))(p["distance"])
    assert float(gd) == pytest.approx(1e-3, rel=1e-12)


def test_missing_inputs_raise(tmp_path):
    with pytest.raises(InputError):
        build_experiment(settings(default_F=0.0, fpixels=4, spixels=4), workdir=str(tmp_path))
    with pytest.raises(InputError):
        build_experiment(settings(user_cell=False, cell_a=0.0, fpixels=4, spixels=4),
                         workdir=str(tmp_path))


# --- warnings and the Fdump cache -------------------------------------------------------------------
def test_quirk_warnings(tmp_path):
    tri = build(tmp_path, cell_a=70.0, cell_b=80.0, cell_c=90.0, cell_alpha=75 * DEG,
                cell_beta=85 * DEG, cell_gamma=95 * DEG, fpixels=8, spixels=8, detector_twotheta=DEG)
    assert any("C quirk C1" in w for w in tri.warnings)
    assert any("C quirk G9" in w for w in tri.warnings)
    cubic = build(tmp_path, fpixels=8, spixels=8)
    assert cubic.warnings == []


def test_fdump_cache_is_read_without_hkl(tmp_path):
    """F1: -hkl writes Fdump.bin; a later run without -hkl reads it even with -default_F."""
    (tmp_path / "f.hkl").write_text("0 0 0 10\n1 0 0 20\n0 1 0 30\n")
    first = build(tmp_path, hklfilename="f.hkl", fpixels=8, spixels=8)
    assert write_structure_factor_dump(first)
    assert (tmp_path / "Fdump.bin").exists() and first.static.hkls == 3
    second = build(tmp_path, default_F=5.0, fpixels=8, spixels=8)
    assert second.layout.has_table and second.static.hkls == 2 * 2 * 1
    np.testing.assert_array_equal(second.params["Fhkl"], first.params["Fhkl"])
    assert "reading Fs from Fdump.bin" in second.summary
    assert any("C quirk F1" in w for w in second.warnings)
    m = build_model(second, second.params)
    assert m.crystal.Fhkl.shape == (3, 3, 2) and list(np.asarray(m.crystal.hkl_max)) == [1, 1, 0]


def test_random_state_continues_after_misset_and_mosaic(tmp_path):
    """Order of RNG use: random misset (3 calls), then 3 calls per mosaic domain (c-behaviour 2)."""
    from nanobragg_jax.setup._random_orientation import random_misset

    exp = build(tmp_path, fpixels=8, spixels=8, misset_random=True, misset_seed=-4242,
                mosaic_spread=0.5 * DEG, mosaic_domains=4, mosaic_seed=-777)
    ref = CRandom()
    angles, _ = random_misset(ref, -4242)
    umats, _ = mosaic_umats(ref, 0.5 * DEG, 4, -777)
    np.testing.assert_array_equal(exp.rng.istate, ref.istate)
    np.testing.assert_allclose(exp.params["misset"], np.array(angles) * RTD, rtol=1e-15)
    np.testing.assert_allclose(np.asarray(build_model(exp, exp.params).crystal.umats), umats,
                               rtol=0, atol=1e-12)


def test_misset_can_be_refined_from_zero(tmp_path):
    """No -misset: the rotation is by exactly 0 (C skips it), yet its gradient is available."""
    exp = build(tmp_path, fpixels=8, spixels=8)
    assert not exp.static.misset_given
    p = {k: jnp.asarray(v) for k, v in exp.params.items()}
    cell = np.asarray(build_model(exp, p).crystal.cell)
    np.testing.assert_allclose(cell * 1e10, geometry_report(exp, exp.params)["real_A"], atol=1e-13)
    g = jax.grad(lambda m: build_model(exp, dict(p, misset=m)).crystal.cell[0, 1])(p["misset"])
    # a = (100 A, 0, 0): rotating about z by rz moves a.y by 100 A * rz (rad)
    np.testing.assert_allclose(np.asarray(g), [0.0, 0.0, 100e-10 / RTD], atol=1e-22)


def test_mat_with_cell_keeps_directions_and_forces_lengths(tmp_path):
    """C2: with -mat and -cell, directions come from the matrix, lengths from the cell."""
    import shutil

    from conftest import INPUTS

    shutil.copy(INPUTS / "A.mat", tmp_path / "A.mat")
    common = dict(matfilename="A.mat", lambda0=0.9768e-10, fpixels=8, spixels=8)
    mat_only = build(tmp_path, user_cell=False, cell_a=0.0, **common)
    assert "Unit Cell: 26.7514 31.31 33.6734 88.687 71.5295 68.1375" in mat_only.summary
    both = build(tmp_path, cell_a=30.0, cell_b=35.0, cell_c=40.0, cell_alpha=80 * DEG,
                 cell_beta=75 * DEG, cell_gamma=70 * DEG, **common)
    r1 = geometry_report(mat_only, mat_only.params)["real_A"]
    r2 = np.asarray(build_model(both, both.params).crystal.cell) * 1e10
    np.testing.assert_allclose(np.linalg.norm(r2, axis=1), [30.0, 35.0, 40.0], rtol=1e-13)
    unit = lambda r: r / np.linalg.norm(r, axis=1)[:, None]
    np.testing.assert_allclose(unit(r2), unit(r1), atol=1e-13)
