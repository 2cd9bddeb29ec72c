"""The companions on a full Pilatus-size frame (2463 x 2527) against the C programs, in one run.

    python bench/bench_companions.py [--repeats 3] [--nonbragg-c PATH] [--noisify-c PATH]

Three timings, each a whole program run as a child process (median of --repeats after a warm-up
run, so compile caches are warm), with the C build timed in the same run where given
(--nonbragg-c / $NONBRAGG_C_BIN, --noisify-c / $NOISIFY_C_BIN):

1. `nonbragg` vs nonBragg.c: water background, 0.1 mm sample, flux 1e12 for 0.1 s (mean ~22
   photons/pixel).  Target: no slower than C.  The float images are compared (bits and the golden
   tolerance) and the int images byte for byte.
2. `noisify` vs noisify.c with a Gaussian PSF (automatic radius) and the default 3 % calibration
   error, on the water image plus the pilatus_full spots (when the golden float image is there).
   Target: at most 0.5 x C.  The noisy images are compared byte for byte.
3. One `nanobragg` run of the pilatus_full spots alone vs the same run with `--stol water.stol` and
   `--psf gauss` (noisify's response instead of nanoBragg's noise).  Target: at most +25 %.

Also checks the water_512_bench golden case (the 512x512 nonBragg reference run the test suite
skips) when the golden folder is available (--golden).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pathlib
import shlex
import shutil
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    PILATUS_FULL_GOLDEN,
    machine_line,
    nanobragg_cmd,
    pilatus_args,
    timed_runs,
    workdir_with_inputs,
)

FRAME = "-detpixels_f 2463 -detpixels_s 2527 -pixel 0.172"
NONBRAGG = ("-stol water.stol -lambda 1 -distance 200 " + FRAME + " -thick 0.1 -flux 1e12 -exposure 0.1 "
            "-beamsize 0.1 -noprogress -nonoise -floatfile {o}.bin -intfile {o}.img -pgmfile {o}.pgm")
NOISIFY = ("-floatfile sum.bin -detpixels_x 2463 -detpixels_y 2527 -pixel 0.172 -psf gauss -seed 5 -nopgm "
           "-intfile {o}_int.img -noisefile {o}_noise.img")
ONE_RUN = "--stol water.stol --bg-thick 0.000001 --psf gauss"
GOLDEN = pathlib.Path("/work/shared/golden/nonbragg/cases")


def _script(name: str) -> list[str]:
    exe = shutil.which(name)
    if exe:
        return [exe]
    module = {"nonbragg": "nonbragg_entry_point", "noisify": "noisify_entry_point"}[name]
    return [sys.executable, "-c", f"from nanobragg_jax.companions import {module}; {module}()"]


def _binary(arg, env):
    path = arg or os.environ.get(env)
    return path if path and os.access(path, os.X_OK) else None


def _float_parity(a_path, b_path) -> str:
    a = np.fromfile(a_path, np.float32)
    b = np.fromfile(b_path, np.float32)
    fin = np.isfinite(b)
    tol = 1e-5 * np.abs(b[fin]) + 1e-7 * np.abs(b[fin]).max()
    bad = int(np.count_nonzero(np.abs(a[fin] - b[fin]) > tol))
    return f"{int(np.count_nonzero(a != b))} pixels differ in bits, {bad} outside the tolerance"


def _row(name, wall, walls, rss, ref=None):
    ratio = f"{wall / ref:.2f}" if ref else "-"
    runs = " ".join(f"{w:.2f}" for w in walls)
    return f"| {name} | {wall:.2f} | {runs} | {rss} | {ratio} |"


def _versus(c_bin, c_name, name, args, wd, repeats, env):
    """Rows for the C program (when given) and ours on the same command line."""
    ref = None
    if c_bin:
        ref, walls, rss = timed_runs([c_bin] + args.format(o="c").split(), wd, repeats, env)
        print(_row(c_name, ref, walls, rss))
    wall, walls, rss = timed_runs(_script(name) + args.format(o="py").split(), wd, repeats)
    print(_row(name, wall, walls, rss, ref))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nonbragg-c", default=None, help="nonBragg.c build (or $NONBRAGG_C_BIN)")
    parser.add_argument("--noisify-c", default=None, help="noisify.c build (or $NOISIFY_C_BIN)")
    parser.add_argument("--golden", default=str(GOLDEN), help="nonBragg golden cases folder")
    opts = parser.parse_args()
    nb_c = _binary(opts.nonbragg_c, "NONBRAGG_C_BIN")
    nz_c = _binary(opts.noisify_c, "NOISIFY_C_BIN")
    wd = workdir_with_inputs()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    print(f"# {machine_line()}; repeats {opts.repeats} (median; after one warm-up run)")
    head = "| program | median s | runs s | peak RSS MB | vs C |\n|---|---|---|---|---|"

    # 1. nonbragg
    print("\n## nonbragg: water background, full frame\n")
    print(head)
    _versus(nb_c, "nonBragg.c", "nonbragg", NONBRAGG, wd, opts.repeats, env)
    if nb_c:
        print(f"\nparity: float image {_float_parity(wd / 'py.bin', wd / 'c.bin')}; int image "
              f"{'identical' if (wd / 'py.img').read_bytes() == (wd / 'c.img').read_bytes() else 'DIFFERS'}")

    # 2. noisify
    water = np.fromfile(wd / "py.bin", np.float32)
    total = water
    source = "water"
    if PILATUS_FULL_GOLDEN.exists():
        total = water + np.frombuffer(gzip.open(PILATUS_FULL_GOLDEN).read(), np.float32)
        source = "water + pilatus_full spots"
    total.astype(np.float32).tofile(wd / "sum.bin")
    print(f"\n## noisify: {source} (mean {float(total.mean()):.1f}, max {float(total.max()):.0f} photons), "
          "Gaussian PSF, 3 % calibration error\n")
    print(head)
    _versus(nz_c, "noisify.c", "noisify", NOISIFY, wd, opts.repeats, env)
    if nz_c:
        same = all((wd / f"py_{k}.img").read_bytes() == (wd / f"c_{k}.img").read_bytes() for k in ("int", "noise"))
        print(f"\nparity: noiseless and noisy images {'identical' if same else 'DIFFER'}")

    # 3. one nanobragg run
    spots = pilatus_args() + ["-nopgm", "-noprogress", "-seed", "5", "-floatfile", "s.bin", "-intfile", "s.img",
                              "-noisefile", "s_noise.img"]
    print("\n## one nanobragg run: pilatus_full spots, then + water background + noisify response\n")
    print("| run | median s | runs s | peak RSS MB | vs spots alone |\n|---|---|---|---|---|")
    base, walls, rss = timed_runs(nanobragg_cmd() + spots, wd, opts.repeats)
    print(_row("spots (nanoBragg noise image)", base, walls, rss))
    wall, walls, rss = timed_runs(nanobragg_cmd() + spots + ONE_RUN.split(), wd, opts.repeats)
    print(_row("spots + background + response", wall, walls, rss, base))

    # water_512_bench parity
    case = pathlib.Path(opts.golden) / "water_512_bench"
    if (case / "case.json").exists():
        args = shlex.split(json.loads((case / "case.json").read_text())["run_args"])
        timed_runs(_script("nonbragg") + args, wd, 1, warmup=False)
        want = np.frombuffer(gzip.open(case / "float.bin.gz").read(), np.float32)
        np.asarray(want).tofile(wd / "golden512.bin")
        same_int = (wd / "int.img").read_bytes() == gzip.open(case / "int.img.gz").read()
        print(f"\nwater_512_bench golden: float image {_float_parity(wd / 'float.bin', wd / 'golden512.bin')}; "
              f"int image {'identical' if same_int else 'DIFFERS'}")
    shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
