"""`--experiment FILE.expt`: a DIALS experiment list in place of the flags (issue 15, part 2).

A single-panel list renders what the same geometry given by flags renders (the golden
twotheta15.expt is `-xds -twotheta 15 ...`); the `--expt` a run writes, fed back with
`--experiment`, reproduces the run and exports the same list again; the golden four_panel.expt
becomes four panels placed as the file says; warnings name the flags a list replaces; bad input is
one line and exit code 2.  dxtbx's detector hierarchies are composed by the reader.
"""

import json
import os

import numpy as np
import pytest
from conftest import INPUTS

import cli
from nanobragg_jax import api
from nanobragg_jax.diagnostics import detector_difference_mm
from nanobragg_jax.io import read_expt, read_float_image, read_nxmx, read_smv, value_of
from nanobragg_jax.panels import panel_file_name
from nanobragg_jax.setup import experiment_model, geometry_report

TT15 = INPUTS / "twotheta15.expt"
FOUR = INPUTS / "four_panel.expt"
R_XDS = np.diag([1.0, -1.0, -1.0])  # dxtbx = R_XDS . nanoBragg's XDS frame (specs/dials-frame.md §2)


def run(folder, *args) -> int:
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return cli.main([str(a) for a in args])
    finally:
        os.chdir(cwd)


# --- a single-panel list equals the flags --------------------------------------------------------------
def test_single_panel_list_equals_the_same_geometry_given_by_flags(tmp_path):
    """twotheta15.expt against `-xds -twotheta 15 -distance 100 -detpixels 512 -pixel 0.2` with
    the list's crystal as a -mat file in the XDS frame, its wavelength, polarization and scan
    (start 0 with 2 phi steps of 0.5 deg is -phi 0.25: the export centres the image on its samples)."""
    truth = read_expt(TT15)[0]
    np.savetxt(tmp_path / "xtal.mat", 1.2 * R_XDS.T @ truth.crystal.A, fmt="%.17g")
    common = "-default_F 100 -N 5 -oversample 1 -roi 180 243 300 363"
    listed = api.from_cli(f"--experiment {TT15} {common}")
    flags = api.from_cli(f"-xds -twotheta 15 -distance 100 -detpixels 512 -pixel 0.2 -mat {tmp_path}/xtal.mat "
                         f"-lambda 1.2 -polar 0.998 -phi 0.25 -osc 1 {common}")
    assert listed.layout == flags.layout and listed.static.detector.convention == "custom"
    a, b = (geometry_report(e, e.params) for e in (listed, flags))
    # the same lab geometry, each in its own frame: R_MOSFLM for the list, R_XDS for the flags
    from nanobragg_jax.setup._dials_frame import R_MOSFLM

    for key in ("pix0", "fdet", "sdet", "odet"):
        assert np.allclose(R_MOSFLM @ a[key], R_XDS @ b[key], rtol=0, atol=1e-15), key
    assert np.allclose(R_MOSFLM @ a["real_A"].T, R_XDS @ b["real_A"].T, rtol=0, atol=1e-12)
    image_list, image_flags = np.asarray(api.simulate(listed)), np.asarray(api.simulate(flags))
    assert image_flags.max() > 100  # spots in the region
    assert np.abs(image_list - image_flags).max() <= 1e-10 * image_flags.max()  # pixel for pixel
    # and the list exported again is the list (geometry, crystal, scan, beam)
    back = experiment_model(listed, frames=20)
    assert detector_difference_mm(truth, back) < 1e-12
    assert np.abs(back.crystal.real_space - truth.crystal.real_space).max() < 1e-12
    assert back.scan.image_range == (1, 20) and np.allclose(back.scan.oscillation, (0.0, 1.0), atol=1e-13)
    assert np.allclose(back.beam.direction, (0, 0, 1)) and back.beam.wavelength == 1.2
    assert back.beam.polarization_fraction == pytest.approx(0.999, abs=1e-15)


def test_image_k_of_the_scan(tmp_path):
    """--image K renders image K of the list's scan: -phi advanced by K-1 widths."""
    one, five = (api.from_cli(f"--experiment {TT15} -default_F 1 -phisteps 4 --image {k}") for k in (1, 5))
    assert float(five.params["phi0"]) - float(one.params["phi0"]) == pytest.approx(4.0, abs=1e-12)
    assert float(one.params["phi0"]) == pytest.approx(0.5 - 3 * 0.25 / 2, abs=1e-12)  # start + w/2 - 3 steps/2
    m = experiment_model(five)
    assert m.scan.num_images == 1 and m.scan.oscillation == pytest.approx((4.0, 1.0), abs=1e-12)


def test_a_scan_of_negative_width_turns_about_the_reversed_axis(tmp_path):
    """dxtbx allows a negative oscillation width; C reads a negative -osc as "not given".  The
    list with axis +x and images from -10 deg by +1 deg renders what axis -x from +10 by -1 renders."""
    d = json.loads(TT15.read_text())
    d["scan"][0]["oscillation"] = [-10.0, 1.0]
    (tmp_path / "up.expt").write_text(json.dumps(d))
    d["scan"][0]["oscillation"] = [10.0, -1.0]
    d["goniometer"][0]["rotation_axis"] = [-1.0, 0.0, 0.0]
    (tmp_path / "down.expt").write_text(json.dumps(d))
    common = "-default_F 100 -N 5 -oversample 1 -phisteps 2 -roi 180 211 300 331"
    d["goniometer"][0]["rotation_axis"] = [1.0, 0.0, 0.0]  # the same numbers about +x: another image
    (tmp_path / "other.expt").write_text(json.dumps(d))
    up, down, other = (api.from_cli(f"--experiment {tmp_path}/{n}.expt {common}") for n in ("up", "down", "other"))
    a, b, c = (np.asarray(api.simulate(e)) for e in (up, down, other))
    assert np.abs(a - b).max() <= 1e-12 * a.max() and np.abs(a - c).max() > 0.1 * a.max()


# --- the --expt of a run, fed back ---------------------------------------------------------------------
RUN = ("-mosflm -twotheta 10 -detector_rotz 3 -Xbeam 7 -Ybeam 6.5 -cell 50 60 70 85 95 105 -misset 10 20 30 "
       "-lambda 1.1 -polar 0.9 -distance 90 -detpixels_f 48 -detpixels_s 40 -pixel 0.3 -phi 5 -osc 0.6")
RENDER = "-default_F 100 -N 5 -phisteps 3 -oversample 1 -nonoise -nopgm -noprogress"


def test_written_expt_fed_back_reproduces_the_run(tmp_path, capsys):
    """A MOSFLM run (beam pivot, two-theta, a rotation, an off-centre beam, a triclinic cell through
    C's -cell path, polarization, a wavelength) writes its --expt; the run made from that list and
    the flags the list cannot hold (structure factors, N, sampling) renders the same image, exports
    the same list, and warns about the flags the list replaced."""
    assert run(tmp_path, *RUN.split(), *RENDER.split(), "-floatfile", "a.bin", "--expt", "a.expt") == 0
    capsys.readouterr()
    assert run(tmp_path, "--experiment", "a.expt", *RENDER.split(), "-distance", "50", "-xds", "-floatfile", "b.bin",
               "-intfile", "b_001.img", "--expt", "b.expt") == 0
    err = capsys.readouterr().err
    assert "--experiment a.expt replaces the flags -xds, -distance" in err
    a = read_float_image(tmp_path / "a.bin", (40, 48))
    b = read_float_image(tmp_path / "b.bin", (40, 48))
    assert a.max() > 100 and np.abs(a - b).max() <= 1e-6 * a.max()
    ea, eb = read_expt(tmp_path / "a.expt")[0], read_expt(tmp_path / "b.expt")[0]
    assert detector_difference_mm(ea, eb) < 1e-9
    assert np.abs(ea.crystal.real_space - eb.crystal.real_space).max() < 1e-9
    assert ea.scan.image_range == eb.scan.image_range
    assert np.allclose(ea.scan.oscillation, eb.scan.oscillation, atol=1e-12)
    assert np.allclose(ea.beam.direction, eb.beam.direction, atol=1e-15)
    assert ea.beam.polarization_fraction == pytest.approx(eb.beam.polarization_fraction, abs=1e-15)
    assert eb.imageset.template.endswith("b_###.img")  # the list refers to the new run's own image
    assert value_of(read_smv(tmp_path / "b_001.img").header, "TWOTHETA") == 0  # CUSTOM: the tilt is in the vectors


# --- several panels ------------------------------------------------------------------------------------------
def test_four_panel_list_renders_four_panels_where_the_file_puts_them(tmp_path):
    """four_panel.expt: 4 panels of 256x256; the beam falls in a gap.  Their pixel centres are where
    dxtbx puts them (origin + (i + 1/2) p fast + (j + 1/2) p slow, in dxtbx's frame), every panel
    renders spots, and the list exported again is the input."""
    exp = api.from_cli(f"--experiment {FOUR} -default_F 100 -N 5 -oversample 1 -roi 0 63 0 63")
    gold = read_expt(FOUR)[0]
    assert len(exp.panels) == 4 and [p.name for p in exp.panels] == ["panel0", "panel1", "panel2", "panel3"]
    from nanobragg_jax.setup._dials_frame import R_MOSFLM

    for p, q in zip(exp.panels, gold.panels):
        centres = 1000.0 * np.einsum("ij,...j->...i", R_MOSFLM, p.pixel_centres())
        f, s = np.meshgrid(np.arange(256) + 0.5, np.arange(256) + 0.5)
        want = q.pixel_to_lab(f, s)
        assert np.abs(centres - want).max() < 1e-12
    back = experiment_model(exp, frames=20)
    assert detector_difference_mm(gold, back) < 1e-12 and [p.name for p in back.panels] == exp.panels.names
    images = [np.asarray(i) for i in api.simulate_panels(exp)]
    assert [i.shape for i in images] == [(256, 256)] * 4 and min(i.max() for i in images) > 0


def test_four_panel_run_writes_nxmx_modules_and_its_list(tmp_path):
    """The CLI: per-panel files, one NXmx file with four modules holding the detector's counts,
    and an experiment list that refers to it; fed back, the list gives the same images."""
    flags = ["--experiment", FOUR, "-default_F", "100", "-N", "5", "-oversample", "1", "-roi", "100", "131", "0", "31",
             "-nonoise", "-nopgm", "-noprogress"]
    assert run(tmp_path, *flags, "--out", "fp.nxs", "--expt", "fp.expt") == 0
    names = sorted(os.listdir(tmp_path))
    assert [panel_file_name("intimage.img", k, 4) for k in range(4)] == [n for n in names if n.startswith("intimage")]
    counts, stored = read_nxmx(tmp_path / "fp.nxs")
    assert counts.shape == (1, 4, 256, 256)
    for k in range(4):
        ints = read_smv(tmp_path / panel_file_name("intimage.img", k, 4)).data.astype(np.int64)
        assert np.array_equal(counts[0, k], ints - 40)
    gold = read_expt(FOUR)[0]
    listed = read_expt(tmp_path / "fp.expt")[0]
    assert detector_difference_mm(gold, stored) < 1e-9 and detector_difference_mm(gold, listed) < 1e-12
    assert listed.imageset.template == str(tmp_path / "fp.nxs") and listed.imageset.single_file_indices == (0,)
    (tmp_path / "again").mkdir()
    assert run(tmp_path / "again", "--experiment", "../fp.expt", *flags[2:]) == 0
    for k in range(4):
        name = panel_file_name("floatimage.bin", k, 4)
        assert np.array_equal(read_float_image(tmp_path / name, (256, 256)),
                              read_float_image(tmp_path / "again" / name, (256, 256)))


# --- the reader ------------------------------------------------------------------------------------------------
def test_hierarchy_groups_are_composed(tmp_path):
    """A detector whose panel sits in a rotated, translated group (as DIALS writes imported NXmx
    modules): the panel comes back in the lab frame, as dxtbx composes it."""
    d = json.loads(FOUR.read_text())
    det = d["detector"][0]
    p = det["panels"][0]
    c, s = np.cos(0.3), np.sin(0.3)
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])  # the group's axes: columns fast, slow, normal
    t = np.array([1.0, -2.0, -30.0])
    lab = (np.array(p["origin"]), np.array(p["fast_axis"]), np.array(p["slow_axis"]))
    p["origin"] = list(R.T @ (lab[0] - t))
    p["fast_axis"], p["slow_axis"] = list(R.T @ lab[1]), list(R.T @ lab[2])
    det["hierarchy"] = {"fast_axis": [1, 0, 0], "slow_axis": [0, 1, 0], "origin": [0, 0, 0], "children": [
        {"fast_axis": list(R[:, 0]), "slow_axis": list(R[:, 1]), "origin": list(t), "children": [{"panel": 0}]},
        *({"panel": k} for k in range(1, 4))]}
    (tmp_path / "h.expt").write_text(json.dumps(d))
    back, gold = read_expt(tmp_path / "h.expt")[0], read_expt(FOUR)[0]
    assert detector_difference_mm(gold, back) < 1e-12


# --- bad input ------------------------------------------------------------------------------------------------
def _non_square(tmp_path):
    d = json.loads(TT15.read_text())
    d["detector"][0]["panels"][0]["pixel_size"] = [0.2, 0.21]
    (tmp_path / "ns.expt").write_text(json.dumps(d))
    return "ns.expt"


@pytest.mark.parametrize("args, named", [
    (lambda t: ["--experiment", TT15, "--image", "21"], "--image 21"),
    (lambda t: ["--image", "2"], "--image 2 needs --experiment"),
    (lambda t: ["--experiment", "missing.expt"], "missing.expt"),
    (lambda t: ["--experiment", _non_square(t)], "non-square"),
    (lambda t: ["--experiment", TT15, "--geom", FOUR], "--geom and --experiment"),
    (lambda t: ["--experiment", FOUR, "-mask", INPUTS / "mask64.img"], "-mask cannot be combined with --experiment"),
    (lambda t: ["--experiment", FOUR, "--out", "x.cbf"], "miniCBF holds one panel"),
    (lambda t: ["--experiment", FOUR, "-trace_pixel", "1", "1"], "-trace_pixel"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, args, named):
    argv = [str(a) for a in args(tmp_path)]
    before = set(os.listdir(tmp_path))
    assert run(tmp_path, *argv, "-default_F", "1", "-N", "2", "-noprogress") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nanobragg: error:") and named in err and "\n" not in err, err
    assert set(os.listdir(tmp_path)) == before
