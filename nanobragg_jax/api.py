"""Python API: experiments from nanoBragg command lines, named parameters, differentiable images.

    exp = from_cli("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -detpixels 64")
    p   = params(exp)          # dict of named float arrays in the command line's units
    img = simulate(exp, p)     # (slow, fast) float image, what -floatfile writes

`simulate` is a pure JAX function of `p`: wrap it in jax.jit, jax.grad, jax.jvp or jax.vmap.
"""

from __future__ import annotations

import shlex
from typing import Callable, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from .kernel import render


def from_cli(args: Union[str, Sequence[str]], workdir: str = ".", *, mode: Optional[str] = None, dtype: Optional[str] = None):
    """Build an Experiment exactly as the command line would (flags, files, auto-rules, seeds)."""
    from .settings import parse_args
    from .setup import build_experiment

    argv = shlex.split(args) if isinstance(args, str) else list(args)
    settings = parse_args(argv)
    if mode is not None:
        settings.mode = mode
    if dtype is not None:
        settings.dtype = dtype
    return build_experiment(settings, workdir=workdir)


def params(exp) -> dict:
    """The experiment's continuous parameters as a dict of JAX arrays (command-line units)."""
    return {k: jnp.asarray(v) for k, v in exp.params.items()}


def model(exp, p: Optional[dict] = None):
    """The kernel's Model for parameters p (defaults: the experiment's own)."""
    from .setup import build_model

    full = dict(exp.params)
    if p is not None:
        full.update(p)
    return build_model(exp, full)


def simulate(exp, p: Optional[dict] = None, *, chunk_rows: Optional[int] = None, checkpoint: bool = False):
    """The float image (slow, fast) for parameters p; differentiable w.r.t. every entry of p."""
    return render(model(exp, p), chunk_rows=chunk_rows, checkpoint=checkpoint)


def jit_simulate(exp, *, chunk_rows: Optional[int] = None, checkpoint: bool = False):
    """A jitted `p -> image` for repeated calls (one compile per experiment layout)."""
    return jax.jit(lambda p: simulate(exp, p, chunk_rows=chunk_rows, checkpoint=checkpoint))


def render_experiment(exp, p: Optional[dict] = None, progress: Optional[Callable[[int, int], None]] = None):
    """What the CLI writes with -floatfile: the float32 image (slow, fast) as a NumPy array."""
    m = model(exp, p)
    blocks = 1 if progress is None else 20
    img = render(m, blocks=blocks, progress=progress)
    return np.asarray(img, dtype=np.float64).astype(np.float32)
