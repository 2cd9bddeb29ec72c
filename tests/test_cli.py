"""The `nanobragg` command: help, bad-input exits, the compare / trace-diff tools, and a full render."""

import gzip
import json
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import CASES

import cli
from nanobragg_jax.diagnostics import compare_images, load_image, parse_trace, trace_diff

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_cli(args, cwd, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


# --- help -----------------------------------------------------------------------------------------------
def test_help_is_grouped_with_units_and_defaults(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    heads = ["input files:", "detector:", "beam:", "crystal:", "sampling:", "output:",
             "ours (not in nanoBragg.c):"]
    pos = [out.index(h) for h in heads]
    assert pos == sorted(pos)
    detector = out[out.index("detector:"):out.index("beam:")]
    assert "-distance X" in detector and "[mm]" in detector and "(default 100)" in detector
    beam = out[out.index("beam:"):out.index("crystal:")]
    assert "-lambda, -wave, -wavelength X" in beam and "[A]" in beam
    ours = out[out.index("ours"):]
    assert "--mode spec|c-parity" in ours and "NANOBRAGG_CACHE_DIR" in ours and "-trace_pixel" in ours
    assert cli.main(["-cell", "1", "-h"]) == 0


def test_help_is_fast_and_does_not_import_jax():
    code = ("import sys, io, contextlib; sys.argv=['nanobragg', '--help']; import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()): cli.main(['--help'])\n"
            "print('jax' in sys.modules)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
    assert elapsed < 2.0  # about 0.2 s without jax; generous for a busy test machine


# --- bad input: exit 2, one line on stderr, no output touched ----------------------------------------------
@pytest.mark.parametrize("bad, named", [
    (["-roi", "1", "2", "3"], "-roi"), (["-hkl", "missing.hkl"], "missing.hkl"), (["-N", "2.5"], "-N"),
    (["-distanse", "100", "--strict"], "-distance"), (["--mode", "fast"], "--mode"), (["-pixel", "0"], "-pixel"),
    (["-default_F"], "-default_F"),
])
def test_bad_input_exit_code_and_untouched_output(tmp_path, bad, named):
    keep = tmp_path / "floatimage.bin"
    keep.write_bytes(b"keep me")
    r = run_cli(["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "1", *bad], tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nanobragg: error:") and named in lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert keep.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["floatimage.bin"]


def test_bad_input_in_process(capsys):
    assert cli.main(["-cell", "100", "-detector_twotheta", "5", "--strict"]) == 2
    err = capsys.readouterr().err
    assert "unknown flag '-detector_twotheta'; did you mean -twotheta?" in err


# --- compare ---------------------------------------------------------------------------------------------
def test_compare_reports_correlation_ratio_and_worst_pixel(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.uniform(1, 2, size=(6, 10)).astype(np.float32)
    b = a.copy()
    b[4, 7] *= 1.5
    a.astype("<f4").tofile(tmp_path / "a.bin")
    (tmp_path / "b.bin.gz").write_bytes(gzip.compress(b.astype("<f4").tobytes()))
    r = compare_images(tmp_path / "a.bin", tmp_path / "b.bin.gz", shape=(6, 10))
    assert r.worst_pixel == (4, 7) and r.worst_rel == pytest.approx(0.5, rel=1e-6)
    assert r.sum_ratio == pytest.approx(float(b.astype(np.float64).sum() / a.astype(np.float64).sum()))
    assert r.correlation == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1]) and r.failing == 1
    with pytest.raises(Exception, match="--shape"):
        load_image(tmp_path / "a.bin")  # 60 values: not square, no companion header


def test_compare_cli_on_golden_with_companion_header(tmp_path, capsys):
    case = CASES / "beam_center_offset"  # 160 x 120: the shape comes from int.img.gz next to it
    img = load_image(case / "float.bin.gz")
    assert img.shape == (120, 160)
    assert cli.main(["compare", str(case / "float.bin.gz"), str(case / "float.bin.gz")]) == 0
    out = capsys.readouterr().out
    assert "correlation: 1" in out and "sum ratio B/A: 1" in out and "120 x 160" in out


# --- trace-diff -------------------------------------------------------------------------------------------
def test_trace_diff_names_first_divergence(tmp_path, capsys):
    src = (CASES / "phi_carryover_small" / "trace_s0_f0.txt").read_text()
    py = src.replace("TRACE_C:", "TRACE_PY:").replace("TRACE_C_PHI", "TRACE_PY_PHI")
    (tmp_path / "py.txt").write_text(py)
    assert trace_diff(CASES / "phi_carryover_small" / "trace_s0_f0.txt", tmp_path / "py.txt").first is None
    bad = py.replace("rot_b_angstroms -0 70 ", "rot_b_angstroms -0 70.001 ").replace(
        "F_latt 5.81598099810905", "F_latt 6")
    (tmp_path / "bad.txt").write_text(bad)
    result = trace_diff(CASES / "phi_carryover_small" / "trace_s0_f0.txt", tmp_path / "bad.txt", 1e-6)
    assert result.first[0] == "rot_b_angstroms" and result.first[3] == pytest.approx(1e-3 / 70.001, rel=1e-3)
    loose = trace_diff(CASES / "phi_carryover_small" / "trace_s0_f0.txt", tmp_path / "bad.txt", 1e-4)
    assert loose.first[0] == "F_latt"
    code = cli.main(["trace-diff", str(CASES / "phi_carryover_small" / "trace_s0_f0.txt"),
                     str(tmp_path / "bad.txt"), "--tol", "1e-6"])
    assert code == 1 and "first divergence: rot_b_angstroms" in capsys.readouterr().out


def test_trace_parse_phi_lines():
    items = {name: value for name, value, _ in parse_trace(CASES / "phi_carryover_small" / "trace_s0_f0.txt")}
    assert items["phi[phi_tic=9].k_frac"] == [0.174999349879372]
    assert items["DETECTOR_PIX0_VECTOR"] == [0.1, 0.0003, -0.0003]


# --- full render ------------------------------------------------------------------------------------------
def test_render_small_case(tmp_path):
    fabio = pytest.importorskip("fabio")
    (tmp_path / "intimage.img").write_bytes(b"old")
    r = run_cli(("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 -detpixels 16 "
                 "-pixel 0.1 -oversample 1 -seed 7 -noprogress --no-cache").split(), tmp_path)
    assert r.returncode == 0, r.stderr
    names = {p.name for p in tmp_path.iterdir()}
    assert {"floatimage.bin", "intimage.img", "image.pgm", "noiseimage.img"} <= names
    assert (tmp_path / "floatimage.bin").stat().st_size == 16 * 16 * 4
    smv = fabio.open(str(tmp_path / "intimage.img"))
    assert smv.data.shape == (16, 16) and int(smv.header["SIZE1"]) == 16
    assert "writing floatimage.bin as 256 4-byte floats" in r.stdout and "max_I = " in r.stdout


def test_render_matches_golden_noise_case(tmp_path):
    """c-parity end to end through the CLI: same stdout statistics, same int and noise images."""
    case = CASES / "noise_seeded"
    args = json.loads((case / "case.json").read_text())["args"].split()
    r = run_cli([*args, "--mode", "c-parity", "--no-cache", "-nopgm", "-noprogress", "-floatfile", "float.bin",
                 "-intfile", "int.img", "-noisefile", "noise.img"], tmp_path)
    assert r.returncode == 0, r.stderr
    golden = (case / "stdout.txt").read_text()
    tail = golden[golden.index("writing float.bin"):]
    assert tail in r.stdout
    for name in ("int.img", "noise.img"):
        assert (tmp_path / name).read_bytes() == gzip.decompress((case / f"{name}.gz").read_bytes())
    ours, ref = load_image(tmp_path / "float.bin", (96, 96)), load_image(case / "float.bin.gz")
    assert np.all(np.abs(ours - ref) <= 1e-5 * np.abs(ref) + 1e-7 * ref.max())


def test_noise_stream_jax_is_keyed_by_seed_and_poisson(tmp_path, monkeypatch):
    """--noise-stream jax: the counter-based stream, reproducible per -seed, Poisson about the float
    image (mean and variance), while the default stays C's stream."""
    import numpy as np

    from nanobragg_jax.io import read_float_image, read_smv

    monkeypatch.chdir(tmp_path)
    base = ("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 -detpixels 48 "
            "-pixel 0.1 -oversample 1 -fluence 1e30 -nopgm -noprogress -adc 0 -floatfile f.bin -intfile i.img").split()
    runs = {}
    for name, extra in (("a", ["-seed", "7"]), ("b", ["-seed", "7"]), ("c", ["-seed", "8"]), ("cstream", ["-seed", "7"])):
        stream = [] if name == "cstream" else ["--noise-stream", "jax"]
        assert cli.main(base + extra + stream + ["-noisefile", f"{name}.img"]) == 0
        runs[name] = read_smv(f"{name}.img").data.astype(np.float64)
    np.testing.assert_array_equal(runs["a"], runs["b"])
    assert not np.array_equal(runs["a"], runs["c"])
    assert not np.array_equal(runs["a"], runs["cstream"])
    mean = read_float_image("f.bin").reshape(48, 48).astype(np.float64)
    resid = (runs["a"] - mean)[mean > 50] / np.sqrt(mean[mean > 50])
    assert resid.size > 20
    assert abs(resid.mean()) < 4 / np.sqrt(resid.size) + 0.05 and 0.7 < resid.std() < 1.3
