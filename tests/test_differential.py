"""Differential test against nanoBragg.c (issue 11): seeded random command lines on small detectors,
run through the real C program once (tests/data/differential/, README.md there) and here through our
CLI in c-parity mode, compared by docs/parity.md's rule: float image within the golden tolerance
(|ours - C| <= 1e-5 |C| + 1e-7 max|C|), int image within 1 count, noise image identical.

The stored ARGS are what runs (not a fresh generate()); `generate(seed) == stored args` is checked
separately, so a change of the generator shows up as such and never silently changes the cases.
Every seed that once disagreed with C stays in `differential_cases.FAULTS` with its note, and the
reproducers in `REPRODUCERS` (the hand-reduced faults and the edge values of their kinds); the
deliberate refusals (`REFUSED`, docs/parity.md) are checked as refusals: exit 2, one error line
naming the cause, no output file.

Run time: every case compiles its own program (a new detector layout), so the unit test runs a
fixed subset (every fault seed, every reproducer, the `COVERAGE_SEEDS`), split over two worker
processes (`NANOBRAGG_DIFF_WORKERS`, default 2: compiling is single-threaded, the CI machine has
two cores); tests/run_differential.py does the work, in-process (cli.main) in each worker.
`NANOBRAGG_DIFFERENTIAL=all` runs all 171 seeds here; `python tests/run_differential.py --all
--workers 2` prints the table.  Measured times are in bench/RESULTS.md.
"""

import gzip
import hashlib
import os

import pytest

import differential_cases as dc
import run_differential as rd

ALL = os.environ.get("NANOBRAGG_DIFFERENTIAL", "") == "all"
KEYS = rd.everything() if ALL else rd.subset()
WORKERS = int(os.environ.get("NANOBRAGG_DIFF_WORKERS", "2"))
ALL_SEEDS = [seed for seed, _ in dc.CASES]


def test_stored_cases_are_what_the_generator_draws():
    """generate(seed) reproduces every stored command line, its noise choice and detector shape,
    and every stored output matches the sha256 recorded when C wrote it."""
    assert len(ALL_SEEDS) == 171 and set(dc.FAULTS) <= set(ALL_SEEDS)
    assert set(KEYS) >= set(dc.FAULTS) | set(dc.REPRODUCERS) | set(dc.REFUSED)
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


@pytest.fixture(scope="module")
def rows():
    return {row["key"]: row for row in rd.run_workers(KEYS, WORKERS)}


@pytest.mark.parametrize("key", KEYS, ids=[str(k) for k in KEYS])
def test_case_matches_c_or_is_refused_as_documented(key, rows):
    why = rd.verdict(rows[key])
    assert not why, f"{key}: {why}"
