"""Statistics, int image and PGM conversions against every C golden (stdout numbers, int.img, PGM)
and against hand-computed values of C's rules (O3, O4, O5)."""

import gzip
import math
import re

import numpy as np
import pytest

from conftest import CASES, INPUTS, golden_case_names, load_case
from nanobragg_jax.io import format_g, parse_header_fields, read_float_image, read_smv
from nanobragg_jax.outputs import image_statistics, int_image, last_subpixel_position, pgm_image
from nanobragg_jax.io._pgm import pgm_bytes


def _golden(case):
    """Everything the conversions need, read off the C outputs of one case."""
    stdout = (CASES / case / "stdout.txt").read_text()
    raw = gzip.open(CASES / case / "int.img.gz").read()
    header_end = max(512, raw.index(b"}\f") + 2)  # C's header may run past 512 (pilatus_roi)
    fields = parse_header_fields(raw[:header_end].decode("latin-1"))
    width, height = int(fields["SIZE1"]), int(fields["SIZE2"])
    gold_int = np.frombuffer(raw[header_end:], "<u2").reshape(height, width)
    img = read_float_image(CASES / case / "float.bin.gz", (height, width))
    roi = tuple(int(v) for v in re.search(r"roi: (-?\d+) < x < (-?\d+) && (-?\d+) < y < (-?\d+)", stdout).groups())
    oversample = int(re.search(r"(\d+)x\d+ pixel oversample steps", stdout).group(1))
    pixel = float(re.search(r"pixel=(\S+) meters", stdout).group(1))
    args = load_case(case)["args"].split()

    def arg(flag, default):
        return float(args[args.index(flag) + 1]) if flag in args else default

    mask = read_smv(INPUTS / args[args.index("-mask") + 1]).data if "-mask" in args else None
    return dict(stdout=stdout, img=img, gold_int=gold_int, roi=roi, oversample=oversample, pixel=pixel,
                mask=mask, scale=arg("-scale", 0.0), adc=arg("-adc", 40.0), pgmscale=arg("-pgmscale", 0.0))


@pytest.mark.parametrize("case", golden_case_names())
def test_golden_stats_and_int_image(case):
    g = _golden(case)
    stats = image_statistics(g["img"], g["roi"], g["mask"],
                             lambda s, f: last_subpixel_position(s, f, g["pixel"], g["oversample"]))
    out = g["stdout"]
    # the exact lines C printed (%g): equal strings mean equal to the printed precision
    assert f"max_I = {format_g(stats.max_I)}  at {format_g(stats.max_I_x)} {format_g(stats.max_I_y)}" in out
    assert f"mean= {format_g(stats.mean)} rms= {format_g(stats.rms)} rmsd= {format_g(stats.rmsd)}" in out
    ints, scale = int_image(g["img"], g["roi"], g["scale"], g["adc"], stats.max_I)
    assert f"intfile_scale = {format_g(scale)}" in out
    np.testing.assert_array_equal(ints, g["gold_int"])


def test_golden_pgm_byte_for_byte():
    g = _golden("scale_adc_pgm")
    stats = image_statistics(g["img"], g["roi"])
    _, scale = int_image(g["img"], g["roi"], g["scale"], g["adc"], stats.max_I)
    px, pgm_scale = pgm_image(g["img"], g["roi"], g["pgmscale"], stats.rmsd, scale)
    assert f"pgm_scale = {format_g(pgm_scale)}" in g["stdout"]
    assert pgm_bytes(px, pgm_scale) == gzip.open(CASES / "scale_adc_pgm" / "image.pgm.gz").read()


def test_statistics_by_hand():
    img = np.array([[1.0, 2.0, 3.0], [4.0, 100.0, 6.0], [7.0, 8.0, 100.0]], np.float32)
    mask = np.ones((3, 3), np.uint16)
    mask[1, 1] = 0  # masked pixel: skipped for max/mean/rms, counted in rmsd with its value
    roi = (0, 2, 0, 2)
    st = image_statistics(img, roi, mask)
    kept = np.array([1, 2, 3, 4, 6, 7, 8, 100.0])
    assert st.sumn == 8
    assert st.mean == pytest.approx(kept.mean(), rel=1e-15)
    assert st.rms == pytest.approx(math.sqrt((kept ** 2).sum() / 7), rel=1e-15)
    everything = img.astype(float).ravel()
    assert st.rmsd == pytest.approx(math.sqrt(((everything - kept.mean()) ** 2).sum() / 8), rel=1e-15)
    # first strictly-greater pixel: the 100 at (2, 2), since (1, 1) is masked
    assert (st.max_I, st.max_s, st.max_f) == (100.0, 2, 2)
    assert math.isnan(st.max_I_x)  # no position callback given
    st2 = image_statistics(img, roi)
    assert (st2.max_s, st2.max_f) == (1, 1)  # the first of two equal maxima


def test_statistics_roi_and_guards():
    img = np.arange(20, dtype=np.float32).reshape(4, 5)
    st = image_statistics(img, (1, 1, 2, 2))  # a single pixel: value 11
    assert st.sumn == 1 and st.mean == 11.0
    assert st.rms == 11.0  # sumn 1 -> 2 in the rms divisor: sqrt(121 / 1)
    assert st.rmsd == 0.0
    empty = image_statistics(img, (3, 2, 0, 4))  # xmin > xmax: nothing counted
    assert empty.sumn == 0 and empty.mean == 0.0 and empty.max_I == 0.0
    assert (empty.max_I_x, empty.max_I_y) == (0.0, 0.0)  # C's initial values
    negative = image_statistics(-np.ones((2, 2), np.float32), (0, 1, 0, 1))
    assert negative.max_I == 0.0 and negative.max_s == -1


def test_rms_uses_float_products():
    # C: sumsqr += floatimage*floatimage, a float product rounded to float before the double sum
    v = np.float32(4097.0)  # its square 16785409 needs 25 bits: not a float32
    st = image_statistics(np.array([[v, v]], np.float32), (0, 1, 0, 0))
    square32 = float(np.float32(v) * np.float32(v))
    assert square32 != float(v) ** 2
    assert st.rms == math.sqrt(2 * square32 / 1)


def test_last_subpixel_position():
    assert last_subpixel_position(32, 32, 1e-4, 1) == pytest.approx((0.00325, 0.00325))
    x, y = last_subpixel_position(2, 5, 1e-4, 4)
    assert x == pytest.approx(5e-4 + 3.5 * 2.5e-5) and y == pytest.approx(2e-4 + 3.5 * 2.5e-5)


def test_int_image_rules_by_hand():
    img = np.array([[0.0, 1.0, 2.5], [1000.0, -5.0, np.nan]], np.float32)
    ints, scale = int_image(img, (0, 2, 0, 1), 10.0, 40.0)
    assert scale == 10.0
    # 40 -> 40, 50 -> 50, 65 -> 65, 10040 -> 10040, -10 -> clamp 0, NaN -> 0
    np.testing.assert_array_equal(ints, [[40, 50, 65], [10040, 0, 0]])
    ints, scale = int_image(img, (0, 2, 0, 1), 0.0, 40.0)
    assert scale == 55.0  # 55000 / max 1000
    assert ints[1, 0] == 55040  # the C max pixel: 55000 + adc
    assert ints[1, 1] == 0
    outside, _ = int_image(img, (1, 1, 0, 0), 10.0, 40.0)
    np.testing.assert_array_equal(outside, [[0, 50, 0], [0, 0, 0]])
    clip, _ = int_image(np.array([[1e9]], np.float32), (0, 0, 0, 0), 1.0, 0.0)
    assert clip[0, 0] == 65535
    zero, s = int_image(np.zeros((2, 2), np.float32), (0, 1, 0, 1), 0.0, 40.0)
    assert s == 1.0 and np.all(zero == 40)


def test_int_rounding_goes_through_float32():
    # C: floorf((float)(v + 0.5)).  v + 0.5 = 8191.9999999 is 8191 after a double floor, but the
    # float cast rounds it to 8192.0 first (float spacing there is 2**-11).
    y = 8191.4999999
    ints, _ = int_image(np.array([[1.0]], np.float32), (0, 0, 0, 0), y, 0.0)
    assert math.floor(y + 0.5) == 8191 and ints[0, 0] == 8192
    ints, _ = int_image(np.array([[1.0]], np.float32), (0, 0, 0, 0), 8191.49, 0.0)
    assert ints[0, 0] == 8191


def test_pgm_rules_by_hand():
    img = np.array([[0.0, 1.0, 2.99], [100.0, -0.3, -0.6]], np.float32)
    px, scale = pgm_image(img, (0, 2, 0, 1), 2.0, rmsd=1.0, intfile_scale=9.0)
    assert scale == 2.0
    # truncation: 1.98 -> 1, 5.98 -> 5; 200 -> 200; -0.6 -> 0; -1.2 -> (uchar)(int)-1 = 255 (x86)
    np.testing.assert_array_equal(px, [[0, 2, 5], [200, 0, 255]])
    px, scale = pgm_image(img, (0, 2, 0, 1), 0.0, rmsd=10.0, intfile_scale=9.0)
    assert scale == 250.0 / 50.0
    assert px[1, 0] == 255  # 500 clamps to 255
    _, scale = pgm_image(img, (0, 2, 0, 1), -1.0, rmsd=0.0, intfile_scale=9.0)
    assert scale == 9.0
    px, _ = pgm_image(np.full((2, 2), np.nan, np.float32), (0, 0, 0, 0), 1.0, 1.0, 1.0)
    assert not px.any()
