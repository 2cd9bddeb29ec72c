"""hkl files and Fdump.bin against the C program's counts, its Fdump bytes and hand-derived C rules."""

import hashlib
import math
import re

import numpy as np
import pytest

from conftest import CASES, INPUTS
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import HKLTable, read_fdump, read_hkl, write_fdump
from nanobragg_jax.io._fdump import fdump_header

# sha256 of the Fdump.bin that nanoBragg.c (upstream, gcc, x86-64) wrote after `-hkl FILE -default_F D`.
C_FDUMP_SHA256 = {
    ("P1_small.hkl", 0.0): "6380b1e10f724d7f420b511c0836f2de601eab837b700bf7a44ae887030dca00",
    ("sparse.hkl", 10.0): "e3f9bc0960861962cbb111a252a0521eb5734d9a72de384b51f2e7a99f8aa7ac",
    ("scaled.hkl", 0.0): "29a427209e14ce2f1fc8e4f5f61eacc194f6c4cb1f5c6a6ca20bf19c244978c5",
}


def _printed_hkls(case):
    text = (CASES / case / "stdout.txt").read_text()
    return int(re.search(r"(\d+) initialized hkls", text).group(1)), text


@pytest.mark.parametrize("case,filename", [
    ("hkl_nearest", "P1_small.hkl"),
    ("hkl_5col", "P1_small_5col.hkl"),
    ("hkl_default_F", "sparse.hkl"),
    ("hkl_interpolate", "P1_wide.hkl"),
    ("pilatus_roi", "scaled.hkl"),
])
def test_hkl_counts_match_c_stdout(case, filename):
    hkls, _ = _printed_hkls(case)
    table = read_hkl(INPUTS / filename)
    assert table.hkls == hkls


def test_plain_file_bounds_and_values_from_independent_parse():
    rows = np.loadtxt(INPUTS / "P1_small.hkl")
    table = read_hkl(INPUTS / "P1_small.hkl")
    assert table.hkl_min == tuple(int(v) for v in rows[:, :3].min(axis=0))
    assert table.hkl_max == tuple(int(v) for v in rows[:, :3].max(axis=0))
    assert table.F.shape == tuple(r + 1 for r in table.ranges)
    idx = rows[:, :3].astype(int) - np.array(table.hkl_min)
    np.testing.assert_array_equal(table.F[idx[:, 0], idx[:, 1], idx[:, 2]], rows[:, 3])
    # the padding slab at index `range` stays zero
    assert not table.F[-1].any() and not table.F[:, -1].any() and not table.F[:, :, -1].any()
    assert table.warnings == []


def test_six_column_file_is_a_token_stream_like_c():
    # 6 tokens per line read 4 at a time: 4913*6/4 records; C printed one warning per non-integer
    # index, and the second (%d) pass stops at record 1 ("67.41"), so only F(-8,-8,-8) is stored.
    _, stdout = _printed_hkls("hkl_5col")
    c_warnings = [l for l in stdout.splitlines() if l.startswith("WARNING: non-integer")]
    table = read_hkl(INPUTS / "P1_small_5col.hkl")
    assert table.warnings == c_warnings
    assert table.hkl_min == (-8, -8, -8)
    assert np.count_nonzero(table.F) == 1
    assert table.F[0, 0, 0] == 7.624


def test_c_fdump_bytes_are_reproduced(tmp_path):
    for (name, default_F), digest in C_FDUMP_SHA256.items():
        out = tmp_path / (name + ".Fdump")
        write_fdump(out, read_hkl(INPUTS / name, default_F=default_F))
        assert hashlib.sha256(out.read_bytes()).hexdigest() == digest, name


def test_default_F_fills_only_the_valid_part():
    table = read_hkl(INPUTS / "sparse.hkl", default_F=10.0)
    hr, kr, lr = table.ranges
    assert table.F.shape == (hr + 1, kr + 1, lr + 1)
    assert np.all(table.F[hr] == 0) and np.all(table.F[:, kr] == 0) and np.all(table.F[:, :, lr] == 0)
    inner = table.F[:hr, :kr, :lr]
    assert np.count_nonzero(inner != 10.0) <= table.hkls
    assert table.F[0 - table.hkl_min[0], 0, 0] == 100.0


def test_integer_looking_float_index_stops_the_second_pass(tmp_path):
    # "1.0" reads as 1 then ".0" fails %d: C stores record 0 only (checked against C's Fdump).
    path = tmp_path / "a.hkl"
    path.write_text("0 0 0 5\n1.0 0 0 6\n0 1 0 7\n")
    table = read_hkl(path, default_F=3.0)
    assert table.hkls == 3 and table.hkl_min == (0, 0, 0) and table.hkl_max == (1, 1, 0)
    expected = np.zeros((3, 3, 2))
    expected[:2, :2, :1] = 3.0
    expected[0, 0, 0] = 5.0
    np.testing.assert_array_equal(table.F, expected)


def test_nan_duplicates_and_negative_indices(tmp_path):
    path = tmp_path / "b.hkl"
    path.write_text("-1 0 0 nan\n1 1 1 2.5e1\n0 0 0 -3\n1 1 1 4\n")
    table = read_hkl(path, default_F=3.0)
    assert table.hkl_min == (-1, 0, 0) and table.hkl_max == (1, 1, 1) and table.hkls == 4
    assert math.isnan(table.F[0, 0, 0])
    assert table.F[2, 1, 1] == 4.0  # the later duplicate wins
    assert table.F[1, 0, 0] == -3.0
    assert table.F[1, 1, 0] == 3.0


def test_non_integer_bounds_truncate_toward_zero_and_warn(tmp_path):
    path = tmp_path / "t.hkl"
    path.write_text("-1.5 0 0 1\n2.7 0 0 1\n")
    table = read_hkl(path)
    # C's int bounds: (int)-1.5 = -1, (int)2.7 = 2.  "-1.5" then stops the %d pass at once.
    assert table.hkl_min[0] == -1 and table.hkl_max[0] == 2
    assert table.warnings == ["WARNING: non-integer value for h (-1.5) at line 0",
                              "WARNING: non-integer value for h (2.7) at line 1"]
    assert not table.F.any()


def test_bad_hkl_inputs(tmp_path):
    with pytest.raises(InputError, match="missing.hkl"):
        read_hkl(tmp_path / "missing.hkl")
    empty = tmp_path / "empty.hkl"
    empty.write_text("# no numbers here\n")
    with pytest.raises(InputError, match=r"empty.hkl', line 1: '# no numbers here' is not 'h k l F'"):
        read_hkl(empty)
    nothing = tmp_path / "nothing.hkl"
    nothing.write_text("\n\n")
    with pytest.raises(InputError, match="not enough HKL indices.*nothing.hkl|nothing.hkl.*not enough HKL"):
        read_hkl(nothing)
    wild = tmp_path / "wild.hkl"
    wild.write_text("0 0 1.5 7\n0 0 0 0.25\n")  # C segfaults: the %d pass reads index (7 0 0)
    with pytest.raises(InputError, match="wild.hkl"):
        read_hkl(wild)


def test_fdump_round_trip_and_layout(tmp_path):
    F = np.arange(3 * 4 * 2, dtype=np.float64).reshape(3, 4, 2) + 0.25
    table = HKLTable(hkl_min=(-1, 0, 5), hkl_max=(0, 2, 5), F=F, hkls=6)
    path = tmp_path / "Fdump.bin"
    write_fdump(path, table)
    raw = path.read_bytes()
    header = b"-1 0 0 2 5 5\n\f"
    assert raw[: len(header)] == header == fdump_header(table)
    # h slowest, l fastest, little-endian doubles, padding slab included
    np.testing.assert_array_equal(np.frombuffer(raw[len(header):], "<f8"), F.ravel())
    back = read_fdump(path)
    assert back.hkl_min == (-1, 0, 5) and back.hkl_max == (0, 2, 5)
    assert back.hkls == 2 * 3 * 1  # C: product of the ranges
    np.testing.assert_array_equal(back.F, F)
    with pytest.raises(ValueError):
        write_fdump(path, HKLTable((0, 0, 0), (1, 1, 1), np.zeros((2, 2, 2)), 1))


def test_fdump_whitespace_bytes_after_header_are_eaten_like_c(tmp_path):
    # fscanf's "\n\f" skips any white space, also the first double's leading bytes if they are
    # 0x20 / 0x0a.  Probed with glibc: the table then starts 2 bytes late, the last value short.
    first = bytes([0x20, 0x0A, 1, 2, 3, 4, 5, 0x40])
    rest = np.arange(1.5, 8.5, 1.0).astype("<f8").tobytes()
    path = tmp_path / "ws.bin"
    path.write_bytes(b"0 0 0 0 0 0\n\f" + first + rest)
    table = read_fdump(path)
    stream = (first + rest)[2:] + bytes(2)
    np.testing.assert_array_equal(table.F.ravel(), np.frombuffer(stream, "<f8"))
    assert table.warnings


def test_bad_fdump(tmp_path):
    with pytest.raises(InputError, match="nope.bin"):
        read_fdump(tmp_path / "nope.bin")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"1 2 3\n\f")
    with pytest.raises(InputError, match="bad.bin"):
        read_fdump(bad)
    short = tmp_path / "short.bin"
    short.write_bytes(b"0 1 0 1 0 1\n\f" + bytes(8 * 5))
    with pytest.raises(InputError, match="short.bin"):
        read_fdump(short)
