"""Python API: experiments from nanoBragg command lines, named parameters, differentiable images.

    exp = from_cli("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -detpixels 64")
    p   = params(exp)          # dict of named float arrays in the command line's units
    img = simulate(exp, p)     # (slow, fast) float image, what -floatfile writes

`simulate` is a pure JAX function of `p`: wrap it in jax.jit, jax.grad, jax.jvp or jax.vmap.  `p`
may hold only some of the names; the others keep the experiment's values.  Static choices (image
size, oversample, phi steps, mosaic domains, sources, mode, dtype) are fixed by `from_cli`; a new
parameter value never recompiles.  docs/api.md lists every name, its unit and when it matters.
"""

from __future__ import annotations

import shlex
from typing import Callable, Mapping, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from nanobragg_jax.render._kernel import render

# name -> (unit, meaning); the keys `Experiment.params` holds (Fhkl only when a table is loaded).
PARAMETERS = {
    "cell": ("A, A, A, deg, deg, deg", "unit cell a, b, c, alpha, beta, gamma"),
    "misset": ("deg", "crystal misset rotations about x, then y, then z"),
    "distance": ("mm", "sample to detector distance along the beam"),
    "close_distance": ("mm", "sample to detector plane (used only when -close_distance was given)"),
    "beam_center": ("mm", "Xbeam, Ybeam (beam pivot; convention units)"),
    "close_center": ("mm", "Xclose, Yclose (sample pivot)"),
    "lambda": ("A", "central wavelength"),
    "N": ("cells", "Na, Nb, Nc, continuous"),
    "fluence": ("photons/m^2", "incident fluence"),
    "detector_rot": ("deg", "detector rotations about x, y, z"),
    "twotheta": ("deg", "detector swing about the two-theta axis"),
    "phi0": ("deg", "spindle angle of the first phi step"),
    "phistep": ("deg", "spindle increment per phi step"),
    "mosaic_spread": ("deg", "mosaic spread (needs -mosaic_domains > 1 and a non-zero spread)"),
    "divergence": ("mrad", "horizontal, vertical divergence ranges (needs divergence steps)"),
    "dispersion": ("fraction", "spectral dispersion range (needs -dispsteps > 1)"),
    "default_F": ("electrons", "structure factor of reflections missing from the table"),
    "Fhkl": ("electrons", "structure-factor table (C layout), present when -hkl or a dump is read"),
}

Params = Mapping[str, jax.Array]


def from_cli(args: Union[str, Sequence[str]], workdir: str = ".", *, mode: Optional[str] = None,
             dtype: Optional[str] = None):
    """Build an Experiment exactly as the command line would (flags, files, auto-rules, seeds).

    `args` is one string (split like a shell) or a list.  `--mode`/`--dtype` in args are honoured;
    the keyword arguments override them.  Files named in args are read relative to `workdir`.
    """
    from nanobragg_jax.args._settings import parse_args
    from nanobragg_jax.setup._build import build_experiment

    argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    settings = parse_args(argv)
    if mode is not None:
        settings.mode = mode
    if dtype is not None:
        settings.dtype = dtype
    return build_experiment(settings, workdir=workdir)


def params(exp) -> dict:
    """The experiment's continuous parameters as a dict of JAX arrays (command-line units)."""
    return {k: jnp.asarray(v) for k, v in exp.params.items()}


def _full(exp, p: Optional[Params]) -> dict:
    """p completed with the experiment's own values for the names it lacks."""
    unknown = set(p or ()) - set(exp.params)
    if unknown:
        raise KeyError(f"unknown parameter(s) {sorted(unknown)}; this experiment has {sorted(exp.params)}")
    full = dict(exp.params)
    if p is not None:
        full.update(p)
    return full


def model(exp, p: Optional[Params] = None):
    """The kernel's Model for parameters p (defaults: the experiment's own)."""
    from nanobragg_jax.setup._build import build_model

    return build_model(exp, _full(exp, p))


def simulate(exp, p: Optional[Params] = None, *, chunk_rows: Optional[int] = None,
             checkpoint: bool = True):
    """The float image (slow, fast) for parameters p; differentiable w.r.t. every entry of p.

    `checkpoint` (default on) recomputes each chunk of rows in the backward pass, so reverse-mode
    memory stays flat in the image size; it changes nothing in forward mode.  On 2 CPU cores it
    also compiled and ran jax.grad faster (bench/bench_grad_memory.py).
    """
    return render(model(exp, p), chunk_rows=chunk_rows, checkpoint=checkpoint)


def jit_simulate(exp, *, chunk_rows: Optional[int] = None, checkpoint: bool = True):
    """A jitted `p -> image` for repeated calls (compiled once per experiment layout)."""
    return jax.jit(lambda p: simulate(exp, p, chunk_rows=chunk_rows, checkpoint=checkpoint))


def simulate_batch(exp, batch: Params, p: Optional[Params] = None, *, chunk_rows: Optional[int] = None,
                   checkpoint: bool = True):
    """Images (K, slow, fast) for K values of the names in `batch` (leading axis K), one vmapped
    call; names not in `batch` come from p or the experiment.  E.g. batch={"misset": (K, 3)}."""
    if p is not None and set(batch) & set(p):
        raise ValueError(f"names both batched and fixed: {sorted(set(batch) & set(p))}")
    fixed = dict(p or {})
    sizes = {int(jnp.shape(v)[0]) for v in batch.values()}
    if len(sizes) != 1:
        raise ValueError(f"batched parameters need one leading size, got {sorted(sizes)}")

    def one(b):
        return simulate(exp, {**fixed, **b}, chunk_rows=chunk_rows, checkpoint=checkpoint)

    return jax.vmap(one)({k: jnp.asarray(v) for k, v in batch.items()})


def jit_simulate_batch(exp, *, chunk_rows: Optional[int] = None, checkpoint: bool = True):
    """A jitted `(batch, p) -> images (K, slow, fast)`; one compile per layout and batch shape."""
    return jax.jit(lambda batch, p=None: simulate_batch(exp, batch, p, chunk_rows=chunk_rows,
                                                         checkpoint=checkpoint))


def derivative_image(exp, p: Optional[Params], tangent: Params, *, chunk_rows: Optional[int] = None
                     ) -> Tuple[jax.Array, jax.Array]:
    """(image, d image) along `tangent` (forward mode, one pass): the per-pixel derivative of the
    image in the direction of the given parameter changes, e.g. tangent={"distance": 1.0} gives
    d image / d distance per mm.  Names missing from `tangent` do not move."""
    base = {k: jnp.asarray(v) for k, v in _full(exp, p).items()}
    names = list(tangent)
    primals = {k: base[k] for k in names}
    tangents = {k: jnp.broadcast_to(jnp.asarray(tangent[k], base[k].dtype), jnp.shape(base[k]))
                for k in names}

    def f(moving):
        return simulate(exp, {**base, **moving}, chunk_rows=chunk_rows)

    return jax.jvp(f, (primals,), (tangents,))


def flatten(p: Params, names: Sequence[str]):
    """The entries `names` of p as one flat float64 vector, and a function mapping such a vector
    back to a dict (for optimisers and jax.hessian over a chosen subset)."""
    shapes = [jnp.shape(p[k]) for k in names]
    sizes = [int(np.prod(s)) for s in shapes]
    vec = jnp.concatenate([jnp.ravel(jnp.asarray(p[k])) for k in names])

    def unflatten(v):
        out, i = {}, 0
        for k, shape, n in zip(names, shapes, sizes):
            out[k] = jnp.reshape(v[i:i + n], shape)
            i += n
        return out

    return vec, unflatten


def render_experiment(exp, p: Optional[Params] = None,
                      progress: Optional[Callable[[int, int], None]] = None,
                      chunk_rows: Optional[int] = None):
    """What the CLI writes with -floatfile: the float32 image (slow, fast) as a NumPy array."""
    from nanobragg_jax.programs._model_builder import compiled_model

    m = compiled_model(exp, _full(exp, p))
    blocks = 1 if progress is None else 20
    img = render(m, chunk_rows=chunk_rows, blocks=blocks, progress=progress)
    return np.asarray(img, dtype=np.float64).astype(np.float32)
