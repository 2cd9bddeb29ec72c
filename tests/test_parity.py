"""c-parity images against the C goldens, spec vs c-parity, float32 accuracy."""

import gzip
import shutil

import numpy as np
import pytest

from conftest import CASES, INPUTS, golden_case_names, load_case

CARRYOVER = {"phi_carryover_small", "phi_osc", "phi_crosses_zero", "pilatus_roi"}
ALL = [n for n in golden_case_names() if n != "pilatus_full"]


def golden_float(name):
    return np.frombuffer(gzip.open(CASES / name / "float.bin.gz").read(), np.float32)


def golden_argv(name, floatfile="float.bin", intfile="int.img"):
    """The command line the goldens ran: case args plus the output flags of golden/README.md."""
    case = load_case(name)
    files = case["files"]
    argv = case["args"].split() + ["-nopgm", "-noprogress"]
    if "noise" not in files:
        argv.append("-nonoise")
    argv += ["-floatfile", floatfile, "-intfile", intfile]
    if "noise" in files:
        argv += ["-noisefile", "noise.img"]
    if "pgm" in files:
        argv += ["-pgmfile", "image.pgm"]
    return argv


def run_case(name, tmp_path, monkeypatch, mode="c-parity", dtype="float64"):
    from nanobragg_jax.api import from_cli
    from nanobragg_jax.programs import render_frame

    for f in INPUTS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    exp = from_cli(golden_argv(name), workdir=str(tmp_path), mode=mode, dtype=dtype)
    return exp, render_frame(exp)[0]


def assert_parity(ours, gold):
    ours = np.asarray(ours, np.float64).reshape(-1)
    gold = np.asarray(gold, np.float64)
    tol = 1e-5 * np.abs(gold) + 1e-7 * np.abs(gold).max()
    err = np.abs(ours - gold)
    bad = np.flatnonzero(err > tol)
    assert bad.size == 0, (
        f"{bad.size} pixels off; worst index {int(np.argmax(err - tol))}: ours {ours[np.argmax(err - tol)]!r} "
        f"C {gold[np.argmax(err - tol)]!r}"
    )


@pytest.mark.parametrize("name", ALL)
def test_c_parity_float_image(name, tmp_path, monkeypatch):
    _, img = run_case(name, tmp_path, monkeypatch)
    assert_parity(img, golden_float(name))


@pytest.mark.parametrize("name", ALL)
def test_int_image_matches_up_to_rounding(name, tmp_path, monkeypatch):
    from nanobragg_jax.outputs import int_image

    exp, img = run_case(name, tmp_path, monkeypatch)
    s = exp.settings
    ours, _ = int_image(img, exp.layout.roi, s.intfile_scale, s.adc_offset)
    raw = gzip.open(CASES / name / "int.img.gz").read()
    # C pads its header to 512 bytes but never trims a longer one (pilatus_roi's is 518): the
    # pixels are the file's last bytes.
    gold = np.frombuffer(raw[-2 * ours.size :], "<u2").reshape(ours.shape)
    diff = np.abs(ours.astype(np.int64) - gold.astype(np.int64))
    assert diff.max() <= 1
    assert np.count_nonzero(diff) <= max(1, int(1e-4 * diff.size))


@pytest.mark.parametrize("name", ALL)
def test_spec_equals_c_parity_without_carryover(name, tmp_path, monkeypatch):
    from nanobragg_jax.api import simulate

    cpar = np.asarray(simulate(run_case(name, tmp_path, monkeypatch)[0]))
    spec = np.asarray(simulate(run_case(name, tmp_path, monkeypatch, mode="spec")[0]))
    if name in CARRYOVER:
        assert not np.array_equal(spec, cpar)
    else:
        np.testing.assert_array_equal(spec, cpar)


@pytest.mark.parametrize("name", ["phi_carryover_small", "phi_osc"])
def test_carryover_is_the_documented_substitution(name, tmp_path, monkeypatch):
    """c-behaviour section 3: with phi0 = 0 and N steps, every pixel but the first evaluated one is
    S + (I(phi_{N-1}) - I(0)) / N, with S the spec image (oversample 1, one source)."""
    import jax

    from nanobragg_jax.api import simulate
    from nanobragg_jax.setup import build_model
    from nanobragg_jax.render import render

    exp, _ = run_case(name, tmp_path, monkeypatch, mode="c-parity")
    cpar = np.asarray(simulate(exp))
    L = exp.layout
    base = build_model(exp)
    spec = np.asarray(render(type(base)(base.detector, base.beam, base.crystal, base.spindle, _with(L, mode="spec"))))
    one = _with(L, mode="spec", phisteps=1)
    sw = base.spindle
    last = sw.phi0 + sw.phistep * (L.phisteps - 1)
    i0 = np.asarray(render(type(base)(base.detector, base.beam, base.crystal, sw, one)))
    sw_last = type(sw)(phi0=last, phistep=sw.phistep, axis=sw.axis)
    ilast = np.asarray(render(type(base)(base.detector, base.beam, base.crystal, sw_last, one)))
    predicted = spec + (ilast - i0) / L.phisteps
    rel = np.abs(cpar - predicted) / np.maximum(np.abs(predicted), 1e-300)
    rel.reshape(-1)[0] = 0.0  # the first evaluated pixel of the run is fresh
    assert rel.max() < 1e-9
    np.testing.assert_allclose(cpar.reshape(-1)[0], spec.reshape(-1)[0], rtol=1e-12)
    assert np.abs(cpar / np.where(spec == 0, 1, spec) - 1).max() > 1e-12
    del jax


def _with(layout, **kw):
    import dataclasses

    return dataclasses.replace(layout, **kw)


@pytest.mark.parametrize("name", ALL)
def test_float32_accuracy(name, tmp_path, monkeypatch):
    """--dtype float32 against C: correlation >= 0.99999 and sum ratio within 1e-4 (the per-pixel
    geometry stays float64, which keeps large N and high resolution accurate)."""
    _, img = run_case(name, tmp_path, monkeypatch, dtype="float32")
    gold = golden_float(name).astype(np.float64)
    ours = img.reshape(-1).astype(np.float64)
    if not gold.any():  # hkl_5col: C's second hkl pass reads nothing, the image is all zero
        np.testing.assert_array_equal(ours, 0.0)
        return
    corr = np.corrcoef(ours, gold)[0, 1]
    assert corr >= 0.99999
    assert abs(ours.sum() / gold.sum() - 1) <= 1e-4
