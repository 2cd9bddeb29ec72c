"""Shared helpers of the bench scripts: machine description, child processes with peak RSS, the
optional nanoBragg C binary, and the Pilatus 6M golden case.  Plain stdlib; JAX is imported by the
callers only where they need it."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

REPO = pathlib.Path(__file__).resolve().parent.parent
INPUTS = REPO / "tests" / "data" / "golden" / "inputs"
PILATUS_CASE = REPO / "tests" / "data" / "golden" / "cases" / "pilatus_roi" / "case.json"
PILATUS_FULL_GOLDEN = pathlib.Path("/work/shared/golden/cases/pilatus_full/float.bin.gz")
PILATUS_SHAPE = (2527, 2463)


def pilatus_args() -> list[str]:
    """The pilatus_full command line: the pilatus_roi golden case without its -roi."""
    args = json.loads(PILATUS_CASE.read_text())["args"].split()
    if "-roi" in args:
        i = args.index("-roi")
        del args[i: i + 5]
    return args


def workdir_with_inputs() -> pathlib.Path:
    """A fresh temporary directory holding copies of the golden input files."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="nb_bench_"))
    for f in INPUTS.iterdir():
        shutil.copy(f, d / f.name)
        os.chmod(d / f.name, 0o644)
    return d


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line() -> str:
    return f"{cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}"


def run_child(cmd: Sequence[str], cwd, env: Optional[dict] = None) -> tuple[float, int, str]:
    """Run cmd; return (wall seconds, peak RSS of that child in MB, stdout).  Raises on failure."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage (ru_maxrss in KB on Linux)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({p.returncode}):\n{err.read()[-2000:]}")
        return wall, int(usage.ru_maxrss // 1024), out.read()


def timed_runs(cmd, cwd, repeats: int, env=None, warmup: bool = True):
    """(median wall, all walls, peak RSS MB) of `repeats` runs after an optional warm-up run."""
    if warmup:
        run_child(cmd, cwd, env)
    walls, peak = [], 0
    for _ in range(repeats):
        wall, rss, _ = run_child(cmd, cwd, env)
        walls.append(wall)
        peak = max(peak, rss)
    return statistics.median(walls), walls, peak


def c_binary(arg: Optional[str]) -> Optional[str]:
    """The nanoBragg C build from --c-binary or $NB_C_BIN, if executable."""
    path = arg or os.environ.get("NB_C_BIN")
    if path and os.access(path, os.X_OK):
        return path
    if path:
        print(f"# C binary {path!r} not executable: skipped", file=sys.stderr)
    return None


def c_env() -> dict:
    """OpenMP on every core, as nanoBragg.c would run on this machine."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    return env


def nanobragg_cmd() -> list[str]:
    """Our CLI as a child process (the console script when installed, else cli.py)."""
    exe = shutil.which("nanobragg")
    return [exe] if exe else [sys.executable, str(REPO / "cli.py")]


def kernel_call(argv: Sequence[str]):
    """(Layout, args for render.render_block) for a command line: the whole image as one block,
    chunked as render() would, so benches time exactly the kernel (trace, lower, compile, run)."""
    import jax
    import jax.numpy as jnp

    from nanobragg_jax import layout
    from nanobragg_jax.args import parse_args
    from nanobragg_jax.render import carry_for_mode, cast_model
    from nanobragg_jax.setup import build_experiment, build_model

    exp = build_experiment(parse_args(list(argv)), ".")
    m = cast_model(jax.jit(lambda p: build_model(exp, p))(exp.params))
    L = m.layout
    rows = layout.default_chunk_rows(L)
    chunks = -(-L.spixels // rows)
    state = carry_for_mode(L.mode).init(m.crystal.cell)
    return L, (m, state, jnp.asarray(L.interpolate), jnp.asarray(0), rows, chunks, False)
