"""Noise images: the C stream bit for bit (golden noise_seeded, C-build references), ROI, ADC,
overloads, truncation; and the jax.random counter stream's statistics."""

import gzip
import hashlib
import pathlib

import jax
import numpy as np
import pytest

from nanobragg_jax.noise._cstream import IM, compiled_noise_raster

from nanobragg_jax.noise import CRandom

from nanobragg_jax.setup._random_orientation import mosaic_umats
from nanobragg_jax.noise import counter_noise_image, noise_image, noise_summary_line
from nanobragg_jax.noise import pixel_box

CASES = pathlib.Path(__file__).parent / "data" / "golden" / "cases"
HAS_NUMBA = compiled_noise_raster() is not None


def paths():
    return [False, True] if HAS_NUMBA else [False]


def after_mosaic(mosaic_seed=-12345678, domains=1):
    """A CRandom as C leaves it before the noise loop (no random misset): 3 draws per domain."""
    rng = CRandom()
    mosaic_umats(rng, 0.0, domains, mosaic_seed)
    return rng


@pytest.mark.parametrize("use_numba", paths())
def test_golden_noise_seeded(use_numba):
    case = CASES / "noise_seeded"
    img = np.frombuffer(gzip.decompress((case / "float.bin.gz").read_bytes()), dtype="<f4").reshape(96, 96)
    ref = np.frombuffer(gzip.decompress((case / "noise.img.gz").read_bytes())[512:], dtype="<u2")
    out, overloads, photons, _ = noise_image(img, None, 40.0, after_mosaic(), -1234, use_numba=use_numba)
    assert out.dtype == np.uint16 and out.shape == (96, 96)
    assert np.array_equal(out.ravel(), ref)
    line = next(ln for ln in (case / "stdout.txt").read_text().splitlines() if "photons on noise" in ln)
    assert noise_summary_line(photons, overloads) == line


def stress_image(size=128):
    """Means from 0 to 1.7e7 (all four poidev branches), built exactly from integers."""
    n = size * size
    idx = (np.arange(n, dtype=np.int64) * 7919) % n
    mant = (idx * 2654435761) % (1 << 24)
    expo = -14 + (idx * 39) // n
    img = np.ldexp(mant.astype(np.float64), (expo - 24).astype(np.int32)).astype(np.float32)
    img[::17] = 7.0  # repeated means exercise poidev's static cache
    img[::29] = 250.0
    img[::101] = 0.0
    img[::211] = 12.0
    img[::307] = 1.0e6
    return img.reshape(size, size)


# C build: nanoBragg.c's own mosaic_rotation_umat (spread 0, seed -12345678) then its noise loop
# on stress_image() -> (photons line, final seed, sha256 of the uint16 pixels)
STRESS_C = [
    ((None, 40.0, -1234),
     "6343234423 photons on noise image (2682 overloads)", 1618364445,
     "4ac2140a3a20757516cfe38634b2ce79c44d6f20ce0fdaf22451aeac39f968ed"),
    # ROI, and a negative ADC: 0 photons - 3.5 wraps to 65533 through C's unsigned short cast
    (((10, 100, 5, 120), -3.5, -42),
     "4182928107 photons on noise image (1708 overloads)", 493429514,
     "e0363742456e7b66c0147cdf8925d060a2b583a9c9d9ebab7451030dcb8ddc13"),
    # `-seed -42` stores +42: no re-seeding, the noise continues the mosaic stream's table
    ((None, 40.0, 42),
     "6343019516 photons on noise image (2684 overloads)", 652037564,
     "453fce63969af004770bc1fb8e7edebb8fe0f7b3dd68fb55d8ab0502e8b8309f"),
]


STRESS_RUNS = [pytest.param(case, True, id=f"numba-{name}") for case, name in
               zip(STRESS_C, ["full", "roi_negadc", "posseed"]) if HAS_NUMBA]
STRESS_RUNS.append(pytest.param(STRESS_C[0], False, id="python-full"))  # one is enough (speed)


@pytest.mark.parametrize("case, use_numba", STRESS_RUNS)
def test_stress_image_matches_c(case, use_numba):
    args, line, final_seed, digest = case
    roi, adc, seed = args
    out, overloads, photons, seed = noise_image(stress_image(), roi, adc, after_mosaic(), seed,
                                                use_numba=use_numba)
    assert noise_summary_line(photons, overloads) == line
    assert seed == final_seed
    assert hashlib.sha256(out.tobytes()).hexdigest() == digest


def test_roi_outside_zero_and_one_draw_per_zero_pixel():
    img = np.zeros((9, 12), dtype=np.float32)
    roi = (2, 8, 3, 7)  # 7 x 5 inclusive
    out, overloads, photons, seed = noise_image(img, roi, 40.0, CRandom(), -5)
    inside = np.zeros(img.shape, bool)
    inside[3:8, 2:9] = True
    assert np.all(out[inside] == 40) and np.all(out[~inside] == 0)
    assert (overloads, photons) == (0, 0.0)
    # a zero mean costs exactly one ran1 call: idum = 5 * 16807^(40 fill + 35 pixels)
    assert seed == 5 * pow(16807, 75, IM) % IM


def test_masked_pixels_are_drawn_and_compiled_equals_python():
    # the C loop does not skip masked pixels (they are 0 in the float image and still drawn)
    rng = np.random.default_rng(3)
    img = (rng.exponential(20.0, (40, 50)) * (rng.random((40, 50)) > 0.2)).astype(np.float32)
    results = [noise_image(img, (3, 45, 1, 38), 10.0, after_mosaic(), -77, use_numba=p) for p in paths()]
    for out, overloads, photons, seed in results[1:]:
        assert np.array_equal(out, results[0][0]) and (overloads, photons, seed) == results[0][1:]


def test_overloads_and_truncation():
    img = np.array([[0.0, 1.0e7, 3.0e7, 20.0]], dtype=np.float32)
    out, overloads, photons, _ = noise_image(img, None, 65520.0, CRandom(), -9)
    draws, seed, rng = [], -9, CRandom()
    for x in img[0]:
        value, seed = rng.poidev(x, seed)
        draws.append(value)
    assert photons == sum(draws)  # the sum is taken before the ADC offset and the clamp
    assert out[0].tolist() == [65520, 65535, 65535, 65535 if draws[3] > 15 else 65520 + int(draws[3])]
    assert overloads == 2 + (draws[3] > 15)
    # the Gaussian branch (> 1e6) keeps a fraction, and the pixel TRUNCATES it (no rounding)
    out, _, photons, _ = noise_image(np.array([[1.5e6]], np.float32), None, -1.45e6, CRandom(), -42)
    assert photons != int(photons) and photons - int(photons) > 0.5
    assert out[0, 0] == int(photons - 1.45e6)


def test_pixel_box_c_defaults():
    assert pixel_box(None, 10, 20) == (0, 19, 0, 9)
    assert pixel_box((-1, -1, -1, -1), 10, 20) == (0, 19, 0, 9)  # C: max = N (clipped)
    assert pixel_box((2, 5, -1, 3), 10, 20) == (2, 5, 0, 3)
    with pytest.raises(ValueError):
        pixel_box((1, 2), 10, 20)
    with pytest.raises(ValueError):
        noise_image(np.zeros(5, np.float32), None, 40.0, CRandom(), -1)


def test_summary_line_rounding_like_printf():
    assert noise_summary_line(34.0, 0) == "34 photons on noise image (0 overloads)"
    assert noise_summary_line(2.5, 3) == "2 photons on noise image (3 overloads)"  # half to even


def test_counter_noise_statistics():
    lam = np.full((100, 100), 50.0, dtype=np.float32)
    lam[:, :50] = 2.0
    key = jax.random.PRNGKey(0)
    out, overloads, photons = counter_noise_image(lam, key, 40.0, roi=(0, 99, 0, 89))
    assert out.dtype == np.uint16 and overloads == 0
    assert np.all(out[90:] == 0)
    counts = out[:90].astype(float) - 40.0
    for cols, mean in ((slice(0, 50), 2.0), (slice(50, 100), 50.0)):
        block = counts[:, cols]
        assert abs(block.mean() - mean) < 5 * np.sqrt(mean / block.size)
        assert block.var() == pytest.approx(mean, rel=0.1)  # Poisson: variance = mean
        assert np.all(block == np.round(block))
    assert photons == pytest.approx(counts.sum())
    again, _, _ = counter_noise_image(lam, key, 40.0, roi=(0, 99, 0, 89))
    other, _, _ = counter_noise_image(lam, jax.random.PRNGKey(1), 40.0, roi=(0, 99, 0, 89))
    assert np.array_equal(out, again) and not np.array_equal(out, other)


def test_counter_noise_large_means_and_overloads():
    lam = np.array([[4.0e6, 1.0e5, 0.0, -3.0]], dtype=np.float32)
    out, overloads, photons = counter_noise_image(lam, jax.random.PRNGKey(2), 40.0)
    assert out[0, 0] == 65535 and out[0, 1] == 65535 and overloads == 2
    assert out[0, 2] == 40 and out[0, 3] == 40  # negative means give no photons
    assert photons == pytest.approx(4.1e6, rel=0.01)
