"""noisify.c's random streams (specs/noisify.md 7), bit for bit.

One C generator state (the ran1 table, the Gaussian spare, poidev's cache: a `noise.CRandom`) is
shared by two seeds (C quirk NZ-2): S (-seed) for flicker, Poisson and read noise, C (-calib_seed)
for the calibration error.  Each draw advances only its own seed's LCG but reads and refills the
shared table, and `gaussdev` hands its spare to whichever stream calls next.  The loops below keep
C's order of draws exactly:

    for each pixel: [flicker G(S)] [calibration G(C)] Poisson(S)      (before the PSF)
    for each pixel: [read noise G(S)]                                  (after the PSF)

The loops themselves are the noise package's (`noise.noisify_counts`, `noise.noisify_adu`, with the
deviates they inline), compiled by numba when it is installed, else run as Python.
"""

from __future__ import annotations

import numpy as np

from nanobragg_jax.noise import CRandom, compiled_stream_loop, gammln_cache, noisify_adu, noisify_counts


def poisson_counts(photon, rng: CRandom, seed: int, calib_seed: int, *, flicker: float = 0.0,
                   calibration: float = 0.0) -> tuple[np.ndarray, float, int, int]:
    """Photon counts with flicker and calibration error, noisify.c's first noise loop.

    Arguments:
        photon: (P,) float32 mean photons per pixel, raster order.
        rng: the shared C generator state (fresh for noisify).
        seed, calib_seed: C's stored seeds (-N for `-seed N`; the built-in calibration seed is
            +123456789).
        flicker, calibration: fractional rms (<= 0: off, no draws).
    Returns:
        ((P,) float32 counts, their sum (double, C's order), new seed, new calibration seed).
    """
    photon = np.ascontiguousarray(photon, dtype=np.float32).reshape(-1)
    out = np.empty_like(photon)
    args = (photon, out, float(flicker), float(calibration), rng.istate, rng.fstate)
    finite = photon[np.isfinite(photon)]
    peak = float(finite.max()) * (1.0 + 5.0 * (abs(flicker) + abs(calibration))) if finite.size else 0.0
    cache = gammln_cache(peak)
    loop = compiled_stream_loop("noisify_counts")
    if loop is not None:
        total, seed, calib_seed = loop(*args, np.int64(seed), np.int64(calib_seed), cache)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            total, seed, calib_seed = noisify_counts(*args, int(seed), int(calib_seed), cache)
    return out, float(total), int(seed), int(calib_seed)


def readout_adu(photon, rng: CRandom, seed: int, *, gain: float = 1.0, adc: float = 40.0,
                readout: float = 0.0, bits: int = 16):
    """noisify.c's last loop: ADU = photons gain + adc + readout G(seed), clamped and converted.

    Arguments:
        photon: (P,) float32 photons per pixel (after the PSF).
        rng, seed: the shared generator state and the main seed, as the Poisson loop left them.
        gain (ADU/photon), adc (ADU), readout (ADU rms, <= 0: off), bits (16 or 32: which clamp
        counts as an overload).
    Returns:
        ((P,) uint16, (P,) uint32, photon sum, overloads, new seed).
    """
    photon = np.ascontiguousarray(photon, dtype=np.float32).reshape(-1)
    u16 = np.empty(photon.shape, np.uint16)
    u32 = np.empty(photon.shape, np.uint32)
    args = (photon, float(gain), float(adc), float(readout), int(bits), rng.istate, rng.fstate)
    loop = compiled_stream_loop("noisify_adu")
    if loop is not None:
        total, overloads, seed = loop(*args, np.int64(seed), u16, u32, False)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            total, overloads, seed = noisify_adu(*args, int(seed), u16, u32, False)
    return u16, u32, float(total), int(overloads), int(seed)


def noiseless_adu(photon, gain: float = 1.0, adc: float = 40.0):
    """noisify.c's noiseless image (L507-519): ADU = photons gain + adc, clamped at 2147483647
    and then at 65535 (so the 32-bit image is capped at 65535 too, NZ-16), truncated; negative
    values wrap (NZ-12).  Returns ((P,) uint16, (P,) uint32).

    Arguments:
        photon: photons per pixel, any shape (flattened in raster order, cast to float32).
        gain: ADU per photon.
        adc: ADC offset, ADU.
    Returns:
        ((P,) uint16 ADU, (P,) uint32 ADU), P = photon.size; no random draws are made.
    """
    photon = np.ascontiguousarray(photon, dtype=np.float32).reshape(-1)
    u16 = np.empty(photon.shape, np.uint16)
    u32 = np.empty(photon.shape, np.uint32)
    rng = CRandom()  # not drawn from (no read noise)
    args = (photon, float(gain), float(adc), 0.0, 16, rng.istate, rng.fstate)
    loop = compiled_stream_loop("noisify_adu")
    if loop is not None:
        loop(*args, np.int64(0), u16, u32, True)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            noisify_adu(*args, 0, u16, u32, True)
    return u16, u32


def c_ushort(adu) -> np.ndarray:
    """(unsigned short) of doubles as gcc on x86-64: through a 32-bit int (NaN, out of range -> 0).

    Arguments:
        adu: values in ADU, any shape (cast to float64).
    Returns:
        uint16 array of adu's shape: trunc(adu) modulo 2^16 (negative values wrap, NZ-12); 0 where
        |adu| >= 2^31 or NaN.
    """
    adu = np.asarray(adu, np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.abs(adu) < 2147483648.0
    return (np.trunc(np.where(ok, adu, 0.0)).astype(np.int64) & 0xFFFF).astype(np.uint16)


def c_uint(adu) -> np.ndarray:
    """(unsigned int) of doubles as gcc on x86-64: through a 64-bit int (NaN, out of range -> 0).

    Arguments:
        adu: values in ADU, any shape (cast to float64).
    Returns:
        uint32 array of adu's shape: trunc(adu) modulo 2^32 (negative values wrap, NZ-12); 0 where
        |adu| >= 9.2e18 or NaN.
    """
    adu = np.asarray(adu, np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.abs(adu) < 9.2e18
    return (np.trunc(np.where(ok, adu, 0.0)).astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
