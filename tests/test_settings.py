"""parse_args: nanoBragg.c's argv pass (substring matches, guards, atof/atoi, order), header ingestion,
our own options and the bad-input rule.  Expected values are worked out by hand from nanoBragg.c."""

import math
import time

import numpy as np
import pytest

from conftest import INPUTS, golden_case_names, load_case
from nanobragg_jax.errors import InputError
from nanobragg_jax.args import atof, atoi
from nanobragg_jax.args import parse_args

D = math.pi / 180


@pytest.fixture(autouse=True)
def _in_inputs(monkeypatch):
    monkeypatch.chdir(INPUTS)  # the golden command lines name their input files relatively


def P(args):
    return parse_args("-cell 100 100 100 90 90 90 -default_F 1 " + args)


def warned(s, *words):
    return any(all(w in m for w in words) for m in s.warnings)


# --- C conversions ---------------------------------------------------------------------------------
def test_c_number_conversions():
    assert atof("-N") == 0.0 and atof("abc") == 0.0 and atof("1e3x") == 1000.0
    assert atof("-0.005998") == -0.005998 and atof("0x10") == 16.0 and atof(".5") == 0.5
    assert atoi("2.5") == 2 and atoi("  -7") == -7 and atoi("-N") == 0 and atoi("1e3") == 1


# --- every golden command line parses; a representative set checked field by field ------------------
@pytest.mark.parametrize("name", golden_case_names())
def test_golden_command_lines_parse(name):
    s = parse_args(load_case(name)["args"])
    assert s.user_cell or s.matfilename
    assert not any("unknown" in w for w in s.warnings)


def test_golden_cubic_and_offsets():
    s = parse_args(load_case("cubic_mosflm")["args"])
    assert (s.cell_a, s.cell_b, s.cell_c) == (100, 100, 100)
    assert s.cell_alpha == pytest.approx(math.pi / 2) and s.Na == s.Nb == s.Nc == 5.0
    assert s.lambda0 == pytest.approx(6.2e-10) and s.distance == pytest.approx(0.1)
    assert (s.fpixels, s.spixels, s.pixel_size, s.oversample) == (128, 128, pytest.approx(1e-4), 1)
    assert s.beam_convention == "mosflm" and s.detector_pivot == "beam" and s.warnings == []
    s = parse_args(load_case("beam_center_offset")["args"])
    assert (s.fpixels, s.spixels) == (160, 120)
    assert s.Xbeam == pytest.approx(5.5e-3) and s.Ybeam == pytest.approx(7.25e-3)


def test_golden_beam_and_detector_cases():
    s = parse_args(load_case("energy_flux")["args"])
    assert s.lambda0 == pytest.approx(1e-10) and s.flux == 1e12 and s.exposure == 0.5
    assert s.beamsize == pytest.approx(5e-5)
    s = parse_args(load_case("divergence_dispersion")["args"])
    assert s.hdivrange == pytest.approx(1e-3) and s.hdivsteps == 3 and s.vdivsteps == 3
    assert s.dispersion == pytest.approx(0.02) and s.dispsteps == 3
    s = parse_args(load_case("divergence_round")["args"])
    assert s.hdivrange == s.vdivrange == pytest.approx(4e-4) and s.hdivsteps == s.vdivsteps == 5
    s = parse_args(load_case("absorption")["args"])
    assert s.detector_mu == pytest.approx(1 / 300e-6) and s.detector_thick == pytest.approx(450e-6)
    assert s.detector_thicksteps == 4 and s.detector_twotheta == pytest.approx(20 * D)
    assert s.detector_pivot == "sample"  # -twotheta sets it; the MOSFLM block overrides it later
    s = parse_args(load_case("orgx_orgy")["args"])
    assert s.beam_convention == "xds" and s.ORGX == 60.5 and s.ORGY == 70.5
    s = parse_args(load_case("pivot_sample_close")["args"])
    assert s.close_distance == pytest.approx(0.09) and s.Xclose == pytest.approx(6e-3)
    assert s.detector_rotx == pytest.approx(4 * D) and s.detector_pivot == "sample"
    s = parse_args(load_case("dials_convention")["args"])
    assert s.beam_convention == "dials" and s.detector_pivot == "sample"


def test_golden_crystal_and_output_cases():
    s = parse_args(load_case("misset_random")["args"])
    assert s.misset_random and s.misset is None and s.misset_seed == -4242
    assert not warned(s, "P1")  # -misset_seed comes first, so the random misset survives
    s = parse_args(load_case("mosaic")["args"])
    assert s.mosaic_spread == pytest.approx(0.5 * D) and s.mosaic_domains == 6 and s.mosaic_seed == -777
    s = parse_args(load_case("noise_seeded")["args"])
    assert s.seed == -1234 and s.fluence == 1e26 and s.calculate_noise
    s = parse_args(load_case("phi_osc")["args"])
    assert s.osc == pytest.approx(0.5 * D) and s.phisteps == 5 and s.phi0 == 0.0
    assert s.misset == pytest.approx((10 * D, 20 * D, 30 * D)) and s.cell_gamma == pytest.approx(95 * D)
    s = parse_args(load_case("samplesize")["args"])
    assert s.sample_x == s.sample_y == s.sample_z == pytest.approx(5e-7)
    s = parse_args(load_case("scale_adc_pgm")["args"])
    assert (s.intfile_scale, s.adc_offset, s.pgm_scale, s.write_pgm) == (50, 10, 3, True)
    s = parse_args(load_case("hkl_interpolate")["args"])
    assert s.interpolate == 1 and s.hklfilename == "P1_wide.hkl"


def test_golden_pilatus_custom_geometry():
    s = parse_args(load_case("pilatus_roi")["args"])
    assert s.beam_convention == "custom" and (s.fpixels, s.spixels) == (2463, 2527)
    assert s.sdet_vector == (-0.005998, -0.999970, -0.004913)
    assert s.pix0_vector == (-216.336293, 215.205512, -230.200866)  # unscaled (P2)
    assert (s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax) == (1000, 1100, 650, 750)
    assert (s.Na, s.Nb, s.Nc) == (36, 47, 29) and not s.calculate_noise
    assert warned(s, "G7") and warned(s, "P2") and not warned(s, "G1")


# --- header ingestion (G11) ---------------------------------------------------------------------------
def smv(path, size, **keys):
    text = "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
    text += f"SIZE1={size};\nSIZE2={size};\n" + "".join(f"{k}={v};\n" for k, v in keys.items()) + "}\f"
    data = np.ones((size, size), dtype="<u2")
    data[0, :3] = 0
    path.write_bytes(text.encode().ljust(512, b" ") + data.tobytes())
    return str(path)


def test_img_header_case():
    s = parse_args(load_case("img_header")["args"])
    assert (s.fpixels, s.spixels) == (64, 64) and s.pixel_size == pytest.approx(1e-4)
    assert s.detsize_f == pytest.approx(6.4e-3) and s.distance == pytest.approx(0.12)
    assert s.lambda0 == pytest.approx(1.2e-10)
    assert s.Xbeam == pytest.approx(3.0e-3) and s.Ybeam == pytest.approx(3.3e-3)
    assert s.mask_image is None


def test_mask_case_and_beam_centre_y_rule(tmp_path):
    s = parse_args(load_case("mask")["args"])
    assert s.mask_image.shape == (64, 64) and s.maskfilename == "mask64.img"
    m = smv(tmp_path / "m.img", 20, PIXEL_SIZE=0.1, BEAM_CENTER_Y=0.9, TWOTHETA=7)
    s = P(f"-mask {m}")
    assert s.Ybeam == pytest.approx(2.0e-3 - 0.9e-3)  # mask: measured from the other edge
    assert s.mask_image.shape == (20, 20) and s.mask_image[0, 0] == 0 and s.mask_image[1, 1] == 1
    assert s.header_twotheta == pytest.approx(7 * D) and s.detector_twotheta == 0.0
    assert warned(s, "TWOTHETA", "G11")
    assert P(f"-img {m}").Ybeam == pytest.approx(0.9e-3)


def test_header_order_mask_then_img_then_flags(tmp_path):
    m = smv(tmp_path / "m.img", 16, PIXEL_SIZE=0.1, DISTANCE=50, WAVELENGTH=2)
    i = smv(tmp_path / "i.img", 16, PIXEL_SIZE=0.1, DISTANCE=70)
    s = P(f"-img {i} -mask {m}")
    assert s.distance == pytest.approx(0.07) and s.lambda0 == pytest.approx(2e-10)
    s = P(f"-distance 90 -img {i} -mask {m}")
    assert s.distance == pytest.approx(0.09)  # flags come after both headers


def test_header_value_of_last_occurrence_and_close_distance(tmp_path):
    h = smv(tmp_path / "h.img", 16, PIXEL_SIZE=0.1, DISTANCE=120, CLOSE_DISTANCE=90, XDS_ORGX=3)
    s = P(f"-img {h}")
    assert s.distance == pytest.approx(0.09)  # "DISTANCE" last occurs inside CLOSE_DISTANCE=
    assert s.close_distance == pytest.approx(0.09) and s.ORGX == 3
    s = P(f"-img {h} -distance 100")
    assert warned(s, "-distance", "CLOSE_DISTANCE", "G11")


def test_mask_smaller_than_detector(tmp_path):
    m = smv(tmp_path / "m.img", 16, PIXEL_SIZE=0.1)
    with pytest.raises(InputError, match="-mask"):
        P(f"-mask {m} -detpixels 32")


# --- parse-time quirks --------------------------------------------------------------------------------
def test_P1_misset_seed_also_sets_misset():
    s = P("-misset_seed 5 -N 2")
    assert s.misset == pytest.approx((5 * D, 0.0, 2 * D)) and s.misset_seed == -5 and s.Na == 2
    assert warned(s, "-misset_seed", "P1")
    s = P("-misset random -misset_seed 1 -N 2")
    assert not s.misset_random and s.misset == pytest.approx((1 * D, 0, 2 * D))
    assert warned(s, "cancels the earlier -misset random")


def test_P2_G7_pix0_vector_mm():
    s = P("-pix0_vector_mm 0.5 0.1 120")
    assert s.pix0_vector == (0.5, 0.1, 120.0) and s.beam_convention == "custom"
    assert warned(s, "G7") and warned(s, "P2")


def test_P3_twotheta_axis_sets_twotheta_and_pivot():
    s = P("-twotheta_axis 5 0 0")
    assert s.detector_twotheta == pytest.approx(5 * D) and s.detector_pivot == "sample"
    assert s.twotheta_axis == (5.0, 0.0, 0.0) and s.beam_convention == "custom"
    assert warned(s, "P3")
    s = P("-twotheta_axis 0 0 -1")
    assert s.detector_twotheta == 0.0 and s.detector_pivot == "sample"


def test_P4_printout_pixel_is_fast_then_slow():
    s = P("-printout_pixel 3 7")
    assert (s.printout_fpixel, s.printout_spixel, s.printout) == (3, 7, True)
    assert s.warnings == []


@pytest.mark.parametrize("flag, field", [("-detector_thickness 450", "detector_thick"),
                                         ("-polarization 0.5", "polarization"),
                                         ("-detsize_x 50", "detsize_f"), ("-mosaic_x 3", "mosaic_spread")])
def test_P5_exact_length_spellings_are_ignored_with_a_warning(flag, field):
    s = P(flag)
    assert getattr(s, field) == getattr(P(""), field)
    assert warned(s, flag.split()[0], "P5")


def test_P5_exact_spellings_work():
    s = P("-detector_thick 450 -polar 0.5 -detsize 50 -phi 5 -phistep 0.5 -phisteps 3 -hdivstep 2")
    assert s.detector_thick == pytest.approx(450e-6) and s.polarization == 0.5
    assert s.detsize_f == s.detsize_s == pytest.approx(0.05) and s.phi0 == pytest.approx(5 * D)
    assert s.phistep == pytest.approx(0.5 * D) and s.phisteps == 3 and s.hdivstep == pytest.approx(2e-3)


def test_P6_accidental_aliases():
    s = P("-wavelength 2 -mosaicity 0.3 -mosaic_domains 4 -detector_absorption 300 -sample_height 0.05 "
          "-adc_offset 5 -pixel_size 0.2 -distance_mm 80 -oscillation 1 -matrix A.mat")
    assert s.lambda0 == pytest.approx(2e-10) and s.mosaic_spread == pytest.approx(0.3 * D)
    assert s.mosaic_domains == 4 and s.detector_mu == pytest.approx(1 / 300e-6)
    assert s.sample_z == pytest.approx(5e-5) and s.adc_offset == 5 and s.pixel_size == pytest.approx(2e-4)
    assert s.distance == pytest.approx(0.08) and s.osc == pytest.approx(D) and s.matfilename == "A.mat"
    assert P("-mosaic_spread 0.2").mosaic_spread == pytest.approx(0.2 * D)
    # -oversample_polar stops the testing, so it does not also read "-N" as the -oversample count.
    s = P("-oversample 3 -oversample_polar -N 2")
    assert s.oversample == 3 and s.oversample_polar and s.Na == 2


def test_P7_order_dependence():
    assert P("-nonoise -noisefile x.img").calculate_noise
    assert not P("-noisefile x.img -nonoise").calculate_noise
    assert P("-nopgm -pgmscale 2").write_pgm and P("-nopgm -pgmfile p.pgm").write_pgm
    assert not P("-pgmfile p.pgm -nopgm").write_pgm
    assert not P("-nopolar -polar 0.5").nopolar and P("-polar 0.5 -nopolar").nopolar
    s = P("-fdet_vector 0 0 1 -mosflm")
    assert s.beam_convention == "mosflm" and warned(s, "P7")


def test_P8_curved_det_needs_a_token_after_it():
    s = P("-curved_det")
    assert not s.curved_detector and warned(s, "P8")
    assert P("-curved_det -N 2").curved_detector and P("-curved_det 1 -N 2").curved_detector


def test_P9_partial_cell_and_atoi_counts():
    s = parse_args("-cell 70 80 -N 2 -default_F 1")
    assert (s.cell_a, s.cell_b, s.cell_c, s.cell_alpha) == (70, 80, 0.0, 0.0) and s.user_cell
    s = P("-Na 3 -Nb 4 -Nc 0")
    assert (s.Na, s.Nb, s.Nc) == (3, 4, 0)


def test_P10_detector_abs_as_last_token():
    with pytest.raises(InputError, match="-detector_abs"):
        P("-detector_abs")
    s = P("-detector_thick 100 -detector_abs inf")
    assert s.detector_thick == 0.0 and s.detector_mu == 0.0


def test_P11_flags_without_effect_warn():
    s = P("-coherent -density 1.2 -MW 30")
    assert s.coherent and s.density == pytest.approx(1.2e6) and s.molecular_weight == 30
    assert warned(s, "-coherent", "P11") and warned(s, "-density", "P11") and warned(s, "-MW", "P11")


def test_G1_vector_flag_selects_custom():
    s = P("-polar_vector 0 0 1")
    assert s.beam_convention == "custom" and s.polar_vector == (0.0, 0.0, 1.0) and warned(s, "G1")


def test_G3_G4_convention_overrides():
    s = P("-pivot sample")
    assert s.detector_pivot == "sample" and warned(s, "-pivot sample", "G3")
    assert warned(P("-xds -pivot beam"), "G3")
    assert not warned(P("-fdet_vector 0 0 1 -pivot sample"), "G3")
    assert warned(P("-Xclose 5"), "-Xclose", "G4") and warned(P("-xds -Xbeam 5"), "header", "G4")


def test_last_flag_wins_and_units():
    s = P("-distance 50 -distance 80 -lambda 1 -energy 12398.42 -detpixels 64 -detsize 10")
    assert s.distance == pytest.approx(0.08) and s.lambda0 == pytest.approx(1e-10)
    assert (s.fpixels, s.detsize_f) == (64, pytest.approx(0.01))  # set-up lets -detpixels win
    from nanobragg_jax.args._checks import _final_pixels

    assert _final_pixels(s) == (64, 64)
    s = P("-xtal_width 0.02 -width 0.03 -twotheta 10 -Xbeam 5 -mosaic_seed 9 -water 50")
    assert s.sample_y == pytest.approx(3e-5) and s.detector_pivot == "beam"  # -Xbeam came last
    assert s.mosaic_seed == -9 and s.water_size == pytest.approx(5e-5)


def test_seeds_default_and_negated():
    t = -int(time.time())
    s = P("")
    assert s.seed == s.misset_seed and abs(s.seed - t) <= 2 and s.mosaic_seed == -12345678
    s = P("-seed 5")
    assert s.seed == -5 and s.misset_seed != -5  # -seed does not change the misset seed
    assert P("-seed -42").seed == 42


def test_negative_numbers_are_values_not_flags():
    s = P("-spindle_axis -1 0 0 -misset -5 10 -20 -Xbeam -0.5")
    assert s.spindle_vector == (-1.0, 0.0, 0.0) and s.misset == pytest.approx((-5 * D, 10 * D, -20 * D))
    assert s.Xbeam == pytest.approx(-5e-4)


def test_our_options():
    s = P("--mode c-parity --dtype=float32 -trace_pixel 3 4 --no-cache --chunk-rows 8")
    assert (s.mode, s.dtype, s.trace_pixel, s.compile_cache, s.chunk_rows) == ("c-parity", "float32",
                                                                               (3, 4), False, 8)
    s = parse_args(["--trace-pixel", "1", "2", "-cell", "50", "-default_F", "1"])
    assert s.trace_pixel == (1, 2) and s.mode == "spec" and s.dtype == "float64" and s.compile_cache


# --- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, named", [
    ("-roi 1 2 3", "-roi"), ("-roi 1 2 3 -N 2", "-roi"), ("-distance", "-distance"),
    ("-distance abc", "-distance"), ("-N 2.5", "-N"), ("-phisteps 1.5", "-phisteps"),
    ("-hkl missing.hkl", "missing.hkl"), ("-mat nope.mat", "nope.mat"), ("-sourcefile x.txt", "x.txt"),
    ("-img none.img", "none.img"), ("-mask none.img", "none.img"), ("-pixel 0", "-pixel"),
    ("-distance -5", "-distance"), ("-lambda 0", "-lambda"), ("-energy -1", "-energy"),
    ("-detsize 0", "-detsize"), ("-detpixels 0", "-detpixels"), ("-detpixels_x -4", "-detpixels_x"),
    ("-oversample -1", "-oversample"), ("-roi 5 1 0 3", "-roi"), ("-cell 0", "-cell"),
    ("-cell 90 90 90 60 60 120", "-cell"), ("-cell 90 90 90 90 90 180", "-cell"), ("-cell 70 x", "-cell"),
    ("-misset 1 2", "-misset"), ("-pivot middle", "-pivot"), ("--mode fast", "--mode"),
    ("--dtype float16", "--dtype"), ("-trace_pixel 1", "-trace_pixel"), ("-floatfile", "-floatfile"),
    ("-floatfile nodir/x.bin", "nodir"), ("-N 5 6", "'6'"), ("-detpixels", "-detpixels"),
    ("-seed 1.5", "-seed"), ("-mosaic_dom -2", "-mosaic_dom"),
])
def test_bad_input_raises_input_error_naming_the_flag(args, named):
    with pytest.raises(InputError) as exc:
        P(args)
    assert named in str(exc.value) and "\n" not in str(exc.value)


def test_unknown_flag_suggests_the_closest():
    """With --strict an unknown flag is an error naming the closest real flag (issue 11 item 1)."""
    with pytest.raises(InputError, match=r"unknown flag '-distanse'; did you mean -distance\?"):
        P("-distanse 100 --strict")
    with pytest.raises(InputError, match="did you mean -twotheta"):
        P("--strict -detector_twotheta 5")
    with pytest.raises(InputError, match="did you mean -xds"):
        P("-XDS --strict")


def test_unknown_flags_are_ignored_with_a_warning_like_c():
    """nanoBragg.c ignores a flag it does not know and the values after it (its README's SAXS
    examples pass -hdiv 0 -vdiv 0): so do we, with one warning per flag naming the closest one."""
    s = P("-hdiv 0 -vdiv 0 -N 3 -distanse 120")
    assert (s.Na, s.distance, s.hdivrange, s.vdivrange) == (3, 0.1, -1.0, -1.0)
    assert len(s.warnings) == 3
    assert warned(s, "'-hdiv 0' is ignored", "did you mean -hdiv", "--strict")
    assert warned(s, "'-distanse 120' is ignored", "did you mean -distance")
    assert P("-foo").warnings and P("-foo bar.txt -N 2").Na == 2
    with pytest.raises(InputError, match="unknown option '--mod'; did you mean --mode"):
        P("--mod c-parity")  # a double dash is our options' spelling: a typo of ours, not a C flag
