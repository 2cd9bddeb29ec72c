"""Render an orientation sweep in one vmapped call (in memory, differentiable).

    python examples/sweep.py [--count 12] [--step 5]

The crystal's misset x angle advances by --step degrees per orientation; all images come from a
single jax.vmap of `simulate` over the misset (one compile, one call).  To write such a series as
frame files with a manifest, use `nanobragg series <flags> --orientations angles.txt --out
out/o_####.img` (one "x y z" line per orientation; docs/user-guide.md section 10).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nanobragg_jax as nbj  # noqa: E402

ARGS = "-cell 70 80 90 90 90 90 -misset 0 10 20 -default_F 100 -N 5 -lambda 1 -distance 100 -detpixels 96 -pixel 0.2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--step", type=float, default=5.0, help="degrees per orientation")
    ap.add_argument("--args", default=ARGS, help="nanoBragg flags of the experiment")
    opts = ap.parse_args()

    exp = nbj.from_cli(opts.args, workdir=tempfile.mkdtemp())  # clean folder: no stray Fdump.bin
    missets = np.tile(np.asarray(exp.params["misset"], dtype=np.float64), (opts.count, 1))
    missets[:, 0] += opts.step * np.arange(opts.count)  # the x angle advances

    render_all = jax.jit(lambda m: nbj.simulate_batch(exp, {"misset": m}))
    t0 = time.perf_counter()
    images = jax.block_until_ready(render_all(jnp.asarray(missets)))
    t1 = time.perf_counter()
    images = jax.block_until_ready(render_all(jnp.asarray(missets) + 0.5))  # new angles: no recompile
    t2 = time.perf_counter()
    print(f"{opts.count} orientations of {exp.layout.spixels}x{exp.layout.fpixels} pixels: "
          f"first call {t1 - t0:.2f} s (compile + run), second {t2 - t1:.3f} s")
    images = np.asarray(images)
    print(f"{'#':>3} {'misset x, y, z (deg)':>24} {'sum':>12} {'max':>10}")
    for i, (m, img) in enumerate(zip(missets + 0.5, images)):
        print(f"{i:>3} {m[0]:>8.2f}{m[1]:>8.2f}{m[2]:>8.2f} {img.sum():>12.5g} {img.max():>10.4g}")


if __name__ == "__main__":
    main()
