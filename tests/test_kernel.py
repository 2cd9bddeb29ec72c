"""Kernel properties: no recompiles when traced numbers change, finite gradients at singular points,
bounded chunks, closed forms of the lattice factor."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nanobragg_jax.render import physics as ph
from nanobragg_jax.render import render
from nanobragg_jax.layout import default_chunk_rows, samples_per_pixel

SMALL = (
    "-cell 60 62 64 90 90 90 -default_F 10 -N 3 -lambda 1 -distance 80 -detpixels 10 -pixel 0.3 "
    "-oversample 2 -phi 0 -osc 1 -phisteps 2 -mosaic 0.3 -mosaic_dom 2 -twotheta 5 -dispersion 1 -dispsteps 2 "
    "-detector_thick 100 -detector_thicksteps 2 -detector_abs 200 -water 5 -nonoise -nopgm"
)


@pytest.fixture
def small_model(tmp_path, monkeypatch):
    from nanobragg_jax.api import from_cli
    from nanobragg_jax.setup import build_model

    monkeypatch.chdir(tmp_path)
    return build_model(from_cli(SMALL, workdir=str(tmp_path)))


@pytest.mark.parametrize("mode", ["spec", "c-parity"])
def test_no_recompile_when_any_traced_number_changes(small_model, mode):
    m = small_model
    m = type(m)(m.detector, m.beam, m.crystal, m.spindle, dataclasses.replace(m.layout, mode=mode))

    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(model):
        return render(model)

    base = np.asarray(run(m))
    leaves, treedef = jax.tree_util.tree_flatten_with_path(m)
    unchanged = set()
    for i, (path, leaf) in enumerate(leaves):
        if not jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating):
            continue
        bumped = [x for _, x in leaves]
        bumped[i] = leaf * 1.001 + 1e-6
        img = np.asarray(run(jax.tree_util.tree_unflatten(treedef, bumped)))
        assert img.shape == base.shape
        if np.array_equal(img, base):
            unchanged.add(jax.tree_util.keystr(path))
    # Every physical number reaches the image except those this configuration does not use:
    # curved-detector inputs, the polarization axis (Kahn factor 0), gauss/tophat inputs, the
    # structure-factor table (none loaded) and dmin (off).
    assert unchanged == {
        ".detector.distance", ".detector.beam", ".beam.polar_vector", ".crystal.recip",
        ".crystal.fudge", ".crystal.Fhkl", ".crystal.dmin",
    }


def test_gradients_finite_at_integer_hkl(tmp_path, monkeypatch):
    """The beam hits the centre of pixel (4, 4): h = k = l = 0 exactly there."""
    from nanobragg_jax.api import from_cli, params, simulate

    monkeypatch.chdir(tmp_path)
    exp = from_cli(
        "-cell 50 50 50 90 90 90 -default_F 10 -N 4 -lambda 1 -distance 100 -detpixels 8 -pixel 0.1 "
        "-Xbeam 0.4 -Ybeam 0.4 -oversample 1 -nonoise -nopgm",
        workdir=str(tmp_path),
    )
    p = params(exp)
    hkl_center = np.asarray(simulate(exp, p))[4, 4]
    assert hkl_center == pytest.approx(np.asarray(simulate(exp, p)).max())
    grads = jax.grad(lambda q: simulate(exp, q)[4, 4])(p)
    for key, g in grads.items():
        assert np.all(np.isfinite(np.asarray(g))), key


def test_sincg_closed_form_and_gradient_at_integers():
    h = jnp.array([0.0, 3.0, -2.0, 0.25, 1.5, 7.1])
    N = 5.0
    hs = np.asarray(h)
    expected = np.empty_like(hs)
    expected[3:] = np.sin(np.pi * N * hs[3:]) / np.sin(np.pi * hs[3:])
    expected[:3] = N * (-1.0) ** (hs[:3] * (N - 1))
    got = np.asarray(ph.sincg(h, N) * ph.sincg_c_sign(h, N))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    dh = jax.vmap(jax.grad(lambda x: ph.sincg(x, N)))(h)
    assert np.all(np.isfinite(np.asarray(dh)))
    np.testing.assert_allclose(np.asarray(dh[:3]), 0.0, atol=1e-12)  # peaks are maxima
    dN = jax.grad(lambda n: ph.sincg(jnp.asarray(2.0), n))(N)
    assert dN == pytest.approx(1.0)  # at a peak F_latt = N


def test_chunks_respect_the_sample_budget(small_model):
    L = small_model.layout
    budget = 4 * L.fpixels * samples_per_pixel(L)
    assert default_chunk_rows(L, budget) == 4
    a = np.asarray(render(small_model, chunk_rows=1))
    b = np.asarray(render(small_model, chunk_rows=3))  # with a remainder chunk
    c = np.asarray(render(small_model, chunk_rows=L.spixels))
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, c)


def test_progress_blocks_do_not_change_the_image(small_model):
    seen = []
    a = np.asarray(render(small_model, chunk_rows=2, blocks=3, progress=lambda d, t: seen.append((d, t))))
    b = np.asarray(render(small_model, chunk_rows=2))
    np.testing.assert_array_equal(a, b)
    assert seen[-1] == (small_model.layout.spixels, small_model.layout.spixels)


def test_polarization_equals_c_angle_formula():
    """physics.polarization_factor writes cos(2 psi) without the angle; C computes
    psi = -atan2(B_out, E_out) and cos(2 psi) (nanoBragg.c polarization_factor).  Same numbers to
    rounding for random geometries and Kahn factors, psi = 0 along the beam, finite gradients."""
    rng = np.random.default_rng(3)

    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    inc = unit(rng.standard_normal((200, 3)))
    dif = unit(rng.standard_normal((200, 3)))
    axis = unit(rng.standard_normal((200, 3)))
    kahn = rng.uniform(-1, 1, 200)
    cos2t = np.sum(inc * dif, axis=-1)
    b_in = unit(np.cross(axis, inc))
    e_in = unit(np.cross(inc, b_in))
    psi = -np.arctan2(np.sum(dif * b_in, -1), np.sum(dif * e_in, -1))
    expected = 0.5 * (1 + cos2t**2 - kahn * np.cos(2 * psi) * (1 - cos2t**2))
    got = ph.polarization_factor(jnp.asarray(kahn), jnp.asarray(inc), jnp.asarray(dif), jnp.asarray(axis))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-13, atol=1e-15)
    beam = jnp.asarray([1.0, 0.0, 0.0])
    assert float(ph.polarization_factor(0.5, beam, beam, jnp.asarray([0.0, 0.0, 1.0]))) == 1.0
    g = jax.grad(lambda d: ph.polarization_factor(0.5, beam, d, jnp.asarray([0.0, 0.0, 1.0])))(beam)
    assert np.all(np.isfinite(np.asarray(g)))
