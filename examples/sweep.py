"""Render an orientation sweep in one vmapped call and write the images.

    python examples/sweep.py [--count 12] [--step 5] [--out sweep_out/] [--smv]

The crystal's misset x angle advances by --step degrees per orientation; all images come from a
single jax.vmap of `simulate` over the misset (one compile, one call).  The same is available as
`nanobragg sweep --count 12 --step 5 --axis x -- <flags>` (batched, with a progress bar).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import nanobragg_jax as nbj  # noqa: E402
from nanobragg_jax.datasets import misset_series, write_sweep  # noqa: E402

ARGS = "-cell 70 80 90 90 90 90 -misset 0 10 20 -default_F 100 -N 5 -lambda 1 -distance 100 -detpixels 96 -pixel 0.2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--step", type=float, default=5.0, help="degrees per orientation")
    ap.add_argument("--args", default=ARGS, help="nanoBragg flags of the experiment")
    ap.add_argument("--out", default=None, help="folder/prefix for the images (default: none written)")
    ap.add_argument("--smv", action="store_true", help="also write SMV integer images")
    opts = ap.parse_args()

    exp = nbj.from_cli(opts.args, workdir=tempfile.mkdtemp())  # clean folder: no stray Fdump.bin
    missets = misset_series(exp, axis="x", step=opts.step, count=opts.count)

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
    if opts.out:
        prefix = os.path.join(opts.out, "sweep_") if opts.out.endswith("/") or os.path.isdir(opts.out) else opts.out
        paths = write_sweep(exp, missets + 0.5, prefix, smv=opts.smv, batch=opts.count)
        print(f"wrote {len(paths)} files: {paths[0]} ... {paths[-1]}")


if __name__ == "__main__":
    main()
