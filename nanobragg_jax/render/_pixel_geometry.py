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

    Arguments:
        model: the Model pytree (`setup.build_model`); its layout fixes the dtype.
    Returns:
        A Model of the same type and shapes: floating array leaves of the detector and beam in
        the widest float (float64 under x64, else the layout's dtype), of the crystal and spindle
        in the layout's dtype; other leaves and the layout unchanged.  Units are unchanged.
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


def subpixel_geometry(model: Model, spix, fpix, q=None):
    """Positions of (layer, sub-pixel) samples of the chunk's pixels (C A1, G10).

    Arguments:
        spix, fpix: (P,) pixel coordinates (slow, fast), floating.
        q: detector positions q = layer * oversample^2 + subS * oversample + subF (C's loop order):
            (B,) ints, the same B positions of every pixel, or (B, P) ints, per pixel; None: all
            thicksteps * oversample^2 positions.
    Returns:
        The diffracted unit vector as three (B, P) components, the airpath (B, P) in metres and
        the layer index of each position (q's shape).  Pixels are the minor axis.
    """
    L, det = model.layout, model.detector
    os_ = L.oversample
    if q is None:
        q = jnp.arange(L.thicksteps * os_ * os_)
    q = jnp.asarray(q)
    layer = q // (os_ * os_)
    q2 = q[:, None] if q.ndim == 1 else q
    sub_s, sub_f = (q2 // os_) % os_, q2 % os_
    sub = det.pixel_size / os_
    Fdet = sub * (fpix[None, :] * os_ + sub_f.astype(sub.dtype)) + sub / 2.0  # (B, P)
    Sdet = sub * (spix[None, :] * os_ + sub_s.astype(sub.dtype)) + sub / 2.0
    Odet = (q2 // (os_ * os_)).astype(sub.dtype) * det.thickstep
    pos = [Fdet * det.fdet[i] + Sdet * det.sdet[i] + Odet * det.odet[i] + det.pix0[i] for i in range(3)]
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
    return diffracted, airpath, layer


def solid_angle(model: Model, airpath):
    """The solid angle each sample's (sub-)pixel subtends at the crystal, in steradians (nanoBragg.c's
    omega_pixel, L2721-2727; C row A2 says which sample the kernel uses).

    omega = pixel_size^2 / airpath^2 * close_distance / airpath: the pixel area, projected by the
    obliquity close_distance / airpath; with `-point_pixel`, 1 / airpath^2.  The pixel size is the whole
    pixel's, not the sub-pixel's.

    Arguments:
        model: the cast Model (pixel size and close distance in m; `layout.point_pixel`).
        airpath: crystal-to-sample distances in m, any shape, e.g. (Q, P) from `subpixel_geometry`.
    Returns:
        Solid angles in sr, the shape and dtype of `airpath`.
    """
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


def last_layer_capture(model: Model, spix, fpix, first, active):
    """The capture fraction a pixel is multiplied by without -oversample_thick (C quirk A4), (P,).

    C resets it to 0 at each layer and recomputes it at every sub-pixel while it is 0, so the value
    left after the loop is the LAST layer's, at its first sub-pixel where it is not 0 (0 if none;
    NaN counts as computed, as NaN == 0.0 is false in C).  The first sub-pixel almost always
    decides; a search over the later ones runs only while some rendered pixel still holds 0, one
    sub-pixel at a time, so memory does not grow with the oversampling.  The search finds indices
    only (no gradient flows through it); the value at the found sub-pixel is then recomputed, so
    reverse-mode derivatives hold.

    Arguments:
        model: the cast Model.  spix, fpix: (P,) pixel coordinates (slow, fast), floating.
        first: (P,) the capture fraction of the last layer's first sub-pixel.
        active: (P,) bool, the pixels that are rendered.
    Returns:
        (P,) the factor per pixel, first's dtype.
    """
    L = model.layout
    n = L.oversample * L.oversample
    if n == 1:
        return first
    base = (L.thicksteps - 1) * n
    fixed = jax.tree_util.tree_map(
        lambda x: jax.lax.stop_gradient(x) if isinstance(x, jax.Array) else x, model)

    def capture_at(m, k):  # k: (P,) sub-pixel of the last layer per pixel
        d, _, layer = subpixel_geometry(m, spix, fpix, (base + k)[None, :])
        return capture_fraction(m, d, layer[:, 0])[0].astype(first.dtype)

    def cond(carry):
        k, found, cap = carry
        # mu = 0 captures nothing anywhere (C quirk A12): no need to look further
        return (k < n) & jnp.any(active & ~found) & (fixed.detector.mu != 0.0)

    def body(carry):
        k, found, cap = carry
        new = capture_at(fixed, jnp.full(found.shape, k, jnp.int32))
        take = ~found & (new != 0.0)
        return k + 1, found | take, jnp.where(take, k, cap)

    found0 = jax.lax.stop_gradient(first) != 0.0
    start = (jnp.asarray(1, jnp.int32), found0, jnp.zeros(first.shape, jnp.int32))
    _, found, index = jax.lax.while_loop(cond, body, start)
    later = found & ~found0
    value = jnp.where(later, capture_at(model, jnp.where(later, index, 0)), first)
    return jnp.where(found0 | later, value, 0.0)


def rendered_pixels(model: Model, spix, fpix):
    """Which pixels nanoBragg renders: inside the inclusive ROI, on the detector, not masked (O2).

    Arguments:
        model: the Model; uses layout.roi (xmin, xmax, ymin, ymax, inclusive pixel indices),
            spixels, fpixels, has_mask and detector.mask (spixels, fpixels) bool.
        spix, fpix: (P,) integer pixel indices, slow and fast.
    Returns:
        (P,) bool: True where the pixel is rendered.
    """
    L = model.layout
    xmin, xmax, ymin, ymax = L.roi
    active = (spix < L.spixels) & (fpix >= xmin) & (fpix <= xmax) & (spix >= ymin) & (spix <= ymax)
    if L.has_mask:
        flat_mask = model.detector.mask.reshape(-1)
        active = active & jnp.take(flat_mask, jnp.clip(spix, 0, L.spixels - 1) * L.fpixels + fpix)
    return active
