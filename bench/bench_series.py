"""Datasets: frames per second of `nanobragg series`, and what it is measured against.

1. The issue-13 acceptance case: 20 frames of 512x512 (5 phi steps, 3 mosaic domains) as one
   `nanobragg series` vs the same 20 frames as 20 single `nanobragg` runs (fresh processes, warm
   compile cache).  Goal: the series costs at most 0.25x.
2. 100 frames of 1024x1024 of the same crystal (noise images, SMV):
   - `nanobragg series` in one process: frames/s of the whole command, and the rate it reports
     (frames made / time after start-up);
   - the same series with -nonoise (int images: no C noise stream on the host);
   - the kernel alone: the same frames' experiments through the compiled frame program, one after
     the other, no statistics, noise or writes (goal: the series within 10 % of it);
   - nanoBragg.c running the same frames (`-phi`, `-seed` per frame, OMP_NUM_THREADS = all cores
     unless set; goal: the series at least 5x faster);
   - `nanobragg series --workers 2` (two local Dask worker processes).

Every series and single run is a child process with the compile caches in a fresh folder that a
warm-up run fills first (so no row pays for compiling).  Prints one table; numbers go to
bench/RESULTS.md.

Usage: python bench/bench_series.py [--frames 100] [--c-frames N] [--c-binary PATH]
                                    [--skip acceptance,nonoise,kernel,c,workers]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _common as C  # noqa: E402

CRYSTAL = ("-hkl P1_wide.hkl -cell 60 60 60 90 90 90 -misset 10 20 30 -N 10 -lambda 1 -distance 100 "
           "-mosaic 0.3 -mosaic_dom 3 -osc 0.5 -phisteps 5 -oversample 1 -seed 7 -nopgm -noprogress")
SMALL = f"{CRYSTAL} -detpixels 512 -pixel 0.2"
LARGE = f"{CRYSTAL} -detpixels 1024 -pixel 0.1"


def series(work: pathlib.Path, args: str, frames: int, out: str, *extra: str) -> tuple[float, str]:
    cmd = C.nanobragg_cmd() + ["series", *args.split(), "--frames", str(frames), "--out", out, *extra]
    wall, _, stdout = C.run_child(cmd, work)
    return wall, stdout


def reported_rate(stdout: str) -> float:
    """The 'N frames/s' of the series' last line (time after start-up)."""
    words = stdout.split()
    return float(words[words.index("frames/s;") - 1].rstrip(","))


def phi(i: int) -> str:
    return f"{0.5 * i:.12g}"


def kernel_alone(work: pathlib.Path, args: str, frames: int) -> float:
    """Seconds per frame of the compiled frame program alone over the frames' experiments."""
    code = f"""
import os, sys, time
sys.path.insert(0, {str(C.REPO)!r})
from nanobragg_jax.datasets import FrameMaker, FrameTask, SeriesJob
job = SeriesJob(tuple({args.split()!r}), os.getcwd())
maker = FrameMaker(job)
tasks = [FrameTask(i, ("-phi", f"{{0.5 * i:.12g}}", "-seed", str(7 + i)), "unused.img") for i in range({frames})]
exps = [maker.experiment(t) for t in tasks]
program = maker.program(exps[0])
program.collect(program.submit(exps[:1]))  # load or compile
t = time.perf_counter()
for e in exps:
    program.collect(program.submit([e]))
print((time.perf_counter() - t) / len(exps))
"""
    _, _, out = C.run_child([sys.executable, "-c", code], work)
    return float(out.strip().splitlines()[-1])


def c_frames(work: pathlib.Path, binary: str, args: str, frames: int) -> float:
    env = C.c_env()
    t = time.perf_counter()
    for i in range(frames):
        C.run_child([binary, *args.split(), "-phi", phi(i), "-seed", str(7 + i), "-floatfile", "c.bin",
                     "-intfile", "c.img", "-noisefile", "c_noise.img"], work, env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100, help="frames of the 1024x1024 series")
    ap.add_argument("--c-frames", type=int, default=None, help="frames C renders (default: --frames)")
    ap.add_argument("--c-binary", default=None)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: acceptance,nonoise,kernel,c,workers")
    opts = ap.parse_args()
    skip = set(filter(None, opts.skip.split(",")))
    work = C.workdir_with_inputs()
    cache = pathlib.Path(tempfile.mkdtemp(prefix="nb_bench_cache_"))
    os.environ["NANOBRAGG_CACHE_DIR"] = str(cache)  # the children's compile caches
    rows = []
    print(f"# {C.machine_line()}; load average {os.getloadavg()[0]:.1f} at the start")
    try:
        if "acceptance" not in skip:
            series(work, SMALL, 2, "warm/w_#####.img")  # fills the caches for both commands
            n = 20
            t_series, _ = series(work, SMALL, n, "small/s_#####.img")
            t0 = time.perf_counter()
            for i in range(n):
                C.run_child(C.nanobragg_cmd() + [*SMALL.split(), "-phi", phi(i), "-seed", str(7 + i),
                                                 "-floatfile", "one.bin", "-intfile", "one.img",
                                                 "-noisefile", "one_noise.img"], work)
            t_single = time.perf_counter() - t0
            rows.append(("20 x 512^2: 20 single nanobragg runs", t_single, n / t_single, ""))
            rows.append(("20 x 512^2: one nanobragg series", t_series, n / t_series,
                         f"{t_series / t_single:.3f}x of the single runs (goal <= 0.25x)"))
        n = opts.frames
        series(work, LARGE, 2, "warm/l_#####.img")
        t_series, out = series(work, LARGE, n, "large/l_#####.img")
        rate = reported_rate(out)
        rows.append((f"{n} x 1024^2: nanobragg series, 1 process", t_series, n / t_series,
                     f"{rate:.3g} frames/s after start-up"))
        if "nonoise" not in skip:  # the same frames without C's (sequential) noise stream: int images
            series(work, LARGE + " -nonoise", 2, "warm/n_#####.img")
            t_nn, out_nn = series(work, LARGE + " -nonoise", n, "nonoise/n_#####.img")
            rows.append((f"{n} x 1024^2: nanobragg series -nonoise, 1 process", t_nn, n / t_nn,
                         f"{reported_rate(out_nn):.3g} frames/s after start-up"))
        if "kernel" not in skip:
            per = kernel_alone(work, LARGE, n)
            rows.append((f"{n} x 1024^2: frame program alone (kernel)", per * n, 1 / per,
                         f"series after start-up at {rate * per:.2f}x of its rate (goal >= 0.9)"))
        binary = C.c_binary(opts.c_binary)
        if binary and "c" not in skip:
            nc = opts.c_frames or n
            t_c = c_frames(work, binary, LARGE, nc)
            rows.append((f"{nc} x 1024^2: nanoBragg.c, OMP_NUM_THREADS={C.c_env()['OMP_NUM_THREADS']}",
                         t_c, nc / t_c, f"series (whole command) {t_c / nc / (t_series / n):.1f}x faster (goal >= 5x)"))
        if "workers" not in skip:
            t_w, out_w = series(work, LARGE, n, "workers/l_#####.img", "--workers", "2")
            same = all((work / "workers" / f"l_{i:05d}.img").read_bytes() == (work / "large" / f"l_{i:05d}.img").read_bytes()
                       for i in range(n))
            rows.append((f"{n} x 1024^2: nanobragg series --workers 2", t_w, n / t_w,
                         f"{reported_rate(out_w):.3g} frames/s after start-up; frames identical: {same}"))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'run':<52} {'wall s':>8} {'frames/s':>9}  note")
    for name, wall, fps, note in rows:
        print(f"{name:<52} {wall:>8.2f} {fps:>9.3f}  {note}")
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
