"""Issue 11 item 9: the lattice shapes, the polarization and the set-up arithmetic at or next to their
removable singularities give nanoBragg.c's value (its formulas evaluated here with NumPy/glibc as the
independent reference), with finite gradients; the auto-oversample converts as C's (int) does."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nanobragg_jax.render import physics
from nanobragg_jax.setup._sampling import auto_oversample
from nanobragg_jax.vectors import c_divide


def c_sinc3(x):
    """nanoBragg.c's sinc3, in float64 with glibc's sin and cos."""
    return np.where(x == 0.0, 1.0, 3.0 * (np.sin(x) / np.where(x == 0, 1, x) - np.cos(x)) / np.where(x == 0, 1, x * x))


def test_sinc3_is_c_value_near_zero_with_finite_gradient():
    # C's formula cancels to 0 here (below 1e-154 its x*x underflows, 0/0: we keep the 0)
    exact_zero = np.array([1e-300, 1e-30, 1e-13, 1e-9, 1.05e-8])
    regular = np.array([1e-3, 1e-2, 0.05, 0.1, 1.0, 2.5, 4.4934094579, 7.0])
    x = np.concatenate([[0.0], exact_zero, regular, -regular])
    ours = np.asarray(physics.sinc3(jnp.asarray(x)))
    assert ours[0] == 1.0 and np.all(ours[1:1 + exact_zero.size] == 0.0)
    np.testing.assert_allclose(ours[1 + exact_zero.size:], c_sinc3(x[1 + exact_zero.size:]), rtol=1e-9, atol=1e-15)
    grad = np.asarray(jax.vmap(jax.grad(physics.sinc3))(jnp.asarray(x)))
    assert np.all(np.isfinite(grad))
    small = np.abs(x) < 1e-2
    np.testing.assert_allclose(grad[small], -x[small] / 5.0, rtol=1e-6, atol=1e-300)  # the limit's slope
    for xi, gi in zip(x[~small], grad[~small]):
        if abs(xi) < 0.1:  # the formula's own cancellation spoils differences here: the series' slope
            assert gi == pytest.approx(-xi / 5 + xi ** 3 / 70, rel=1e-6)
            continue
        h = 1e-5
        fd = (c_sinc3(np.array(xi + h)) - c_sinc3(np.array(xi - h))) / (2 * h)
        assert gi == pytest.approx(float(fd), rel=1e-6, abs=1e-9)


def test_sinc3_float32_is_the_limit():
    """float32 cannot reproduce C's double-precision cancellation; it gives the x -> 0 limit."""
    x = jnp.asarray([0.0, 1e-13, 1e-5, 1e-3], jnp.float32)
    np.testing.assert_allclose(np.asarray(physics.sinc3(x)), 1.0 - np.asarray(x, np.float64) ** 2 / 10, rtol=1e-6)


@pytest.mark.parametrize("N", [3.0, 36.0])
def test_square_lattice_factor_is_c_value_next_to_integers(N):
    h = np.array([1e-17, 1e-12, 1e-6, 0.3, 0.5, -0.7, 2.25, 1.0 + 1e-6, -3.0 + 1e-9])
    num, den = physics.sincg_parts(jnp.asarray(h), jnp.asarray(N))
    ours = np.abs(np.asarray(num / den))
    c = np.abs(np.sin(N * np.pi * h) / np.sin(np.pi * h))  # sincg(pi h, N), C's formula
    np.testing.assert_allclose(ours, c, rtol=2e-6, atol=1e-12 * N)  # C's own rounding near the integers
    num0, den0 = physics.sincg_parts(jnp.asarray(0.0), jnp.asarray(N))
    assert float(num0 / den0) == N  # C: x == 0 returns N
    g = jax.vmap(jax.grad(lambda x: (lambda a, b: a / b)(*physics.sincg_parts(x, jnp.asarray(N)))))(jnp.asarray(h))
    assert np.all(np.isfinite(np.asarray(g)))


def c_polarization(kahn, incident, diffracted, axis):
    """nanoBragg.c's polarization_factor (psi = -atan2(B.d, E.d), cos 2 psi)."""
    unit = lambda v: v / np.linalg.norm(v) if np.linalg.norm(v) else v * 0
    i, d, a = unit(incident), unit(diffracted), unit(axis)
    c2 = i @ d
    b_in = unit(np.cross(a, i))
    e_in = unit(np.cross(i, b_in))
    psi = -math.atan2(d @ b_in, d @ e_in) if kahn != 0 else 0.0
    return 0.5 * (1 + c2 * c2 - kahn * math.cos(2 * psi) * (1 - c2 * c2))


@pytest.mark.parametrize("kahn", [0.0, 0.5, 1.0])
def test_polarization_at_and_next_to_the_forward_direction(kahn):
    incident = np.array([1.0, 0.0, 0.0])
    axis = np.array([0.0, 0.0, 1.0])
    for t in (0.0, 1e-300, 1e-160, 1e-30, 1e-12, 1e-6, 0.3, 1.2):
        for phi in (0.0, 0.7, 2.0):
            d = np.array([math.cos(t), math.sin(t) * math.cos(phi), math.sin(t) * math.sin(phi)])
            ours = float(physics.polarization_factor(kahn, jnp.asarray(incident), jnp.asarray(d), jnp.asarray(axis)))
            assert ours == pytest.approx(c_polarization(kahn, incident, d, axis), abs=1e-15), (t, phi)
            g = jax.grad(lambda v: physics.polarization_factor(kahn, jnp.asarray(incident), v, jnp.asarray(axis)))(
                jnp.asarray(d))
            assert np.all(np.isfinite(np.asarray(g))), (t, phi)


def test_set_up_divisions_are_exact_ieee_divisions_under_jit():
    """XLA turns x / 1000 into x * 0.001 and may fuse the next addition into an FMA; C divides.
    The direct beam cancels to exactly 0 in C only with C's rounding (issue 11's -detpixels 33
    -round_xtal example), so the set-up's mm -> m conversions divide exactly."""
    x = np.random.default_rng(0).uniform(0, 300, 20000)
    exact = x / 1000.0 + 0.00005
    ours = jax.jit(lambda v: c_divide(jnp, v, 1000.0) + 0.00005)(jnp.asarray(x))
    assert np.array_equal(np.asarray(ours), exact)
    assert not np.array_equal(np.asarray(jax.jit(lambda v: v / 1000.0 + 0.00005)(jnp.asarray(x))), exact)
    np.testing.assert_allclose(np.asarray(jax.grad(lambda v: jnp.sum(c_divide(jnp, v, 1000.0)))(jnp.asarray(x[:3]))), 1e-3)
    assert c_divide(np, 1.7, 1000.0) == 1.7 / 1000.0


def test_auto_oversample_converts_like_c():
    """(int)ceil(3*size/(lambda*distance/pixel)): a zero or tiny distance makes it inf or past int's
    range, which x86-64 converts to INT_MIN, and C's `<= 0` rule then gives 1."""
    assert auto_oversample(-1, 600e-10, 1e-10, 0.1, 2e-4)[0] == 4
    for distance in (0.0, 6.1e-18, -0.1, math.inf):
        assert auto_oversample(-1, 600e-10, 1e-10, distance, 2e-4)[0] == 1, distance
