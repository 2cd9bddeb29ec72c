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

import contextlib
import shlex
import warnings
from typing import Mapping, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from nanobragg_jax.args import parse_args
from nanobragg_jax.errors import InputError
from nanobragg_jax.layout import DTYPES, MODES
from nanobragg_jax.render import render
from nanobragg_jax.setup import Experiment, build_experiment, build_model, full_params

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
             dtype: Optional[str] = None) -> Experiment:
    """An Experiment built exactly as the command line would build it (flags, files, auto-rules,
    seeds), without writing any file.

    Arguments:
        args: nanoBragg flags, one string (split like a shell) or a list of tokens.  `--mode` and
            `--dtype` in args are honoured; the keyword arguments override them.
        workdir: folder the file names in args are read relative to.
        mode: "spec" or "c-parity".  dtype: "float64" or "float32" (the kernel's precision).
    Returns:
        the Experiment (`nanobragg_jax.setup.Experiment`).
    Raises:
        InputError: bad flags, values or files, or an unknown mode or dtype.

    float64 needs JAX's x64 mode (`jax.config.update("jax_enable_x64", True)` before any JAX
    work); without it JAX computes in float32, and this function warns once.
    """
    argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    settings = parse_args(argv)
    for name, value, allowed in (("mode", mode, MODES), ("dtype", dtype, DTYPES)):
        if value is not None:
            if value not in allowed:
                raise InputError(f"{name}={value!r}: choose {' or '.join(allowed)}")
            setattr(settings, name, value)
    if settings.dtype == "float64" and not jax.config.jax_enable_x64:
        _warn_x64_off()
    return build_experiment(settings, workdir=workdir)


def _warn_x64_off() -> None:
    global _X64_WARNED
    if not _X64_WARNED:
        _X64_WARNED = True
        warnings.warn("float64 was asked for but JAX's x64 mode is off, so JAX computes in float32: "
                      "call jax.config.update('jax_enable_x64', True) first (or use dtype='float32')",
                      stacklevel=3)


_X64_WARNED = False


def params(exp: Experiment) -> dict:
    """The experiment's continuous parameters as a dict of JAX arrays (command-line units; the
    names and units of PARAMETERS)."""
    return {k: jnp.asarray(v) for k, v in exp.params.items()}


def simulate(exp, p: Optional[Params] = None, *, chunk_rows: Optional[int] = None,
             checkpoint: bool = True):
    """The float image (slow, fast) for parameters p; differentiable w.r.t. every entry of p.

    `checkpoint` (default on) recomputes each chunk of rows in the backward pass, so reverse-mode
    memory stays flat in the image size; it changes nothing in forward mode.  On 2 CPU cores it
    also compiled and ran jax.grad faster (bench/bench_grad_memory.py).
    """
    if exp.layout.dtype == "float64" and not jax.config.jax_enable_x64:
        _warn_x64_off()
    with _quiet_dtype_warnings(exp):
        return render(build_model(exp, p), chunk_rows=chunk_rows, checkpoint=checkpoint)


@contextlib.contextmanager
def _quiet_dtype_warnings(exp):
    """float64 asked for with x64 off: our one warning (`_warn_x64_off`) stands for the one JAX
    gives for every array the set-up and kernel ask to be float64 (they hold float32 instead)."""
    if exp.layout.dtype != "float64" or jax.config.jax_enable_x64:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Explicitly requested dtype float64", category=UserWarning)
        yield


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
    base = {k: jnp.asarray(v) for k, v in full_params(exp, p).items()}
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
