"""The full Pilatus 6M frame (pilatus_full: 2463 x 2527 pixels, 10 phi steps, -mat A matrix, 64k
structure factors): whole-CLI wall time and the kernel alone, float64 and float32, spec and c-parity.

Part 1, CLI: `nanobragg <pilatus args> --mode M --dtype D -nopgm -noprogress` as a child process in
a scratch directory, after one warm-up run (so the persistent compile cache is warm), median of
--repeats runs, with the child's peak RSS.  With a C build (--c-binary PATH or $NB_C_BIN) the same
command line is timed under OpenMP on every core and the ratio printed.
Part 2, kernel: in this process, the render program traced, lowered and compiled with the
persistent cache off (cold compile), then median of --repeats warm runs (after block_until_ready),
in ns per pixel-sample; with --golden, the image is compared with the C float image.

Usage: python bench/bench_pilatus.py [--repeats 3] [--c-binary PATH] [--dtypes float64 float32]
                                     [--modes c-parity spec] [--no-cli] [--no-kernel] [--golden PATH]
"""

from __future__ import annotations

import argparse
import gzip
import os
import pathlib
import shutil
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def cli_part(args, workdir) -> None:
    base = C.pilatus_args() + ["-nopgm", "-noprogress", "-floatfile", "float.bin", "-intfile", "int.img"]
    print("\n## Whole CLI run (subprocess, warm compile cache, median of %d)" % args.repeats)
    print(f"{'program':10s} {'dtype':8s} {'mode':9s} {'median s':>9s} {'runs s':24s} {'peak RSS MB':>11s} {'vs C':>6s}")
    c_median = None
    cbin = C.c_binary(args.c_binary)
    if cbin:
        med, walls, rss = C.timed_runs([cbin] + base, workdir, args.repeats, env=C.c_env())
        c_median = med
        threads = C.c_env()["OMP_NUM_THREADS"]
        print(f"{'C':10s} {'float64':8s} {'omp=' + threads:9s} {med:9.2f} {' '.join(f'{w:.2f}' for w in walls):24s} {rss:11d} {1.0:6.2f}")
    for dtype in args.dtypes:
        for mode in args.modes:
            cmd = C.nanobragg_cmd() + base + ["--mode", mode, "--dtype", dtype]
            med, walls, rss = C.timed_runs(cmd, workdir, args.repeats)
            ratio = f"{med / c_median:6.2f}" if c_median else "     -"
            print(f"{'nanobragg':10s} {dtype:8s} {mode:9s} {med:9.2f} {' '.join(f'{w:.2f}' for w in walls):24s} {rss:11d} {ratio}")


def kernel_part(args, workdir) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    from nanobragg_jax import layout
    from nanobragg_jax.render import render_block

    golden = None
    if args.golden and pathlib.Path(args.golden).exists():
        golden = np.frombuffer(gzip.open(args.golden).read(), np.float32).reshape(C.PILATUS_SHAPE)
    print(f"\n## Kernel alone (in process, devices {jax.devices()}), persistent cache off")
    print(f"{'dtype':8s} {'mode':9s} {'trace s':>8s} {'lower s':>8s} {'compile s':>9s} {'run s (median)':>15s} "
          f"{'ns/pixel-sample':>15s} {'corr vs C':>10s} {'sum ratio':>10s}")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        for dtype in args.dtypes:
            for mode in args.modes:
                L, full_call = C.kernel_call(
                    C.pilatus_args() + ["--mode", mode, "--dtype", dtype, "-nopgm", "-noprogress"])
                call = full_call[:4]
                t0 = time.perf_counter()
                traced = render_block.trace(*full_call)
                t1 = time.perf_counter()
                lowered = traced.lower()
                t2 = time.perf_counter()
                compiled = lowered.compile()
                t3 = time.perf_counter()
                runs = []
                for _ in range(args.repeats + 1):
                    t = time.perf_counter()
                    out = compiled(*call)
                    jax.block_until_ready(out)
                    runs.append(time.perf_counter() - t)
                run = statistics.median(runs[1:])
                samples = L.spixels * L.fpixels * layout.samples_per_pixel(L)
                corr = ratio = float("nan")
                if golden is not None:
                    img = np.asarray(out[2])[: L.spixels].astype(np.float32).astype(np.float64).ravel()
                    ref = golden.astype(np.float64).ravel()
                    corr = float(np.corrcoef(img, ref)[0, 1])
                    ratio = float(img.sum() / ref.sum())
                print(f"{dtype:8s} {mode:9s} {t1 - t0:8.2f} {t2 - t1:8.2f} {t3 - t2:9.2f} {run:15.3f} "
                      f"{run / samples * 1e9:15.2f} {corr:10.7f} {ratio:10.7f}")
    finally:
        os.chdir(cwd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--c-binary", default=None, help="nanoBragg C build (default: $NB_C_BIN)")
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    ap.add_argument("--modes", nargs="+", default=["c-parity", "spec"])
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--no-kernel", action="store_true")
    ap.add_argument("--golden", default=str(C.PILATUS_FULL_GOLDEN), help="C float image (.gz) to compare with")
    args = ap.parse_args()
    print(f"# bench_pilatus  {time.strftime('%Y-%m-%d %H:%M')}  {C.machine_line()}")
    print(f"# XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    workdir = C.workdir_with_inputs()
    try:
        if not args.no_cli:
            cli_part(args, workdir)
        if not args.no_kernel:
            kernel_part(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
