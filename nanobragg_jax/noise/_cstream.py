"""The random numbers of nanoBragg.c, reproduced bit for bit on the host.

The C program draws every random number from ONE Numerical-Recipes "ran1" generator (a shuffled
Park-Miller LCG) whose shuffle table is a static shared by its three seed variables (misset, mosaic,
noise).  Its Gaussian and Poisson deviates keep statics of their own.  `CRandom` owns all of that
state; the seed (`idum`) is passed in and handed back, as C passes `long *idum`.

Every deviate is written once, as plain functions of (state arrays, idum) made only of `math`
calls, integer arithmetic and explicit float32 roundings (`f32`).  The same source runs as pure
Python (small cases, tests, no numba) and, compiled by numba when it is installed, as the fast noise
loop of `noise.py`.  Python's `math` calls the platform libm (glibc), as the C program does.

Float32 rule: wherever C stores into a `float` (or does float*float / float+float), the value is
rounded with `f32`; everything else is double.  Products and sums of two float32 values computed in
double and rounded once equal the float32 operation (double has > 2*24+2 bits), so this is exact.
See specs/random-numbers.md for the full account.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from nanobragg_jax.constants import SMV_OVERLOAD

# numba is optional: without it the same functions run as plain Python.  It is imported only when
# the compiled noise loop is first needed (importing it costs ~0.15 s on every CLI start).
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
_JITABLE = []


def _jitable(func):
    """Mark a deviate for inlining into the compiled noise loop (registered with numba lazily)."""
    _JITABLE.append(func)
    return func


# ran1 constants (Numerical Recipes, Park-Miller minimal standard with Schrage's trick)
IA = 16807
IM = 2147483647
IQ = 127773
IR = 2836
NTAB = 32
NDIV = 1 + (IM - 1) // NTAB
AM = 1.0 / IM  # double, as C's #define
RNMX = 1.0 - 1.2e-7  # double; returned through a float return type
RNMX_F32 = float(np.float32(RNMX))

# Lanczos coefficients of NR's gammln (double)
GAMMLN_COF = (
    76.18009172947146,
    -86.50532032941677,
    24.01409824083091,
    -1.231739572450155,
    0.1208650973866179e-2,
    -0.5395239384953e-5,
)

# layout of the integer state array: [0] = iy, [1:33] = iv[32], [33] = gaussdev's iset
_IY, _IV0, _ISET = 0, 1, 1 + NTAB
_NI = 2 + NTAB
# layout of the float state array (float32 values held in float64): gaussdev's gset, poidev's
# oldm, g, sq, alxm
_GSET, _OLDM, _G, _SQ, _ALXM = 0, 1, 2, 3, 4
_NF = 5

# largest argument for which exp() is finite in double; above it C gets inf (Python would raise)
_EXP_MAX = 709.0


@_jitable
def f32(x):
    """Round a double to float32 and back: what storing into a C `float` does.

    Arguments:
        x: a real number (Python float or numpy scalar).
    Returns:
        np.float64 holding the nearest float32 value (round to nearest even; inf past float32's
        range).
    """
    # np.float64, not float(): numba types float(float32) as float32 and would then call the
    # single-precision libm functions (logf, ...) where C calls the double ones.
    return np.float64(np.float32(x))


@_jitable
def _exp(x):
    # Python's math.exp raises on overflow where C returns inf.  Every exp in these routines is
    # rounded to float32 (or multiplied by >= 0.9 first), and exp(x) for x > 88.8 is already
    # beyond float32, so returning inf above 709 gives the same float32 result as C.
    if x > _EXP_MAX:
        return math.inf
    return math.exp(x)


@_jitable
def _lcg(idum):
    """One Park-Miller step, 16807*idum mod (2^31-1), via Schrage (idum > 0)."""
    k = idum // IQ
    idum = IA * (idum - k * IQ) - IR * k
    if idum < 0:
        idum += IM
    return idum


@_jitable
def _ran1(st, idum):
    """NR ran1 on the shared table `st` -> (float32 deviate in (0, 1), new idum)."""
    # C quirk: the table is re-filled whenever idum <= 0 (every stored C seed is negated, so the
    # first use of each seed re-seeds the SHARED table) or when it was never filled; a positive
    # idum continues with whatever table the previous stream left.
    if idum <= 0 or st[_IY] == 0:
        idum = 1 if -idum < 1 else -idum  # seeds 0 and -1 both give 1
        for j in range(NTAB + 7, -1, -1):
            idum = _lcg(idum)
            if j < NTAB:
                st[_IV0 + j] = idum
        st[_IY] = st[_IV0]
    idum = _lcg(idum)
    j = st[_IY] // NDIV
    st[_IY] = st[_IV0 + j]
    st[_IV0 + j] = idum
    temp = f32(AM * st[_IY])  # double product stored in a float
    if temp > RNMX:
        return RNMX_F32, idum
    return temp, idum


@_jitable
def _gammln(xx):
    """ln Gamma(xx) for float32 xx: double Lanczos sum, result rounded to float32."""
    x = xx
    y = xx
    tmp = x + 5.5
    tmp -= (x + 0.5) * math.log(tmp)
    ser = 1.000000000190015
    for c in GAMMLN_COF:
        y += 1.0
        ser += c / y
    return f32(-tmp + math.log(2.5066282746310005 * ser / x))


@_jitable
def _gaussdev(st, fs, idum):
    """Polar Box-Muller with C's static spare -> (float32 deviate, new idum)."""
    if st[_ISET] == 0:
        while True:
            r, idum = _ran1(st, idum)
            v1 = f32(2.0 * r - 1.0)
            r, idum = _ran1(st, idum)
            v2 = f32(2.0 * r - 1.0)
            rsq = f32(f32(v1 * v1) + f32(v2 * v2))  # float arithmetic in C
            if not (rsq >= 1.0 or rsq == 0.0):
                break
        fac = f32(math.sqrt(-2.0 * math.log(rsq) / rsq))
        fs[_GSET] = f32(v1 * fac)
        st[_ISET] = 1
        return f32(v2 * fac), idum
    st[_ISET] = 0
    return fs[_GSET], idum


def gammln_cache(max_mean: float) -> np.ndarray:
    """A cache for `_poidev_cached`: ln Gamma(k + 1) of the integers k the rejection method
    can draw for means up to max_mean (NaN = not computed yet), at most 4M entries (32 MB).

    Arguments:
        max_mean: the largest mean (photons) the loop will see; below 12 the direct method is used
            and no cache is needed.
    Returns:
        (n,) float64 array filled with NaN, n = min(4e6, 1.5*max_mean + 200), or n = 0 when
        max_mean < 12 (or NaN).
    """
    size = int(min(4_000_000, max(0.0, float(max_mean)) * 1.5 + 200)) if max_mean >= 12.0 else 0
    return np.full(size, np.nan)


@_jitable
def _poidev(st, fs, xm, idum):
    """NR poidev for a float32 mean -> (float32 deviate, new idum).  C L3616-3668."""
    return _poidev_cached(st, fs, xm, idum, None)


@_jitable
def _poidev_cached(st, fs, xm, idum, gcache):
    """`_poidev` with a cache of ln Gamma(em + 1) for the integer candidates em of the rejection
    method (`gammln_cache`, filled as it goes; None: no cache, numba prunes the branch).  gammln is a pure function of its float32 argument,
    so a cached value is the value C computes: the same bits, about a third less work per trial."""
    xm = f32(xm)
    if xm > 1.0e6:
        # C quirk: Gaussian approximation above 1e6 photons, not rounded to an integer
        gd, idum = _gaussdev(st, fs, idum)
        return f32(xm + math.sqrt(xm) * gd), idum
    if xm < 12.0:
        # direct method; the statics oldm/g form a cache that never changes the result
        if xm != fs[_OLDM]:
            fs[_OLDM] = xm
            fs[_G] = f32(_exp(-xm))
        g = fs[_G]
        em = -1.0
        t = 1.0
        while True:  # at least one draw, even for xm = 0
            em += 1.0
            r, idum = _ran1(st, idum)
            t = f32(t * r)
            if not (t > g):
                break
        return em, idum
    # rejection method with a Lorentzian comparison function
    if xm != fs[_OLDM]:
        fs[_OLDM] = xm
        fs[_SQ] = f32(math.sqrt(2.0 * xm))
        fs[_ALXM] = f32(math.log(xm))
        fs[_G] = f32(f32(xm * fs[_ALXM]) - _gammln(f32(xm + 1.0)))
    sq = fs[_SQ]
    alxm = fs[_ALXM]
    g = fs[_G]
    while True:
        while True:
            r, idum = _ran1(st, idum)
            y = f32(math.tan(math.pi * r))
            em = f32(f32(sq * y) + xm)
            if not (em < 0.0):
                break
        em = float(np.floor(em))
        lg = math.nan
        if gcache is not None:
            if em == em and em < gcache.shape[0]:
                lg = gcache[int(em)]
                if lg != lg:
                    lg = _gammln(f32(em + 1.0))
                    gcache[int(em)] = lg
        if lg != lg:
            lg = _gammln(f32(em + 1.0))
        expo = f32(f32(f32(em * alxm) - lg) - g)
        t = f32(0.9 * (1.0 + f32(y * y)) * _exp(expo))
        r, idum = _ran1(st, idum)
        if not (r > t):
            break
    return em, idum


OVERLOAD = SMV_OVERLOAD


@_jitable
def _to_ushort(test):
    # C quirk: (unsigned short) of a double is done by x86 as a truncating conversion to a 32-bit
    # int keeping the low 16 bits: -10 -> 65526, NaN or out-of-range -> 0 (undefined in C itself).
    if not (abs(test) < 2147483648.0):
        return 0
    return int(test) & 0xFFFF


def noise_raster(img, xmin, xmax, ymin, ymax, adc, st, fs, idum, out, gcache=None):
    """C's noise loop (L3233-3256) over the inclusive ROI, raster order: poidev, sum, +adc, clamp
    at 65535 (counted), truncate.  Writes `out`; returns (overloads, photon sum, new idum).

    It lives here, not in noise.py, because numba's on-disk cache is invalidated only by changes
    to the file that holds the compiled function: keeping it with the deviates it inlines means an
    edit to any of them recompiles it."""
    total = 0.0
    overloads = 0
    for s in range(ymin, ymax + 1):
        for f in range(xmin, xmax + 1):
            test, idum = _poidev_cached(st, fs, img[s, f], idum, gcache)
            total += test
            test += adc
            if test > OVERLOAD:
                test = OVERLOAD
                overloads += 1
            out[s, f] = _to_ushort(test)  # truncation, not rounding (unlike the int image)
    return overloads, total, idum


# noisify.c's two loops (the detector response; specs/noisify.md 7).  They live here, with the
# deviates they inline, so that numba's on-disk cache (keyed on this file) is invalidated by any
# edit of the deviates.  One C generator state is shared by two seeds (C quirk NZ-2): S (-seed) for
# flicker, Poisson and read noise, C (-calib_seed) for the calibration error.

def noisify_counts(photon, out, flicker, calibration, st, fs, seed, calib_seed, gcache):
    """noisify.c L570-590: photon counts of every pixel in raster order; returns (sum, seed, calib_seed).

    The deviates are C's gaussdev and poidev (R6) on one shared generator state (NZ-2).

    Arguments:
        photon: (P,) float32 mean photons per pixel, raster order.
        out: (P,) float32 array the counts are written to (in place).
        flicker, calibration: fractional rms of the flicker and calibration errors (<= 0: off, no
            draws).
        st, fs: the shared generator's integer and float state arrays (`CRandom.istate`,
            `CRandom.fstate`), updated in place.
        seed: C's stored main seed (for flicker and Poisson draws).
        calib_seed: C's stored calibration seed.
        gcache: ln Gamma cache from `gammln_cache` (filled in place) or None.
    Returns:
        (sum of the counts as a double accumulated in raster order, new seed, new calib_seed).
    """
    total = 0.0
    for i in range(photon.shape[0]):
        p = np.float64(photon[i])
        if flicker > 0.0:
            gv, seed = _gaussdev(st, fs, seed)
            p = p * (1.0 + flicker * gv)
        if calibration > 0.0:
            gv, calib_seed = _gaussdev(st, fs, calib_seed)
            p = p * (1.0 + calibration * gv)
        v, seed = _poidev_cached(st, fs, f32(p), seed, gcache)
        out[i] = v
        total += np.float64(out[i])
    return total, seed, calib_seed


def noisify_adu(photon, gain, adc, readout, bits, st, fs, seed, u16, u32, noiseless):
    """noisify.c L607-638: ADU with read noise, C's clamps and integer conversions; returns
    (photon sum, overloads, seed).  noiseless: the noiseless image's order instead (L507-519: both
    clamps before the 32-bit conversion, no read noise).

    Arguments:
        photon: (P,) float32 photons per pixel, raster order.
        gain: ADU per photon.
        adc: ADC offset, ADU.
        readout: read noise, ADU rms (<= 0: off, no draws).
        bits: 16 or 32: which clamp (65535 or 2147483647) counts as an overload.
        st, fs: the shared generator state arrays (see `noisify_counts`), updated in place.
        seed: C's stored main seed.
        u16: (P,) uint16 output, written in place (via a 32-bit int: negative values wrap, NZ-12).
        u32: (P,) uint32 output, written in place (NaN gives 0, NZ-12; capped at 65535 only when
            noiseless, NZ-16).
        noiseless: bool, see above.
    Returns:
        (photon sum as a double, overload count, new seed).
    """
    total = 0.0
    overloads = 0
    for i in range(photon.shape[0]):
        v = np.float64(photon[i])
        total += v
        adu = v * gain + adc
        if readout > 0.0:
            gv, seed = _gaussdev(st, fs, seed)
            adu = adu + readout * gv
        if adu > 2147483647.0:
            adu = 2147483647.0
            if bits == 32:
                overloads += 1
        if noiseless and adu > 65535.0:
            adu = 65535.0
        u32[i] = _to_u32(adu)
        if adu > 65535.0:
            adu = 65535.0
            if bits == 16:
                overloads += 1
        u16[i] = _to_ushort(adu)  # C quirk NZ-12: through a 32-bit int (-1 -> 65535)
    return total, overloads, seed


@_jitable
def _to_u32(adu):
    # C quirk NZ-12: (unsigned int) of a double on x86-64 gcc is a truncation to a 64-bit integer
    # keeping the low 32 bits (-1.5 -> 4294967295); NaN (and out-of-range) give 0.
    if not (abs(adu) < 9.2e18):
        return 0
    return np.int64(adu) & 0xFFFFFFFF



_COMPILED = {}
_REGISTERED = False


def _jit(func):
    global _REGISTERED
    if not HAVE_NUMBA:
        return None
    import numba

    if not _REGISTERED:
        from numba.extending import register_jitable

        for f in _JITABLE:
            register_jitable(f)
        _REGISTERED = True
    return numba.njit(cache=True, nogil=True)(func)


def compiled_stream_loop(name: str):
    """One of this module's loops ("noise_raster", "noisify_counts", "noisify_adu") compiled by
    numba (nopython, cached on disk); None without numba.

    Arguments:
        name: "noise_raster", "noisify_counts" or "noisify_adu".
    Returns:
        the numba-compiled function (same arguments as the Python one; compiled once per process
        and kept), or None when numba is not installed.
    Raises:
        KeyError: an unknown name (not yet compiled or cached).
    """
    if name not in _COMPILED:
        _COMPILED[name] = _jit({"noise_raster": noise_raster, "noisify_counts": noisify_counts,
                                "noisify_adu": noisify_adu}[name])
    return _COMPILED[name]


def compiled_noise_raster():
    """`noise_raster` compiled by numba (nopython, cached on disk); None without numba."""
    return compiled_stream_loop("noise_raster")


class CRandom:
    """The single shared ran1 shuffle table of nanoBragg.c (static iy, iv[32]) plus the statics of
    gaussdev (iset, gset) and poidev (oldm, g, sq, alxm).  All three seeds share it.

    Seeds are C's stored values (already negated: `-seed 1234` is stored as -1234).  Each method
    takes the current idum and returns the new one alongside the result."""

    def __init__(self):
        self.istate = np.zeros(_NI, dtype=np.int64)  # iy, iv[32], iset
        self.fstate = np.zeros(_NF, dtype=np.float64)  # gset, oldm, g, sq, alxm
        self.fstate[_OLDM] = -1.0  # C: static float oldm = -1.0

    def copy(self) -> "CRandom":
        other = CRandom()
        other.istate[:] = self.istate
        other.fstate[:] = self.fstate
        return other

    def ran1(self, idum: int) -> tuple[float, int]:
        value, idum = _ran1(self.istate, int(idum))
        return float(value), int(idum)

    def gaussdev(self, idum: int) -> tuple[float, int]:
        with np.errstate(over="ignore", invalid="ignore"):
            value, idum = _gaussdev(self.istate, self.fstate, int(idum))
        return float(value), int(idum)

    def poidev(self, xm: float, idum: int) -> tuple[float, int]:
        with np.errstate(over="ignore", invalid="ignore"):
            value, idum = _poidev(self.istate, self.fstate, float(xm), int(idum))
        return float(value), int(idum)
