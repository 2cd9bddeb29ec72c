"""The companions beyond the golden runs: the one-run equality with the three-program chain, the
PSF's two exact paths and its differentiable convolution, the table fit, the background API and its
gradients, refusals and quirk warnings (specs/nonbragg.md, specs/noisify.md)."""

import contextlib
import io
import math
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import INPUTS

import cli
from nanobragg_jax import api
from nanobragg_jax.background import fit_index, polint, sequential_nearest, stol_table
from nanobragg_jax.companions import noisify_main, nonbragg_main
from nanobragg_jax.noise import CRandom
from nanobragg_jax.response import apply_psf, poisson_counts, psf_convolve, psf_kernel, psf_kernel_jax

GEO = "-lambda 1 -distance 100 -detpixels 48 -pixel 0.1 -Xbeam 2.4 -Ybeam 2.5 -oversample 1 -flux 1e12 -beamsize 0.1"
SPOTS = ("-hkl P1_small.hkl -cell 60 60 60 90 90 90 -misset 10 20 30 -N 5 -fdet_vector 0 0 1 "
         "-sdet_vector 0 -1 0 -odet_vector 1 0 0 -beam_vector 1 0 0 -seed 7 -nopgm -noprogress " + GEO)


def _quiet(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv.split() if isinstance(argv, str) else argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in ("water.stol", "P1_small.hkl", "shortwater.stol"):
        shutil.copy(INPUTS / name, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_one_run_equals_the_chain(workdir):
    """nanobragg --stol ... --psf ... == nanobragg + nonbragg + float32 add + noisify, bit for bit."""
    opts = "--stol water.stol --bg-thick 0.2 --psf gauss --psf-fwhm 100 --readout 2 --calibration 0.05"
    code, out, err = _quiet(cli.main, f"{SPOTS} -floatfile one.bin -intfile one.img -noisefile one.img.noise {opts}")
    assert code == 0, err
    assert _quiet(cli.main, f"{SPOTS} -floatfile spots.bin -intfile spots.img -nonoise")[0] == 0
    assert _quiet(nonbragg_main, "-stol water.stol -thick 0.2 -nonoise -noprogress -floatfile bg.bin "
                                 f"-intfile bg.img -pgmfile bg.pgm {GEO}")[0] == 0
    total = np.fromfile("spots.bin", np.float32) + np.fromfile("bg.bin", np.float32)
    total.tofile("sum.bin")
    assert _quiet(noisify_main, "-floatfile sum.bin -detpixels 48 -pixel 0.1 -psf gauss -psf_fwhm 100 "
                                "-readout 2 -calibration 0.05 -seed 7 -nopgm -intfile c_int.img "
                                "-noisefile c_noise.img")[0] == 0
    one = np.fromfile("one.bin", np.float32)
    assert np.array_equal(one, total) and np.fromfile("bg.bin", np.float32).max() > 10
    ours = np.frombuffer((workdir / "one.img.noise").read_bytes()[512:], np.uint16)
    chain = np.frombuffer((workdir / "c_noise.img").read_bytes()[512:], np.uint16)
    assert np.array_equal(ours, chain)
    assert "photons on noise image before PSF" in out


def test_one_run_background_equals_api_background(workdir):
    exp = api.from_cli(SPOTS)
    table = api.stol_profile("water.stol")
    bg = np.asarray(api.background(exp, table, sample={"thickness": 0.2}), np.float32)
    _quiet(nonbragg_main, f"-stol water.stol -thick 0.2 -nonoise -noprogress -floatfile bg.bin {GEO}")
    assert np.array_equal(bg.ravel(), np.fromfile("bg.bin", np.float32))


def test_background_gradients_match_finite_differences(workdir):
    exp = api.from_cli("-default_F 1 -cell 60 60 60 90 90 90 -N 1 -lambda 1 -distance 80 -detpixels 24 "
                       "-pixel 0.4 -oversample 1 -polar 0.7")
    table = api.stol_profile("water.stol")

    def total(t, d, lam, rho):
        return api.background(exp, table, {"distance": d, "lambda": lam},
                              {"thickness": t, "density": rho}).sum()

    x = (0.2, 80.0, 1.0, 1.0)
    grad = jax.grad(total, argnums=(0, 1, 2, 3))(*x)
    for i, h in enumerate((1e-4, 1e-3, 1e-6, 1e-5)):
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        fd = (total(*up) - total(*down)) / (2 * h)
        assert float(grad[i]) == pytest.approx(float(fd), rel=1e-5), i
    # linear in thickness and density (molecules), as nonBragg's scale
    assert float(grad[0]) * 0.2 == pytest.approx(float(total(*x)), rel=1e-12)


def test_detector_response_is_convolution_gain_offset():
    img = jnp.zeros((21, 21)).at[10, 10].set(100.0)
    out = api.detector_response(img, psf="gauss", fwhm_um=200, pixel_mm=0.1, radius=5, gain=2.0, offset=40.0)
    K = psf_kernel("gauss", 2.0, 5)
    np.testing.assert_allclose(np.asarray(out)[5:16, 5:16], 40.0 + 200.0 * K, rtol=1e-12)
    assert float(out.sum()) == pytest.approx(21 * 21 * 40.0 + 200.0 * K.sum(), rel=1e-12)
    g = jax.grad(lambda w: api.detector_response(img, psf="fiber", fwhm_um=w, pixel_mm=0.1, radius=4)[10, 10])(50.0)
    h = 1e-3
    fd = (api.detector_response(img, psf="fiber", fwhm_um=50 + h, pixel_mm=0.1, radius=4)[10, 10]
          - api.detector_response(img, psf="fiber", fwhm_um=50 - h, pixel_mm=0.1, radius=4)[10, 10]) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-6)


@pytest.mark.parametrize("kind", ["gauss", "fiber"])
def test_psf_kernel_jax_equals_c_kernel(kind):
    np.testing.assert_allclose(np.asarray(psf_kernel_jax(kind, jnp.asarray(1.7), 4)), psf_kernel(kind, 1.7, 4),
                               rtol=1e-13, atol=1e-17)


@pytest.mark.parametrize("kind, radius", [("gauss", 3), ("fiber", 0), ("gauss", 0), ("fiber", 4)])
def test_psf_gather_equals_c_scatter(kind, radius):
    rng = np.random.default_rng(3)
    W, H = 23, 17
    img = (rng.random(W * H) * 40).astype(np.float32)
    img[::5] = 0.0
    img[W - 1::W] = 900.0  # bright last column: the spill into the next row's first column (NZ-1)
    a, lines_a = apply_psf(img, W, H, kind, 1.9, radius, method="gather")
    b, lines_b = apply_psf(img, W, H, kind, 1.9, radius, method="scatter")
    assert np.array_equal(a, b) and lines_a == lines_b


def test_psf_spills_past_the_right_edge_into_the_next_row():
    W = H = 8
    img = np.zeros(W * H, np.float32)
    img[3 * W + 7] = 1000.0  # row 3, last column
    out, _ = apply_psf(img, W, H, "gauss", 1.5, 2)
    K = psf_kernel("gauss", 1.5, 2)
    lost = out.min()  # the add-back of the light beyond the radius, on every pixel
    # the light for column 8 of rows 2..4 lands in column 0 of rows 3..5
    for dy in (-1, 0, 1):
        assert out[(3 + dy + 1) * W] == pytest.approx(1000.0 * K[2 + dy, 3] + lost, rel=1e-6)
    assert out[3 * W + 6] == pytest.approx(1000.0 * K[2, 1] + lost, rel=1e-6)


def test_psf_convolution_agrees_with_the_c_path_inside_the_image():
    rng = np.random.default_rng(5)
    img = np.zeros((30, 30), np.float32)
    img[8:22, 8:22] = (rng.random((14, 14)) * 50 + 1).astype(np.float32)
    c, _ = apply_psf(img.ravel(), 30, 30, "gauss", 1.3, 3)
    K = psf_kernel("gauss", 1.3, 3)
    lost = sum(float(v) * math.exp(-math.log(16.0) * (3 / 1.3) ** 2) for v in img.ravel() if v > 0) / 900
    conv = np.asarray(psf_convolve(jnp.asarray(img, jnp.float64), K))
    np.testing.assert_allclose(c.reshape(30, 30), conv + lost, rtol=2e-6, atol=1e-6)


def test_polint_and_the_fit_index():
    x = np.array([0.1, 0.4, 0.5, 0.9])
    y = 2 * x**3 - x + 1
    assert polint(x, y, 0.7) == pytest.approx(2 * 0.343 - 0.7 + 1, rel=1e-14)
    rows = np.array([[0.0, 1.0], [0.1, 2.0], [0.2, 3.0], [0.35, 1.0], [0.5, 0.5]])
    t = stol_table(rows, 1e10)
    assert t.increasing and t.stol[0] == -1e99 and t.F[-1] == 0.5
    probe = np.concatenate([t.stol[2:-2], t.stol[2:-2] * (1 + 1e-15), np.linspace(-1e9, 8e9, 1001)])
    walk, _ = sequential_nearest(t.stol, probe)
    assert np.array_equal(walk, fit_index(t, probe))  # C's search = the kernel's rule when increasing
    grid = t.search_grid()
    cell = np.clip(np.floor((probe - grid["grid_lo"]) * grid["grid_inv_h"]), 0, grid["grid_start"].size - 1).astype(int)
    n = grid["grid_start"][cell] + (grid["grid_window"][cell] <= probe[:, None]).sum(axis=1)
    assert np.array_equal(n, fit_index(t, probe))


def test_unordered_table_search_depends_on_the_start():
    t = stol_table(np.array([[0.3, 1.0], [0.1, 2.0], [0.2, 3.0], [0.05, 4.0]]), 1e10)
    assert not t.increasing
    a, _ = sequential_nearest(t.stol, [1.5e9], nearest=0)
    b, _ = sequential_nearest(t.stol, [1.5e9], nearest=5)
    assert a[0] != b[0]  # NB-7: the fit depends on where the previous search ended


def test_table_reader_quirks(tmp_path):
    from nanobragg_jax.io import read_stol_file

    path = tmp_path / "t.stol"
    path.write_bytes(b"# comment\n0.1 2.5\n0.2,3.5;9\n0.3\n\n   \n0.4 1.5\n0.5")
    rows, warnings = read_stol_file(path)
    np.testing.assert_array_equal(rows[:, 0], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(rows[[0, 1, 2, 4, 5], 1], [0.0, 2.5, 3.5, 1.5, 0.0])
    assert np.isnan(rows[3, 1]) and any("NB-6" in w for w in warnings)
    t = stol_table(rows)
    assert t.F[2 + 3] == 0.0 and t.F[0] == 0.0  # missing F is 0; the low guard takes the first F


def test_calibration_streams_share_one_generator():
    """NZ-2/NZ-20 consequences: -calib_seed -123456789 equals the built-in seed; a calibration of
    1e-30 (factors exactly 1) still moves the shared stream; the pattern changes with -seed."""
    ph = np.full(400, 30.0, np.float32)

    def counts(seed, cseed, cal):
        return poisson_counts(ph, CRandom(), seed, cseed, calibration=cal)[0]

    assert np.array_equal(counts(-5, 123456789, 0.03), counts(-5, -(-123456789), 0.03))
    assert not np.array_equal(counts(-5, 123456789, 0.0), counts(-5, 123456789, 1e-30))
    assert not np.array_equal(counts(-5, -123456789, 0.03), counts(-5, 123456789, 0.03))


@pytest.mark.parametrize("main, argv, words", [
    (nonbragg_main, "-lambda 1 -detpixels 8", "no structure-factor table"),
    (nonbragg_main, "-stol water.stol -img nothere.img -detpixels 8", "-img"),
    (nonbragg_main, "-stol water.stol -pixel 0 -detpixels 8", "-pixel must be positive"),
    (noisify_main, "-floatfile x.bin -psf", "crashes"),
    (noisify_main, "-seed 1", "no input image"),
    (noisify_main, "-floatfile empty.bin", "NZ-4"),
    (noisify_main, "-floatfile tiny.bin -psf gauss -nonoise", "NZ-14"),
    (noisify_main, "-floatfile tiny.bin -psf gauss -pixel 0", "crashes"),
    (nonbragg_main, "-stol water.stol -detpixels 8 -distance 0", "distance 0"),
    (nonbragg_main, "-stol water.stol -detpixels 8 -beam_vector 0 0 0", "zero vector"),
    (nonbragg_main, "-stol water.stol -detpixels 8 -flux 1e12 -beamsize 0", "infinite"),
    (nonbragg_main, "-stol water.stol -detpixels 8 -noisefile nodir/n.img", "-noisefile 'nodir/n.img'"),
    (noisify_main, "-floatfile tiny.bin -detpixels 4 -noisefile nodir/n.img", "-noisefile 'nodir/n.img'"),
])
def test_refusals_are_one_line(workdir, main, argv, words):
    (workdir / "empty.bin").write_bytes(b"")
    np.full(16, 0.005, np.float32).tofile(workdir / "tiny.bin")
    code, _, err = _quiet(main, argv)
    lines = [x for x in err.splitlines() if "error" in x]
    assert code == 2 and len(lines) == 1 and words in lines[0], err
    assert not list(workdir.glob("*.img")) and not list(workdir.glob("floatimage.bin"))


def test_nonbragg_warns_about_its_quirks(workdir):
    code, _, err = _quiet(nonbragg_main, "-stol shortwater.stol -detpixels 16 -pixel 0.4 -hdiv 2 -nopgm "
                                         "-twotheta_axis 0 0 1 -nonoise -noprogress")
    assert code == 0
    for quirk in ("not a flag", "NB-2", "NB-7", "NB-10"):
        assert quirk in err, quirk
    assert all(line.startswith("nonbragg: warning: ") for line in err.splitlines())


def test_argv_warnings_say_what_happened(workdir):
    """A flag left without its value is named as such (not 'not a flag'); a value that a flag
    inside another flag's values takes is not called ignored (C tests every token for flags)."""
    code, out, err = _quiet(nonbragg_main, "-stol water.stol -detpixels 8 -nonoise -seed -lambda 2 -distance")
    assert code == 0 and "wave=2e-10" in out
    assert "-distance needs 1 value after it, and only 0 follow" in err
    assert "'2' follows no flag" not in err and "not a flag" not in err
    np.full(100, 0.5, np.float32).tofile(workdir / "ten.bin")
    code, _, err = _quiet(noisify_main, "-floatfile ten.bin -detpixels 8 -nonoise")
    assert code == 0 and "holds 100 floats, 8x8 uses the first 64" in err


def test_a_line_without_F_is_said(workdir):
    code, _, err = _quiet(nonbragg_main, f"-Q {INPUTS / 'water_Q.stol'} -detpixels 8 -nonoise")
    assert code == 0 and "2 line(s) give no F" in err and "F = 0" in err


def test_all_missing_F_table_is_refused(workdir):
    (workdir / "noF.stol").write_text("0.1\n0.2\n")
    code, _, err = _quiet(nonbragg_main, "-stol noF.stol -detpixels 8 -nonoise")
    assert code == 2 and "NB-24" in err


def test_detector_noise_is_noisify_c_noise_image(tmp_path):
    """api.detector_noise against the real noisify.c run `-floatfile noisify_in96.bin -scale 10000
    -psf gauss -psf_fwhm 80 -psf_radius 3 -pixel 0.05 -seed 23` (golden noise image, every pixel);
    the pixel size taken from an experiment gives the same image."""
    import gzip

    from nanobragg_jax.io import read_smv

    case = INPUTS.parent / "noisify" / "cases" / "psf_gauss_radius_pixel"
    (tmp_path / "noise.img").write_bytes(gzip.open(case / "noise.img.gz").read())
    reference = read_smv(tmp_path / "noise.img").data
    photons = np.fromfile(INPUTS / "noisify_in96.bin", np.float32).reshape(96, 96) * np.float32(10000)
    out = api.detector_noise(photons, seed=23, psf="gauss", fwhm_um=80, radius=3, pixel_mm=0.05)
    np.testing.assert_array_equal(out, reference)
    exp = api.from_cli("-default_F 1 -cell 50 50 50 90 90 90 -N 2 -detpixels 96 -pixel 0.05",
                       workdir=str(tmp_path))
    np.testing.assert_array_equal(api.detector_noise(photons, seed=23, psf="gauss", fwhm_um=80, radius=3,
                                                     exp=exp), reference)


@pytest.mark.parametrize("name, argv", [
    ("roi_2_13_1_12", "-stol water.stol -detpixels 16 -nonoise -roi 2 13 1 12"),
    ("detpixels_200", "-stol water.stol -detpixels 200 -nonoise"),
])
def test_nonbragg_progress_lines_are_c_lines(workdir, name, argv):
    """The progress meter's lines against the real nonBragg.c's (tests/data/nonbragg_progress)."""
    reference = (INPUTS.parents[1] / "nonbragg_progress" / f"{name}.txt").read_text().splitlines()
    code, out, _ = _quiet(nonbragg_main, argv)
    assert code == 0
    assert [line for line in out.splitlines() if "done" in line] == reference
    code, out, _ = _quiet(nonbragg_main, argv + " -noprogress")
    assert "done" not in out
