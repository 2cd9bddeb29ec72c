"""Gradients of the image w.r.t. every named parameter: reverse mode against central finite
differences (float64, relative 1e-4), finiteness at singular points, jvp images and a hessian.

Two small experiments cover every parameter where it matters: `rich` (beam pivot, 2 phi steps,
2 mosaic domains, 2x2 divergence x 2 wavelengths, a tilted detector, default_F) and `table`
(XDS convention, so sample pivot, with -close_distance and -ORGX/-ORGY; a structure-factor table).  The scalar is
sum(image * fixed random weights); N = 3 and oversample 2 keep the lattice factor smooth enough for
finite differences.
"""

import contextlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nanobragg_jax import api
from nanobragg_jax.render import physics as physics

RICH = ("-cell 20 22 24 88 91 93 -misset 5 10 15 -default_F 100 -N 3 -lambda 1 -distance 50 "
        "-detpixels 12 -pixel 0.8 -oversample 2 -phi 0 -osc 2 -phisteps 2 -mosaic 0.5 "
        "-mosaic_domains 2 -twotheta 3 -detector_rotx 1 -detector_roty 2 -detector_rotz 3 "
        "-hdivrange 0.2 -hdivsteps 2 -vdivrange 0.2 -vdivsteps 2 -dispersion 0.2 -dispsteps 2 "
        "-polar 0.7")
TABLE = ("-hkl tiny.hkl -nointerpolate -cell 20 22 24 88 91 93 -misset 5 10 15 -N 3 -lambda 1 "
         "-xds -close_distance 50 -ORGX 6.5 -ORGY 5.5 -twotheta 4 -detector_rotx 2 "
         "-detpixels 12 -pixel 0.8 -oversample 2")

# central-difference step per parameter (its units), chosen well above float64 rounding and, for
# mosaic_spread, above the float32 rounding C applies to the tilt angle
STEP = {"cell": 1e-4, "misset": 1e-4, "distance": 1e-4, "close_distance": 1e-4, "beam_center": 1e-5,
        "close_center": 1e-5, "lambda": 1e-7, "N": 1e-5, "detector_rot": 1e-4, "twotheta": 1e-4,
        "phi0": 1e-4, "phistep": 1e-4, "mosaic_spread": 2e-3, "divergence": 1e-4, "dispersion": 1e-6,
        "default_F": 1e-3, "Fhkl": 1e-3}


@contextlib.contextmanager
def inside(folder):
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def write_tiny_hkl(folder):
    rng = np.random.default_rng(0)
    lines = [f"{h} {k} {l} {50 + 100 * rng.random():.3f}"
             for h in range(-5, 6) for k in range(-5, 6) for l in range(-5, 6)]
    (folder / "tiny.hkl").write_text("\n".join(lines) + "\n")


def loss_of(exp, seed=0):
    shape = (exp.layout.spixels, exp.layout.fpixels)
    w = jnp.asarray(np.random.default_rng(seed).random(shape))
    return jax.jit(lambda p: jnp.sum(api.simulate(exp, p) * w))


def check_against_fd(exp, names, max_entries=6):
    """Reverse-mode gradient of every entry of `names` vs central differences (rel 1e-4); each
    checked entry must also move the scalar (the parameter matters in this configuration)."""
    p0 = api.params(exp)
    loss = loss_of(exp)
    grad = jax.jit(jax.grad(loss))(p0)
    for name in names:
        value = np.asarray(p0[name], dtype=np.float64)
        g = np.asarray(grad[name]).reshape(-1)
        assert np.all(np.isfinite(g)), name
        flat = value.reshape(-1)
        entries = range(flat.size) if flat.size <= max_entries else np.argsort(-np.abs(g))[:3]
        for i in entries:
            if name == "fluence":  # 1e29-ish: a relative step
                h = 1e-6 * abs(flat[i])
            else:
                h = STEP[name] * (max(1.0, abs(flat[i])) if name != "Fhkl" else 1.0)

            def at(d):
                x = flat.copy()
                x[i] += d
                return float(loss({**p0, name: jnp.asarray(x.reshape(value.shape))}))

            fd = (at(h) - at(-h)) / (2 * h)
            assert fd != 0.0, f"{name}[{i}] does not change the image here"
            assert g[i] == pytest.approx(fd, rel=1e-4), f"{name}[{i}]: grad {g[i]!r} fd {fd!r}"


def test_grad_matches_finite_differences_rich(tmp_path):
    exp = api.from_cli(RICH, workdir=str(tmp_path))
    names = ["cell", "misset", "distance", "beam_center", "lambda", "N", "fluence", "detector_rot",
             "twotheta", "phi0", "phistep", "mosaic_spread", "divergence", "dispersion", "default_F"]
    check_against_fd(exp, names)


def test_grad_matches_finite_differences_table_and_sample_pivot(tmp_path):
    write_tiny_hkl(tmp_path)
    with inside(tmp_path):
        exp = api.from_cli(TABLE, workdir=str(tmp_path))
    assert "Fhkl" in exp.params and exp.static.detector.pivot == "sample"
    # nearest-reflection lookup is piecewise constant in hkl: small steps stay on one piece
    check_against_fd(exp, ["close_distance", "close_center", "twotheta", "detector_rot", "Fhkl"])


def test_sincg_and_sinc3_grads_at_singular_points():
    """sin(pi N h)/sin(pi h) at integer h: value N, d/dh = 0, d/dN = 1; N = 1 gives 1 everywhere."""
    h = jnp.array([0.0, 3.0, -2.0, 0.3])
    value_and_grads = jax.jit(lambda h, N: (physics.sincg(h, N),
                                            jax.vmap(jax.grad(physics.sincg, (0, 1)), (0, None))(h, N)))
    for N in (1.0, 5.0):
        v, (dh, dN) = value_and_grads(h, jnp.asarray(N))
        np.testing.assert_allclose(v[:3], N)
        np.testing.assert_allclose(dh[:3], 0.0, atol=1e-12)
        np.testing.assert_allclose(dN[:3], 1.0)
        assert np.all(np.isfinite(dh)) and np.all(np.isfinite(dN))
    np.testing.assert_allclose(physics.sincg(0.3, 1.0), 1.0)
    assert float(jax.grad(physics.sinc3)(0.0)) == 0.0


def test_grad_finite_at_direct_beam_pixel_zero_misset_and_N_1(tmp_path):
    """Pixel (8, 8) sits exactly on the beam (h = k = l = 0, 2theta = 0, so the polarization angle
    is atan2(0, 0)), misset is 0 and N = 1.  (MOSFLM puts the beam at Xbeam + half a pixel: the
    centre of pixel 8; with these numbers the kernel's diffracted vector equals the beam exactly,
    checked when the test was written.)"""
    exp = api.from_cli("-cell 100 100 100 90 90 90 -default_F 100 -N 1 -lambda 1 -distance 100 "
                       "-detpixels 16 -pixel 0.1 -oversample 1 -mosflm -Xbeam 0.8 -Ybeam 0.8 "
                       "-misset 0 0 0 -polar 0.5", workdir=str(tmp_path))
    p = api.params(exp)

    def pixel_and_total(q):
        img = api.simulate(exp, q)
        return jnp.stack([img[8, 8], jnp.sum(img)])

    jac = jax.jit(jax.jacrev(pixel_and_total))(p)
    bad = [k for k, v in jac.items() if not np.all(np.isfinite(np.asarray(v)))]
    assert not bad, f"non-finite gradient w.r.t. {bad}"
    # C applies the lattice factor only for N > 1, so the image is flat in N below 1 and the
    # gradient at N = 1 exactly is that one-sided 0 (docs/api.md): finite, not informative.


SMALL = ("-cell 20 22 24 88 91 93 -misset 5 10 15 -default_F 100 -N 3 -lambda 1 -distance 50 "
         "-detpixels 8 -pixel 1.2 -oversample 2")


def test_jvp_gives_per_pixel_derivative_images(tmp_path):
    exp = api.from_cli(SMALL, workdir=str(tmp_path))
    p = api.params(exp)
    tangent = {"distance": 1.0, "misset": jnp.array([0.0, 1.0, 0.0])}
    img, dimg = jax.jit(lambda q: api.derivative_image(exp, q, tangent))(p)
    f = jax.jit(lambda q: api.simulate(exp, q))
    h = 1e-5

    def shifted(s):
        return f({**p, "distance": p["distance"] + s, "misset": p["misset"] + s * tangent["misset"]})

    fd = (np.asarray(shifted(h)) - np.asarray(shifted(-h))) / (2 * h)
    np.testing.assert_allclose(img, f(p), rtol=1e-12)
    assert dimg.shape == img.shape and np.abs(dimg).max() > 0
    np.testing.assert_allclose(dimg, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())


def test_hessian_on_a_subset(tmp_path):
    exp = api.from_cli(SMALL, workdir=str(tmp_path))
    p0 = api.params(exp)
    x0, unflatten = api.flatten(p0, ["distance", "lambda"])

    def loss(x):
        return jnp.sum(api.simulate(exp, {**p0, **unflatten(x)}, checkpoint=False) ** 2)

    H = np.asarray(jax.jit(jax.hessian(loss))(x0))
    f = jax.jit(loss)
    h = np.array([1e-3, 1e-6])

    def at(i, j, si, sj):
        return float(f(x0.at[i].add(si * h[i]).at[j].add(sj * h[j])))

    # second central differences of the loss itself (forward calls only)
    fd = np.empty((2, 2))
    for i in range(2):
        fd[i, i] = (at(i, i, 0.5, 0.5) - 2 * float(f(x0)) + at(i, i, -0.5, -0.5)) / h[i] ** 2
    fd[0, 1] = fd[1, 0] = (at(0, 1, 1, 1) - at(0, 1, 1, -1) - at(0, 1, -1, 1) + at(0, 1, -1, -1)) / (4 * h[0] * h[1])
    assert H.shape == (2, 2) and np.all(np.isfinite(H))
    np.testing.assert_allclose(H, H.T, rtol=1e-8)
    np.testing.assert_allclose(H, fd, rtol=1e-4)
