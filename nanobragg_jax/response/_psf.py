"""The detector point-spread function: noisify.c's apply_psf (specs/noisify.md 6) exactly, and a
differentiable convolution with the same kernel for the Python API.

Kernel: the integral over each unit pixel of a unit-volume Gaussian of FWHM w pixels, or of the
fiber-optic taper's PSF, on the integer offsets inside a disc of radius R:

    Gaussian  c(x, y) = 1/4 erf(x sqrt(ln16)/w) erf(y sqrt(ln16)/w)        (C: 0.125 erf(2x sqrt(ln2)) ...)
    fiber     c(x, y) = atan(x y / (g sqrt(g^2 + x^2 + y^2))) / (2 pi),  g = 0.652383013252053 w
    K(dx, dy) = c(+,+) - c(+,-) - c(-,+) + c(-,-)   at the pixel's corners (dx +- 1/2, dy +- 1/2)

C spreads every positive pixel in raster order (dx outer, dy inner), each over its own radius,
sums in float32, books the light outside that radius as lost and adds the total lost back evenly.
Its bounds test lets light one column past the right edge land in column 0 of the next row
(C quirk NZ-1).  `apply_psf` reproduces all of it, including the float32 summation order: a
parallel gather (each target pixel sums its sources in C's order) or C's own scatter, whichever
is less work; both give the same bits.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from nanobragg_jax.errors import InputError

FIBER_G = 0.652383013252053
_SQRT_LN2 = math.sqrt(math.log(2.0))
_SQRT_LN16 = math.sqrt(math.log(16.0))
_SQRT_16_2 = math.sqrt(math.log(16.0) / math.log(2.0))
PSF_TYPES = ("gauss", "fiber")
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _gauss_corner(x, y):
    return 0.125 * ((math.erf(2.0 * x * _SQRT_LN2) * math.erf(y * _SQRT_LN16)) * _SQRT_16_2)


def _fiber_corner(x, y, g):
    return math.atan((x * y) / (g * math.sqrt(g * g + x * x + y * y))) / 2.0 / math.pi


def psf_kernel(kind: str, w: float, radius: int) -> np.ndarray:
    """C's kernel (L790-830): (2R+1, 2R+1) float64 indexed [dy + R, dx + R], 0 outside the disc.

    Arguments:
        kind: "gauss" or "fiber".  w: FWHM in pixels.  radius: R in pixels (>= 0).
    Returns:
        the pixel integrals of the unit-volume PSF (they sum to ~1 for a wide enough disc).
    """
    R = int(radius)
    K = np.zeros((2 * R + 1, 2 * R + 1))
    g = w * FIBER_G
    for dy in range(-R, R + 1):
        for dx in range(-R, R + 1):
            if dx * dx + dy * dy > R * R:
                continue
            if kind == "gauss":
                x, y, h = dx / w, dy / w, (1.0 / w) / 2
                c = _gauss_corner
                K[dy + R, dx + R] = c(x + h, y + h) - c(x + h, y - h) - c(x - h, y + h) + c(x - h, y - h)
            else:
                x, y, h = float(dx), float(dy), 0.5
                K[dy + R, dx + R] = (_fiber_corner(x + h, y + h, g) - _fiber_corner(x + h, y - h, g)
                                     - _fiber_corner(x - h, y + h, g) + _fiber_corner(x - h, y - h, g))
    return K


def auto_radius(kind: str, w: float, peak: float) -> int:
    """C's automatic global radius for the brightest pixel (L760-785), before the image-size cap:
    where the PSF has fallen to sqrt(peak)/10 photons.

    Arguments:
        kind: "gauss"; any other value is treated as "fiber".
        w: FWHM in pixels.
        peak: photons in the brightest pixel; must be > 0 (the caller skips the PSF without
            photons and refuses a Gaussian peak below 0.01, NZ-14).
    Returns:
        int radius in pixels, 1 + ceil(v): v = w sqrt(-ln(L/peak)/ln 4/2) for gauss and
        v = w g peak/L for fiber (g = FIBER_G), with L = sqrt(peak)/10.
    """
    L = math.sqrt(peak) / 10.0
    if kind == "gauss":
        v = math.sqrt(-math.log(L / peak) / math.log(4.0) / 2) * w
    else:
        v = (w * FIBER_G) * (peak / L)
    return int(1 + math.ceil(v))


def _pixel_radius(I, gauss, w, user_radius, cap):
    """(radius, lost light) of one source pixel (L840-860), libm calls as C; radius -2**62 where C
    cannot compute the automatic radius (NZ-14); lost 0 for a pixel that does not spread."""
    if user_radius != 0:
        r = user_radius
    elif I > 0.0:
        L = math.sqrt(I) / 10.0
        if gauss:
            v = math.sqrt(-math.log(L / I) / math.log(16.0)) * w
        else:
            v = (w * 0.652383013252053) * (I / L)
        if not math.isfinite(v):
            return -(2 ** 62), 0.0  # C quirk NZ-14: (int)NaN radius, C indexes outside the kernel
        r = 1 + int(math.ceil(v))
    elif I != I:
        return -(2 ** 62), 0.0
    else:
        r = 0  # not spread
    if r == 0:
        r = 1
    r = min(r, cap)
    if I <= 0.0:  # NaN is not skipped (C)
        return r, 0.0
    if gauss:
        t = np.float64(r)
        t = t / w
        t = t * t
        return r, I * math.exp(-math.log(16.0) * t)
    g = w * 0.652383013252053
    return r, I * g / math.sqrt(g * g + np.float64(r * r))


def _prepare_loop(img, gauss, w, user_radius, cap, radii, lost, bad, table_r, table_lost):
    """Per source pixel, in parallel: its radius and lost light (`_pixel_radius`), bad[i] = 1
    where C cannot compute the radius (NZ-14).  Photon counts are whole numbers, so the values of
    the integers below len(table_r) come from tables made first (the same function of the same
    value: the same bits).  Returns the work of C's scatter (kernel entries visited)."""
    work = 0.0
    n = table_r.shape[0]
    for i in _prange(img.shape[0]):
        I = np.float64(img[i])
        if I >= 0.0 and I < n and I == math.floor(I):
            r = table_r[int(I)]
            lost[i] = table_lost[int(I)]
        else:
            r, lost[i] = _pixel_radius(I, gauss, w, user_radius, cap)
        radii[i] = r
        bad[i] = r == -(2 ** 62)
        if lost[i] != 0.0 and r >= 0:
            work += (2.0 * r + 1.0) * (2.0 * r + 1.0)
    return work


def _tables(gauss, w, user_radius, cap, table_r, table_lost):
    for k in range(table_r.shape[0]):
        table_r[k], table_lost[k] = _pixel_radius(np.float64(k), gauss, w, user_radius, cap)


def _sum_in_order(values):
    """Left-to-right double sum (C's `total_lost += lost`)."""
    total = 0.0
    for k in range(values.shape[0]):
        total += values[k]
    return total


def _offsets(K, R, W):
    """The kernel's non-zero entries ordered as a target pixel meets them in C's loop: source index
    ascending (offset dy W + dx descending), then dx ascending (C's outer loop)."""
    dy, dx = np.nonzero(K != 0.0)
    dy, dx = dy - R, dx - R
    order = np.lexsort((dx, -(dy * W + dx)))
    return dx[order].astype(np.int64), dy[order].astype(np.int64), K[dy[order] + R, dx[order] + R]


def _gather(img, W, H, radii, odx, ody, kval, add, out):
    """Each target pixel sums its sources in C's order (parallel over targets), then the lost
    light is added back (L915-918)."""
    P = W * H
    for j in _prange(P):
        yt = j // W
        xt = j - yt * W
        acc = np.float32(0.0)
        for t in range(odx.shape[0]):
            dx = odx[t]
            dy = ody[t]
            # the source i = j - (dy W + dx), as (x0, y0) without a division per entry
            x0 = xt - dx
            y0 = yt - dy
            if x0 < 0 or x0 >= W:
                k = x0 // W
                x0 -= k * W
                y0 += k
            if y0 < 0 or y0 >= H:
                continue
            i = y0 * W + x0
            I = np.float64(img[i])
            if I <= 0.0:  # NaN is not skipped (C quirk)
                continue
            r = radii[i]
            if r < 0 or dx * dx + dy * dy > r * r:
                continue
            x = x0 + dx
            y = y0 + dy
            if x < 0 or x > W or y < 0 or y > H:  # C quirk NZ-1: x == W, y == H pass
                continue
            acc = np.float32(np.float64(acc) + I * kval[t])
        out[j] = np.float32(np.float64(acc) + add)


def _scatter(img, W, H, radii, R, K, add, out):
    """C's loop itself (L862-918), sequential; out has P + 1 entries (C writes index P)."""
    P = W * H
    ks = 2 * R + 1
    for i in range(P):
        I = np.float64(img[i])
        if I <= 0.0:
            continue
        x0 = i % W
        y0 = i // W
        r = radii[i]
        for dx in range(-r, r + 1):
            for dy in range(-r, r + 1):
                if dx < -R or dx > R or dy < -R or dy > R:
                    continue  # C would read outside the kernel (r > R only at a rounding tie)
                k = K[(R + dy) * ks + R + dx]
                if k == 0.0:
                    continue
                if dx * dx + dy * dy > r * r:
                    continue
                x = x0 + dx
                y = y0 + dy
                if x < 0 or x > W or y < 0 or y > H:
                    continue
                j = y * W + x
                if j < 0 or j > P:
                    continue
                out[j] = np.float32(np.float64(out[j]) + I * k)
    for j in range(P):
        out[j] = np.float32(np.float64(out[j]) + add)


_prange = range
_LOOPS = {"gather": _gather, "scatter": _scatter, "prepare": _prepare_loop, "tables": _tables,
          "sum": _sum_in_order}
_COMPILED = {}


def _compiled(name):
    """numba versions of the loops (the gather in parallel); plain Python without numba."""
    global _prange
    if not _HAVE_NUMBA:
        return _LOOPS[name]
    if name not in _COMPILED:
        import numba

        _prange = numba.prange  # resolved when numba compiles the parallel loops
        if "radius" not in _COMPILED:
            from numba.extending import register_jitable

            register_jitable(_pixel_radius)
            _COMPILED["radius"] = True
        parallel = name in ("gather", "prepare")
        _COMPILED[name] = numba.njit(cache=True, nogil=True, parallel=parallel)(_LOOPS[name])
    return _COMPILED[name]


def apply_psf(img, width: int, height: int, kind: str, w: float, user_radius: int = 0,
              method: str = "auto") -> tuple[np.ndarray, list]:
    """noisify.c's apply_psf (L716-923), bit for bit.

    Arguments:
        img: (P,) float32 photons per pixel, raster order (P = width * height).
        kind: "gauss" or "fiber".  w: FWHM in pixels (the C float psf_fwhm / pixel).
        user_radius: -psf_radius (0 or negative: automatic kernel; negative also spreads nothing,
            NZ-15).
        method: "gather" (parallel), "scatter" (C's loop) or "auto" (the cheaper).
    Returns:
        ((P,) float32 blurred image, C's stdout lines).
    Raises:
        InputError: an automatic radius C cannot compute (NZ-14).
    """
    img = np.ascontiguousarray(img, dtype=np.float32).reshape(-1)
    P = width * height
    lines = []
    if kind not in PSF_TYPES:
        return img, ["ERROR: unknown PSF type"]
    if P == 0:
        return img, ["ERROR: apply_psf image has zero size"]
    if not w > 0.0:
        return img, ["WARNING: apply_psf function has zero size"]
    R = int(user_radius)
    if R <= 0:
        with np.errstate(invalid="ignore"):
            peak = max(0.0, float(np.max(img[:P], initial=0.0, where=~np.isnan(img[:P]))))
        lines.append("  maximum input photon/pixel: %s" % _g(peak))
        if peak <= 0.0:
            # C quirk NZ-13: the automatic radius on an image without light returns zeros.
            return np.zeros(P, np.float32), lines + ["WARNING: no photons, PSF skipped"]
        if kind == "gauss" and peak < 0.01:
            raise InputError(f"automatic PSF radius undefined for a brightest pixel of {peak:g} photons "
                             "(noisify.c crashes here, NZ-14): give -psf_radius")
        R = auto_radius(kind, w, peak)
        lines.append("  auto-selected psf_radius = %d pixels" % R)
        if R == 0:
            R = 1
    cap = max(width, height)
    R = min(R, cap)
    K = psf_kernel(kind, w, R)
    radii = np.zeros(P, np.int64)
    lost = np.empty(P)
    bad = np.empty(P, np.uint8)
    with np.errstate(invalid="ignore"):
        top = float(np.nanmax(img[:P])) if not np.all(np.isnan(img[:P])) else 0.0
    size = int(min(max(top, 0.0), 1 << 20)) + 1 if math.isfinite(top) else 1
    table_r, table_lost = np.zeros(size, np.int64), np.zeros(size)
    args = (kind == "gauss", float(w), int(user_radius), cap)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _compiled("tables")(*args, table_r, table_lost)
        scatter_work = _compiled("prepare")(img[:P], *args, radii, lost, bad, table_r, table_lost)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"automatic PSF radius undefined for pixel {k} (value {float(img[k]):g} "
                         "photons; noisify.c crashes here, NZ-14): give -psf_radius")
    total_lost = float(_compiled("sum")(lost))
    if method == "auto":
        gather_work = P * float(np.count_nonzero(K)) / 2.0  # over two cores
        method = "scatter" if scatter_work <= gather_work else "gather"
    add = total_lost / P
    with np.errstate(invalid="ignore", over="ignore"):
        if method == "gather":
            out = np.empty(P, np.float32)
            odx, ody, kval = _offsets(K, R, width)
            _compiled("gather")(img[:P], width, height, radii, odx, ody, kval, add, out)
        else:
            out = np.zeros(P + 1, np.float32)  # C writes index P (one past the image): lost
            _compiled("scatter")(img[:P], width, height, radii, R, K.ravel(), add, out)
            out = out[:P]
    lines.append("adding back %s lost photons" % _g(total_lost))
    return out, lines


def _g(x) -> str:
    from nanobragg_jax.io import format_g

    return format_g(float(x))


def psf_convolve(image, kernel):
    """The image convolved with a PSF kernel (JAX, differentiable): zero outside the image, no
    edge spill and no lost-light add-back (unlike noisify.c, see `apply_psf`).

    Arguments:
        image: (..., H, W) photons per pixel.  kernel: (2R+1, 2R+1) indexed [dy + R, dx + R]
            (`psf_kernel`), light moving from (y, x) to (y + dy, x + dx).
    Returns:
        (..., H, W) blurred image, same dtype.  A direct convolution for small kernels, FFT for
        large ones.
    """
    import jax.numpy as jnp
    import jax.scipy.signal as jsig

    image = jnp.asarray(image)
    kernel = jnp.asarray(kernel, image.dtype)
    method = "fft" if kernel.shape[0] > 9 else "direct"
    conv = lambda im: jsig.convolve(im, kernel, mode="same", method=method)  # noqa: E731
    if image.ndim == 2:
        return conv(image)
    flat = image.reshape((-1,) + image.shape[-2:])
    import jax

    return jax.vmap(conv)(flat).reshape(image.shape)


def psf_kernel_jax(kind: str, w, radius: int):
    """`psf_kernel` in JAX: the same pixel integrals, differentiable in the FWHM w (pixels).

    radius is static.  Returns (2R+1, 2R+1) in w's dtype (float64 under x64), 0 outside the disc.

    Arguments:
        kind: "gauss" or "fiber".
        w: FWHM in pixels, a float or a JAX scalar (traced: gradients flow through it).
        radius: R in pixels, a Python int (static).
    Returns:
        (2R+1, 2R+1) array indexed [dy + R, dx + R]: the pixel integrals of the unit-volume PSF,
        the same formulas as `psf_kernel` (noisify.c L790-830).
    Raises:
        ValueError: an unknown kind.
    """
    import jax.numpy as jnp
    from jax.scipy.special import erf

    R = int(radius)
    w = jnp.asarray(w)
    d = jnp.arange(-R, R + 1, dtype=w.dtype)
    dy, dx = jnp.meshgrid(d, d, indexing="ij")
    if kind == "gauss":
        x, y, h = dx / w, dy / w, (1.0 / w) / 2

        def c(a, b):
            return 0.125 * ((erf(2.0 * a * _SQRT_LN2) * erf(b * _SQRT_LN16)) * _SQRT_16_2)
    elif kind == "fiber":
        g = w * FIBER_G
        x, y, h = dx, dy, 0.5

        def c(a, b):
            return jnp.arctan((a * b) / (g * jnp.sqrt(g * g + a * a + b * b))) / 2.0 / math.pi
    else:
        raise ValueError(f"unknown PSF type {kind!r}: choose gauss or fiber")
    K = c(x + h, y + h) - c(x + h, y - h) - c(x - h, y + h) + c(x - h, y - h)
    return jnp.where(dx * dx + dy * dy <= R * R, K, 0.0)
