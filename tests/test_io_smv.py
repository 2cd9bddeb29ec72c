"""SMV headers and images: the goldens' headers round-trip, C's ValueOf rules, GetFrame, fabio."""

import gzip

import numpy as np
import pytest

from conftest import CASES, INPUTS, golden_case_names
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import (
    format_smv_header,
    header_overflow,
    parse_header_fields,
    read_smv,
    smv_header_fields,
    value_of,
    write_smv,
)

C_KEYS = ["HEADER_BYTES", "DIM", "BYTE_ORDER", "TYPE", "SIZE1", "SIZE2", "PIXEL_SIZE", "DISTANCE",
          "WAVELENGTH", "BEAM_CENTER_X", "BEAM_CENTER_Y", "ADXV_CENTER_X", "ADXV_CENTER_Y",
          "MOSFLM_CENTER_X", "MOSFLM_CENTER_Y", "DENZO_X_BEAM", "DENZO_Y_BEAM", "DIALS_ORIGIN",
          "XDS_ORGX", "XDS_ORGY", "CLOSE_DISTANCE", "PHI", "OSC_START", "OSC_RANGE", "TWOTHETA",
          "DETECTOR_SN", "BEAMLINE"]


def _golden_smv(case, kind="int.img.gz"):
    raw = gzip.open(CASES / case / kind).read()
    end = raw.index(b"}\f") + 2
    return raw, raw[:end].decode("latin-1")


@pytest.mark.parametrize("case", golden_case_names())
def test_golden_headers_round_trip(case):
    raw, header = _golden_smv(case)
    fields = parse_header_fields(header)
    assert list(fields) == C_KEYS
    produced = format_smv_header(fields)
    assert produced == raw[: len(produced)]
    assert len(produced) == max(512, len(header))


def test_noise_header_round_trips():
    raw, header = _golden_smv("noise_seeded", "noise.img.gz")
    assert format_smv_header(parse_header_fields(header)) == raw[:512]


def test_header_from_values_matches_golden_text():
    # scale_adc_pgm: 64x64, 0.1 mm, MOSFLM defaults (numbers read off the C header by hand)
    fields = smv_header_fields(
        fpixels=64, spixels=64, pixel_size_mm=0.1, distance_mm=100.0, wavelength_A=1.0,
        beam_center_x_mm=3.25, beam_center_y_mm=3.25, adxv_center=(3.3, 3.1),
        mosflm_center=(3.25, 3.25), denzo_beam=(3.3, 3.3), dials_origin=(-3.3, 3.3, -100.0),
        xds_org=(33.5, 33.5), close_distance_mm=100.0, phi_deg=0.0, osc_range_deg=0.0,
        twotheta_deg=0.0)
    assert list(fields) == C_KEYS
    raw, _ = _golden_smv("scale_adc_pgm")
    assert format_smv_header(fields) == raw[:512]
    assert header_overflow(fields) == 0


def test_pilatus_header_overflows_like_c():
    # C pads only up to 512 and never truncates: its Pilatus header is 518 bytes.
    raw, header = _golden_smv("pilatus_roi")
    fields = parse_header_fields(header)
    assert header_overflow(fields) == len(header) - 512 > 0
    assert raw[512:518] == format_smv_header(fields)[512:]


def test_dials_origin_has_no_semicolon_and_g_format():
    fields = {"A": 1234567.0, "B": 1e-5, "DIALS_ORIGIN": (1.0, -0.0, 2.5e-7), "C": 3, "D": "x"}
    text = format_smv_header(fields).decode()
    assert text.startswith("{\nA=1.23457e+06;\nB=1e-05;\nDIALS_ORIGIN=1,-0,2.5e-07\nC=3;\nD=x;\n}\f")
    assert len(text) == 512 and text.endswith(" ")


def test_value_of_rules():
    header = "{\nDISTANCE=100;\nCLOSE_DISTANCE=  80.5;\nXDS_ORGX=12;\nNOEQ\n}\f"
    assert value_of(header, "DISTANCE") == 80.5  # the last match is inside CLOSE_DISTANCE
    assert value_of(header, "ORGX") == 12.0  # substring of XDS_ORGX
    assert np.isnan(value_of(header, "WAVELENGTH"))
    assert value_of(header, "NOEQ") == 0.0  # no '=' after the key
    assert value_of("{\nA=1e3x;\nB=junk;\n}", "A") == 1000.0  # atof prefix
    assert value_of("{\nA=1e3x;\nB=junk;\n}", "B") == 0.0
    # a key with no '=' of its own takes the next '=' in the header (strstr from the match)
    assert value_of("{\nKEY\nOTHER=7;\n}", "KEY") == 7.0


def test_read_golden_inputs():
    mask = read_smv(INPUTS / "mask64.img")
    assert (mask.width, mask.height, mask.header_bytes) == (64, 64, 512)
    assert mask.data.shape == (64, 64) and mask.data.dtype == np.uint16
    raw = (INPUTS / "mask64.img").read_bytes()
    np.testing.assert_array_equal(mask.data, np.frombuffer(raw[512:], "<u2").reshape(64, 64))
    assert 0 < np.count_nonzero(mask.data == 0) < 64 * 64
    hdr = read_smv(INPUTS / "hdr64.img")
    assert value_of(hdr.header, "DISTANCE") == 120.0
    assert value_of(hdr.header, "WAVELENGTH") == 1.2
    assert value_of(hdr.header, "BEAM_CENTER_Y") == 3.3
    assert np.isnan(value_of(hdr.header, "CLOSE_DISTANCE"))


def test_write_read_and_fabio(tmp_path):
    data = (np.arange(6 * 5, dtype=np.uint16) * 1000).reshape(6, 5)
    fields = smv_header_fields(
        fpixels=5, spixels=6, pixel_size_mm=0.172, distance_mm=231.27466, wavelength_A=0.9768,
        beam_center_x_mm=1.0, beam_center_y_mm=2.0, adxv_center=(1, 2), mosflm_center=(3, 4),
        denzo_beam=(5, 6), dials_origin=(7, 8, 9), xds_org=(10, 11), close_distance_mm=231.0,
        phi_deg=0.0, osc_range_deg=0.1, twotheta_deg=0.0)
    path = tmp_path / "out.img"
    write_smv(path, data, fields)
    assert path.stat().st_size == 512 + data.size * 2
    back = read_smv(path)
    np.testing.assert_array_equal(back.data, data)
    assert value_of(back.header, "PIXEL_SIZE") == 0.172
    assert value_of(back.header, "DISTANCE") == 231.0  # CLOSE_DISTANCE comes later (C rule)
    fabio = pytest.importorskip("fabio")
    img = fabio.open(str(path))
    np.testing.assert_array_equal(np.asarray(img.data), data)
    assert float(img.header["PIXEL_SIZE"]) == 0.172


def test_big_endian_file_is_swapped(tmp_path):
    data = np.array([[1, 258], [65535, 4096]], dtype=np.uint16)
    fields = {"HEADER_BYTES": 512, "DIM": 2, "BYTE_ORDER": "big_endian", "TYPE": "unsigned_short",
              "SIZE1": 2, "SIZE2": 2}
    path = tmp_path / "be.img"
    path.write_bytes(format_smv_header(fields) + data.astype(">u2").tobytes())
    img = read_smv(path)
    assert img.swap_bytes
    np.testing.assert_array_equal(img.data, data)


def test_bad_smv_inputs(tmp_path):
    with pytest.raises(InputError, match="absent.img"):
        read_smv(tmp_path / "absent.img")
    short = tmp_path / "short.img"
    short.write_bytes(b"{\nHEADER_BYTES=512;\n}")
    with pytest.raises(InputError, match="short.img"):
        read_smv(short)
    notadsc = tmp_path / "notadsc.img"
    notadsc.write_bytes(b"P5\n" + bytes(600))
    with pytest.raises(InputError, match="notadsc.img.*ADSC"):
        read_smv(notadsc)
    fields = {"HEADER_BYTES": 512, "DIM": 2, "BYTE_ORDER": "little_endian", "SIZE1": 4, "SIZE2": 4}
    trunc = tmp_path / "trunc.img"
    trunc.write_bytes(format_smv_header(fields) + bytes(10))
    with pytest.raises(InputError, match="trunc.img"):
        read_smv(trunc)
    nosize = tmp_path / "nosize.img"
    nosize.write_bytes(format_smv_header({"HEADER_BYTES": 512, "BYTE_ORDER": "little_endian"}) + bytes(8))
    with pytest.raises(InputError, match="nosize.img"):
        read_smv(nosize)


def test_write_smv_rejects_wrong_shape_and_leaves_nothing(tmp_path):
    path = tmp_path / "x.img"
    with pytest.raises(ValueError):
        write_smv(path, np.zeros((3, 3), np.uint16), {"SIZE1": 4, "SIZE2": 3})
    with pytest.raises(ValueError):
        write_smv(path, np.zeros((3, 4), np.float32), {"SIZE1": 4, "SIZE2": 3})
    assert list(tmp_path.iterdir()) == []
