"""Refine cell, misset and distance against a simulated image by gradient-based least squares.

    python examples/refine.py [--perturb 0.01] [--iterations 30]

The "observed" image is simulated at the true parameters; the refinement starts from every one of
the 10 parameters (a, b, c, alpha, beta, gamma, three misset angles, distance) moved by +1% and
minimises sum((model - observed)^2) with Levenberg-Marquardt: the Jacobian of the residual image
w.r.t. the 10 parameters comes from forward-mode autodiff (jax.jacfwd, one pass per parameter), the
gradient J^T r from the same.  Prints one line per iteration and the final relative errors.
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

ARGS = ("-cell 40 45 50 85 95 100 -misset 10 20 30 -default_F 100 -N 5 -lambda 1 -distance 80 "
        "-detpixels 64 -pixel 0.4 -oversample 2")
NAMES = ["cell", "misset", "distance"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--perturb", type=float, default=0.01, help="relative start error (default 1%%)")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--args", default=ARGS, help="nanoBragg flags of the experiment")
    opts = ap.parse_args()

    # a clean folder: C quirk F1 would read an Fdump.bin left in the current one
    exp = nbj.from_cli(opts.args, workdir=tempfile.mkdtemp())
    truth = nbj.params(exp)
    observed = nbj.simulate(exp, truth)
    x_true, unflatten = nbj.flatten(truth, NAMES)
    scale = jnp.maximum(jnp.abs(x_true), 1.0)  # work in units of each parameter's size
    noise_floor = float(jnp.max(observed)) * 1e-3

    def residual(u):  # u: parameters relative to their size
        return ((nbj.simulate(exp, unflatten(u * scale)) - observed) / noise_floor).reshape(-1)

    residual_jit = jax.jit(residual)
    jacobian = jax.jit(jax.jacfwd(residual))

    u = x_true / scale * (1.0 + opts.perturb)
    damping = 1e-3
    r = residual_jit(u)
    cost = float(r @ r)
    t0 = time.perf_counter()
    print(f"{'iter':>4} {'cost':>12} {'damping':>9} {'max cell err %':>15} {'misset err deg':>15} "
          f"{'distance err mm':>16}")

    def report(it, u, cost):
        p = unflatten(u * scale)
        cell_err = float(jnp.max(jnp.abs(p["cell"] / truth["cell"] - 1.0))) * 100
        mis_err = float(jnp.max(jnp.abs(p["misset"] - truth["misset"])))
        dist_err = float(jnp.abs(p["distance"] - truth["distance"]))
        print(f"{it:>4} {cost:>12.5g} {damping:>9.1e} {cell_err:>15.3e} {mis_err:>15.3e} {dist_err:>16.3e}",
              flush=True)
        return cell_err, mis_err, dist_err

    report(0, u, cost)
    for it in range(1, opts.iterations + 1):
        J = np.asarray(jacobian(u))
        g = J.T @ np.asarray(r)
        JTJ = J.T @ J
        while True:  # Levenberg-Marquardt: raise the damping until the step lowers the cost
            step = np.linalg.solve(JTJ + damping * np.diag(np.diag(JTJ)), -g)
            r_new = residual_jit(u + step)
            cost_new = float(r_new @ r_new)
            if cost_new < cost or damping > 1e8:
                break
            damping *= 10.0
        if cost_new < cost:
            u, r, cost = u + step, r_new, cost_new
            damping = max(damping / 10.0, 1e-9)
        errors = report(it, u, cost)
        if cost < 1e-20 or float(np.max(np.abs(step))) < 1e-12:
            break
    cell_err, mis_err, dist_err = errors
    print(f"final after {it} iterations ({time.perf_counter() - t0:.1f} s): cell within {cell_err:.2e} %, "
          f"misset within {mis_err:.2e} deg, distance within {dist_err:.2e} mm "
          f"({'goal met' if cell_err < 0.01 else 'goal (cell within 0.01%) NOT met'})")


if __name__ == "__main__":
    main()
