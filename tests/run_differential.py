"""Run the differential cases (tests/test_differential.py) and print a table: one row per case with
the run time, pixels outside the float tolerance, the worst |ours - C| / allowed, the largest int
difference and differing noise pixels, then a summary line.

    python tests/run_differential.py              # the unit test's subset (fault seeds, reproducers, coverage seeds)
    python tests/run_differential.py --all        # all 171 seeds and the reproducers
    python tests/run_differential.py --workers 2  # split the cases over 2 processes (default 1)
    python tests/run_differential.py --json OUT --keys 4 24 twotheta_90   # what a worker runs

Each process runs its cases in-process (one interpreter, one JAX start; cli.main), each in its own
scratch folder.  Every case compiles its own program (a new detector layout), so the run is
compile-bound and single-threaded: two processes on two cores take about half the time.  Exit code
1 when any case disagrees with C (or is not refused where `differential_cases.REFUSED` says so).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import differential_cases as dc  # noqa: E402


def _key(text: str):
    return int(text) if text.isdigit() else text


def run(key) -> dict:
    """Run our CLI on one stored case and compare: a JSON-able dict (see `verdict`)."""
    import cli  # JAX is configured by the caller (x64 on)

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
        row = {"key": key, "seconds": time.perf_counter() - t0, "code": code, "stderr": err.getvalue(),
               "outputs": sorted(p.name for p in pathlib.Path(folder).iterdir() if p.suffix in (".bin", ".img"))}
        if code == 0:
            row.update(dc.compare_outputs(key, folder))
        return row


def verdict(row: dict) -> str:
    """'' when the case is as expected (matches C, or refused as documented), else why not."""
    key, err = row["key"], row["stderr"]
    if key in dc.REFUSED:
        errors = [line for line in err.splitlines() if line.startswith("nanobragg: error:")]
        if row["code"] != 2 or len(errors) != 1 or dc.REFUSED[key] not in errors[0]:
            return f"not refused as documented (exit {row['code']}): {err.strip()[-300:]}"
        if "Traceback" in err or err.strip().splitlines()[-1] != errors[0] or row["outputs"]:
            return f"refusal not clean: outputs {row['outputs']}, stderr {err.strip()[-300:]}"
        return ""
    if row["code"] != 0:
        return f"exit {row['code']}: {err.strip()[-300:]}"
    if not dc.agrees(row):
        note = dc.FAULTS.get(key, "") if isinstance(key, int) else dc.REPRODUCERS[key][1]
        return (f"differs from C: {row['float_bad']} float pixels (worst {row['float_worst']:.3g} of the "
                f"tolerance), int {row['int_maxdiff']}, noise {row.get('noise_diff', '-')}; {note[:120]}")
    return ""


def subset() -> list:
    return sorted(set(dc.FAULTS) | set(dc.COVERAGE_SEEDS)) + sorted(dc.REPRODUCERS)


def everything() -> list:
    return [s for s, _ in dc.CASES] + sorted(dc.REPRODUCERS)


def run_workers(keys, workers: int) -> list:
    """Rows for `keys`, computed by `workers` processes (this script's --json mode)."""
    if workers <= 1:
        _configure_jax()
        return [run(k) for k in keys]
    with tempfile.TemporaryDirectory(prefix="nbdiff-json-") as folder:
        procs = []
        for i in range(workers):
            part = keys[i::workers]
            if part:
                out = os.path.join(folder, f"{i}.json")
                cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--json", out, "--keys",
                       *map(str, part)]
                procs.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL), out))
        rows = []
        for proc, out in procs:
            if proc.wait() != 0 or not os.path.exists(out):
                raise RuntimeError(f"differential worker failed (exit {proc.returncode})")
            rows += json.loads(pathlib.Path(out).read_text())
    rows = [dict(r, key=_key(str(r["key"]))) for r in rows]
    order = {k: i for i, k in enumerate(keys)}
    return sorted(rows, key=lambda r: order[r["key"]])


def _configure_jax():
    import jax

    jax.config.update("jax_enable_x64", True)


def main(argv) -> int:
    if "--json" in argv:  # worker mode
        out = argv[argv.index("--json") + 1]
        keys = [_key(k) for k in argv[argv.index("--keys") + 1:]]
        _configure_jax()
        pathlib.Path(out).write_text(json.dumps([run(k) for k in keys]))
        return 0
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1
    keys = everything() if "--all" in argv else subset()
    t0 = time.perf_counter()
    rows = run_workers(keys, workers)
    print(f"{'case':>34} {'s':>6} {'float_bad':>9} {'worst':>9} {'int':>4} {'noise':>5}  result")
    bad = []
    for r in rows:
        why = verdict(r)
        if why:
            bad.append(r["key"])
        if r["code"] == 0:
            print(f"{r['key']!s:>34} {r['seconds']:6.2f} {r['float_bad']:9d} {r['float_worst']:9.3g} "
                  f"{r['int_maxdiff']:4d} {r.get('noise_diff', '-')!s:>5}  {why or 'ok'}")
        else:
            print(f"{r['key']!s:>34} {r['seconds']:6.2f} {'':>9} {'':>9} {'':>4} {'':>5}  "
                  f"{why or 'refused as documented'}")
    worst = max((r.get("float_worst", 0.0) for r in rows), default=0.0)
    print(f"{len(rows) - len(bad)}/{len(rows)} cases as expected; worst float error {worst:.3g} of the "
          f"tolerance; {time.perf_counter() - t0:.0f} s wall with {workers} process(es)"
          + (f"; unexpected: {bad}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
