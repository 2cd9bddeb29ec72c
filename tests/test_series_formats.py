"""`nanobragg series` in the formats processing programs read (issues 13-15): miniCBF frames, one
NXmx file for the whole series (resumable, from Dask workers too), the series' experiment list
(`--expt`), multi-panel detectors (`--experiment` with several panels, `--image`), and an
experiment list of stills fed back.  Every frame equals the single run its manifest names."""

import json
import os

import numpy as np
import pytest
from conftest import INPUTS
from test_series import BASE, manifest, series

import cli
from nanobragg_jax.datasets import Template
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import frame_sha256, read_expt, read_float_image, read_minicbf, read_nxmx


def files(folder) -> list:
    """The folder's files but the structure-factor dump (-hkl leaves Fdump.bin, as C)."""
    return sorted(n for n in os.listdir(folder) if n != "Fdump.bin")


def single(folder, *args) -> int:
    """One `nanobragg` run in `folder` (in this process)."""
    folder.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return cli.main([str(a) for a in args] + ["-nopgm"])
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def nxs_reference(tmp_path_factory):
    """A 4-frame sweep as one NXmx file, made in this process: what every other run must store."""
    folder = tmp_path_factory.mktemp("nxs")
    assert series(folder, *BASE, "--frames", "4", "--out", "s.nxs", "--expt", "s.expt") == 0
    return folder


# --- miniCBF ---------------------------------------------------------------------------------------------
def test_cbf_frames_equal_single_runs_and_the_expt_describes_the_sweep(tmp_path):
    assert series(tmp_path, *BASE, "--frames", "3", "--out", "c/f_#####.cbf", "--expt", "c/t.expt") == 0
    m = manifest(tmp_path / "c" / "f.json")
    assert m["format"] == "miniCBF"
    flags = m["frames"][2]["flags"]
    assert single(tmp_path / "one", *BASE, *flags, "--out", "f_00002.cbf") == 0
    assert (tmp_path / "c" / "f_00002.cbf").read_bytes() == (tmp_path / "one" / "f_00002.cbf").read_bytes()
    _, header = read_minicbf(tmp_path / "c" / "f_00002.cbf")
    truth = read_expt(tmp_path / "c" / "t.expt")
    assert len(truth) == 1 and truth[0].imageset.template == str(tmp_path / "c" / "f_#####.cbf")
    assert truth[0].scan.image_range == (0, 2)  # the files' numbers
    start, width = truth[0].scan.oscillation
    assert header.scan.oscillation == pytest.approx((start + 2 * width, width), abs=1e-9)


# --- one NXmx file --------------------------------------------------------------------------------------------
def test_nxmx_series_holds_the_single_runs_counts_and_the_scan(tmp_path, nxs_reference):
    m = manifest(nxs_reference / "s.json")
    assert m["format"] == "NeXus NXmx" and files(nxs_reference) == ["s.expt", "s.json", "s.nxs"]
    frames, stored = read_nxmx(nxs_reference / "s.nxs")
    assert frames.shape == (4, 32, 32) and frames.dtype == np.int32
    for i in (0, 3):
        assert single(tmp_path / f"one{i}", *BASE, *m["frames"][i]["flags"], "--out", "x.nxs") == 0
        assert np.array_equal(read_nxmx(tmp_path / f"one{i}" / "x.nxs")[0][0], frames[i])
        assert m["frames"][i]["sha256"] == frame_sha256(frames[i]) and m["frames"][i]["file"] == "s.nxs"
    truth = read_expt(nxs_reference / "s.expt")[0]
    assert truth.imageset.single_file_indices == (0, 1, 2, 3) and truth.scan.image_range == (1, 4)
    assert stored.scan.oscillation == pytest.approx(truth.scan.oscillation, abs=1e-12)
    assert truth.scan.oscillation == pytest.approx((-0.05, 0.5), abs=1e-12)  # -phi 0, 5 steps of 0.1


def test_nxmx_series_interrupted_resumes_into_the_same_file(tmp_path, monkeypatch, capsys, nxs_reference):
    from nanobragg_jax.datasets import _engine

    finish = _engine.FrameMaker.finish
    calls = []

    def interrupted(self, task, exp, img):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(task.index)
        return finish(self, task, exp, img)

    monkeypatch.setattr(_engine.FrameMaker, "finish", interrupted)
    args = [*BASE, "--frames", "4", "--out", "s.nxs"]
    assert series(tmp_path, *args) == 130
    assert "2 of 4 frames are done" in capsys.readouterr().err
    assert files(tmp_path) == ["s.json", "s.nxs.part"]  # the file appears only complete
    calls.clear()
    monkeypatch.setattr(_engine.FrameMaker, "finish",
                        lambda self, t, e, i: (calls.append(t.index), finish(self, t, e, i))[1])
    assert series(tmp_path, *args, "--resume") == 0 and calls == [2, 3]
    want = read_nxmx(nxs_reference / "s.nxs")[0]
    assert np.array_equal(read_nxmx(tmp_path / "s.nxs")[0], want)
    assert files(tmp_path) == ["s.json", "s.nxs"]
    calls.clear()  # a finished file resumed: every frame checks out, nothing is made
    assert series(tmp_path, *args, "--resume") == 0 and calls == []
    assert np.array_equal(read_nxmx(tmp_path / "s.nxs")[0], want)


def test_nxmx_series_from_two_workers_is_the_same(tmp_path, nxs_reference):
    pytest.importorskip("distributed")
    assert series(tmp_path, *BASE, "--frames", "4", "--out", "s.nxs", "--workers", "2", "--frames-per-task", "1") == 0
    assert np.array_equal(read_nxmx(tmp_path / "s.nxs")[0], read_nxmx(nxs_reference / "s.nxs")[0])


# --- several panels from an experiment list ---------------------------------------------------------------------
@pytest.fixture
def small_four_panels(tmp_path):
    """four_panel.expt with 24 x 20 pixels per panel (the same origins and axes): cheap to render."""
    d = json.loads((INPUTS / "four_panel.expt").read_text())
    for p in d["detector"][0]["panels"]:
        p["image_size"] = [24, 20]
    path = tmp_path / "small.expt"
    path.write_text(json.dumps(d))
    return str(path)


RENDER = ["-default_F", "100", "-N", "5", "-oversample", "1", "-phisteps", "2", "-seed", "3", "-noprogress"]


def test_multi_panel_series_frames_equal_single_runs(tmp_path, small_four_panels):
    """--experiment with 4 panels: frame i is `--image i+1` (the list's scan), stored as 4 NXmx
    modules; the series' list is the input's detector and crystal with its scan."""
    exp_args = ["--experiment", small_four_panels, *RENDER]
    assert series(tmp_path, *exp_args, "--frames", "3", "--out", "p.nxs", "--expt", "p.expt") == 0
    m = manifest(tmp_path / "p.json")
    assert [f["flags"][:2] for f in m["frames"]] == [["--image", str(k)] for k in (1, 2, 3)]
    frames, stored = read_nxmx(tmp_path / "p.nxs")
    assert frames.shape == (3, 4, 20, 24) and len(stored.panels) == 4
    assert single(tmp_path / "one", *exp_args, *m["frames"][1]["flags"], "--out", "x.nxs") == 0
    assert np.array_equal(read_nxmx(tmp_path / "one" / "x.nxs")[0][0], frames[1])
    gold, truth = read_expt(small_four_panels)[0], read_expt(tmp_path / "p.expt")[0]
    for p, q in zip(gold.panels, truth.panels):
        assert np.allclose(p.origin, q.origin, atol=1e-12) and np.allclose(p.slow_axis, q.slow_axis, atol=1e-15)
    assert np.abs(truth.crystal.real_space - gold.crystal.real_space).max() < 1e-12
    assert truth.scan.image_range == (1, 3) and truth.scan.oscillation == pytest.approx((0.0, 1.0), abs=1e-12)


@pytest.mark.parametrize("extra, named", [
    (["--out", "p_###.img"], "one NXmx file"),
    (["--out", "p.nxs", "--float"], "--float"),
    (["--out", "p.nxs", "--frames", "21"], "20 images"),
    (["--out", "p.nxs", "--vary", "lambda=normal:1%"], "--vary lambda"),
    (["--out", "p.nxs", "--orientations", "random"], "--orientations"),
    (["--out", "p_##.nxs"], "without '#'"),
])
def test_multi_panel_series_refusals(tmp_path, capsys, small_four_panels, extra, named):
    assert series(tmp_path, "--experiment", small_four_panels, *RENDER, "--frames", "2", *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nanobragg: error:") and named in err and "\n" not in err, err
    assert files(tmp_path) == ["small.expt"]


# --- stills: one experiment per frame ------------------------------------------------------------------------------
def test_still_series_expt_fed_back_makes_the_same_frames(tmp_path):
    """A still series with random orientations and drawn wavelengths writes one experiment per frame
    (its crystal and wavelength); `series --experiment` of that list renders the same float images."""
    cut = BASE.index("-osc")
    stills = BASE[:cut] + BASE[cut + 4:]  # no -osc 0.5 -phisteps 5
    common = ["--frames", "3", "--float"]
    assert series(tmp_path, *stills, *common, "--orientations", "random:9", "--vary", "lambda=normal:1%",
                  "--out", "a/s_###.img", "--expt", "a/s.expt") == 0
    listed = read_expt(tmp_path / "a" / "s.expt")
    assert len(listed) == 3 and all(e.scan is None for e in listed)
    assert [e.imageset.template for e in listed] == [str(tmp_path / "a" / f"s_{i:03d}.img") for i in range(3)]
    assert len({e.beam.wavelength for e in listed}) == 3
    assert series(tmp_path, "--experiment", "a/s.expt", *stills, *common, "--out", "b/s_###.img") == 0
    for i in range(3):
        a = read_float_image(tmp_path / "a" / f"s_{i:03d}.bin", (32, 32))
        b = read_float_image(tmp_path / "b" / f"s_{i:03d}.bin", (32, 32))
        assert a.max() > 0 and np.abs(a - b).max() <= 1e-6 * a.max()


def test_container_template_rules():
    t = Template("out/s.nxs")
    assert t.container and t.path(3) == "out/s.nxs" and t.float_path(3) == "out/s_000003.bin"
    assert t.stem() == "s" and t.fits(10 ** 7) and t.format_name == "NeXus NXmx"
    assert not Template("f_#.cbf").container and Template("f_#.cbf").writer.name == "miniCBF"
    with pytest.raises(InputError, match="without '#'"):
        Template("s_###.h5")
