"""Peak memory (and time) against the sampling: oversample 1 ... 2000 on a 4x4 detector, mosaic
domains x phi steps on 64x64, and reverse-mode gradients through highly oversampled renders.  Once
one row's samples pass the budget (`layout.DEFAULT_SAMPLE_BUDGET`) the kernel cuts them into blocks,
so the peak RSS column should go flat.

    python bench/bench_memory.py [--c-binary PATH] [--sweeps oversample samples grad big]
                                 [--oversamples 1 10 ...] [--cli CMD]

Every row runs in a fresh child process (its own peak RSS, measured by /usr/bin/time, which includes
the ~0.2 GB of the Python + JAX runtime).  CLI rows (`oversample`, `samples`, `big`) run the whole `nanobragg`
command (-nonoise -nopgm -noprogress) twice with a private compile cache and report the second,
warm run (wall s and peak RSS), next to `layout.render_cost`'s estimate; with a C build
(--c-binary PATH or $NB_C_BIN) the same command under OMP_NUM_THREADS=1 and =2 (whole program).
`grad` rows time jax.grad of sum(image^2) w.r.t. every parameter with checkpoint=True.
`big` is the 32x32, N=200, 1 mm case whose auto-oversample is 3000 (about a minute or two).
Not a unit test: it prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shlex
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _common as C  # noqa: E402

SMALL = "-default_F 100 -cell 50 50 50 90 90 90 -N 5 -detpixels 4"
OVERSAMPLES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
MOSAIC = ("-default_F 100 -cell 50 50 50 90 90 90 -N 5 -detpixels 64 -distance 100 -mosaic 0.5 "
          "-osc 1 -oversample 1")
SAMPLES = ((1, 1), (10, 1), (100, 1), (100, 10), (1000, 10))  # (mosaic domains, phi steps)
GRAD_OVERSAMPLES = (1, 10, 100, 300, 1000)
BIG = "-default_F 100 -cell 50 50 50 90 90 90 -N 200 -detpixels 32 -distance 1"


def cases(sweeps, oversamples=OVERSAMPLES) -> list:
    """(sweep, label, argv) of every row."""
    out = []
    if "oversample" in sweeps:
        out += [("oversample", f"os {n}", f"{SMALL} -oversample {n}") for n in oversamples]
    if "samples" in sweeps:
        out += [("samples", f"{d} dom x {p} phi", f"{MOSAIC} -mosaic_dom {d} -phisteps {p}") for d, p in SAMPLES]
    if "grad" in sweeps:
        out += [("grad", f"grad os {n}", f"{SMALL} -oversample {n}") for n in GRAD_OVERSAMPLES]
        out += [("grad", f"grad {d} dom x {p} phi", f"{MOSAIC} -mosaic_dom {d} -phisteps {p}")
                for d, p in ((10, 1), (100, 10))]
    if "big" in sweeps:
        out += [("big", "32x32 N200 auto-os", BIG)]
    return out


def grad_child(argv: str) -> dict:
    """Runs in the row's own process: reverse mode through the render, checkpointed."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import nanobragg_jax as nbj

    exp = nbj.from_cli(argv)
    p = nbj.params(exp)

    def loss(q):
        img = nbj.simulate(exp, q, checkpoint=True)
        return jnp.sum(img * img)

    fn = jax.jit(jax.grad(loss))
    jax.block_until_ready(fn(p))  # compile + first run
    t = time.perf_counter()
    out = jax.block_until_ready(fn(p))
    run = time.perf_counter() - t
    finite = all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree_util.tree_leaves(out))
    return dict(run_s=run, finite=finite)


def estimate(argv: str) -> tuple:
    """(samples, estimated s, estimated peak MB, chunk rows, position block) from the layout."""
    from nanobragg_jax import layout
    from nanobragg_jax.args import parse_args
    from nanobragg_jax.setup import build_experiment

    with tempfile.TemporaryDirectory() as tmp:
        L = build_experiment(parse_args(argv.split()), tmp).layout
    cost = layout.render_cost(L, cores=os.cpu_count() or 1)
    rows = layout.default_chunk_rows(L)
    return cost.samples, cost.seconds, cost.peak_bytes / 2**20, rows, layout.position_block(L, rows)


def measured(cmd, cwd, env=None) -> tuple:
    """(wall s, peak RSS MB, stdout) of cmd.  Through /usr/bin/time where there is one: a child
    forked straight from this (large) process would count this process's pages in its ru_maxrss."""
    timer = shutil.which("time") or "/usr/bin/time"
    if not os.access(timer, os.X_OK):
        return C.run_child(cmd, cwd, env)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as f:
        wall, _, out = C.run_child([timer, "-f", "%M", "-o", f.name] + list(cmd), cwd, env)
        return wall, int(f.read().split()[-1]) / 1024, out


def cli_row(argv: str, cache: str, cli: list) -> tuple:
    """(wall s, peak RSS MB) of a warm CLI run."""
    cmd = cli + argv.split() + ["-nonoise", "-nopgm", "-noprogress"]
    env = dict(os.environ, NANOBRAGG_CACHE_DIR=cache)
    with tempfile.TemporaryDirectory() as tmp:
        C.run_child(cmd, tmp, env)  # cold: compiles and stores the program
        wall, rss, _ = measured(cmd, tmp, env)
    return wall, rss


def c_row(binary: str, argv: str, threads: int) -> tuple:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        wall, rss, _ = measured([binary] + argv.split() + ["-nonoise", "-nopgm", "-noprogress"], tmp, env)
    return wall, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", nargs="+", default=["oversample", "samples", "grad"],
                    choices=["oversample", "samples", "grad", "big"])
    ap.add_argument("--oversamples", type=int, nargs="+", default=list(OVERSAMPLES))
    ap.add_argument("--c-binary", default=None)
    ap.add_argument("--cli", default=None, help="the command to time instead of nanobragg (e.g. another "
                    "checkout: 'env PYTHONPATH=DIR python DIR/cli.py'); the estimate columns stay this one's")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(grad_child(args.child)))
        return
    import jax

    binary = C.c_binary(args.c_binary)
    print(f"# {time.strftime('%Y-%m-%d')}  {C.machine_line()}  jax {jax.__version__}  float64 spec")
    print(f"{'case':<22} {'pixel-samples':>13} {'rows':>4} {'block':>6} {'est s':>7} {'est MB':>7} "
          f"{'wall s':>7} {'peak MB':>8} {'C1 s':>6} {'C2 s':>6} {'C MB':>5}")
    with tempfile.TemporaryDirectory() as cache:
        for sweep, label, argv in cases(args.sweeps, args.oversamples):
            samples, est_s, est_mb, rows, block = estimate(argv)
            c = ["-", "-", "-"]
            try:
                if sweep == "grad":
                    _, rss, out = measured([sys.executable, os.path.abspath(__file__), "--child", argv],
                                           tempfile.gettempdir())
                    r = json.loads(out.strip().splitlines()[-1])
                    wall = r["run_s"]
                    label += "" if r["finite"] else " (NaN!)"
                else:
                    wall, rss = cli_row(argv, cache, shlex.split(args.cli) if args.cli else C.nanobragg_cmd())
                    if binary:
                        c1, crss = c_row(binary, argv, 1)
                        c2, _ = c_row(binary, argv, 2)
                        c = [f"{c1:.2f}", f"{c2:.2f}", f"{crss:.0f}"]
            except RuntimeError as exc:
                print(f"{label:<22} failed: {str(exc).splitlines()[-1][:90]}", flush=True)
                continue
            print(f"{label:<22} {samples:>13.3g} {rows:>4} {block:>6} {est_s:>7.2f} {est_mb:>7.0f} "
                  f"{wall:>7.2f} {rss:>8.0f} {c[0]:>6} {c[1]:>6} {c[2]:>5}", flush=True)


if __name__ == "__main__":
    main()
