"""Issue 11 items 2-7: every input path reads its input whole or says so.  Where nanoBragg.c reads
part of a file, ignores a value or produces NaN, we do what C does with a one-line warning, or
refuse with a one-line error naming the file, line and text (specs/c-behaviours.md, section I).
The C behaviours used as references are worked out from nanoBragg.c's readers (cited per test)."""

import struct

import numpy as np
import pytest

from conftest import INPUTS
from nanobragg_jax.args import parse_args
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import read_hkl, read_source_file
from nanobragg_jax.setup import build_experiment

CELL = "-cell 50 50 50 90 90 90 -default_F 1 -detpixels 8 "


def P(text):
    return parse_args(CELL + text)


def warned(warnings, *words):
    return [w for w in warnings if all(x in w for x in words)]


# --- flags (I1) -----------------------------------------------------------------------------------------
def test_N_with_three_values_says_how_per_axis_sizes_are_given():
    with pytest.raises(InputError, match=r"-N takes 1 value.*36 for all three axes.*-Na 36 -Nb 47 -Nc 29"):
        P("-N 36 47 29")
    with pytest.raises(InputError, match=r"unexpected value '5' after '-N 3'"):
        P("-N 3 5")
    with pytest.raises(InputError, match="-Nb"):
        P("-Nb -Ybeam 0.5")  # C reads Nb = atoi("-Ybeam") = 0: refused (docs/parity.md)


@pytest.mark.parametrize("cell, assumed", [
    ("-cell 100 100 100 90 90", "100 100 100 90 90 90"),
    ("-cell 100 100 100 0 0 0", "100 100 100 90 90 90"),
    ("-cell 100 0 80 90 90 120", "100 100 80 90 90 120"),
    ("-cell 70", "70 70 70 90 90 90"),
])
def test_short_cell_and_non_positive_values_are_assumed_with_a_warning(cell, assumed):
    s = parse_args("-default_F 1 " + cell)
    assert len(warned(s.warnings, "-cell", assumed, "P9")) == 1
    assert not parse_args("-default_F 1 -cell 100 100 100 90 90 90").warnings


@pytest.mark.parametrize("flags, words", [
    ("-lambda 1000", ["-lambda 1000", "Angstrom"]), ("-wave 150", ["-wave 150", "Angstrom"]),
    ("-energy 12.4", ["-energy 12.4", "eV"]), ("-distance 0.2", ["-distance 0.2", "mm"]),
    ("-close_distance 0.3", ["-close_distance 0.3", "mm"]), ("-pixel 172", ["-pixel 172", "172 um"]),
    ("-detector_thick 0.45", ["-detector_thick 0.45", "um"]), ("-xtalsize 20", ["-xtalsize 20", "mm"]),
    ("-beamsize 500", ["-beamsize 500", "mm"]),
])
def test_values_in_surely_wrong_units_warn_and_are_kept(flags, words):
    s = P(flags)
    assert len(warned(s.warnings, *words)) == 1
    assert not P("-lambda 1.5 -distance 100 -pixel 0.172 -detector_thick 450 -energy 12400").warnings


def test_detector_abs_whose_inverse_overflows_is_refused():
    with pytest.raises(InputError, match="-detector_abs 1e-320"):
        P("-detector_thick 100 -detector_abs 1e-320")
    assert P("-detector_thick 100 -detector_abs 1e-300").detector_mu == pytest.approx(1e306)


# --- hkl files (I2) ------------------------------------------------------------------------------------
def test_hkl_line_that_is_not_h_k_l_F_is_refused_with_file_line_and_text(tmp_path):
    path = tmp_path / "x.hkl"
    path.write_text("0 0 0 5\n1 2 x 5\n0 1 0 7\n")  # C stops at 'x' and keeps record 0, silently
    with pytest.raises(InputError, match=r"x.hkl', line 2: '1 2 x 5' is not 'h k l F'"):
        read_hkl(path)
    path.write_text("# h k l F\n0 0 0 5\n")
    with pytest.raises(InputError, match=r"line 1: '# h k l F'"):
        read_hkl(path)


def test_hkl_trailing_blank_lines_and_extra_numeric_columns_stay_fine(tmp_path):
    path = tmp_path / "ok.hkl"
    path.write_text("0 0 0 5\n1 1 1 7\n\n\n   \n")
    table = read_hkl(path)
    assert table.hkls == 2 and not table.notes
    five = read_hkl(INPUTS / "P1_small_5col.hkl")  # a token stream, as C reads it (golden hkl_5col)
    assert five.hkl_min == (-8, -8, -8) and warned(five.notes, "second reading pass", "C quirk F2")


def test_hkl_reads_that_lose_data_on_numeric_input_warn(tmp_path):
    path = tmp_path / "f.hkl"
    path.write_text("0 0 0 5\n1.0 0 0 6\n0 1 0 7\n")  # the %d pass stops at "1.0"
    table = read_hkl(path, default_F=3.0)
    assert warned(table.notes, "line 2 ('1.0 0 0 6')", "only 1 of 3")
    path.write_text("0 0 0 5\n1 1 1 7\n2 2\n")  # two numbers after the last whole record
    assert warned(read_hkl(path).notes, "last 2 numbers", "ignored")


def test_hkl_notes_reach_the_run_warnings(tmp_path, monkeypatch):
    (tmp_path / "f.hkl").write_text("0 0 0 5\n1.0 0 0 6\n")
    monkeypatch.chdir(tmp_path)
    exp = build_experiment(P("-hkl f.hkl"), workdir=str(tmp_path))
    assert warned(exp.warnings, "f.hkl", "second reading pass")


# --- source files (I4) ---------------------------------------------------------------------------------
def test_source_comment_and_carriage_return_lines_are_skipped_with_one_warning(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(b"# X Y Z I lambda\n-10 0 0 1 1e-10\n\r\n-10 0.001 0 1 1.1e-10\n")
    notes = []
    table = read_source_file(path, notes)
    np.testing.assert_array_equal(table, [[-10, 0, 0, 1, 1e-10], [-10, 0.001, 0, 1, 1.1e-10]])
    assert len(notes) == 1 and warned(notes, "skipped 2 comment or empty lines", "line 1, 3", "NaN image")


@pytest.mark.parametrize("text, words", [
    (b"-10 0 0 1 0\n", ["line 1", "wavelength 0"]),
    (b"-10 0 0 1 1e-10\n-10 1 2\r\n", ["line 2", "wavelength 0"]),  # "\r" zeroes the rest (S-2)
    (b"-10 0 0 1 -1e-10\n", ["wavelength -1e-10"]),
    (b"0 0 0 1 1e-10\n", ["(0, 0, 0) has no direction"]),
])
def test_sources_that_make_nan_images_are_refused(tmp_path, text, words):
    path = tmp_path / "s.txt"
    path.write_bytes(text)
    with pytest.raises(InputError) as exc:
        read_source_file(path)
    assert all(w in str(exc.value) for w in words) and "s.txt" in str(exc.value)


def test_source_units_and_extra_columns_warn(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("-10 0 0 1 1.5\n-10 0 0 1 1e-10 7 8\n")
    notes = []
    read_source_file(path, notes)
    assert warned(notes, "line 1", "1.5 m?", "1.5e-10") and warned(notes, "line 2", "more than 5 columns")


# --- SMV headers of -img and -mask (I5) ------------------------------------------------------------------
def _smv(path, size, **keys):
    text = "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
    text += f"SIZE1={size};\nSIZE2={size};\n" + "".join(f"{k}={v};\n" for k, v in keys.items()) + "}\f"
    path.write_bytes(text.encode().ljust(512, b" ") + np.ones((size, size), "<u2").tobytes())
    return str(path)


def test_header_value_that_is_not_a_number_warns(tmp_path):
    img = _smv(tmp_path / "h.img", 8, PIXEL_SIZE=0.1, DISTANCE=100, BEAM_CENTER_X="abc")
    s = parse_args(f"-cell 50 -default_F 1 -img {img}")
    assert s.Xbeam == 0.0 and warned(s.warnings, "h.img", "BEAM_CENTER_X=abc", "not a number")
    bad = _smv(tmp_path / "d.img", 8, PIXEL_SIZE=0.1, DISTANCE="far")
    with pytest.raises(InputError, match="distance"):  # atof("far") = 0: an impossible distance
        parse_args(f"-cell 50 -default_F 1 -img {bad}")


def test_mask_larger_than_the_detector_warns(tmp_path):
    mask = _smv(tmp_path / "m.img", 16, PIXEL_SIZE=0.1)
    s = parse_args(f"-cell 50 -default_F 1 -mask {mask} -detpixels 8")
    assert warned(s.warnings, "m.img", "16x16", "first 64 pixels in file order")


# --- Fdump.bin (I6) ---------------------------------------------------------------------------------------
def test_shifted_fdump_table_warns_on_stderr(tmp_path):
    # the first double's leading bytes look like white space: C's fscanf eats them (the table shifts)
    first = b"\x09\x00\x00\x00\x00\x00\xf0\x3f"  # 1.000000000000002, first byte '\t'
    body = first + struct.pack("<17d", *range(2, 19))  # bounds 0 1 0 1 0 0: (3, 3, 2) doubles
    (tmp_path / "Fdump.bin").write_bytes(b"0 1 0 1 0 0\n\f" + body)
    exp = build_experiment(parse_args("-cell 50 -detpixels 8"), workdir=str(tmp_path))
    assert warned(exp.warnings, "Fdump.bin", "skipped", "shifted") and warned(exp.warnings, "C quirk F1")


# --- -mat (I3) --------------------------------------------------------------------------------------------
def test_singular_matrix_is_refused(tmp_path):
    (tmp_path / "s.mat").write_text("0.01 0 0.01\n0 0.01 0\n0 0 0\n")
    with pytest.raises(InputError, match="s.mat.*singular"):
        build_experiment(parse_args(f"-mat {tmp_path / 's.mat'} -default_F 1 -detpixels 8"), workdir=".")
