"""`build_model` as one compiled program (the CLI's and render_experiment's fast path).

Called eagerly, `setup.build_model` dispatches a few hundred tiny JAX operations (about half a
second on 2 CPU cores).  Jitted, it is one call.  The experiment's host arrays (structure-factor
table, mask, mosaic axes, source lists, the -mat orientation) are lifted out of `exp.static` and
passed as ARGUMENTS, not closed over: closed-over arrays would become constants of the program,
making its persistent-cache key depend on their values (a new compile for every seed, hkl file
or mask) and its hashing slow.  Only shapes and the static decisions remain in the key.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Optional

import jax


def _lift(static):
    """(copy of exp.static without its two big arrays, [hkl table, mask])."""
    out = copy.copy(static)
    big = [None, None]
    if static.hkl is not None:
        big[0] = static.hkl.F
        out.hkl = dataclasses.replace(static.hkl, F=None)
    big[1] = static.mask
    out.mask = None
    return out, big


def model_builder(exp):
    """(pure `(params, big arrays) -> Model`, the experiment's big host arrays).

    Everything the function reads besides its arguments is in `closure_bytes(exp)`."""
    from nanobragg_jax.setup._build import build_model

    skeleton, big = _lift(exp.static)

    def build(params, big):
        table, mask = big
        e = copy.copy(exp)
        e.static = copy.copy(skeleton)
        if table is not None:
            e.static.hkl = dataclasses.replace(skeleton.hkl, F=table)
        e.static.mask = mask
        return build_model(e, params)

    return build, big


def closure_bytes(exp) -> bytes:
    """What `model_builder(exp)`'s function closes over, as bytes: the static set-up without its
    big arrays, and the layout (`build_model` reads nothing else of the experiment)."""
    return pickle.dumps((_lift(exp.static)[0], exp.layout), protocol=4)


def compiled_model(exp, params: Optional[dict] = None):
    """The kernel's Model for params (default: the experiment's own), built by one compiled call.

    Falls back to the eager `build_model` if the set-up code cannot be traced with the lifted
    arrays (it then still returns the same Model)."""
    from nanobragg_jax.setup._build import build_model

    full = dict(exp.params)
    if params is not None:
        full.update(params)
    try:
        build, arrays = model_builder(exp)
        return jax.jit(build)(full, arrays)
    except (jax.errors.JAXTypeError, TypeError):
        # Set-up code that needs a concrete value cannot run traced: build it eagerly (slower,
        # same Model; a genuine error is raised again there).
        return build_model(exp, full)
