"""The drop-ins against the real programs: every reference run of nonBragg.c and noisify.c
(tests/data/golden/nonbragg, tests/data/golden/noisify), compared as their READMEs say."""

import contextlib
import gzip
import io
import json
import re
import shlex
import shutil

import numpy as np
import pytest

from conftest import GOLDEN, INPUTS

from nanobragg_jax.companions import noisify_main, nonbragg_main

NB = GOLDEN / "nonbragg" / "cases"
NZ = GOLDEN / "noisify" / "cases"
BIG = {"water_512_bench": "512x512 frame (about 4 s): checked by bench/bench_companions.py"}


def _cases(root):
    return sorted(p.name for p in root.iterdir() if (p / "case.json").exists())


def _run(main, root, name, tmp_path, monkeypatch):
    case = json.loads((root / name / "case.json").read_text())
    args = shlex.split(case["run_args"])
    for a in args:
        if (INPUTS / a).is_file():
            shutil.copy(INPUTS / a, tmp_path)
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    assert code == case["returncode"], err.getvalue()
    return case, out.getvalue()


def _same_stdout(root, name, stdout):
    """The printed parameters and statistics, line for line (the heap address C prints after
    reading -img is masked, as in the golden files)."""
    masked = re.sub(r"= 0x[0-9a-f]+", "= <heap address>", stdout)
    assert masked == (root / name / "stdout.txt").read_text()


def _golden_bytes(root, name, entry):
    path = root / name / entry["file"]
    return gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()


@pytest.mark.parametrize("name", _cases(NB))
def test_nonbragg_golden(name, tmp_path, monkeypatch):
    if name in BIG:
        pytest.skip(BIG[name])
    case, stdout = _run(nonbragg_main, NB, name, tmp_path, monkeypatch)
    for kind, entry in case["files"].items():
        want = _golden_bytes(NB, name, entry)
        got = (tmp_path / entry["file"].removesuffix(".gz")).read_bytes()
        if kind == "float":
            c = np.frombuffer(want, np.float32)
            ours = np.frombuffer(got, np.float32)
            finite = np.isfinite(c)
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(c))
            tol = 1e-5 * np.abs(c[finite]) + 1e-7 * np.abs(c[finite]).max()
            assert np.all(np.abs(ours[finite] - c[finite]) <= tol)
        elif kind == "int":
            assert got[:512] == want[:512]
            a = np.frombuffer(got[512:], np.uint16).astype(int)
            b = np.frombuffer(want[512:], np.uint16).astype(int)
            assert np.abs(a - b).max() <= 1 and np.count_nonzero(a != b) <= 1e-4 * a.size
        elif kind == "pgm":
            assert got == want[:len(got)] and len(got) == len(want)  # the defined part (NB-8)
        else:  # noise (seeded) and the -stolout table: identical
            assert got == want, kind
    _same_stdout(NB, name, stdout)


@pytest.mark.parametrize("name", _cases(NZ))
def test_noisify_golden(name, tmp_path, monkeypatch):
    case, stdout = _run(noisify_main, NZ, name, tmp_path, monkeypatch)
    _same_stdout(NZ, name, stdout)
    for kind, entry in case["files"].items():
        got = (tmp_path / entry["file"].removesuffix(".gz")).read_bytes()
        assert got == _golden_bytes(NZ, name, entry), kind


def test_nonbragg_float_image_is_bit_exact_where_noise_needs_it(tmp_path, monkeypatch):
    """The seeded noise image needs the float32 image bit for bit (poidev's draw count depends on
    it): the three noise cases above pass, and the float image there is C's exactly."""
    name = "ice_molecules_energy_noise"  # unordered table, negative fits, every Poisson branch
    case, _ = _run(nonbragg_main, NB, name, tmp_path, monkeypatch)
    assert (tmp_path / "float.bin").read_bytes() == _golden_bytes(NB, name, case["files"]["float"])
