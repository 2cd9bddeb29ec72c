"""The kernel's inputs: Detector, Beam, Crystal and Sweep pytrees plus the static Layout
(`layout.py`, kept apart so the CLI's warm start can plan a render without importing equinox).

Physical numbers are traced JAX arrays in SI units (metres, radians, photons/m^2), so a new value
never recompiles and `jax.grad` reaches it.  Shapes, counts and switches live in `Layout`, which is
hashable and part of the compiled program.
"""

from __future__ import annotations

from typing import Optional

import equinox as eqx
import jax

from nanobragg_jax.layout import Layout


class Detector(eqx.Module):
    pix0: jax.Array  # (3,) m, outer corner of pixel (0, 0), after all rotations
    fdet: jax.Array  # (3,) unit, fast axis
    sdet: jax.Array  # (3,) unit, slow axis
    odet: jax.Array  # (3,) unit, normal
    pixel_size: jax.Array  # () m
    close_distance: jax.Array  # () m, used by the solid angle
    distance: jax.Array  # () m, final C `distance` (curved detector only)
    beam: jax.Array  # (3,) unit beam vector (curved detector only)
    thickstep: jax.Array  # () m, sensor layer spacing
    mu: jax.Array  # () 1/m, sensor attenuation
    mask: Optional[jax.Array] = None  # (spixels, fpixels) bool, True = render; None = no mask


class Beam(eqx.Module):
    incident: jax.Array  # (S, 3) unit vectors along the incident beam, one per source
    wavelength: jax.Array  # (S,) m
    polar_vector: jax.Array  # (3,) unit E-vector
    kahn: jax.Array  # () Kahn polarization factor
    fluence: jax.Array  # () photons/m^2


class Crystal(eqx.Module):
    cell: jax.Array  # (3, 3) rows a0, b0, c0 in metres (phi = 0, no mosaic)
    recip: jax.Array  # (3, 3) rows a*, b*, c* in 1/Angstrom (unrotated; gauss/tophat shapes)
    N: jax.Array  # (3,) Na, Nb, Nc
    fudge: jax.Array  # ()
    umats: jax.Array  # (M, 3, 3) mosaic domain rotations, applied as a = U @ ap
    Fhkl: jax.Array  # (H+1, K+1, L+1) structure-factor amplitudes, C layout incl. padding slab
    hkl_min: jax.Array  # (3,) int32 h_min, k_min, l_min
    hkl_max: jax.Array  # (3,) int32 h_max, k_max, l_max
    default_F: jax.Array  # ()
    I_bg: jax.Array  # () water background starting value of I (C quirk A7)
    dmin: jax.Array  # () m; 0 = off


class Sweep(eqx.Module):
    phi0: jax.Array  # () rad
    phistep: jax.Array  # () rad
    spindle: jax.Array  # (3,) unit rotation axis


class Model(eqx.Module):
    """One renderable experiment: the four pytrees and the static layout."""

    detector: Detector
    beam: Beam
    crystal: Crystal
    sweep: Sweep
    layout: Layout = eqx.field(static=True)
