"""`build_model` made fit for one compiled program: the experiment's big host arrays become
arguments.

Called eagerly, `setup.build_model` dispatches a few hundred tiny JAX operations (about half a
second on 2 CPU cores); inside the frame program it is fused into one call.  The structure-factor
table, the mask and the -mat orientation are lifted out of `exp.static` and passed as ARGUMENTS,
not closed over: closed-over arrays would become constants of the program, making its cache key
depend on their values (a new compile for every hkl file, mask or A matrix) and its hashing slow.
Only shapes and the static decisions remain in the key (`closure_bytes`).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle


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


def _lift_orientation(static):
    """`_lift`, and the -mat orientation U as a third argument: (skeleton, [table, mask, U])."""
    out, big = _lift(static)
    out.U = None
    return out, big + [static.U]


def model_builder(exp):
    """(pure `(params, big arrays) -> Model`, the experiment's big host arrays).

    Everything the function reads besides its arguments is in `closure_bytes(exp)`."""
    from nanobragg_jax.setup import build_model

    skeleton, big = _lift_orientation(exp.static)

    def build(params, big):
        table, mask, U = big
        e = copy.copy(exp)
        e.static = copy.copy(skeleton)
        if table is not None:
            e.static.hkl = dataclasses.replace(skeleton.hkl, F=table)
        e.static.mask = mask
        e.static.U = U
        return build_model(e, params)

    return build, big


def closure_bytes(exp) -> bytes:
    """What `model_builder(exp)`'s function closes over, as bytes: the static set-up without its
    big arrays, and the layout (`build_model` reads nothing else of the experiment)."""
    return pickle.dumps((_lift_orientation(exp.static)[0], exp.layout), protocol=4)
