"""The kernel's inputs: the Detector, Beam, Crystal and Spindle pytrees and the static Layout.

Physical numbers are traced JAX arrays in SI units (metres, radians, photons/m^2), so a new value
never recompiles and `jax.grad` reaches it.  Shapes, counts and switches live in `Layout`
(`nanobragg_jax.layout`, plain Python so the CLI's warm start can plan a render without equinox),
which is hashable and part of the compiled program.  `nanobragg_jax.setup.build_model` makes a
`Model` from an experiment's parameters.
"""

from __future__ import annotations

from typing import Optional

import equinox as eqx
from jaxtyping import Array, Bool, Float, Int

from nanobragg_jax.layout import Layout


class Detector(eqx.Module):
    """A flat (or, with `Layout.curved`, spherical) pixel array and its sensor, in the lab frame.

    Attributes:
        pix0: (3,) m, outer corner of pixel (0, 0) after all rotations (C's pix0_vector).
        fdet, sdet, odet: (3,) unit fast axis, slow axis and normal.
        pixel_size: () m.
        close_distance: () m, sample to detector plane (the solid angle's obliquity term).
        distance: () m, C's final `distance` (used by the curved detector only).
        beam: (3,) unit beam direction (curved detector only).
        thickstep: () m, sensor layer spacing.
        mu: () 1/m, sensor attenuation coefficient.
        mask: (spixels, fpixels) bool, True = render; None = no mask.
    """

    pix0: Float[Array, "3"]
    fdet: Float[Array, "3"]
    sdet: Float[Array, "3"]
    odet: Float[Array, "3"]
    pixel_size: Float[Array, ""]
    close_distance: Float[Array, ""]
    distance: Float[Array, ""]
    beam: Float[Array, "3"]
    thickstep: Float[Array, ""]
    mu: Float[Array, ""]
    mask: Optional[Bool[Array, "spixels fpixels"]] = None


class Beam(eqx.Module):
    """The incident beam: S sources (divergence x dispersion, or a source file).

    Attributes:
        incident: (S, 3) unit vectors along the incident beam, one per source.
        wavelength: (S,) m.
        polar_vector: (3,) unit E-vector.
        kahn: () Kahn polarization factor (0 = unpolarized).
        fluence: () photons/m^2.
    """

    incident: Float[Array, "S 3"]
    wavelength: Float[Array, " S"]
    polar_vector: Float[Array, "3"]
    kahn: Float[Array, ""]
    fluence: Float[Array, ""]


class Crystal(eqx.Module):
    """The crystal at phi = 0: unit cell, size, mosaic domains and structure factors.

    Attributes:
        cell: (3, 3) rows a0, b0, c0 in metres (phi = 0, no mosaic).
        recip: (3, 3) rows a*, b*, c* in 1/Angstrom (unrotated; the gauss and tophat shapes).
        N: (3,) unit cells along a, b, c (continuous, for gradients).
        fudge: () lattice-shape fudge factor.
        umats: (M, 3, 3) mosaic domain rotations, applied as a = U @ a_phi.
        Fhkl: (H+1, K+1, L+1) structure-factor amplitudes in C's layout (with its padding slab).
        hkl_min, hkl_max: (3,) int32 index range of the table.
        default_F: () electrons, F of reflections outside the table.
        I_bg: () the -water term's starting value of I (C quirk A7).
        dmin: () m, resolution cut; 0 = off.
    """

    cell: Float[Array, "3 3"]
    recip: Float[Array, "3 3"]
    N: Float[Array, "3"]
    fudge: Float[Array, ""]
    umats: Float[Array, "M 3 3"]
    Fhkl: Float[Array, "H K L"]
    hkl_min: Int[Array, "3"]
    hkl_max: Int[Array, "3"]
    default_F: Float[Array, ""]
    I_bg: Float[Array, ""]
    dmin: Float[Array, ""]


class Spindle(eqx.Module):
    """The phi steps within one frame: phi_i = phi0 + i * phistep about `axis`.

    Attributes:
        phi0: () rad, angle of the first step.
        phistep: () rad.
        axis: (3,) unit rotation axis (C's spindle_vector).
    """

    phi0: Float[Array, ""]
    phistep: Float[Array, ""]
    axis: Float[Array, "3"]


class Model(eqx.Module):
    """One renderable experiment: the four pytrees and the static layout."""

    detector: Detector
    beam: Beam
    crystal: Crystal
    spindle: Spindle
    layout: Layout = eqx.field(static=True)
