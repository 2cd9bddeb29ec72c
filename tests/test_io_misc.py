"""-mat files, float images, PGM files, atomic writes, and the C number parsing/printing rules.

The scanf/atof expectations were probed with glibc (fscanf "%lg%lg" / "%d%d" and strtod)."""

import gzip
import math
import os

import numpy as np
import pytest

from conftest import CASES, INPUTS
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import (
    atomic_open,
    c_atof,
    format_g,
    read_float_image,
    read_mat,
    read_pgm,
    write_float_image,
    write_pgm,
)
from nanobragg_jax.io._cnumbers import CScanner


# ---- -mat ---------------------------------------------------------------------------------
def test_read_mat_columns_are_reciprocal_vectors():
    A = read_mat(INPUTS / "A.mat")
    lines = [[float(v) for v in l.split()] for l in (INPUTS / "A.mat").read_text().splitlines()[:3]]
    assert A.shape == (3, 3)
    # row j of the result = column j of the file = a*, b*, c*
    np.testing.assert_array_equal(A, np.array(lines).T)
    assert A[0, 0] == -0.02837711 and A[0, 1] == -0.02871390 and A[1, 0] == -0.00305386


def test_read_mat_stream_and_errors(tmp_path):
    path = tmp_path / "m.mat"
    path.write_text("1 2\n3 4 5 6\n7 8 9 trailing stuff\n0 0 0\n")  # fscanf reads a number stream
    np.testing.assert_array_equal(read_mat(path), np.arange(1, 10.0).reshape(3, 3).T)
    path.write_text("1 2 3\n4 5 x\n")
    with pytest.raises(InputError, match="m.mat"):
        read_mat(path)
    with pytest.raises(InputError, match="none.mat"):
        read_mat(tmp_path / "none.mat")


# ---- float images ---------------------------------------------------------------------------
def test_float_image_round_trip_and_layout(tmp_path):
    img = np.array([[1.5, -2.0, 3.25], [4.0, 5.0, 1e-30]], dtype=np.float64)
    path = tmp_path / "f.bin"
    write_float_image(path, img)
    raw = path.read_bytes()
    assert len(raw) == 6 * 4
    np.testing.assert_array_equal(np.frombuffer(raw, "<f4"), img.astype(np.float32).ravel())
    back = read_float_image(path, (2, 3))
    assert back.dtype == np.float32 and back.shape == (2, 3)
    np.testing.assert_array_equal(back, img.astype(np.float32))
    with pytest.raises(InputError, match="f.bin"):
        read_float_image(path, (4, 4))


def test_float_image_reads_gzipped_golden():
    img = read_float_image(CASES / "scale_adc_pgm" / "float.bin.gz", (64, 64))
    raw = gzip.open(CASES / "scale_adc_pgm" / "float.bin.gz").read()
    assert img.shape == (64, 64) and len(raw) == 64 * 64 * 4
    assert float(img.max()) == pytest.approx(104.364, rel=1e-5)  # C printed max_I = 104.364


# ---- PGM -------------------------------------------------------------------------------------
def test_pgm_bytes_and_read_back(tmp_path):
    px = np.array([[0, 10, 255], [1, 2, 3]], dtype=np.uint8)
    path = tmp_path / "p.pgm"
    write_pgm(path, px, 2.6346116362233)
    raw = path.read_bytes()
    assert raw == b"P5\n3 2\n# pixels scaled by 2.63461\n255\n" + px.tobytes()
    back, info = read_pgm(path)
    np.testing.assert_array_equal(back, px)
    assert info == {"width": 3, "height": 2, "maxval": 255, "scale": "2.63461"}
    bad = tmp_path / "bad.pgm"
    bad.write_bytes(b"P2\n1 1\n255\n0")
    with pytest.raises(InputError, match="bad.pgm"):
        read_pgm(bad)


# ---- atomic writes ---------------------------------------------------------------------------
def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(path) as handle:
            handle.write(b"partial")
            raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]
    with atomic_open(path) as handle:
        handle.write(b"new")
    assert path.read_bytes() == b"new" and sorted(os.listdir(tmp_path)) == ["out.bin"]


def test_writers_fail_cleanly_into_missing_folder(tmp_path):
    with pytest.raises(InputError, match="nodir"):
        write_float_image(tmp_path / "nodir" / "f.bin", np.zeros((2, 2)))


# ---- C number parsing and printing -----------------------------------------------------------
@pytest.mark.parametrize("text,values", [
    ("1e5x", [1e5]), ("1ex 2", [1.0]), ("1e+ 2", [1.0, 2.0]), (".5 2", [0.5, 2.0]), (". 2", []),
    ("-.e1", []), ("nan 3", [math.nan, 3.0]), ("inf 3", [math.inf, 3.0]), ("infin 3", []),
    ("0x1p3 4", [8.0, 4.0]), ("+-1", []), ("1.5.6", [1.5, 0.6]), ("1E-3", [0.001]),
    ("12abc", [12.0]), ("--1", []), ("nan(abc) 1", [math.nan]), ("1e-", [1.0]),
])
def test_scanf_double_stream_matches_glibc(text, values):
    scanner = CScanner(text)
    got = []
    for _ in range(2):
        v = scanner.scan_double()
        if v is None:
            break
        got.append(v)
    assert len(got) == len(values)
    for g, e in zip(got, values):
        assert (math.isnan(g) and math.isnan(e)) or g == e


@pytest.mark.parametrize("text,values", [
    ("1e5x", [1]), ("67.41 1", [67]), (".5 2", []), ("0x1p3 4", [0]), ("12abc", [12]), ("-8 -7", [-8, -7]),
])
def test_scanf_int_stream_matches_glibc(text, values):
    scanner = CScanner(text)
    got = []
    for _ in range(2):
        v = scanner.scan_int()
        if v is None:
            break
        got.append(v)
    assert got == values


def test_atof():
    assert c_atof("  512;") == 512.0
    assert c_atof("1e3x") == 1000.0 and c_atof("1e") == 1.0 and c_atof("1e+") == 1.0
    assert c_atof("junk") == 0.0 and c_atof("") == 0.0
    assert c_atof("\n -2.5") == -2.5
    assert c_atof("0x10") == 16.0 and c_atof("-inf") == -math.inf and math.isnan(c_atof("nan(1)"))
    assert c_atof("infinity") == math.inf and c_atof("infin") == math.inf


# expected strings: glibc printf("%g") of the same doubles
@pytest.mark.parametrize("x,text", [
    (0.0, "0"), (-0.0, "-0"), (100.0, "100"), (0.1, "0.1"), (1e6, "1e+06"), (123456.0, "123456"),
    (1234567.0, "1.23457e+06"), (1e-5, "1e-05"), (0.0001, "0.0001"), (2.5e-10, "2.5e-10"),
    (1e100, "1e+100"), (float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan"),
    (-float("nan"), "-nan"), (527.0025, "527.003"), (1.25932015286227e29, "1.25932e+29"),
    (0.5, "0.5"), (999999.5, "1e+06"), (-3.3, "-3.3"), (1.234565e-5, "1.23456e-05"),
    (9.9999995e-5, "0.0001"), (0.000099999, "9.9999e-05"), (123456.5, "123456"), (4.9e-324, "4.94066e-324"),
])
def test_format_g_is_printf_g(x, text):
    assert format_g(x) == text


def test_atomic_write_gets_fopen_permissions(tmp_path):
    path = tmp_path / "perm.bin"
    write_float_image(path, np.zeros((1, 1)))
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_write_goes_through_a_symlink(tmp_path):
    """As C's fopen(): the link stays a link and its target gets the image."""
    target, link = tmp_path / "target.bin", tmp_path / "link.bin"
    target.write_bytes(b"old")
    link.symlink_to(target.name)
    write_float_image(link, np.ones((2, 3), np.float32))
    assert link.is_symlink() and os.readlink(link) == target.name
    np.testing.assert_array_equal(np.fromfile(target, np.float32), np.ones(6, np.float32))


def test_atomic_write_into_a_fifo_does_not_replace_it(tmp_path):
    """A path that is not a regular file (a FIFO here, /dev/null in practice) is written into and
    stays what it was; a replace would turn it into a regular file."""
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    write_float_image(fifo, np.full((2, 2), 2.0, np.float32))
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got == [np.full(4, 2.0, np.float32).tobytes()]
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temp file left beside it
