"""Formats processing programs read: the nanoBragg -> dxtbx frame mapping, DIALS experiment lists,
NXmx and miniCBF, each read back after writing, and the command line's --out / --expt.

No DIALS here (tests/test_dials.py runs it): the references are closed forms, the golden experiment
list made by dxtbx (tests/data/golden/inputs/twotheta15.expt), and the rendered images themselves
(the brightest pixels must index to whole Miller indices with the exported models)."""

import json
import os

import h5py
import numpy as np
import pytest

from conftest import INPUTS

import cli
from nanobragg_jax.api import from_cli
from nanobragg_jax.diagnostics import load_image
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import (
    BeamModel,
    ExperimentModel,
    GoniometerModel,
    NotRepresentable,
    NXmxWriter,
    PanelModel,
    ScanModel,
    cbf_orientation,
    numbered_template,
    read_expt,
    read_minicbf,
    read_nxmx,
    read_smv,
    write_expt,
    write_minicbf,
    write_nxmx,
)
from nanobragg_jax.programs import render_frame
from nanobragg_jax.setup import experiment_model, lab_rotation, scan_angles

BASE = "-default_F 100 -N 10 -lambda 1 -distance 100 -detpixels 128 -pixel 0.2 -oversample 1"
XTAL = "-cell 70 80 90 90 90 90 -misset 10 20 30"


def rodrigues(axis, deg):
    k = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.radians(deg)
    return np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K


# --- the frame mapping ---------------------------------------------------------------------------------
@pytest.mark.parametrize("conv, R", [
    ("-mosflm", [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]), ("-denzo", [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]),
    ("-xds", [[1, 0, 0], [0, -1, 0], [0, 0, -1]]), ("-adxv", [[1, 0, 0], [0, -1, 0], [0, 0, -1]]),
    ("-dials", [[0, 1, 0], [1, 0, 0], [0, 0, -1]]),
])
def test_lab_rotation_per_convention(conv, R):
    """specs/dials-frame.md §2: a proper rotation taking the beam to -z and the spindle to +x."""
    det = from_cli(f"{conv} {XTAL} {BASE}").static.detector
    got = lab_rotation(det.beam, det.spindle, det.polar)
    assert np.allclose(got, R, atol=1e-15)
    assert np.isclose(np.linalg.det(got), 1.0)


def test_lab_rotation_custom_and_degenerate():
    beam, spindle = np.array([1.0, 0.03, 0.0]), np.array([0.0, 0.02, 1.0])
    R = lab_rotation(beam, spindle)
    assert np.allclose(R @ R.T, np.eye(3)) and np.isclose(np.linalg.det(R), 1)
    assert np.allclose(R @ (beam / np.linalg.norm(beam)), [0, 0, -1])
    assert abs((R @ spindle)[1]) < 1e-15 and (R @ spindle)[0] > 0  # spindle in the x-z plane, +x side
    # spindle along the beam: the polar vector decides x
    assert np.allclose(lab_rotation((1, 0, 0), (2, 0, 0), polar=(0, 0, 1)) @ (0, 0, 1), (1, 0, 0))
    with pytest.raises(ValueError):
        lab_rotation((1, 0, 0), (1, 0, 0))


def test_untilted_mosflm_origin_and_beam_centre():
    """§3: the panel origin is the outer corner of pixel (0, 0); MOSFLM's default beam centre is
    (Fbeam, Sbeam)/p = (129, 129) px on 256 pixels of 0.2 mm (C's half-pixel convention)."""
    m = experiment_model(from_cli(f"{XTAL} -default_F 1 -detpixels 256 -pixel 0.2 -distance 100"))
    p = m.panels[0]
    assert np.allclose(p.origin, (-25.8, 25.8, -100.0), atol=1e-12)
    assert np.allclose(p.fast_axis, (1, 0, 0)) and np.allclose(p.slow_axis, (0, -1, 0))
    assert p.pixel_size == (0.2, 0.2) and p.image_size == (256, 256)
    # XDS: the true origin, where C's DIALS_ORIGIN header prints (100, -25.6, 25.6) (quirk O6)
    x = experiment_model(from_cli(f"-xds {XTAL} -default_F 1 -detpixels 256 -pixel 0.2 -distance 100"))
    assert np.allclose(x.panels[0].origin, (-25.6, 25.6, -100.0), atol=1e-12)


def test_twotheta15_equals_the_golden_experiment_list():
    """tests/data/golden/inputs/twotheta15.expt (written by dxtbx) is nanoBragg's -xds -twotheta 15
    geometry: our mapping reproduces its detector, beam and goniometer."""
    gold = read_expt(INPUTS / "twotheta15.expt")[0]
    ours = experiment_model(from_cli(f"-xds -twotheta 15 -distance 100 -detpixels 512 -pixel 0.2 -lambda 1.2 "
                                     f"{XTAL} -default_F 1 -osc 1"), frames=20)
    g, o = gold.panels[0], ours.panels[0]
    for key in ("origin", "fast_axis", "slow_axis"):
        assert np.allclose(getattr(o, key), getattr(g, key), atol=1e-9), key
    assert o.image_size == g.image_size and np.allclose(o.pixel_size, g.pixel_size)
    assert np.allclose(ours.beam.direction, gold.beam.direction)
    assert ours.beam.wavelength == gold.beam.wavelength
    assert np.allclose(ours.goniometer.rotation_axis, gold.goniometer.rotation_axis)
    assert ours.scan.image_range == gold.scan.image_range


def test_scan_is_centred_on_the_mean_sampled_angle():
    """A11: nanoBragg samples phi0 + i*step; the exported image is centred on their mean."""
    exp = from_cli(f"{XTAL} {BASE} -phi 30 -osc 1 -phistep 0.1")
    start, width = scan_angles(exp)
    assert width == pytest.approx(1.0) and start == pytest.approx(29.95)
    assert start + width / 2 == pytest.approx(np.mean(30 + 0.1 * np.arange(10)))
    exp = from_cli(f"{XTAL} {BASE} -phi 5 -osc 1 -phistep 0.3")  # 4 steps: 5.0 .. 5.9
    start, width = scan_angles(exp)
    assert width == pytest.approx(1.0) and start + 0.5 == pytest.approx(5.45)
    still = experiment_model(from_cli(f"{XTAL} {BASE} -phi 30"))
    assert scan_angles(from_cli(f"{XTAL} {BASE} -phi 30")) is None and still.scan is None


def _bright_spots(img, count=6, guard=4):
    """(slow, fast) of the brightest pixels of up to `count` separate spots."""
    order = np.argsort(img, axis=None)[::-1]
    spots = []
    for k in order[:4000]:
        s, f = divmod(int(k), img.shape[1])
        if img[s, f] < 0.05 * img.max():
            break
        if all(abs(s - a) > guard or abs(f - b) > guard for a, b in spots):
            spots.append((s, f))
            if len(spots) == count:
                break
    return spots


@pytest.mark.parametrize("geometry", [
    "-mosflm -phi 30", "-xds -phi 30", "-adxv -phi 30", "-denzo -phi 30", "-dials -phi 30",
    "-mosflm -twotheta 10 -detector_rotx 5 -phi 30",
    "-xds -detector_rotx 3 -detector_roty -2 -detector_rotz 5 -twotheta 10 -phi 30",
    "-beam_vector 1 0.03 0 -spindle_axis 0 0.02 1 -detector_rotx 3 -detector_roty 2 -phi 30",
    "-mosflm -phi 30 -osc 1 -phistep 0.25", "-xds -twotheta 8 -phi 30 -osc 1 -phisteps 4",
])
def test_exported_models_index_the_rendered_spots(geometry):
    """The whole mapping against the image it describes: the brightest pixels of the rendered frame,
    taken through the exported detector, beam and crystal (rotated to the middle of the exported
    image for a rotation frame), land on whole Miller indices.  A mirror, a reversed axis or a
    half-pixel shift moves them by 0.1 to 0.5."""
    exp = from_cli(f"{geometry} {XTAL} {BASE} -mosaic 0")
    img, _ = render_frame(exp)
    m = experiment_model(exp)
    p = m.panels[0]
    A = m.crystal.A
    if m.scan is not None:
        A = rodrigues(m.goniometer.rotation_axis, m.scan.oscillation[0] + m.scan.oscillation[1] / 2) @ A
    spots = _bright_spots(np.asarray(img))
    assert len(spots) >= 3
    worst = 0.0
    for s, f in spots:
        xyz = p.pixel_to_lab(f + 0.5, s + 0.5)
        s1 = xyz / np.linalg.norm(xyz) / m.beam.wavelength
        hkl = np.linalg.solve(A, s1 - m.beam.s0)
        worst = max(worst, np.abs(hkl - np.round(hkl)).max())
    assert worst < 0.07, (worst, spots)  # measured <= 0.045; a half-pixel shift gives 0.1-0.13


def test_beam_polarization_and_crystal_are_rotated_alike():
    exp = from_cli(f"-xds -polar 0.6 {XTAL} {BASE} -osc 1")
    m = experiment_model(exp)
    assert m.beam.polarization_fraction == pytest.approx(0.8)
    E = np.cross(m.beam.polarization_normal, m.beam.direction)  # XDS's polar vector (1, 0, 0) maps to x
    assert abs(E @ (1, 0, 0)) == pytest.approx(1.0)
    real = m.crystal.real_space
    assert np.allclose(np.linalg.norm(real, axis=1), (70, 80, 90))
    assert np.allclose(real @ m.crystal.A, np.eye(3))


# --- DIALS experiment lists ----------------------------------------------------------------------------
def test_expt_round_trip(tmp_path):
    m = experiment_model(from_cli(f"-xds -twotheta 15 -detector_thick 450 {XTAL} {BASE} -osc 1"), frames=7)
    m = m.with_images(tmp_path / "frame_0003.cbf")
    assert m.imageset.template.endswith("frame_####.cbf") and m.scan.image_range == (3, 9)
    write_expt(tmp_path / "a.expt", m)
    assert read_expt(tmp_path / "a.expt") == [m]
    d = json.loads((tmp_path / "a.expt").read_text())
    assert d["__id__"] == "ExperimentList" and d["imageset"][0]["__id__"] == "ImageSequence"
    panel = d["detector"][0]["panels"][0]
    assert panel["thickness"] == pytest.approx(0.45) and panel["material"] == "Si"
    assert panel["px_mm_strategy"]["type"] == "ParallaxCorrectedPxMmStrategy"


def test_expt_reads_the_golden_four_panel_list():
    m = read_expt(INPUTS / "four_panel.expt")[0]
    assert len(m.panels) == 4 and [p.name for p in m.panels] == ["panel0", "panel1", "panel2", "panel3"]
    assert m.beam.wavelength == 1.2 and m.scan.image_range == (1, 20) and m.imageset is None
    assert np.allclose(np.linalg.norm(m.crystal.real_space, axis=1), (50, 60, 70))


@pytest.mark.parametrize("text, message", [
    ("{", "not JSON"), ('{"__id__": "Other"}', "not a DIALS experiment list"),
    ('{"__id__": "ExperimentList", "experiment": [{"detector": 0}], "detector": [{"panels": []}]}',
     "no beam"),
])
def test_expt_bad_files(tmp_path, text, message):
    (tmp_path / "bad.expt").write_text(text)
    with pytest.raises(InputError, match=message):
        read_expt(tmp_path / "bad.expt")


def test_numbered_template():
    assert numbered_template("/d/frame_0007.cbf") == ("/d/frame_####.cbf", 7)
    assert numbered_template("x1.img") == ("x#.img", 1)
    assert numbered_template("a_###.cbf") == ("a_###.cbf", 1)
    assert numbered_template("intimage.img") is None


def test_compare_experiments_finds_the_change_of_basis_and_rotation(tmp_path, capsys):
    """A crystal re-expressed in another basis (M integral, det -1 here), turned by 0.05 deg and
    scaled by 0.1 %: compare-expt recovers M and the 0.05 deg."""
    from nanobragg_jax.diagnostics import change_of_basis, compare_experiments, misorientation_deg
    from nanobragg_jax.io import CrystalModel

    truth = experiment_model(from_cli(f"-cell 50 60 70 85 95 105 -misset 10 20 30 {BASE} -osc 1"))
    M = np.array([[0, 1, 0], [1, 0, 1], [0, 0, -1]])
    turned = (rodrigues((0.3, -0.5, 0.8), 0.05) @ (1.001 * M @ truth.crystal.real_space).T).T
    found = truth.replace(crystal=CrystalModel(*map(tuple, turned)))
    assert np.array_equal(change_of_basis(truth.crystal, found.crystal), M)
    assert misorientation_deg(truth.crystal, found.crystal) == pytest.approx(0.05, abs=1e-9)
    write_expt(tmp_path / "t.expt", truth)
    write_expt(tmp_path / "f.expt", found)
    result = compare_experiments(tmp_path / "t.expt", tmp_path / "f.expt")
    assert result.detector_mm == 0 and result.beam_deg == 0
    assert cli.main(["compare-expt", str(tmp_path / "t.expt"), str(tmp_path / "f.expt")]) == 0
    out = capsys.readouterr().out
    assert "M = [0 1 0; 1 0 1; 0 0 -1]" in out and "0.0500 deg" in out
    bent = truth.replace(crystal=CrystalModel(*map(tuple, truth.crystal.real_space * (1, 1.3, 1))))
    with pytest.raises(InputError, match="not one lattice"):
        misorientation_deg(truth.crystal, bent.crystal)


# --- NXmx --------------------------------------------------------------------------------------------
def _model(frames=3, panels=None):
    panels = panels or (PanelModel(origin=(-10.0, 12.0, -95.0), fast_axis=(1.0, 0.0, 0.0),
                                   slow_axis=(0.0, -0.96592582628906831, 0.25881904510252074),
                                   pixel_size=(0.2, 0.2), image_size=(24, 16),
                                   trusted_range=(-1.0, 65495.0)),)
    return ExperimentModel(beam=BeamModel((0.0, 0.0, 1.0), 1.3), panels=panels,
                           goniometer=GoniometerModel((1.0, 0.0, 0.0)),
                           scan=ScanModel((1, frames), (9.95, 0.5), 0.1))


def _same_geometry(a, b, tol=1e-12):
    assert len(a.panels) == len(b.panels)
    for p, q in zip(a.panels, b.panels):
        for key in ("origin", "fast_axis", "slow_axis", "pixel_size"):
            assert np.allclose(getattr(p, key), getattr(q, key), atol=tol, rtol=0), key
        assert p.image_size == q.image_size and p.trusted_range == q.trusted_range
    assert np.allclose(a.beam.direction, b.beam.direction) and a.beam.wavelength == b.beam.wavelength
    assert np.allclose(a.goniometer.rotation_axis, b.goniometer.rotation_axis, atol=tol)
    assert a.scan.image_range == b.scan.image_range
    assert np.allclose(a.scan.oscillation, b.scan.oscillation, atol=tol)
    assert a.scan.exposure_time == b.scan.exposure_time


def test_nxmx_round_trip_series(tmp_path):
    m = _model()
    frames = np.random.default_rng(1).integers(0, 60000, size=(3, 16, 24)).astype(np.int32)
    with NXmxWriter(tmp_path / "s.nxs", m) as w:
        for f in frames:
            w.write(f)
    images, back = read_nxmx(tmp_path / "s.nxs")
    assert images.dtype == np.int32 and np.array_equal(images, frames)
    _same_geometry(m, back)
    with h5py.File(tmp_path / "s.nxs") as f:
        data = f["/entry/data/data"]
        assert data.chunks == (1, 16, 24) and "32008" in data._filters  # bitshuffle (LZ4 inside)
        assert f["/entry/definition"][()] == b"NXmx"
        omega = f["/entry/sample/transformations/omega"]
        assert np.allclose(omega[()], [9.95, 10.45, 10.95]) and np.allclose(omega.attrs["vector"], (-1, 0, 0))
        assert f["/entry/instrument/detector/saturation_value"][()] == 65495
        assert f["/entry/instrument/detector/sensor_thickness"][()] > 0


def test_nxmx_four_panels_and_floats(tmp_path):
    gold = read_expt(INPUTS / "four_panel.expt")[0]
    m = gold.replace(scan=ScanModel((1, 2), (0.0, 1.0)), crystal=None)
    frames = np.zeros((2, 4, 256, 256), np.float32)
    for k in range(4):
        frames[:, k] = k + 0.5  # each module tagged with its own value
    write_nxmx(tmp_path / "p.nxs", frames, m)
    images, back = read_nxmx(tmp_path / "p.nxs")
    assert images.shape == (2, 4, 256, 256) and images.dtype == np.float32 and np.array_equal(images, frames)
    _same_geometry(m, back, tol=1e-9)


def test_nxmx_writer_refuses_and_leaves_no_file(tmp_path):
    m = _model(frames=3)
    with pytest.raises(ValueError, match="3 images, 2 were written"):
        with NXmxWriter(tmp_path / "s.nxs", m) as w:
            w.write(np.zeros((16, 24), np.int32))
            w.write(np.zeros((16, 24), np.int32))
    with pytest.raises(ValueError, match="shape"):
        write_nxmx(tmp_path / "s.nxs", np.zeros((3, 17, 24), np.int32), m)
    with pytest.raises(ValueError, match="pedestal"):
        NXmxWriter(tmp_path / "s.nxs", m.replace(panels=(m.panels[0].__class__(**{
            **m.panels[0].__dict__, "pedestal": 40.0}),)))
    assert os.listdir(tmp_path) == []
    with pytest.raises(InputError, match="cannot read"):
        read_nxmx(tmp_path / "missing.nxs")


def test_nxmx_written_with_hdf5_plugin_path_set(tmp_path):
    """Users set HDF5_PLUGIN_PATH to hdf5plugin's folder for DIALS; HDF5 then loads the bitshuffle
    library itself, uninitialised, and writes fail unless the writer registers hdf5plugin's own."""
    import subprocess
    import sys

    import hdf5plugin

    code = ("import numpy as np, sys; sys.path.insert(0, %r); import test_formats as t; "
            "t.write_nxmx('s.nxs', np.ones((3, 16, 24), np.int32), t._model()); "
            "print(int(t.read_nxmx('s.nxs')[0].sum()))" % os.path.dirname(__file__))
    env = {**os.environ, "HDF5_PLUGIN_PATH": hdf5plugin.PLUGIN_PATH}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0 and r.stdout.split()[-1] == str(3 * 16 * 24), r.stderr[-1500:]


# --- miniCBF -----------------------------------------------------------------------------------------
def test_cbf_round_trip(tmp_path):
    m = experiment_model(from_cli(f"{XTAL} {BASE} -phi 3 -osc 1 -detector_thick 320"), frames=4)
    img = np.arange(128 * 128, dtype=np.int32).reshape(128, 128) % 5000
    write_minicbf(tmp_path / "f_0002.cbf", img, m, index=1)
    data, back = read_minicbf(tmp_path / "f_0002.cbf")
    assert np.array_equal(data, img)
    p, q = m.panels[0], back.panels[0]
    assert np.allclose(q.origin, p.origin, atol=1e-6)
    assert q.fast_axis == p.fast_axis and q.slow_axis == p.slow_axis
    assert q.thickness == pytest.approx(0.32) and q.trusted_range == p.trusted_range
    assert back.scan.oscillation == pytest.approx((m.scan.oscillation[0] + 1.0, 1.0), abs=1e-6)
    assert back.beam.wavelength == pytest.approx(1.0)
    assert load_image(tmp_path / "f_0002.cbf") == pytest.approx(img.astype(float))
    import fabio

    header = fabio.open(str(tmp_path / "f_0002.cbf")).header
    assert header["_array_data.header_convention"] == "GENERIC_MINI"
    assert "PILATUS" not in header["_array_data.header_contents"]


@pytest.mark.parametrize("conv", ["-adxv", "-dials", "-mosflm -detector_rotx 90", "-xds -detector_rotz 180"])
def test_cbf_reorients_flipped_and_turned_panels(tmp_path, conv):
    """Axis-aligned panels that are not (+x, -y) are written flipped or transposed: every pixel keeps
    its lab position in the model read back."""
    m = experiment_model(from_cli(f"{conv} {XTAL} {BASE} -detpixels_f 40 -detpixels_s 30"))
    img = np.arange(30 * 40, dtype=np.int32).reshape(30, 40)
    write_minicbf(tmp_path / "t_001.cbf", img, m)
    data, back = read_minicbf(tmp_path / "t_001.cbf")
    p, q = m.panels[0], back.panels[0]
    stored = cbf_orientation(m)[1].panels[0]  # what an experiment list for the file must hold
    assert np.allclose(stored.origin, q.origin, atol=1e-6) and stored.image_size == q.image_size
    for s, f in [(0, 0), (29, 0), (0, 39), (17, 23)]:
        where = p.pixel_to_lab(f + 0.5, s + 0.5)
        basis = np.array([q.fast_axis, q.slow_axis, (0, 0, 1)]).T * [q.pixel_size[0], q.pixel_size[1], 1]
        i, j = np.linalg.solve(basis, where - q.origin)[:2] - 0.5
        assert np.allclose([i, j], np.round([i, j]), atol=1e-6)
        assert data[int(round(j)), int(round(i))] == img[s, f]


def test_cbf_refuses_tilted_detectors():
    for geometry in ("-twotheta 15", "-detector_rotx 5", "-beam_vector 1 0.03 0"):
        with pytest.raises(NotRepresentable):
            cbf_orientation(experiment_model(from_cli(f"{geometry} {XTAL} {BASE} -osc 1")))


# --- the command line --------------------------------------------------------------------------------
def test_cli_out_nxs_and_expt(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = f"-xds -twotheta 10 {XTAL} {BASE} -phi 2 -osc 1 -phisteps 4 -seed 5 -nopgm -noprogress".split()
    assert cli.main(args + ["--out", "one.nxs", "--expt", "one.expt"]) == 0
    images, back = read_nxmx("one.nxs")
    noise = read_smv("noiseimage.img").data
    assert np.array_equal(images[0], noise.astype(np.int32) - 40)  # counts: the noise image less -adc
    truth = read_expt("one.expt")[0]
    assert truth.imageset.template == str(tmp_path / "one.nxs") and truth.imageset.single_file_indices == (0,)
    _same_geometry(truth, back)
    assert truth.panels[0].pedestal == 0 and truth.panels[0].trusted_range == (-1.0, 65495.0)
    assert "writing one.nxs as NeXus NXmx" in capsys.readouterr().out


def test_cli_out_cbf_nonoise_and_smv_link(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = f"{XTAL} {BASE} -osc 1 -nonoise -nopgm -noprogress -adc 10".split()
    assert cli.main(args + ["--out", "img_0005.cbf", "--expt", "c.expt"]) == 0
    data, _ = read_minicbf("img_0005.cbf")
    assert np.array_equal(data, read_smv("intimage.img").data.astype(np.int32) - 10)
    truth, back = read_expt("c.expt")[0], read_minicbf("img_0005.cbf")[1]
    assert truth.imageset.template == str(tmp_path / "img_####.cbf") and truth.scan.image_range == (5, 5)
    assert np.allclose(truth.panels[0].origin, back.panels[0].origin, atol=1e-6)
    # without --out the experiment list refers to the SMV image, pedestal = the ADC offset
    assert cli.main(args + ["-intfile", "frame_001.img", "--expt", "s.expt"]) == 0
    smv = read_expt("s.expt")[0]
    assert smv.imageset.template == str(tmp_path / "frame_###.img") and smv.panels[0].pedestal == 10
    capsys.readouterr()
    assert cli.main(args + ["--expt", "g.expt"]) == 0  # intimage.img has no number: geometry only
    assert "has no image number" in capsys.readouterr().err and read_expt("g.expt")[0].imageset is None
    assert cli.main(f"{XTAL} {BASE} -nonoise -nopgm -noprogress".split() + ["--out", "still.cbf"]) == 0
    assert "'still.cbf' has no image number" in capsys.readouterr().err
    assert cli.main(["-curved_det"] + args + ["--out", "c_001.nxs"]) == 0
    assert "dxtbx has no curved detector (-curved_det)" in capsys.readouterr().err


@pytest.mark.parametrize("extra, named", [
    (["--out", "x.tif"], "unknown image format"),
    (["--out", "x.cbf", "-twotheta", "5"], "miniCBF holds only"),
    (["--out"], "--out needs a file name, got '--expt'"),
])
def test_cli_bad_out_writes_nothing(tmp_path, monkeypatch, capsys, extra, named):
    monkeypatch.chdir(tmp_path)
    assert cli.main(f"{XTAL} {BASE} -nopgm -noprogress".split() + extra + ["--expt", "x.expt"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and named in err
    assert os.listdir(tmp_path) == []
