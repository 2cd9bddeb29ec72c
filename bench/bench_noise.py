"""Time the C-parity noise image (sequential ran1/poidev stream) on a full Pilatus 6M frame.

Prints one row per image: pixels, mean photons per pixel, ran1 draws, median seconds of 3 runs
(after a warm-up call that compiles or loads numba's cache), ns per pixel.  Images: the golden
`pilatus_full` float image when present, and synthetic frames of the same size at fixed means.
Also times the pure-Python fallback on a small crop and the jax.random counter stream.

Usage: python bench/bench_noise.py [--golden PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import pathlib
import platform
import statistics
import time

import numpy as np

from nanobragg_jax.noise._cstream import IM, compiled_noise_raster

from nanobragg_jax.noise import CRandom

from nanobragg_jax.setup._random_orientation import mosaic_umats
from nanobragg_jax.noise import counter_noise_image, noise_image

SLOW, FAST = 2527, 2463
GOLDEN = pathlib.Path("/work/shared/golden/cases/pilatus_full/float.bin.gz")


def ran1_steps(idum_start: int, idum_end: int) -> int:
    """Number of Park-Miller steps between two idum values (16807 is a primitive root mod IM):
    a baby-step giant-step discrete log, so draws are counted without instrumenting the loop."""
    target = idum_end * pow(idum_start, -1, IM) % IM
    m = math.isqrt(IM - 1) + 1
    baby, value = {}, 1
    for j in range(m):
        baby.setdefault(value, j)
        value = value * 16807 % IM
    giant = pow(pow(16807, m, IM), -1, IM)
    gamma = target
    for i in range(m):
        if gamma in baby:
            return i * m + baby[gamma]
        gamma = gamma * giant % IM
    raise ValueError("not a power of 16807")


def run_once(img, use_numba=None):
    rng = CRandom()
    mosaic_umats(rng, 0.0, 1, -12345678)  # as C: the mosaic draw precedes the noise
    t0 = time.perf_counter()
    out, overloads, photons, seed = noise_image(img, None, 40.0, rng, -1234, use_numba=use_numba)
    return time.perf_counter() - t0, seed


def images(golden: pathlib.Path):
    if golden.exists():
        data = gzip.decompress(golden.read_bytes())
        yield "pilatus_full (golden)", np.frombuffer(data, dtype="<f4").reshape(SLOW, FAST)
    else:
        print(f"# {golden} not found: synthetic images only")
    rng = np.random.default_rng(0)
    for mean in (0.01, 1.0, 10.0, 100.0):
        yield f"synthetic exp(mean {mean:g})", rng.exponential(mean, (SLOW, FAST)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", type=pathlib.Path, default=GOLDEN)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"# {time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  "
          f"{os.cpu_count()} CPUs  numba={'yes' if compiled_noise_raster() else 'no'}")
    print(f"{'image':28s} {'pixels':>10s} {'mean':>9s} {'ran1 draws':>12s} {'seconds':>8s} {'ns/pixel':>9s}")
    for name, img in images(args.golden):
        t_first, seed = run_once(img)  # compiles on the very first call, else loads the cache
        times = [run_once(img)[0] for _ in range(args.repeats)]
        draws = ran1_steps(1234, seed) - 40 - 3  # minus the table fill and the mosaic draws
        sec = statistics.median(times)
        print(f"{name:28s} {img.size:10d} {float(img.mean()):9.3g} {draws:12d} {sec:8.3f} "
              f"{1e9 * sec / img.size:9.1f}   (first call {t_first:.2f} s)")

    crop = np.random.default_rng(1).exponential(1.0, (100, 100)).astype(np.float32)
    sec, _ = run_once(crop, use_numba=False)
    print(f"{'pure Python, exp(mean 1)':28s} {crop.size:10d} {1.0:9.3g} {'':>12s} {sec:8.3f} "
          f"{1e9 * sec / crop.size:9.1f}   (fallback without numba)")

    import jax

    lam = np.random.default_rng(2).exponential(10.0, (SLOW, FAST)).astype(np.float32)
    counter_noise_image(lam, jax.random.PRNGKey(0), 40.0)  # compile
    t0 = time.perf_counter()
    counter_noise_image(lam, jax.random.PRNGKey(1), 40.0)
    sec = time.perf_counter() - t0
    print(f"{'jax.random counter stream':28s} {lam.size:10d} {10.0:9.3g} {'':>12s} {sec:8.3f} "
          f"{1e9 * sec / lam.size:9.1f}   ({jax.devices()[0].platform}, not the C stream)")


if __name__ == "__main__":
    main()
