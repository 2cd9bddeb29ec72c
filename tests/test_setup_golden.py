"""build_experiment against every C golden case: SMV header, detector vectors, cell vectors, stdout.

Each case runs in a fresh tmp folder holding only the inputs it names (C writes Fdump.bin there).
"""

import gzip
import shlex
import shutil

import numpy as np
import pytest

from conftest import CASES, INPUTS, golden_case_names, load_case
from nanobragg_jax.constants import RTD
from nanobragg_jax.vectors import rotate_about_axis
from nanobragg_jax.setup import build_experiment, build_model, geometry_report

CASE_NAMES = golden_case_names()
OUTPUT_FLAGS = ["-nopgm", "-noprogress", "-floatfile", "float.bin", "-intfile", "int.img"]


def _parse_args():
    try:
        from nanobragg_jax.args import parse_args
    except ImportError as err:  # the parser is written by another helper
        pytest.skip("settings.parse_args not available: %s" % err)
    return parse_args


def case_argv(case):
    argv = shlex.split(case["args"]) + OUTPUT_FLAGS
    if "noise" in case.get("files", {}):
        argv += ["-noisefile", "noise.img"]
    else:
        argv.append("-nonoise")
    return argv


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    """Built lazily, once per case for the whole module."""
    cache = {}

    def get(name):
        if name not in cache:
            parse_args = _parse_args()
            case = load_case(name)
            work = tmp_path_factory.mktemp(name)
            argv = case_argv(case)
            for token in argv:
                if (INPUTS / token).is_file():
                    shutil.copy(INPUTS / token, work / token)
            import os
            old = os.getcwd()
            os.chdir(work)  # -img/-mask headers are read while parsing, relative to cwd
            try:
                settings = parse_args(argv)
                cache[name] = build_experiment(settings, workdir=str(work))
            finally:
                os.chdir(old)
        return cache[name]

    return get


def golden_header(name):
    raw = gzip.open(CASES / name / "int.img.gz").read(2048).decode("latin-1")  # C may overrun 512
    body = raw.split("}", 1)[0].lstrip("{\n")
    fields = {}
    for line in body.split("\n"):
        if "=" in line:
            key, value = line.split("=", 1)
            fields[key] = value.rstrip(";")
    return fields


def _numbers(value):
    if isinstance(value, (tuple, list)):
        return [float(v) for v in value]
    if isinstance(value, str):
        try:
            return [float(v) for v in value.split(",")]
        except ValueError:
            return value
    return [float(value)]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_header_matches_c(name, experiments):
    exp = experiments(name)
    want = golden_header(name)
    got = exp.header
    assert list(got.keys()) == list(want.keys())
    for key, text in want.items():
        w, g = _numbers(text), _numbers(got[key])
        if isinstance(w, str):
            assert g == w or str(got[key]) == w, key
            continue
        # C prints %g: the same text, or (at a rounding boundary) within 1e-6 relative.
        for wv, gv in zip(w, g):
            assert ("%g" % gv) == ("%g" % wv) or gv == pytest.approx(wv, rel=1e-6, abs=1e-9), \
                (key, gv, wv)
        assert len(w) == len(g), key


def trace_values(name):
    out = {}
    for path in sorted((CASES / name).glob("trace_*.txt")):
        for line in path.read_text().splitlines():
            parts = line.replace("TRACE_C:", "").split()
            if parts and (parts[0].startswith("DETECTOR_") or parts[0].startswith("rot_")):
                out.setdefault(parts[0], [float(v) for v in parts[1:4]])
    return out


def _close(got, want, rel=1e-9):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = max(np.max(np.abs(want)), 1e-300)
    return np.max(np.abs(got - want)) <= rel * scale


@pytest.mark.parametrize("name", CASE_NAMES)
def test_trace_vectors_match_c(name, experiments):
    exp = experiments(name)
    r = geometry_report(exp, exp.params)
    t = trace_values(name)
    if not t:
        pytest.skip("case %s has no trace" % name)
    assert _close(r["pix0"], t["DETECTOR_PIX0_VECTOR"])
    assert _close(r["fdet"], t["DETECTOR_FAST_AXIS"])
    assert _close(r["sdet"], t["DETECTOR_SLOW_AXIS"])
    assert _close(r["odet"], t["DETECTOR_NORMAL_AXIS"])
    for i, key in enumerate(("rot_a_star_A_inv", "rot_b_star_A_inv", "rot_c_star_A_inv")):
        assert _close(r["recip_A"][i], t[key]), key
    # rot_a..c are printed at phi_tic 0, i.e. rotated by phi0 (or, with C's phi=0 carryover, by a
    # later step of the sweep): one of the sweep's angles must reproduce all three.
    spindle = np.asarray(exp.static.detector.spindle)
    phis = [float(exp.params["phi0"]) + float(exp.params["phistep"]) * i
            for i in range(exp.layout.phisteps)]
    real = r["real_A"]
    want = [t["rot_%s_angstroms" % x] for x in "abc"]
    ok = [all(_close(rotate_about_axis(np, real[i], spindle, phi / RTD) if phi != 0 else real[i],
                     want[i]) for i in range(3)) for phi in phis]
    assert any(ok), name


@pytest.mark.parametrize("name", CASE_NAMES)
def test_build_model_reproduces_c_vectors(name, experiments):
    """The JAX path at the default params equals C's printed double values (%.15g) to 1e-12."""
    exp = experiments(name)
    t = trace_values(name)
    if not t:
        pytest.skip("case %s has no trace" % name)
    m = build_model(exp, exp.params)
    d = m.detector
    for got, key in ((d.pix0, "DETECTOR_PIX0_VECTOR"), (d.fdet, "DETECTOR_FAST_AXIS"),
                     (d.sdet, "DETECTOR_SLOW_AXIS"), (d.odet, "DETECTOR_NORMAL_AXIS")):
        assert _close(got, t[key], rel=1e-12), key
    for i, x in enumerate("abc"):
        assert _close(m.crystal.recip[i], t["rot_%s_star_A_inv" % x], rel=1e-12), x
    assert m.crystal.umats.shape == (exp.layout.mosaic_domains, 3, 3)
    assert m.beam.incident.shape == (exp.layout.sources, 3)


def stdout_setup_lines(name):
    """C's stdout up to the rendering, without the -img/-mask reader's own lines."""
    lines = []
    for line in (CASES / name / "stdout.txt").read_text().splitlines():
        if line.startswith("solid angle subtended") or line.startswith("WARNING: out of range"):
            break  # the pixel loop starts here
        if line.startswith("mmap(") or line.startswith("reading %s" % "hdr64.img") \
                or line.startswith("reading mask64.img"):
            continue
        lines.append(line)
    while lines and lines[-1] == "":
        lines.pop()
    return lines


@pytest.mark.parametrize("name", CASE_NAMES)
def test_summary_matches_c_stdout(name, experiments):
    exp = experiments(name)
    want = stdout_setup_lines(name)
    got = [line for line in exp.summary]
    while got and got[-1] == "":
        got.pop()
    assert got == want
