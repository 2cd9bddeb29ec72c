"""Differential test against nanoBragg.c (issue 11): seeded random command lines on small detectors,
run through the real C program once (tests/data/differential/, README.md there) and here through our
CLI in c-parity mode, compared by docs/parity.md's rule: float image within the golden tolerance
(|ours - C| <= 1e-5 |C| + 1e-7 max|C|), int image within 1 count, noise image identical.

The stored ARGS are what runs (not a fresh generate()); `generate(seed) == stored args` is checked
separately, so a change of the generator shows up as such and never silently changes the cases.
Every seed that once disagreed with C stays in `differential_cases.FAULTS` with its note, and the
hand-reduced reproducers in `REPRODUCERS`; the deliberate refusals (`REFUSED`, docs/parity.md) are
checked as refusals.

Run time: each case compiles its own program (a new detector layout), ~1-4 s on the 2-core test
machine, so the unit test runs a fixed subset: every fault seed, every reproducer and the
`COVERAGE_SEEDS` (see there).  `NANOBRAGG_DIFFERENTIAL=all` runs all 171 seeds here;
`python tests/run_differential.py [--all]` prints a table of the same comparison.
"""

import gzip
import hashlib
import os

import pytest

import cli
import differential_cases as dc

ALL = os.environ.get("NANOBRAGG_DIFFERENTIAL", "") == "all"
ALL_SEEDS = [seed for seed, _ in dc.CASES]
SEEDS = ALL_SEEDS if ALL else sorted(set(dc.FAULTS) | set(dc.COVERAGE_SEEDS))


def test_stored_cases_are_what_the_generator_draws():
    """generate(seed) reproduces every stored command line, its noise choice and detector shape,
    and every stored output matches the sha256 recorded when C wrote it."""
    assert len(ALL_SEEDS) == 171 and set(dc.FAULTS) <= set(ALL_SEEDS)
    for seed in ALL_SEEDS:
        case = dc.load_case(seed)
        assert dc.generate(seed) == case["args"], seed
        assert dc.wants_noise(seed) == case["noise"] and case["c_returncode"] == 0, seed
        assert list(dc.detector_shape(case["args"])) == case["shape"], seed
    for key in ALL_SEEDS + list(dc.REPRODUCERS):
        case = dc.load_case(key)
        folder = dc.repro_dir(key) if isinstance(key, str) else dc.case_dir(key)
        for kind, info in case["files"].items():
            raw = gzip.open(folder / info["file"]).read()
            assert len(raw) == info["bytes"] and hashlib.sha256(raw).hexdigest() == info["sha256"], (key, kind)
    for name, (args, note) in dc.REPRODUCERS.items():
        assert dc.load_case(name)["args"] == args and note, name


def _run(key, tmp_path, monkeypatch, capsys):
    dc.copy_inputs(key, tmp_path)
    monkeypatch.chdir(tmp_path)
    code = cli.main(dc.ours_argv(key, "."))
    return code, capsys.readouterr()


def _check(key, tmp_path, monkeypatch, capsys):
    """The case matches C, or is one of the deliberate refusals (`dc.REFUSED`): exit 2, one error
    line naming the cause, no output file (C writes an all-zero, infinite or meaningless image)."""
    code, out = _run(key, tmp_path, monkeypatch, capsys)
    if key in dc.REFUSED:
        errors = [line for line in out.err.splitlines() if line.startswith("nanobragg: error:")]
        assert code == 2 and len(errors) == 1 and dc.REFUSED[key] in errors[0], out.err
        assert "Traceback" not in out.err and out.err.strip().splitlines()[-1] == errors[0]
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".bin", ".img")) == []
        return
    assert code == 0, out.err
    result = dc.compare_outputs(key, tmp_path)
    assert dc.agrees(result), (key, dc.FAULTS.get(key, "ok") if isinstance(key, int) else "", result)


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_matches_c(seed, tmp_path, monkeypatch, capsys):
    _check(seed, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("name", sorted(dc.REPRODUCERS))
def test_reproducer(name, tmp_path, monkeypatch, capsys):
    _check(name, tmp_path, monkeypatch, capsys)
