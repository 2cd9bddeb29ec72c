"""DIALS as the real client: what we write (NXmx, miniCBF, experiment lists) imported, spot-found and
indexed by DIALS, and what it finds compared with the truth we export (issue 14's acceptance).

Needs DIALS on PATH (Debian's `dials`: dials.import, dials.find_spots, dials.index and dxtbx.python);
skipped otherwise.  DIALS' HDF5 reads bitshuffle through hdf5plugin's filters (HDF5_PLUGIN_PATH).
The sweeps are noise-free, so spot finding gets a fixed threshold (sinc spots on a zero background
exceed DIALS' default share of strong pixels).
"""

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from conftest import INPUTS

from nanobragg_jax.diagnostics import detector_difference_mm, misorientation_deg
from nanobragg_jax.io import read_expt

ROOT = pathlib.Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("dials.import") is None or shutil.which("dxtbx.python") is None,
                                reason="DIALS is not installed (Debian package `dials`)")

CRYSTAL = "-cell 50 60 70 85 95 105 -misset 10 20 30 -default_F 100 -N 10 -lambda 1"
SWEEP = f"{CRYSTAL} -distance 100 -detpixels 512 -pixel 0.2 -phi 0 -osc 1 -phistep 0.1 -oversample 2 -nonoise"
SPOTS = ["spotfinder.threshold.dispersion.global_threshold=1000",
         "spotfinder.filter.max_strong_pixel_fraction=0.5"]


def series(folder, *args):
    """`nanobragg series ...` in this process, in `folder`: a whole sweep with one compile."""
    import cli

    cwd = os.getcwd()
    try:
        os.chdir(folder)
        assert cli.main(["series", *map(str, args), "-noprogress"]) == 0
    finally:
        os.chdir(cwd)


def dials(program, *args, cwd, timeout=300):
    """Run a DIALS program; its log tail is the failure message."""
    import hdf5plugin

    env = {**os.environ, "HDF5_PLUGIN_PATH": hdf5plugin.PLUGIN_PATH}
    r = subprocess.run([program, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{program} failed:\n{(r.stdout + r.stderr)[-3000:]}"
    return r.stdout


def process(folder, images, truth_path):
    """dials.import, find_spots and index (no cell given); the numbers the acceptance asks for."""
    dials("dials.import", *images, "output.experiments=imported.expt", cwd=folder)
    dials("dials.find_spots", "imported.expt", "nproc=2", *SPOTS, cwd=folder)
    dials("dials.index", "imported.expt", "strong.refl", cwd=folder)
    r = subprocess.run(["dxtbx.python", str(ROOT / "tests" / "dials_report.py"), truth_path, "indexed.expt",
                        "indexed.refl", "imported.expt"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    truth = read_expt(folder / truth_path)[0]
    imported = read_expt(folder / "imported.expt")[0]
    report["detector_mm"] = detector_difference_mm(truth, imported)
    indexed = read_expt(folder / "indexed.expt")[0]
    report["misorientation_deg"] = misorientation_deg(truth.crystal, indexed.crystal)
    report["scan"] = (imported.scan.image_range, imported.scan.oscillation, truth.scan.image_range,
                      truth.scan.oscillation)
    report["axis"] = (imported.goniometer.rotation_axis, truth.goniometer.rotation_axis)
    print(json.dumps(report))
    return report


def check_acceptance(report):
    true, found = np.array(report["niggli_true"]), np.array(report["niggli_indexed"])
    assert np.abs(found[:3] / true[:3] - 1).max() < 0.002, (found, true)  # lengths within 0.2 %
    assert np.abs(found[3:] - true[3:]).max() < 0.2, (found, true)  # angles within 0.2 deg
    # The issue asks for 0.1 deg.  Left-end phi sampling read as a plain scan would leave a bias of
    # phistep/2 (0.035-0.057 deg measured, specs/dials-frame.md §9); the exported scan removes it
    # (0.007 and 0.013 deg measured), so hold it to 0.03.
    assert report["misorientation_deg"] < 0.03
    assert report["detector_mm"] < 1e-3
    assert max(report["rmsd_px"]) < 0.5
    assert report["indexed"] > 0.9
    got_range, got_osc, true_range, true_osc = report["scan"]
    assert tuple(got_range) == tuple(true_range) and np.allclose(got_osc, true_osc, atol=1e-6)
    assert np.allclose(*report["axis"], atol=1e-12)


def test_nxmx_sweep_two_theta_indexes_to_the_truth(tmp_path):
    """Issue 14, done when: 20 frames of a triclinic crystal on 512x512 pixels of 0.2 mm at 100 mm,
    two-theta 15 deg and a 5 deg detector rotation about the beam (MOSFLM: the beam is x), as one
    NXmx file written by `nanobragg series`, with the true experiment list."""
    series(tmp_path, *f"-twotheta 15 -detector_rotx 5 {SWEEP}".split(), "--frames", 20, "--out", "sweep.nxs",
           "--expt", "truth.expt")
    assert sorted(os.listdir(tmp_path)) == ["sweep.json", "sweep.nxs", "truth.expt"]
    check_acceptance(process(tmp_path, ["sweep.nxs"], "truth.expt"))


def test_cbf_sweep_untilted_indexes_to_the_truth(tmp_path):
    """The same crystal and detector without tilt, one miniCBF per frame (XDS convention), numbered
    from 0 as the series numbers its frames."""
    series(tmp_path, *f"-xds {SWEEP}".split(), "--frames", 20, "--out", "frame_#####.cbf", "--expt", "truth.expt")
    names = sorted(p.name for p in tmp_path.glob("frame_*.cbf"))
    assert names == [f"frame_{i:05d}.cbf" for i in range(20)]
    check_acceptance(process(tmp_path, names, "truth.expt"))


def test_four_panel_experiment_list_sweep_indexes_to_the_input(tmp_path):
    """Issue 15, done when: the golden four_panel.expt (2x2 modules of 256x256 with gaps, tilted by
    10 deg, the direct beam in a gap; a triclinic crystal) given with --experiment and rendered by
    `nanobragg series` as one NXmx sweep: DIALS imports 4 panels whose geometry equals the input's,
    indexes the sweep, and recovers the input crystal."""
    golden = read_expt(INPUTS / "four_panel.expt")[0]
    series(tmp_path, "--experiment", INPUTS / "four_panel.expt", *"-default_F 100 -N 10 -oversample 1 "
           "-phistep 0.1 -nonoise".split(), "--frames", 10, "--out", "sweep.nxs", "--expt", "truth.expt")
    report = process(tmp_path, ["sweep.nxs"], "truth.expt")
    imported = read_expt(tmp_path / "imported.expt")[0]
    assert len(imported.panels) == 4 and detector_difference_mm(golden, imported) < 1e-3
    lab = np.array(report["panels"])  # dxtbx's own composition of the modules' hierarchy
    want = np.array([[p.origin, p.fast_axis, p.slow_axis] for p in golden.panels])
    assert np.abs(lab - want).max() < 1e-3
    true, found = np.array(report["niggli_true"]), np.array(report["niggli_indexed"])
    assert np.allclose(true, (50, 60, 70, 85, 85, 75), atol=1e-9)  # the input cell, exactly (no C1)
    assert np.abs(found[:3] / true[:3] - 1).max() < 0.002 and np.abs(found[3:] - true[3:]).max() < 0.2
    indexed = read_expt(tmp_path / "indexed.expt")[0]
    # Issue: 0.1 deg; measured 0.018 deg (phistep 0.1, the scan exported centred on the samples).
    assert misorientation_deg(golden.crystal, indexed.crystal) < 0.05
    assert max(report["rmsd_px"]) < 0.5 and report["indexed"] > 0.9
    assert imported.scan.image_range == (1, 10) and np.allclose(imported.scan.oscillation, (0.0, 1.0), atol=1e-9)


# --- single frames from the command line: DIALS reads the geometry we wrote -------------------------------
FRAMES = [  # (geometry, --out); one dials.import and one dials.find_spots for all of them
    ("-xds -detector_rotx 3 -detector_roty -2 -detector_rotz 5 -twotheta 10", "g0.nxs"),
    ("-beam_vector 1 0.03 0 -spindle_axis 0 0.02 1 -detector_rotx 3", "g1.h5"),
    ("-adxv", "g2_0001.cbf"),  # slow axis up: written flipped
    ("-dials", "g3_0001.cbf"),  # fast axis vertical: written transposed
    ("-mosflm -detector_thick 450", "g4_0001.cbf"),
]


def test_cli_frames_geometry_read_by_dials(tmp_path):
    """Single frames written by `nanobragg --out --expt` for five geometries (tilted and off-axis as
    NXmx, flipped, transposed and thick-sensor miniCBF): dials.import reads each detector, scan and
    axis as exported, and dials.find_spots reads the pixels through the experiment lists alone."""
    import cli

    args = (f"{CRYSTAL} -distance 120 -detpixels_f 96 -detpixels_s 80 -pixel 0.172 -phi 7 -osc 0.5 "
            "-oversample 1 -nonoise -nopgm -noprogress")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        for k, (geometry, out) in enumerate(FRAMES):
            assert cli.main(f"{geometry} {args}".split() + ["--out", out, "--expt", f"g{k}.expt"]) == 0
    finally:
        os.chdir(cwd)
    dials("dials.import", *(out for _, out in FRAMES), "output.experiments=imported.expt", cwd=tmp_path)
    imported = {os.path.basename(e.imageset.template): e for e in read_expt(tmp_path / "imported.expt")}
    for k, (geometry, out) in enumerate(FRAMES):
        truth = read_expt(tmp_path / f"g{k}.expt")[0]
        got = imported[os.path.basename(truth.imageset.template)]
        assert detector_difference_mm(truth, got) < 1e-3, geometry
        assert got.scan.image_range == truth.scan.image_range
        assert np.allclose(got.scan.oscillation, truth.scan.oscillation, atol=1e-6)
        assert np.allclose(got.goniometer.rotation_axis, truth.goniometer.rotation_axis, atol=1e-12)
        assert got.beam.wavelength == 1.0
        if "thick" in geometry:
            assert got.panels[0].thickness == pytest.approx(0.45) and got.panels[0].material == "Si"
    # the experiment lists themselves are DIALS inputs: their imagesets name the files we wrote
    out = dials("dials.find_spots", *(f"g{k}.expt" for k in range(len(FRAMES))), *SPOTS, cwd=tmp_path)
    assert "Saved" in out


def test_expt_refers_to_the_smv_image(tmp_path):
    """Without --out the experiment list points at the SMV image (pedestal = the ADC offset): DIALS
    then reads the pixels through nanoBragg's SMV format but the geometry from the list, even for
    a tilted detector whose SMV header it would misread (specs/dials-frame.md §4)."""
    import cli

    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert cli.main(f"-twotheta 12 {CRYSTAL} -detpixels 128 -pixel 0.2 -osc 1 -oversample 1 -nonoise "
                        "-nopgm -noprogress -intfile frame_001.img --expt truth.expt".split()) == 0
    finally:
        os.chdir(cwd)
    dials("dials.find_spots", "truth.expt", *SPOTS, cwd=tmp_path)
    code = ("import json; from dxtbx.model.experiment_list import ExperimentListFactory as F; "
            "e = F.from_json_file('truth.expt')[0]; p = e.detector[0]; print(json.dumps([e.imageset."
            "get_format_class().__name__, p.get_origin(), p.get_slow_axis(), p.get_pedestal()]))")
    out = subprocess.run(["dxtbx.python", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    fmt, origin, slow, pedestal = json.loads(out.stdout.strip().splitlines()[-1])
    truth = read_expt(tmp_path / "truth.expt")[0].panels[0]
    assert fmt == "FormatSMVJHSim" and pedestal == 40.0
    assert np.allclose(origin, truth.origin, atol=1e-9) and np.allclose(slow, truth.slow_axis, atol=1e-12)
    assert abs(slow[2]) > 0.2  # tilted: what the SMV header alone would have lost
