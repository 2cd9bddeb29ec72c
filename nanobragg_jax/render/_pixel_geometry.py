"""Detector samples for the kernel (and the pixel trace): where each (layer, sub-pixel)
sample of a chunk's pixels sits (C A1, G10), its solid angle (A2) and its sensor capture fraction
(A4).  Pixels are the minor axis of every array (they vectorise there)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from nanobragg_jax.layout import as_dtype
from nanobragg_jax.render import physics as ph
from nanobragg_jax.render._pytrees import Model


def cast_model(model: Model) -> Model:
    """Floating leaves in the precision each part is computed in.

    The crystal and sweep take the layout's dtype (the per-sample loop runs in it).  The detector
    and beam keep the widest float available: the per-pixel geometry (sample positions, the
    diffracted direction and above all the scattering vector (d - i) / lambda, which cancels at
    low angles) is cheap next to the per-sample work, and computing it in float64 is what keeps
    float32 runs accurate at large N and high resolution.  Results are cast to the layout's dtype
    where they enter the sample loop.
    """
    dt = as_dtype(model.layout)
    wide = jnp.promote_types(dt, jnp.asarray(0.0).dtype)  # float64 when x64 is enabled

    def caster(to):
        def cast(x):
            if isinstance(x, (jax.Array, np.ndarray)) and jnp.issubdtype(x.dtype, jnp.floating):
                return jnp.asarray(x, to)
            return x

        return cast

    return type(model)(
        jax.tree_util.tree_map(caster(wide), model.detector),
        jax.tree_util.tree_map(caster(wide), model.beam),
        jax.tree_util.tree_map(caster(dt), model.crystal),
        jax.tree_util.tree_map(caster(dt), model.spindle),
        model.layout,
    )


def subpixel_geometry(model: Model, spix, fpix):
    """Positions of every (layer, sub-pixel) sample of the chunk's pixels (C A1, G10).

    Pixels are the minor axis: returns the diffracted unit vector as three (Q, P) components,
    the airpath (Q, P) and the layer index per sample (Q,).
    """
    L, det = model.layout, model.detector
    os_ = L.oversample
    sub = det.pixel_size / os_
    k = jnp.arange(os_, dtype=sub.dtype)
    Fdet = sub * (fpix[None, :] * os_ + k[:, None]) + sub / 2.0  # (os, P)
    Sdet = sub * (spix[None, :] * os_ + k[:, None]) + sub / 2.0
    Odet = jnp.arange(L.thicksteps, dtype=sub.dtype) * det.thickstep  # (T,)
    P = fpix.shape[0]
    pos = [
        (
            Fdet[None, None, :, :] * det.fdet[i]
            + Sdet[None, :, None, :] * det.sdet[i]
            + Odet[:, None, None, None] * det.odet[i]
            + det.pix0[i]
        ).reshape(-1, P)
        for i in range(3)
    ]  # (T * os_s * os_f, P) each
    if L.curved:
        # C quirk G10: the flat position's lab y and z components become rotation angles about
        # the (rotated) slow and fast axes, starting from distance * beam.
        stacked = jnp.stack(pos, axis=-1)
        start = det.distance * det.beam
        step1 = ph.rotate_axis(jnp.broadcast_to(start, stacked.shape), det.sdet, stacked[..., 1] / det.distance)
        stacked = ph.rotate_axis(step1, det.fdet, stacked[..., 2] / det.distance)
        pos = [stacked[..., i] for i in range(3)]
    airpath = ph.safe_norm3(*pos)
    diffracted = [x / airpath for x in pos]
    layer = jnp.repeat(jnp.arange(L.thicksteps), os_ * os_)
    return diffracted, airpath, layer


def solid_angle(model: Model, airpath):
    det = model.detector
    if model.layout.point_pixel:
        return 1.0 / airpath / airpath
    return det.pixel_size * det.pixel_size / airpath / airpath * det.close_distance / airpath


def capture_fraction(model: Model, diffracted, layer):
    """The fraction of photons each (layer, sub-pixel) sample's layer absorbs (C A4), (Q, P).

    C starts each layer at 1 when the sensor has no thickness and never recomputes it then, unless
    -oversample_thick: that recomputes it at every sub-pixel from the formula, which with thickness
    0 is exp(0) - exp(0) = 0 (C quirk A12: the whole image is 0; setup warns).  The formula with a
    thickness but mu = 0 (`-detector_abs 0|inf` before `-detector_thick`) is 0 as well.

    Arguments:
        model: the cast Model.  diffracted: three (Q, P) unit-vector components (Q = layers x
            sub-pixels).  layer: (Q,) layer index of each sample.
    Returns:
        (Q, P) capture fractions, in the geometry's dtype.
    """
    det, L = model.detector, model.layout
    if not L.has_thickness and not L.oversample_thick:
        return jnp.ones(diffracted[0].shape, diffracted[0].dtype)
    parallax = diffracted[0] * det.odet[0] + diffracted[1] * det.odet[1] + diffracted[2] * det.odet[2]
    t = layer.astype(parallax.dtype)[:, None]
    return jnp.exp(-t * det.thickstep * det.mu / parallax) - jnp.exp(-(t + 1.0) * det.thickstep * det.mu / parallax)


def pixel_capture(model: Model, capture):
    """The capture fraction a pixel is multiplied by without -oversample_thick (C quirk A4), (P,).

    C resets it to 0 at each layer and recomputes it at every sub-pixel while it is 0, so the value
    left after the loop is the LAST layer's, at its first sub-pixel where it is not 0 (0 if none).

    Arguments:
        model: the cast Model.  capture: (Q, P) from `capture_fraction`.
    Returns:
        (P,) the factor per pixel.
    """
    L = model.layout
    last = capture[(L.thicksteps - 1) * L.oversample**2:]  # (os^2, P)
    if last.shape[0] == 1:
        return last[0]
    nonzero = last != 0.0  # NaN counts as computed, as in C (NaN == 0.0 is false)
    first = jnp.argmax(nonzero, axis=0)
    return jnp.where(nonzero.any(axis=0), jnp.take_along_axis(last, first[None, :], 0)[0], 0.0)


def rendered_pixels(model: Model, spix, fpix):
    """Which pixels nanoBragg renders: inside the inclusive ROI, on the detector, not masked (O2)."""
    L = model.layout
    xmin, xmax, ymin, ymax = L.roi
    active = (spix < L.spixels) & (fpix >= xmin) & (fpix <= xmax) & (spix >= ymin) & (spix <= ymax)
    if L.has_mask:
        flat_mask = model.detector.mask.reshape(-1)
        active = active & jnp.take(flat_mask, jnp.clip(spix, 0, L.spixels - 1) * L.fpixels + fpix)
    return active
