"""The CLI's whole frame as one compiled program, loaded from disk on a warm start.

`block(params, big, state, switch, row0) -> (state, switch, float32 rows, solid-angle sum)` builds
the Model inside the program (a few hundred tiny operations fused into one call) and renders a
fixed number of row chunks (`render.render_block`), so the progress meter calls the same
executable once per block; the block at row 0 starts the carry itself.
Its executable comes from `_executable_store` keyed on the experiment's static set-up, so a run
with a warm cache neither traces nor lowers anything (docs/performance.md).

The program's inputs and outputs are plain arrays (params dict, host tables, the carry's slot),
and the image comes out already in C's float32 storage type.

`FrameProgram` keeps the compiled program for many frames: every experiment with the same static
set-up (same `closure_bytes`) renders through it with its own parameters, tables and orientation,
without a new trace or compile.  With several local devices it also compiles the same block,
`jax.shard_map`-ped over a leading frame axis, so one call renders one frame per device; each
device runs the single-frame body, so each frame equals the one-device render bit for bit.
"""

from __future__ import annotations

import pickle
from typing import Callable, Optional, Sequence

import numpy as np

from nanobragg_jax.layout import as_dtype, block_plan, run_blocks
from nanobragg_jax.programs._executable_store import compiled_program
from nanobragg_jax.programs._model_builder import closure_bytes, model_builder

# Parameters that are one table for the whole experiment: the batched program takes them once
# (replicated on every device), not stacked per frame.
_SHARED_PARAMS = ("Fhkl",)


def _host_args(exp):
    """(builder, params with every leaf a numpy array of fixed dtype, big host arrays)."""
    build, big = model_builder(exp)
    params = {k: np.asarray(v, dtype=np.result_type(v)) for k, v in exp.params.items()}
    return build, params, [None if b is None else np.asarray(b) for b in big]


def program_key(exp, chunk_rows: Optional[int] = None, blocks: int = 1) -> Optional[bytes]:
    """Bytes that name the frame program of `exp` (its static set-up and block plan), or None
    when the set-up cannot be described as bytes.  Experiments with equal keys share a program.

    Arguments:
        exp: the experiment (`setup.build_experiment`).
        chunk_rows: pixel rows per kernel chunk (None: automatic, `layout.default_chunk_rows`).
        blocks: calls per frame.
    Returns:
        bytes: `closure_bytes(exp)` (static set-up without its big arrays, layout) followed by the
        pickled (chunk_rows, chunks_per_block) of the block plan; None when pickling fails.
    """
    plan = block_plan(exp.layout, chunk_rows, blocks)
    try:
        return closure_bytes(exp) + pickle.dumps((plan.chunk_rows, plan.chunks_per_block), protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


class Pending:
    """Frames dispatched to the devices (`FrameProgram.submit`), not yet copied to the host;
    `again()` dispatches them anew (after a stored executable failed to run)."""

    def __init__(self, outputs, count: int, stacked: bool, again: Callable[[], object]):
        self.outputs, self.count, self.stacked, self.again = outputs, count, stacked, again


class FrameProgram:
    """The frame program of one static set-up, compiled (or loaded from the store) once.

    Arguments:
        exp: an experiment with the static set-up the program is for.
        chunk_rows: pixel rows per kernel chunk (None: automatic).
        blocks: calls per frame (`run` reports progress after each; `submit` needs 1).
        cache_dir: where executables are kept (None: compile in memory only).
        devices: local devices a `submit` spreads its frames over (None: all of them).
    """

    def __init__(self, exp, *, chunk_rows: Optional[int] = None, blocks: int = 1,
                 cache_dir: Optional[str] = None, devices: Optional[Sequence] = None):
        import jax

        L = exp.layout
        self.layout = L
        self.plan = plan = block_plan(L, chunk_rows, blocks)
        self.key = program_key(exp, chunk_rows, blocks)
        self.cache_dir = cache_dir if self.key is not None else None  # no key: no store
        self.devices = list(jax.devices() if devices is None else devices)
        build, _ = model_builder(exp)
        self._slot = np.zeros((3, 3), as_dtype(L))
        self._int = np.int64 if jax.config.jax_enable_x64 else np.int32
        self._single = self._batch = None

        def block(params, big, slot, interp_on, row0):
            import jax.numpy as jnp

            from nanobragg_jax.render import cast_model, initial_carry, render_block

            m = cast_model(build(params, big))
            # The phi carry's state is nothing (spec) or the cell's three vectors (c-parity): it
            # travels between blocks in a (3, 3) slot.  The block at row 0 starts the carry from
            # the model's own cell (C: ap, bp, cp = a0, b0, c0).
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

        self._block = block

    @property
    def max_frames(self) -> int:
        """Frames one `submit` renders at most: one per device."""
        return len(self.devices)

    # --- one frame, any number of blocks (the CLI) ---------------------------------------------
    def _single_program(self, params, big, reload: bool = True):
        if self._single is None or not reload:
            self._single = compiled_program(
                self._block, (params, big, self._slot, np.asarray(self.layout.interpolate), self._int(0)),
                name="frame.block", closure=self.key or b"", directory=self.cache_dir, reload=reload)
        return self._single

    def run(self, exp, progress: Optional[Callable[[int, int], None]] = None) -> tuple[np.ndarray, float]:
        """(float32 image (spixels, fpixels), C's omega_sum / steps in sr) of `exp`, which must have
        this program's static set-up; progress(rows done, rows) after each block."""
        import jax

        L = self.layout
        _, params, big = _host_args(exp)

        def render(reload: bool):
            block_x = self._single_program(params, big, reload)

            def step(carry, row0):
                st, on = carry
                st, on, img, omega = block_x(params, big, st, on, self._int(row0))
                return (st, on), (np.asarray(img), float(omega))

            _, outs = run_blocks(step, (self._slot, np.asarray(L.interpolate)), self.plan, progress,
                                 spixels=L.spixels)
            pieces = [img for img, _ in outs]
            image = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            return image[: L.spixels], sum(omega for _, omega in outs) / L.steps

        try:
            return render(reload=True)
        except jax.errors.JaxRuntimeError as exc:
            if self.cache_dir is None or _out_of_memory(exc):
                raise
            # A stored executable that loads but cannot run (e.g. written by a JAX that kept it
            # incomplete): compile afresh and replace it.  Progress lines may repeat.
            return render(reload=False)

    # --- one frame per device, dispatched without waiting (series) -----------------------------
    def _batch_program(self, shared, stacked, big, slots, ons, reload: bool = True):
        if self._batch is None or not reload:
            import jax
            from jax.sharding import Mesh
            from jax.sharding import PartitionSpec as P

            mesh = Mesh(np.array(self.devices), ("frames",))
            block = self._block

            def one(shared, stacked, big, slot, on):
                # Each device renders its own frame with the single-frame body.
                params = {**{k: v[0] for k, v in stacked.items()}, **shared}
                out = block(params, big, slot[0], on[0], 0)
                return jax.tree_util.tree_map(lambda x: x[None], out)

            def batch(shared, stacked, big, slots, ons):
                specs = (P(), P("frames"), P(), P("frames"), P("frames"))  # shared, stacked, big, slots, ons
                return jax.shard_map(one, mesh=mesh, in_specs=specs, out_specs=P("frames"))(
                    shared, stacked, big, slots, ons)

            closure = (self.key or b"") + pickle.dumps(("batch", len(self.devices)), protocol=4)
            self._batch = compiled_program(batch, (shared, stacked, big, slots, ons), name="frame.batch",
                                           closure=closure, directory=self.cache_dir, reload=reload)
        return self._batch

    def submit(self, exps: Sequence) -> Pending:
        """Start rendering `exps` (at most one per device, all with this program's static set-up)
        and return at once; `collect` waits for the images.  Needs blocks == 1."""
        if self.plan.blocks != 1:
            raise ValueError("FrameProgram.submit renders whole frames: make the program with blocks=1")
        n = len(exps)
        if not 1 <= n <= len(self.devices):
            raise ValueError(f"submit takes 1 to {len(self.devices)} experiments, got {n}")
        args = [_host_args(e) for e in exps]
        big = args[0][2]
        if len(self.devices) == 1:
            params = args[0][1]
            call = (params, big, self._slot, np.asarray(self.layout.interpolate), self._int(0))

            def again():
                return self._single_program(params, big, reload=False)(*call)

            return Pending(self._dispatch(lambda: self._single_program(params, big)(*call), again), 1,
                           stacked=False, again=again)
        args += [args[-1]] * (len(self.devices) - n)  # pad: the program always takes one per device
        first = args[0][1]
        for _, params, big_i in args[1:]:
            for k in _SHARED_PARAMS:
                if k in first and not (params[k] is first[k] or np.array_equal(params[k], first[k])):
                    raise ValueError(f"frames of one batch must share the table {k!r}")
            if any(a is not b and not np.array_equal(a, b) for a, b in zip(big, big_i)):
                raise ValueError("frames of one batch must share the structure factors and the mask")
        shared = {k: first[k] for k in _SHARED_PARAMS if k in first}
        stacked = {k: np.stack([a[1][k] for a in args]) for k in first if k not in shared}
        slots = np.stack([self._slot] * len(args))
        ons = np.asarray([self.layout.interpolate] * len(args))
        call = (shared, stacked, big, slots, ons)

        def again_batch():
            return self._batch_program(*call, reload=False)(*call)

        return Pending(self._dispatch(lambda: self._batch_program(*call)(*call), again_batch), n,
                       stacked=True, again=again_batch)

    def _dispatch(self, first: Callable[[], object], again: Callable[[], object]):
        """first(); if a stored executable fails to run, again() (compiled afresh)."""
        import jax

        try:
            return first()
        except jax.errors.JaxRuntimeError as exc:
            if self.cache_dir is None or _out_of_memory(exc):
                raise
            return again()

    def collect(self, pending: Pending) -> list[tuple[np.ndarray, float]]:
        """[(float32 image, omega)] of the frames `submit` started, in order (waits for them)."""
        import jax

        L = self.layout
        try:
            _, _, img, omega = pending.outputs
            img, omega = np.asarray(img), np.asarray(omega)
        except jax.errors.JaxRuntimeError as exc:
            if self.cache_dir is None or _out_of_memory(exc):
                raise
            # A stored executable that failed while running: compile afresh, replace it, rerun.
            _, _, img, omega = pending.again()
            img, omega = np.asarray(img), np.asarray(omega)
        if not pending.stacked:
            img, omega = img[None], omega[None]
        return [(img[i][: L.spixels], float(omega[i]) / L.steps) for i in range(pending.count)]


def _out_of_memory(exc) -> bool:
    """XLA's RESOURCE_EXHAUSTED: recompiling would not help (the CLI turns it into one line)."""
    return "RESOURCE_EXHAUSTED" in str(exc)


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
    return FrameProgram(exp, chunk_rows=chunk_rows, blocks=blocks, cache_dir=cache_dir).run(exp, progress)
