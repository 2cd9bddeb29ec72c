"""Run the differential cases (tests/test_differential.py) and print a table: one row per case with
the run time, pixels outside the float tolerance, the worst |ours - C| / allowed, the largest int
difference and differing noise pixels, then a summary line.

    python tests/run_differential.py          # the unit test's subset (fault seeds, reproducers, coverage seeds)
    python tests/run_differential.py --all    # all 171 seeds and the reproducers

Runs in-process (one interpreter, one JAX start), each case in its own scratch folder.  Exit code 1
when any case disagrees with C.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import cli  # noqa: E402
import differential_cases as dc  # noqa: E402


def run(key) -> dict:
    with tempfile.TemporaryDirectory(prefix="nbdiff-") as folder:
        dc.copy_inputs(key, folder)
        old = os.getcwd()
        os.chdir(folder)
        err = io.StringIO()
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                code = cli.main(dc.ours_argv(key, "."))
        finally:
            os.chdir(old)
        row = {"key": key, "seconds": time.perf_counter() - t0, "code": code}
        if code == 0:
            row.update(dc.compare_outputs(key, folder))
            row["ok"] = key not in dc.REFUSED and dc.agrees(row)
        else:
            last = (err.getvalue().strip().splitlines() or [""])[-1]
            row["ok"] = key in dc.REFUSED and dc.REFUSED[key] in last
            row["error"] = last
        return row


def main(argv) -> int:
    seeds = [s for s, _ in dc.CASES] if "--all" in argv else sorted(set(dc.FAULTS) | set(dc.COVERAGE_SEEDS))
    keys = seeds + sorted(dc.REPRODUCERS)
    print(f"{'case':>24} {'s':>6} {'float_bad':>9} {'worst':>9} {'int':>4} {'noise':>5}  result")
    rows, t0 = [], time.perf_counter()
    for key in keys:
        r = run(key)
        rows.append(r)
        if r["code"] == 0:
            print(f"{key!s:>24} {r['seconds']:6.2f} {r['float_bad']:9d} {r['float_worst']:9.3g} "
                  f"{r['int_maxdiff']:4d} {r.get('noise_diff', '-')!s:>5}  {'ok' if r['ok'] else 'DIFFERS'}")
        else:
            print(f"{key!s:>24} {r['seconds']:6.2f} {'':>9} {'':>9} {'':>4} {'':>5}  "
                  f"{'refused as documented' if r['ok'] else 'FAILED'}: {r['error'][:80]}")
    bad = [r["key"] for r in rows if not r["ok"]]
    worst = max((r.get("float_worst", 0.0) for r in rows), default=0.0)
    print(f"{len(rows) - len(bad)}/{len(rows)} cases as expected; worst float error {worst:.3g} of the "
          f"tolerance; {time.perf_counter() - t0:.0f} s in all" + (f"; differ: {bad}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
