"""The CLI's whole frame as one compiled program, loaded from disk on a warm start.

`block(params, big, state, switch, row0) -> (state, switch, float32 rows, solid-angle sum)` builds
the Model inside the program (a few hundred tiny operations fused into one call) and renders a
fixed number of row chunks (`render.render_block`), so the progress meter calls the same
executable once per block; the block at row 0 starts the carry itself.
Its executable comes from `_executable_store` keyed on the experiment's static set-up, so a run
with a warm cache neither traces nor lowers anything (docs/performance.md).

The program's inputs and outputs are plain arrays (params dict, host tables, the carry's slot),
and the image comes out already in C's float32 storage type.
"""

from __future__ import annotations

import pickle
from typing import Callable, Optional

import numpy as np

from nanobragg_jax.layout import as_dtype, block_plan, run_blocks
from nanobragg_jax.programs._executable_store import compiled_program
from nanobragg_jax.programs._model_builder import closure_bytes, model_builder


def _host_args(exp):
    """(builder, params with every leaf a numpy array of fixed dtype, big host arrays)."""
    build, big = model_builder(exp)
    params = {k: np.asarray(v, dtype=np.result_type(v)) for k, v in exp.params.items()}
    return build, params, [None if b is None else np.asarray(b) for b in big]


def render_frame(exp, *, chunk_rows: Optional[int] = None, blocks: int = 1,
                 progress: Optional[Callable[[int, int], None]] = None,
                 cache_dir: Optional[str] = None) -> tuple[np.ndarray, float]:
    """The frame the CLI writes: what -floatfile holds and C's solid-angle line.

    Arguments:
        exp: a `nanobragg_jax.setup.Experiment`.
        chunk_rows: pixel rows per kernel chunk (None: automatic).
        blocks: calls of the program (progress is reported after each).
        progress: called as progress(rows done, rows).
        cache_dir: where executables are kept (None: compile in memory only).  On a cache hit
            nothing traceable is imported (no kernel, no equinox): the program is loaded and run.
    Returns:
        (float32 image (spixels, fpixels) as numpy, C's omega_sum / steps in steradian).
    """
    import jax

    L = exp.layout
    plan = block_plan(L, chunk_rows, blocks)
    build, params, big = _host_args(exp)
    try:
        closure = closure_bytes(exp) + pickle.dumps((plan.chunk_rows, plan.chunks_per_block), protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        closure, cache_dir = b"", None  # a set-up that cannot be described as bytes: no store

    def block(params, big, slot, interp_on, row0):
        import jax.numpy as jnp

        from nanobragg_jax.render import cast_model, initial_carry, render_block

        m = cast_model(build(params, big))
        # The phi carry's state is nothing (spec) or the cell's three vectors (c-parity): it
        # travels between blocks in a (3, 3) slot.  The block at row 0 starts the carry from the
        # model's own cell (C: ap, bp, cp = a0, b0, c0).
        start, start_on = initial_carry(m)
        leaves, tree = jax.tree_util.tree_flatten(start)
        assert len(leaves) <= 1 and all(x.shape == slot.shape for x in leaves)
        first = row0 == 0
        state = tree.unflatten([jnp.where(first, x, slot) for x in leaves])
        interp_on = jnp.where(first, start_on, interp_on)
        state, interp_on, img, omega = render_block(m, state, interp_on, row0, plan.chunk_rows,
                                                    plan.chunks_per_block)
        slot = (jax.tree_util.tree_leaves(state) or [slot])[0]
        return slot, interp_on, img.astype(jnp.float32), omega

    slot = np.zeros((3, 3), as_dtype(L))
    interp_on = np.asarray(L.interpolate)
    int_type = np.int64 if jax.config.jax_enable_x64 else np.int32

    def run(reload: bool):
        block_x = compiled_program(block, (params, big, slot, interp_on, int_type(0)),
                                   name="frame.block", closure=closure, directory=cache_dir,
                                   reload=reload)

        def step(carry, row0):
            st, on = carry
            st, on, img, omega = block_x(params, big, st, on, int_type(row0))
            return (st, on), (np.asarray(img), float(omega))

        _, outs = run_blocks(step, (slot, interp_on), plan, progress, spixels=L.spixels)
        pieces = [img for img, _ in outs]
        image = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return image[: L.spixels], sum(omega for _, omega in outs) / L.steps

    try:
        return run(reload=True)
    except jax.errors.JaxRuntimeError as exc:
        if cache_dir is None or "RESOURCE_EXHAUSTED" in str(exc):
            raise
        # A stored executable that loads but cannot run (e.g. written by a JAX that kept it
        # incomplete): compile afresh and replace it.  Progress lines may repeat.
        return run(reload=False)
