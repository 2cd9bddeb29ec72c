"""Pure per-sample physics: lattice transforms, polarization, rotations.  jnp only, grad-safe.

Every function works elementwise on broadcastable arrays, in the dtype of its inputs.
"""

from __future__ import annotations

import math

import jax.lax as lax
import jax.numpy as jnp

from nanobragg_jax.vectors import rotate_about_axis

# sqrt of the cube/sphere volume ratio used by the round crystal shape.
ROUND_XTAL_SCALE = 0.723601254558268

# Taylor coefficients of sin(pi x); 11 terms are exact to 1 ulp in float64 on |x| <= 1/2.
_SINPI = tuple((-1) ** k * math.pi ** (2 * k + 1) / math.factorial(2 * k + 1) for k in range(11))


def sinpi_reduced(x):
    """sin(pi x) for |x| <= 1/2 by a polynomial: vectorises far better than a libm call."""
    z = x * x
    p = jnp.asarray(_SINPI[-1], x.dtype)
    for c in _SINPI[-2::-1]:
        p = p * z + c
    return x * p


def sinpi(x):
    """sin(pi x) for any x, reducing to the nearest integer first (exact in float32 too)."""
    n = jnp.round(x)
    sign = 1.0 - 2.0 * jnp.mod(n, 2.0)
    return sign * sinpi_reduced(x - n)


def sincg(h, N):
    """Lattice factor sin(pi N h)/sin(pi h) of N cells, periodic in h.

    h is first reduced to f, its distance from the nearest integer, so large indices keep full
    precision (also in float32) and N may be continuous (for gradients).  For integer N this equals
    nanoBragg's sincg(pi h, N) up to the sign (-1)^(round(h)(N-1)); only F_latt^2 reaches the
    image, and `sincg_c_sign` restores C's sign for traces.  Near f = 0 a Taylor series keeps the
    value and its gradient finite.
    """
    f = h - jnp.round(h)
    small = jnp.abs(f) < 1e-6
    f_safe = jnp.where(small, 0.25, f)
    ratio = sinpi(N * f_safe) / sinpi_reduced(f_safe)
    taylor = N * (1.0 - (math.pi**2 / 6.0) * (N * N - 1.0) * f * f)
    return jnp.where(small, taylor, ratio)


# sin(pi x)/x = p(x^2) on |x| <= 1/2 in 9 terms: a relative-error least-squares fit on Chebyshev
# nodes (long-double reference), max error 2.8e-16 - as good as the 11-term Taylor series at 2/3
# of its cost.  float32 uses the first 6 Taylor terms (error 1.4e-7, its rounding floor).
_SINPI_OVER_X_F64 = (
    3.141592653589793, -5.167712780049969, 2.5501640398772936, -0.599264529318729,
    0.08214588656974793, -0.00737043047749438, 0.00046629968257435434, -2.1903169658197637e-05,
    7.694565026463662e-07,
)


def _sinpi_over_x(z, dtype):
    """sin(pi x) / x as a polynomial in z = x^2 (|x| <= 1/2), Horner form."""
    coeffs = _SINPI_OVER_X_F64 if jnp.dtype(dtype) == jnp.float64 else _SINPI[:6]
    p = jnp.asarray(coeffs[-1], dtype)
    for c in coeffs[-2::-1]:
        p = p * z + c
    return p


def sincg_parts(h, N):
    """(num, den) with num / den = sincg(h, N) up to its sign (-1)^round(N f); den is never 0.

    With f = h - round(h) and N f = n + r (n an integer, |r| <= 1/2):
    * n == 0 (the central peak): sin(pi N f) / sin(pi f) = N p(r^2) / p(f^2) with p(z) the series
      of sin(pi x)/x, so f cancels exactly: no Taylor branch, smooth value and gradient at f = 0;
    * n != 0: r p(r^2) / (f p(f^2)), where |f| >= 1/(2N) keeps the denominator away from 0.
    Only the square of the lattice factor (and its zeros) reach the image, so the sign is dropped;
    callers multiply the three axes' parts and divide once.  Works in the dtype of h.
    """
    f = h - jnp.round(h)
    x = N * f
    n = jnp.round(x)
    r = x - n
    pr = _sinpi_over_x(r * r, h.dtype)
    pf = _sinpi_over_x(f * f, h.dtype)
    central = n == 0.0
    return jnp.where(central, N * pr, r * pr), jnp.where(central, pf, f * pf)


def sincg_c_sign(h, N):
    """The sign C's unreduced sin(N pi h)/sin(pi h) carries relative to `sincg` (integer N)."""
    n = jnp.round(h)
    return 1.0 - 2.0 * jnp.mod(n * (N - 1.0), 2.0)


def sinc3(x):
    """3 (sin x / x - cos x) / x^2, the transform of a sphere: nanoBragg's sinc3 (C's value), with a
    finite gradient everywhere.

    C (nanoBragg.c sinc3) returns 1 at x == 0 exactly and evaluates the formula for every other x.
    Near 0 the formula cancels: it is exactly 0 for 1e-154 < |x| < 1.1e-8 and rounding noise up to
    ~1e-6 (C quirk C7: the direct-beam pixel of -round_xtal, where x ~ 1e-13, is 0 in C); below
    1e-154 C's x*x underflows to a NaN, where we keep the 0.  In float64 the value is C's formula
    itself (XLA's sin and cos agree with glibc's there); its gradient below |x| = 1e-2 is that of
    the series 1 - x^2/10 + x^4/280 - ... (the limit), so gradients stay finite and smooth.  In
    float32 the formula's cancellation is far coarser than C's, so the series itself is the value
    there (the x -> 0 limit, not C's cancellation).

    Arguments:
        x: any shape, float32 or float64 (C: pi * sqrt(hrad^2 * fudge), >= 0).
    Returns:
        the same shape and dtype.
    """
    small = jnp.abs(x) < 1e-2
    z = x * x
    series = 1.0 + z * (-1.0 / 10.0 + z * (1.0 / 280.0 + z * (-1.0 / 15120.0 + z / 1330560.0)))
    xs = jnp.where(small, 1.0, x)
    exact = 3.0 * (jnp.sin(xs) / xs - jnp.cos(xs)) / (xs * xs)
    if jnp.result_type(x) == jnp.float64:
        # C's value in the small region, carried on the series' gradient.
        nonzero = x != 0.0
        xc = lax.stop_gradient(jnp.where(nonzero, x, 1.0))
        # Below x ~ 1e-154, C's x*x underflows and 0/0 is NaN: we keep the 0 of C's plateau above.
        c_formula = 3.0 * (jnp.sin(xc) / xc - jnp.cos(xc)) / (xc * xc)
        c_value = jnp.where(nonzero, jnp.where(xc * xc == 0.0, 0.0, c_formula), 1.0)
        series = series + lax.stop_gradient(c_value - series)
    return jnp.where(small, series, exact)


def safe_norm(v, axis=-1):
    """Euclidean norm with a finite gradient at 0."""
    sq = jnp.sum(v * v, axis=axis)
    zero = sq == 0
    return jnp.where(zero, 0.0, jnp.sqrt(jnp.where(zero, 1.0, sq)))


def safe_norm3(x, y, z):
    """sqrt(x^2 + y^2 + z^2) of three component arrays (elementwise, no reduction, so it fuses),
    with a finite gradient at 0."""
    sq = x * x + y * y + z * z
    zero = sq == 0
    return jnp.where(zero, 0.0, jnp.sqrt(jnp.where(zero, 1.0, sq)))


def dot(a, b):
    """x*x + y*y + z*z summed left to right, as nanoBragg's dot_product."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def cross(a, b):
    """The cross product a x b, vectors on the LAST axis (C's cross_product, component by component).

    Arguments:
        a: (..., 3) array.
        b: (..., 3) array, broadcastable with `a`.
    Returns:
        (..., 3) array, the broadcast shape; in the unit of a times that of b.
    """
    return jnp.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


def unitize(v):
    """v / |v|, leaving a zero vector zero (as C's unitize)."""
    n = safe_norm(v)
    return v / jnp.where(n == 0, 1.0, n)[..., None]


def rotate_axis(v, axis, phi):
    """Right-handed rotation of v about a unit axis by phi, vectors on the LAST axis: the set-up's
    `geometry.rotate_about_axis` (C's rotate_axis, components first) in the kernel's layout."""
    out = rotate_about_axis(jnp, jnp.moveaxis(v, -1, 0), jnp.moveaxis(jnp.asarray(axis), -1, 0), phi)
    return jnp.moveaxis(out, 0, -1)


def polarization_factor(kahn, incident, diffracted, axis):
    """0.5 (1 + cos^2 2theta - K cos(2 psi) sin^2 2theta), psi from the E-B frame of `axis`."""
    cos2t = dot(incident, diffracted)
    cos2t_sqr = cos2t * cos2t
    sin2t_sqr = 1.0 - cos2t_sqr
    b_in = unitize(cross(axis, incident))
    e_in = unitize(cross(incident, b_in))
    e_out = dot(diffracted, e_in)
    b_out = dot(diffracted, b_in)
    # C: psi = -atan2(b_out, e_out), then cos(2 psi).  The same number without the angle:
    # cos 2psi = (e^2 - b^2) / (e^2 + b^2), equal to rounding and far cheaper than float64 atan2
    # and cos (which were a third of a float32 Pilatus render).  Along the beam both projections
    # vanish; psi is then irrelevant (sin 2theta = 0, C's psi = 0) and the guard keeps gradients
    # finite.  C skips psi when K == 0; cos(2 psi) * 0 gives the same value.
    e2, b2 = e_out * e_out, b_out * b_out
    along_beam = (e2 + b2) == 0
    cos2psi = jnp.where(along_beam, 1.0, (e2 - b2) / jnp.where(along_beam, 1.0, e2 + b2))
    return 0.5 * (1.0 + cos2t_sqr - kahn * cos2psi * sin2t_sqr)


def c_round_half_down(x):
    """ceil(x - 0.5): C's nearest-index rule (ties go down, unlike round-half-even)."""
    return jnp.ceil(x - 0.5)
