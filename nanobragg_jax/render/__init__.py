"""Rendering: the kernel's pytrees and the pure, jittable, differentiable render.

    image = render(model)     # (spixels, fpixels) photons per pixel
    images = render_panels(model)   # (P, spixels, fpixels): Detector leaves with a panel axis

`Model` (Detector, Beam, Crystal, Spindle + the static `Layout`) comes from
`nanobragg_jax.setup.build_model`.  The phi carry (`AbstractPhiCarry`) is the only difference
between the modes: `SpecCarry` rotates every phi step, `CParityCarry` reproduces nanoBragg.c's phi=0
carryover.  `physics` and `structure_factors` hold the grad-safe primitives.  This package works in
SI units and never imports the command line, the set-up or file I/O.
"""

from nanobragg_jax.render import physics as physics
from nanobragg_jax.render import structure_factors as structure_factors
from nanobragg_jax.render._carry import AbstractPhiCarry as AbstractPhiCarry
from nanobragg_jax.render._carry import CParityCarry as CParityCarry
from nanobragg_jax.render._carry import SpecCarry as SpecCarry
from nanobragg_jax.render._carry import carry_for_mode as carry_for_mode
from nanobragg_jax.render._kernel import initial_carry as initial_carry
from nanobragg_jax.render._kernel import lattice_factor as lattice_factor
from nanobragg_jax.render._kernel import render as render
from nanobragg_jax.render._kernel import render_block as render_block
from nanobragg_jax.render._panels import render_panels as render_panels
from nanobragg_jax.render._pixel_geometry import cast_model as cast_model
from nanobragg_jax.render._pixel_geometry import rendered_pixels as rendered_pixels
from nanobragg_jax.render._pixel_geometry import solid_angle as solid_angle
from nanobragg_jax.render._pixel_geometry import subpixel_geometry as subpixel_geometry
from nanobragg_jax.render._pytrees import Beam as Beam
from nanobragg_jax.render._pytrees import Crystal as Crystal
from nanobragg_jax.render._pytrees import Detector as Detector
from nanobragg_jax.render._pytrees import Model as Model
from nanobragg_jax.render._pytrees import Spindle as Spindle
