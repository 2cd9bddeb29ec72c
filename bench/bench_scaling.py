"""How the kernel's cost scales: detector size 256^2 ... 4096^2, and sampling-heavy cases (100 mosaic
domains x 10 phi steps; a divergence x dispersion source grid).  Cost should be linear in
pixels x samples: the ns per pixel-sample column stays flat.

Every case runs in its own child process (peak RSS per case): it builds the experiment, compiles
the render program with the persistent cache off (compile s), then reports the median of --repeats
warm renders (after block_until_ready).  With a C build (--c-binary PATH or $NB_C_BIN) the same
command line is timed under OpenMP on all cores (whole program, including its set-up).

Usage: python bench/bench_scaling.py [--repeats 3] [--dtype float64] [--mode c-parity]
                                     [--cases size256 ... mosaic100x10 divdisp] [--c-binary PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _common as C  # noqa: E402

CRYSTAL = ("-mat A.mat -hkl scaled.hkl -lambda 0.9768 -distance 231.27 -Na 36 -Nb 47 -Nc 29 "
           "-nonoise -nointerpolate -oversample 1 -phi 0 -osc 0.1")


def _size_case(n: int) -> str:
    # Same physical detector (424 mm) at every size.
    return f"{CRYSTAL} -phisteps 10 -detpixels {n} -pixel {424.0 / n:.6f}"


CASES = {f"size{n}": _size_case(n) for n in (256, 512, 1024, 2048, 4096)}
CASES["mosaic100x10"] = f"{CRYSTAL} -phisteps 10 -mosaic 0.5 -mosaic_dom 100 -detpixels 256 -pixel 1.656"
CASES["divdisp"] = (f"{CRYSTAL} -phisteps 1 -divergence 0.3 -divsteps 5 -dispersion 0.5 -dispsteps 5 "
                    "-detpixels 512 -pixel 0.828")


def child(name: str, dtype: str, mode: str, repeats: int) -> None:
    """Runs in the case's own process; prints one JSON line."""
    import jax

    jax.config.update("jax_enable_x64", True)

    from nanobragg_jax import layout
    from nanobragg_jax.render import render_block

    L, full_call = C.kernel_call(CASES[name].split() + ["--mode", mode, "--dtype", dtype, "-nopgm", "-noprogress"])
    call = full_call[:4]
    rows = full_call[4]
    t = time.perf_counter()
    compiled = render_block.trace(*full_call).lower().compile()
    compile_s = time.perf_counter() - t
    runs = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        jax.block_until_ready(compiled(*call))
        runs.append(time.perf_counter() - t)
    run = statistics.median(runs[1:])
    spp = layout.samples_per_pixel(L)
    print(json.dumps({"pixels": L.spixels * L.fpixels, "spp": spp, "rows": rows, "compile": compile_s,
                      "run": run, "ns": run / (L.spixels * L.fpixels * spp) * 1e9,
                      "device": str(jax.devices()[0])}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--mode", default="c-parity")
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--c-binary", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.dtype, args.mode, args.repeats)
        return
    print(f"# bench_scaling  {time.strftime('%Y-%m-%d %H:%M')}  {C.machine_line()}  dtype {args.dtype}  mode {args.mode}")
    print(f"# XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    cbin = C.c_binary(args.c_binary)
    workdir = C.workdir_with_inputs()
    print(f"{'case':13s} {'pixels':>9s} {'samples/px':>10s} {'chunk rows':>10s} {'compile s':>9s} {'run s':>8s} "
          f"{'ns/px-sample':>12s} {'peak RSS MB':>11s} {'C s':>7s} {'C/run':>6s}")
    try:
        for name in args.cases:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--dtype", args.dtype,
                   "--mode", args.mode, "--repeats", str(args.repeats)]
            _, rss, out = C.run_child(cmd, workdir)
            r = json.loads(out.strip().splitlines()[-1])
            c_s = ratio = "-"
            if cbin:
                c_cmd = [cbin] + CASES[name].split() + ["-nopgm", "-floatfile", "c.bin", "-intfile", "c.img"]
                med, _, _ = C.timed_runs(c_cmd, workdir, args.repeats, env=C.c_env(), warmup=False)
                c_s, ratio = f"{med:7.2f}", f"{med / r['run']:6.1f}"
            print(f"{name:13s} {r['pixels']:9d} {r['spp']:10d} {r['rows']:10d} {r['compile']:9.2f} {r['run']:8.3f} "
                  f"{r['ns']:12.2f} {rss:11d} {c_s:>7s} {ratio:>6s}", flush=True)
        print(f"# device: {r['device']}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
