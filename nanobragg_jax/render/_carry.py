"""The phi carry: the only difference between spec and c-parity rendering.

The kernel scans over chunks of pixel rows in nanoBragg's single-threaded loop order and asks the
carry, for every chunk, which crystal vectors each phi step uses:

* `SpecCarry`: step i uses the cell rotated by its own angle phi_i.  Stateless.
* `CParityCarry`: reproduces C-PARITY-001 (the phi=0 carryover).  nanoBragg.c rotates the cell only
  when `phi != 0.0` (an exact test, L2781-2789); at a step with phi exactly 0.0 the vectors left
  by the previous rotation in the same thread are reused.  State = those vectors (ap, bp, cp).

Both return two sets of per-step vectors: for the first evaluation of the chunk that reaches the
phi loop (it starts from the carried state) and for every later one (which starts from the vectors
the previous evaluation's phi loop left behind).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.lax as lax
import jax.numpy as jnp


class AbstractPhiCarry(eqx.Module):
    """Strategy interface: `init` gives the state before the first evaluated pixel of the run;
    `step` gives (new state, vectors for the chunk's first evaluation, vectors for the others)."""

    @abc.abstractmethod
    def init(self, cell):
        ...

    @abc.abstractmethod
    def step(self, state, phis, phi_cells, evaluated_any):
        """phis (P,) angles; phi_cells (P, 3, 3) the cell rotated by each angle; evaluated_any: did
        any sample of this chunk reach the phi loop.  Returns (state, first (P,3,3), other (P,3,3))."""


class SpecCarry(AbstractPhiCarry):
    """Every phi step uses the freshly rotated cell: the physically intended result."""

    def init(self, cell):
        return None

    def step(self, state, phis, phi_cells, evaluated_any):
        return None, phi_cells, phi_cells


class CParityCarry(AbstractPhiCarry):
    """C-PARITY-001: a step with phi == 0.0 reuses the last rotated vectors (single-thread order)."""

    def init(self, cell):
        # ap, bp, cp start equal to a0, b0, c0 (nanoBragg.c L2060-2062).
        return cell

    def step(self, state, phis, phi_cells, evaluated_any):
        steps = phis.shape[0]
        # C quirk C-PARITY-001: `if (phi != 0.0) rotate_axis(...)` - an exact floating-point test.
        rotated = phis != 0.0
        idx = jnp.arange(steps)
        last_rotated = lax.cummax(jnp.where(rotated, idx, -1), axis=0)  # last rotation up to step i
        any_rotated = last_rotated[-1] >= 0
        held = phi_cells[jnp.clip(last_rotated, 0, steps - 1)]  # vectors held at step i
        entry_other = jnp.where(any_rotated, phi_cells[jnp.clip(last_rotated[-1], 0, steps - 1)], state)

        def per_step(entry):
            stale = jnp.where((last_rotated >= 0)[:, None, None], held, entry[None])
            return jnp.where(rotated[:, None, None], phi_cells, stale)

        new_state = jnp.where(evaluated_any, entry_other, state)
        return new_state, per_step(state), per_step(entry_other)


def carry_for_mode(mode: str) -> AbstractPhiCarry:
    """The one place the mode is read: pick the carry plugged into the scan.

    Arguments:
        mode: "spec" (every phi step rotates the cell) or "c-parity" (C-PARITY-001, A10).
    Returns:
        A SpecCarry or CParityCarry instance.
    Raises:
        ValueError: any other mode.
    """
    if mode == "spec":
        return SpecCarry()
    if mode == "c-parity":
        return CParityCarry()
    raise ValueError(f"unknown mode {mode!r} (expected 'spec' or 'c-parity')")
