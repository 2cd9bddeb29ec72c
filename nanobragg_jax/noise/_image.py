"""Poisson noise images.

`noise_image` is the C program's noise image bit for bit (C L3230-3260, c-behaviour O7): one
`poidev` per ROI pixel in raster order on the shared ran1 table of a `CRandom`, so it must run after
the misset and mosaic draws of the same run.  The stream is inherently sequential; with numba
installed the loop is compiled (about 0.1 us per draw), otherwise it runs as plain Python (fine for
small images, minutes for a full 6M-pixel frame).

`counter_noise_image` is a different, parallel stream (jax.random): statistically the same noise,
NOT the C program's numbers.
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax.layout import resolve_roi, roi_slices
from nanobragg_jax.noise._cstream import OVERLOAD, CRandom, compiled_noise_raster, gammln_cache, noise_raster


def pixel_box(roi, spixels: int, fpixels: int) -> tuple[int, int, int, int]:
    """(xmin, xmax, ymin, ymax), inclusive, of the pixels C's noise loop visits: `roi` with C's
    defaults for negative entries (`layout.resolve_roi`) clipped to the image; None = the whole
    image.  An empty region gives xmin > xmax.

    Arguments:
        roi: (xmin, xmax, ymin, ymax) pixel indices, inclusive (x fast, y slow); a negative entry
            takes C's default (O2); None: the whole image.
        spixels, fpixels: image size, slow and fast pixels.
    Returns:
        (xmin, xmax, ymin, ymax) ints, inclusive, within the image; (0, -1, 0, -1) when empty.
    Raises:
        ValueError: `roi` is not four integers.
    """
    if roi is None:
        roi = (-1, -1, -1, -1)
    try:
        xmin, xmax, ymin, ymax = (int(v) for v in roi)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"roi must be four integers (xmin, xmax, ymin, ymax), got {roi!r}") from exc
    box = roi_slices(resolve_roi(xmin, xmax, ymin, ymax, fpixels, spixels), (spixels, fpixels))
    if box is None:
        return 0, -1, 0, -1
    rows, cols = box
    return cols.start, cols.stop - 1, rows.start, rows.stop - 1


def noise_image(
    float_img_f32: np.ndarray,
    roi,
    adc: float,
    rng: CRandom,
    seed: int,
    *,
    use_numba: bool | None = None,
) -> tuple[np.ndarray, int, float, int]:
    """The C noise image (O7; poidev as in R6).

    Arguments:
        float_img_f32: (slow, fast) float image in photons per pixel (rounded to float32, as C
            stores it).
        roi: (xmin, xmax, ymin, ymax) inclusive, or None for the whole image (see `pixel_box`).
        adc: ADC offset in ADU, added after the draw.
        rng: the shared C random state; pass the CRandom the mosaic draws were made on (R3).
        seed: the noise seed as C stores it (e.g. -1234 for `-seed 1234`).
        use_numba: None = numba when installed; False forces the pure-Python loop (same bits);
            True requires numba.
    Returns:
        (uint16 image (slow, fast) in ADU, overloads (int, pixels clamped at 65535), photon sum
        (float), new seed (int)).  Pixels outside the ROI are 0; masked pixels inside it are drawn
        like any other (C does not skip them).
    Raises:
        ValueError: the image is not 2-D, or `roi` is not four integers.
        RuntimeError: use_numba=True without numba installed.
    """
    img = np.ascontiguousarray(float_img_f32, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"noise_image needs a 2-D (slow, fast) image, got shape {img.shape}")
    spixels, fpixels = img.shape
    xmin, xmax, ymin, ymax = pixel_box(roi, spixels, fpixels)
    out = np.zeros((spixels, fpixels), dtype=np.uint16)
    box = img[ymin:ymax + 1, xmin:xmax + 1]
    finite = box[np.isfinite(box)]
    cache = gammln_cache(float(finite.max()) if finite.size else 0.0)  # same bits, less work
    loop = compiled_noise_raster() if use_numba in (None, True) else None
    if use_numba and loop is None:
        raise RuntimeError("noise_image(use_numba=True) needs numba, which is not installed")
    if loop is not None:
        overloads, total, seed = loop(
            img, xmin, xmax, ymin, ymax, float(adc), rng.istate, rng.fstate, np.int64(seed), out, cache
        )
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            overloads, total, seed = noise_raster(
                img, xmin, xmax, ymin, ymax, float(adc), rng.istate, rng.fstate, int(seed), out, cache
            )
    return out, int(overloads), float(total), int(seed)


def noise_summary_line(photons: float, overloads: int) -> str:
    """C's stdout line after the noise loop.

    Arguments:
        photons: photon sum over the noise image (from `noise_image`).
        overloads: count of pixels clamped at 65535.
    Returns:
        str "<photons> photons on noise image (<overloads> overloads)", photons printed with %.0f.
    """
    return "%.0f photons on noise image (%d overloads)" % (photons, overloads)


def counter_noise_image(float_img, key, adc: float, roi=None) -> tuple[np.ndarray, int, float]:
    """Poisson noise from jax.random (counter-based: vectorised, splittable, reproducible per key).

    NOT the C stream: use it for statistics, batches and devices; use `noise_image` for parity.
    Same conventions as `noise_image`: means above 1e6 use mean + sqrt(mean)*N(0,1) as C does,
    negative or NaN means give 0 photons, +adc, clamp to [0, 65535] (the top counted as overloads;
    C wraps negatives instead), truncate, 0 outside ROI.

    Arguments:
        float_img: (slow, fast) float image, photons per pixel (cast to float32).
        key: a jax.random key.
        adc: ADC offset, ADU.
        roi: (xmin, xmax, ymin, ymax) inclusive, or None for the whole image (see `pixel_box`).
    Returns:
        (uint16 image (slow, fast) in ADU, overloads (int), photon sum (float)).
    Raises:
        ValueError: the image is not 2-D, or `roi` is not four integers.
    """
    import jax.numpy as jnp

    img = np.asarray(float_img, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"counter_noise_image needs a 2-D (slow, fast) image, got shape {img.shape}")
    spixels, fpixels = img.shape
    xmin, xmax, ymin, ymax = pixel_box(roi, spixels, fpixels)
    inside = np.zeros(img.shape, dtype=bool)
    inside[ymin : ymax + 1, xmin : xmax + 1] = True
    counts, over, total = _counter_noise(jnp.asarray(img), key, jnp.asarray(inside), float(adc))
    return np.asarray(counts), int(over), float(total)


def _counter_noise_impl(img, key, inside, adc):
    import jax
    import jax.numpy as jnp

    lam = jnp.where(jnp.isfinite(img) & (img > 0), img, 0.0).astype(jnp.float32)
    kp, kg = jax.random.split(key)
    small = jnp.where(lam > 1e6, 0.0, lam)
    poisson = jax.random.poisson(kp, small, shape=lam.shape).astype(jnp.float32)
    gauss = lam + jnp.sqrt(lam) * jax.random.normal(kg, lam.shape, dtype=jnp.float32)
    photons = jnp.where(lam > 1e6, gauss, poisson)
    photons = jnp.where(inside, photons, 0.0)
    test = photons + adc
    over = jnp.sum(inside & (test > OVERLOAD))
    test = jnp.clip(test, 0.0, OVERLOAD)
    counts = jnp.where(inside, jnp.trunc(test), 0.0).astype(jnp.uint16)
    return counts, over, jnp.sum(photons, dtype=jnp.result_type(float))  # float64 under x64


def _counter_noise(img, key, inside, adc):
    global _counter_jit
    if _counter_jit is None:
        import jax

        _counter_jit = jax.jit(_counter_noise_impl)
    return _counter_jit(img, key, inside, adc)


_counter_jit = None
