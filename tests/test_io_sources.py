"""-sourcefile parsing: expected tables are what C's read_text_file returned for the same bytes
(probed with the upstream function under glibc) and follow the rules in c-behaviour S-2."""

import numpy as np
import pytest

from conftest import INPUTS
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import read_source_file
from nanobragg_jax.io._sourcefile import fgets_lines, parse_text_columns

nan = float("nan")


def _read(tmp_path, data: bytes):
    path = tmp_path / "src.txt"
    path.write_bytes(data)
    return read_source_file(path)


def _same(a, b):
    return a.shape == np.shape(b) and np.array_equal(a, np.asarray(b, dtype=float), equal_nan=True)


def test_golden_input_file():
    table = read_source_file(INPUTS / "sources2.txt")
    assert _same(table, [[-10, 0, 0, 1, 1e-10], [-10, 0.002, 0.001, 0.5, 1.1e-10]])


def test_missing_final_newline_after_full_row_is_fine(tmp_path):
    table = _read(tmp_path, b"-10 0 0 1 1e-10\n-10 0.002 0.001 0.5 1.1e-10")
    assert _same(table, [[-10, 0, 0, 1, 1e-10], [-10, 0.002, 0.001, 0.5, 1.1e-10]])


def test_missing_final_newline_zeroes_missing_columns():
    # no "\n" ever follows the last number, so the remaining columns become atof("") = 0
    assert _same(parse_text_columns("-10 1 2"), [[-10, 1, 2, 0, 0]])


def test_crlf():
    # "\r" is neither a separator nor a number: the row never ends early, missing columns are 0,
    # and a "\r\n" line is not blank: it is a source of zeros.
    table = parse_text_columns("-10 0 0 1 1e-10\r\n-10 1 2\r\n\r\n")
    assert _same(table, [[-10, 0, 0, 1, 1e-10], [-10, 1, 2, 0, 0], [0, 0, 0, 0, 0]])


def test_comments_separators_nan_and_odd_tokens():
    text = (b"# comment line\n\n  \t\n-10,0;0:1!1e-10\nnan nan 1 nan 2e-10\n-10 2\n-10 2 \n"
            b"1 2 3 abc\n1e5x 2,3\n-1-2 3\n 1 .5 -.5e1 +3 4 5 6 7\ninf -inf 0x10 1e 1e+\n")
    expected = [
        [0, 0, 0, 0, 0],  # a comment is a source of zeros
        [-10, 0, 0, 1, 1e-10],  # any of " \t,;:!" separates
        [nan, nan, 1, nan, 2e-10],  # nan tokens mean "default"
        [-10, 2, nan, nan, nan],  # short row: NaN (default) for the rest
        [-10, 2, nan, nan, nan],
        [1, 2, 3, 0, 0],  # text before the newline: remaining columns 0
        [100000, 2, 3, nan, nan],
        [-1, 3, nan, nan, nan],  # "-1-2" is one token of number characters
        [1, 0.5, -5, 3, 4],  # at most 5 columns
        [float("inf"), float("-inf"), 16, 1, 1],  # atof: inf, hex, dangling exponents
    ]
    assert _same(parse_text_columns(text.decode()), expected)


def test_long_lines_split_like_fgets(tmp_path):
    # fgets with a 10240-byte buffer returns 10239 characters at a time
    text = b"1 " * 6000 + b"\n2 3\n"
    table = _read(tmp_path, text)
    assert _same(table, [[1] * 5, [1] * 5, [2, 3, nan, nan, nan]])
    assert [len(s) for s in fgets_lines("a" * 10239 + "bc\n")] == [10239, 3]


def test_parse_text_columns_other_widths():
    assert _same(parse_text_columns("1 2 3\n", 2), [[1, 2]])


def test_no_sources_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="src.txt"):
        _read(tmp_path, b"\n\n \t\n")
    with pytest.raises(InputError, match="src.txt"):
        _read(tmp_path, b"")
    with pytest.raises(InputError, match="nofile.txt"):
        read_source_file(tmp_path / "nofile.txt")
