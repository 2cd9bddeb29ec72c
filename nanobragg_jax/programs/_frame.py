"""The CLI's whole frame as one compiled program, loaded from disk on a warm start.

`block(params, big, state, switch, row0) -> (state, switch, float32 rows, solid-angle sum)` builds
the Model inside the program (a few hundred tiny operations fused into one call) and renders a
fixed number of row chunks, so the progress meter calls the same executable once per block; the
block at row 0 starts the carry itself.
Its executable comes from `executable_cache` keyed on the experiment's static set-up, so a run
with a warm cache neither traces nor lowers anything (docs/performance.md).

The program's inputs and outputs are plain arrays (params dict, host tables, the carry's slot),
and the image comes out already in C's float32 storage type.
"""

from __future__ import annotations

import pickle
from typing import Callable, Optional

import numpy as np


def _host_args(exp):
    """(builder, params with every leaf a numpy array of fixed dtype, big host arrays)."""
    from nanobragg_jax.programs._model_builder import model_builder

    build, big = model_builder(exp)
    params = {k: np.asarray(v, dtype=np.result_type(v)) for k, v in exp.params.items()}
    return build, params, [None if b is None else np.asarray(b) for b in big]


def render_frame(exp, *, chunk_rows: Optional[int] = None, blocks: int = 1,
                 progress: Optional[Callable[[int, int], None]] = None,
                 cache_dir: Optional[str] = None):
    """(float32 image (spixels, fpixels) as numpy, C's solid-angle line value omega_sum/steps).

    cache_dir: where executables are kept (None: compile in memory only).  On a cache hit nothing
    traceable is imported (no kernel, no equinox): the program is loaded and run."""
    import jax

    from nanobragg_jax.programs._model_builder import closure_bytes
    from nanobragg_jax.programs._executable_store import compiled_program
    from nanobragg_jax.layout import as_dtype, block_plan

    L = exp.layout
    chunk_rows, per_block, blocks = block_plan(L, chunk_rows, blocks)
    build, params, big = _host_args(exp)
    try:
        closure = closure_bytes(exp) + pickle.dumps((chunk_rows, per_block), protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        closure, cache_dir = b"", None  # a set-up that cannot be described as bytes: no store

    def block(params, big, slot, interp_on, row0):
        import jax.numpy as jnp

        from nanobragg_jax.render._kernel import _cast_model, _render_block, initial_carry

        m = _cast_model(build(params, big))
        # The phi carry's state is nothing (spec) or the cell's three vectors (c-parity): it
        # travels between blocks in a (3, 3) slot.  The block at row 0 starts the carry from the
        # model's own cell (C: ap, bp, cp = a0, b0, c0).
        start, start_on = initial_carry(m)
        leaves, tree = jax.tree_util.tree_flatten(start)
        assert len(leaves) <= 1 and all(x.shape == slot.shape for x in leaves)
        first = row0 == 0
        state = tree.unflatten([jnp.where(first, x, slot) for x in leaves])
        interp_on = jnp.where(first, start_on, interp_on)
        state, interp_on, img, omega = _render_block(m, state, interp_on, row0, chunk_rows, per_block)
        slot = (jax.tree_util.tree_leaves(state) or [slot])[0]
        return slot, interp_on, img.astype(jnp.float32), omega

    slot = np.zeros((3, 3), as_dtype(L))
    interp_on = np.asarray(L.interpolate)
    row0 = np.asarray(0, dtype=np.int64 if jax.config.jax_enable_x64 else np.int32)

    def run(reload: bool):
        block_x = compiled_program(block, (params, big, slot, interp_on, row0), name="frame.block",
                                   closure=closure, directory=cache_dir, reload=reload)
        st, on, pieces, omega, done = slot, interp_on, [], 0.0, 0
        for _ in range(blocks):
            st, on, img, om = block_x(params, big, st, on, row0 + done)
            pieces.append(np.asarray(img))
            omega += float(om)
            done += per_block * chunk_rows
            if progress is not None:
                progress(min(done, L.spixels), L.spixels)
        image = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return image[: L.spixels], omega / L.steps

    try:
        return run(reload=True)
    except jax.errors.JaxRuntimeError:
        if cache_dir is None:
            raise
        # A stored executable that loads but cannot run (e.g. written by a JAX that kept it
        # incomplete): compile afresh and replace it.  Progress lines may repeat.
        return run(reload=False)
