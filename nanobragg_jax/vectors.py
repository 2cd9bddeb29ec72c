"""3-vector algebra written once for any array module `xp` (numpy on the host, jax.numpy in traced
code), with nanoBragg.c's term order so host and kernel values agree with C to the last bit.

Vectors are indexable by component (`v[0], v[1], v[2]`): tuples, (3,) arrays, or stacks whose
leading axis is the component.  No JAX import here: the host set-up uses it with numpy.
"""

from __future__ import annotations

import math


def c_divide(xp, x, divisor: float):
    """x / divisor rounded as C rounds it (one IEEE division), for any array module.

    Under XLA a division by a constant becomes a multiplication by its reciprocal, which the CPU
    backend may then fuse with a following addition into one FMA; both change the last bit.  That
    matters where C's set-up cancels to exactly 0 (the direct beam on a pixel centre: Ybeam/1000 +
    pixel/2 - Sdet), so unit conversions that feed such sums divide through an opaque divisor.

    Arguments:
        xp: numpy, math or jax.numpy.  x: a number or array.  divisor: a Python float.
    Returns:
        x / divisor, x's shape (differentiable under JAX: d/dx = 1/divisor).
    """
    if xp.__name__ in ("numpy", "math"):
        return x / divisor
    from jax import lax  # traced code only: this module imports no JAX for the host set-up

    x = xp.asarray(x)
    return x / lax.optimization_barrier(xp.full_like(x, divisor))


def dot(x, y):
    """x . y summed left to right (C's dot_product)."""
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2]


def cross(x, y, xp=None):
    """x cross y (C's cross_product): a tuple without `xp`, else `xp.stack` of the components."""
    c = (x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0])
    return c if xp is None else xp.stack(c)


def magnitude(v, xp=math):
    """|v| (C's magnitude)."""
    return xp.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def unitize(v):
    """C's unitize() on a tuple: (unit vector, magnitude); a zero vector stays zero."""
    mag = magnitude(v)
    if mag == 0.0:
        return (0.0, 0.0, 0.0), mag
    return (v[0] / mag, v[1] / mag, v[2] / mag), mag


def is_concrete_zero(x) -> bool:
    """True only for a concrete 0 (numpy/python); a traced value is never skipped (a rotation by a
    traced 0 is an exact identity anyway, so it can still be differentiated from 0)."""
    try:
        return float(x) == 0.0
    except Exception:  # a tracer: cannot be tested on the host
        return False


def rotate_xyz(xp, v, rx, ry, rz):
    """C's rotate() (nanoBragg.c L3311): v' = Rz Ry Rx v, right-handed, angles in radians; each
    step is skipped for a concrete angle of 0, as C does."""
    x, y, z = v[0], v[1], v[2]
    if not is_concrete_zero(rx):
        c, s = xp.cos(rx), xp.sin(rx)
        x, y, z = x, y * c + z * (-s), y * s + z * c
    if not is_concrete_zero(ry):
        c, s = xp.cos(ry), xp.sin(ry)
        x, y, z = x * c + y * 0.0 + z * s, y, x * (-s) + y * 0.0 + z * c
    if not is_concrete_zero(rz):
        c, s = xp.cos(rz), xp.sin(rz)
        x, y, z = x * c + y * (-s), x * s + y * c, z
    return xp.stack([x, y, z])


def rotate_about_axis(xp, v, axis, phi):
    """C's rotate_axis() (nanoBragg.c L3366): Rodrigues' rotation of v by phi (radians) about
    `axis`, which is used as given (C does not normalise it)."""
    s, c = xp.sin(phi), xp.cos(phi)
    d = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) * (1.0 - c)
    return xp.stack([
        axis[0] * d + v[0] * c + (-axis[2] * v[1] + axis[1] * v[2]) * s,
        axis[1] * d + v[1] * c + (+axis[2] * v[0] - axis[0] * v[2]) * s,
        axis[2] * d + v[2] * c + (-axis[1] * v[0] + axis[0] * v[1]) * s,
    ])
