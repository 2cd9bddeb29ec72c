"""Peak memory of reverse-mode gradients vs image size, with and without the checkpointed scan.

    python bench/bench_grad_memory.py                      # the default table (1024x1024 included)
    python bench/bench_grad_memory.py --sizes 256 512 --phisteps 10 --dtype float32

Each row runs in a fresh child process (so peak RSS is its own): it builds a -phisteps N experiment
of size x size pixels (oversample 1, fixed 102.4 mm detector), then times and measures
`jax.grad` of a scalar loss (sum of image^2 over its mean) w.r.t. every parameter.  Peak RSS is the
child's ru_maxrss, which includes the Python/JAX baseline (printed as the 'forward' row of the
same size).  Not a unit test: it prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time


def child(size: int, phisteps: int, mode: str, dtype: str, chunk_rows) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import nanobragg_jax as nbj

    pixel = 102.4 / size
    exp = nbj.from_cli(
        f"-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -distance 100 -detpixels {size} "
        f"-pixel {pixel} -oversample 1 -phi 0 -osc 1 -phisteps {phisteps} -misset 10 20 30",
        dtype=dtype)
    p = nbj.params(exp)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    checkpoint = mode == "grad+checkpoint"

    def loss(q):
        img = nbj.simulate(exp, q, chunk_rows=chunk_rows, checkpoint=checkpoint)
        return jnp.sum(img * img) / jnp.mean(img)

    fn = jax.jit(loss) if mode == "forward" else jax.jit(jax.grad(loss))
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(p))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(p))
    run = time.perf_counter() - t0
    finite = all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree_util.tree_leaves(out))
    from nanobragg_jax.layout import default_chunk_rows

    return dict(size=size, phisteps=phisteps, mode=mode, dtype=dtype,
                chunk_rows=chunk_rows or default_chunk_rows(exp.layout),
                compile_s=first - run, run_s=run, finite=finite,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                setup_rss_mb=rss0 / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--phisteps", type=int, default=10)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--modes", nargs="+", default=["forward", "grad+checkpoint", "grad"])
    ap.add_argument("--chunk-rows", type=int, default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        size, mode = args.child.split(":")
        print(json.dumps(child(int(size), args.phisteps, mode, args.dtype, args.chunk_rows)))
        return

    import jax

    print(f"# {time.strftime('%Y-%m-%d')}  {platform.node()}  {os.cpu_count()} cpus  "
          f"jax {jax.__version__}  device {jax.devices()[0].device_kind}  dtype {args.dtype}  "
          f"phisteps {args.phisteps}")
    print(f"{'pixels':>11} {'mode':>16} {'chunk':>6} {'compile s':>10} {'run s':>8} "
          f"{'peak RSS MB':>12} {'finite':>7}")
    for size in args.sizes:
        for mode in args.modes:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", f"{size}:{mode}", "--phisteps",
                   str(args.phisteps), "--dtype", args.dtype]
            if args.chunk_rows:
                cmd += ["--chunk-rows", str(args.chunk_rows)]
            # a clean folder: C quirk F1 would read an Fdump.bin left in the current one
            with tempfile.TemporaryDirectory() as tmp:
                r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
            if r.returncode != 0:
                last = (r.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{size:>5}x{size:<5} {mode:>16}   failed (rc {r.returncode}): {last[:80]}")
                continue
            d = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{size:>5}x{size:<5} {mode:>16} {d['chunk_rows']:>6} {d['compile_s']:>10.1f} "
                  f"{d['run_s']:>8.2f} {d['peak_rss_mb']:>12.0f} {str(d['finite']):>7}", flush=True)


if __name__ == "__main__":
    main()
