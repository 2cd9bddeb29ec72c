"""The random numbers of nanoBragg.c, reproduced bit for bit on the host.

The C program draws every random number from ONE Numerical-Recipes "ran1" generator (a shuffled
Park-Miller LCG) whose shuffle table is a static shared by its three seed variables (misset, mosaic,
noise).  Its Gaussian and Poisson deviates keep statics of their own.  `CRandom` owns all of that
state; the seed (`idum`) is passed in and handed back, as C passes `long *idum`.

Every deviate is written once, as plain functions of (state arrays, idum) made only of `math`
calls, integer arithmetic and explicit float32 roundings (`_f32`).  The same source runs as pure
Python (small cases, tests, no numba) and, compiled by numba when it is installed, as the fast noise
loop of `noise.py`.  Python's `math` calls the platform libm (glibc), as the C program does.

Float32 rule: wherever C stores into a `float` (or does float*float / float+float), the value is
rounded with `_f32`; everything else is double.  Products and sums of two float32 values computed in
double and rounded once equal the float32 operation (double has > 2*24+2 bits), so this is exact.
See specs/random-numbers.md for the full account.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import math

import numpy as np

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
def _f32(x):
    """Round a double to float32 and back: what storing into a C `float` does."""
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
    temp = _f32(AM * st[_IY])  # double product stored in a float
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
    return _f32(-tmp + math.log(2.5066282746310005 * ser / x))


@_jitable
def _gaussdev(st, fs, idum):
    """Polar Box-Muller with C's static spare -> (float32 deviate, new idum)."""
    if st[_ISET] == 0:
        while True:
            r, idum = _ran1(st, idum)
            v1 = _f32(2.0 * r - 1.0)
            r, idum = _ran1(st, idum)
            v2 = _f32(2.0 * r - 1.0)
            rsq = _f32(_f32(v1 * v1) + _f32(v2 * v2))  # float arithmetic in C
            if not (rsq >= 1.0 or rsq == 0.0):
                break
        fac = _f32(math.sqrt(-2.0 * math.log(rsq) / rsq))
        fs[_GSET] = _f32(v1 * fac)
        st[_ISET] = 1
        return _f32(v2 * fac), idum
    st[_ISET] = 0
    return fs[_GSET], idum


@_jitable
def _poidev(st, fs, xm, idum):
    """NR poidev for a float32 mean -> (float32 deviate, new idum).  C L3616-3668."""
    xm = _f32(xm)
    if xm > 1.0e6:
        # C quirk: Gaussian approximation above 1e6 photons, not rounded to an integer
        gd, idum = _gaussdev(st, fs, idum)
        return _f32(xm + math.sqrt(xm) * gd), idum
    if xm < 12.0:
        # direct method; the statics oldm/g form a cache that never changes the result
        if xm != fs[_OLDM]:
            fs[_OLDM] = xm
            fs[_G] = _f32(_exp(-xm))
        g = fs[_G]
        em = -1.0
        t = 1.0
        while True:  # at least one draw, even for xm = 0
            em += 1.0
            r, idum = _ran1(st, idum)
            t = _f32(t * r)
            if not (t > g):
                break
        return em, idum
    # rejection method with a Lorentzian comparison function
    if xm != fs[_OLDM]:
        fs[_OLDM] = xm
        fs[_SQ] = _f32(math.sqrt(2.0 * xm))
        fs[_ALXM] = _f32(math.log(xm))
        fs[_G] = _f32(_f32(xm * fs[_ALXM]) - _gammln(_f32(xm + 1.0)))
    sq = fs[_SQ]
    alxm = fs[_ALXM]
    g = fs[_G]
    while True:
        while True:
            r, idum = _ran1(st, idum)
            y = _f32(math.tan(math.pi * r))
            em = _f32(_f32(sq * y) + xm)
            if not (em < 0.0):
                break
        em = float(np.floor(em))
        expo = _f32(_f32(_f32(em * alxm) - _gammln(_f32(em + 1.0))) - g)
        t = _f32(0.9 * (1.0 + _f32(y * y)) * _exp(expo))
        r, idum = _ran1(st, idum)
        if not (r > t):
            break
    return em, idum


_OVERLOAD = 65535.0


@_jitable
def _to_ushort(test):
    # C quirk: (unsigned short) of a double is done by x86 as a truncating conversion to a 32-bit
    # int keeping the low 16 bits: -10 -> 65526, NaN or out-of-range -> 0 (undefined in C itself).
    if not (abs(test) < 2147483648.0):
        return 0
    return int(test) & 0xFFFF


def _noise_raster(img, xmin, xmax, ymin, ymax, adc, st, fs, idum, out):
    """C's noise loop (L3233-3256) over the inclusive ROI, raster order: poidev, sum, +adc, clamp
    at 65535 (counted), truncate.  Writes `out`; returns (overloads, photon sum, new idum).

    It lives here, not in noise.py, because numba's on-disk cache is invalidated only by changes
    to the file that holds the compiled function: keeping it with the deviates it inlines means an
    edit to any of them recompiles it."""
    total = 0.0
    overloads = 0
    for s in range(ymin, ymax + 1):
        for f in range(xmin, xmax + 1):
            test, idum = _poidev(st, fs, img[s, f], idum)
            total += test
            test += adc
            if test > _OVERLOAD:
                test = _OVERLOAD
                overloads += 1
            out[s, f] = _to_ushort(test)  # truncation, not rounding (unlike the int image)
    return overloads, total, idum


_compiled_noise_raster = None


def compiled_noise_raster():
    """`_noise_raster` compiled by numba (nopython, cached on disk); None without numba."""
    global _compiled_noise_raster
    if _compiled_noise_raster is None and HAVE_NUMBA:
        import numba
        from numba.extending import register_jitable

        for func in _JITABLE:
            register_jitable(func)
        _compiled_noise_raster = numba.njit(cache=True, nogil=True)(_noise_raster)
    return _compiled_noise_raster


def _load_powf():
    """glibc's powf through ctypes (C computes the mosaic angle with powf)."""
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        powf = libm.powf
        powf.argtypes = [ctypes.c_float, ctypes.c_float]
        powf.restype = ctypes.c_float
        return powf
    except (OSError, AttributeError):  # pragma: no cover - non-glibc platforms
        return None


_POWF = _load_powf()


def powf(x: float, y: float) -> float:
    """float32 power as C's powf; without a loadable libm, the double pow rounded to float32
    (equal except in rare last-bit cases)."""
    if _POWF is not None:
        return float(_POWF(x, y))
    return _f32(math.pow(_f32(x), _f32(y)))  # pragma: no cover


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

    def mosaic_rotation_umat(self, mosaicity: float, idum: int) -> tuple[np.ndarray, int]:
        """Random rotation (3, 3), row-major, about a uniform random axis.  C L3439-3488.

        `mosaicity` is in radians and passes through a C `float` parameter."""
        mosaicity = _f32(mosaicity)
        r, idum = self.ran1(idum)
        r1 = 2.0 * r - 1.0
        r, idum = self.ran1(idum)
        r2 = 2.0 * r - 1.0
        r, idum = self.ran1(idum)
        r3 = 2.0 * r - 1.0
        xyrad = math.sqrt(1.0 - r2 * r2)
        # C quirk: the angle is computed in float (float mosaicity times powf), then widened
        rot = _f32(mosaicity * powf(_f32(1.0 - r3 * r3), _f32(1.0 / 3.0)))
        v1 = xyrad * math.sin(math.pi * r1)
        v2 = xyrad * math.cos(math.pi * r1)
        v3 = r2
        c = math.cos(rot)
        t = 1.0 - c
        s = math.sin(rot)
        tv1 = t * v1
        tv2v3 = t * v2 * v3
        umat = np.array(
            [
                [c + t * (v1 * v1), tv1 * v2 - s * v3, tv1 * v3 + s * v2],
                [tv1 * v2 + s * v3, c + t * (v2 * v2), tv2v3 - s * v1],
                [tv1 * v3 - s * v2, tv2v3 + s * v1, c + t * (v3 * v3)],
            ],
            dtype=np.float64,
        )
        return umat, idum


def _normalise_rows(u, norms):
    for i in range(3):
        if norms[i] > 0:
            u[i] = [u[i][0] / norms[i], u[i][1] / norms[i], u[i][2] / norms[i]]


def _row_norms(u):
    return [math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) for r in u]


def _unit_cross(p, q):
    x = [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]]
    m = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
    if m > 0:
        x = [x[0] / m, x[1] / m, x[2] / m]
    return x


def umat2misset(U: np.ndarray) -> tuple[float, float, float]:
    """Misset angles (rx, ry, rz) in radians of a rotation matrix, as C's umat2misset (L3491-3610):
    rows normalised, zero rows replaced by cross products (done twice), rows normalised again."""
    u = [[float(U[i][j]) for j in range(3)] for i in range(3)]
    mx, my, mz = _row_norms(u)
    _normalise_rows(u, (mx, my, mz))
    # a single surviving row: complete it with unit axes (C's special cases)
    if mx >= 0 and my <= 0 and mz <= 0:
        u[1], u[2] = [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]
    if mx <= 0 and my >= 0 and mz <= 0:
        u[0], u[2] = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    if mx <= 0 and my <= 0 and mz >= 0:
        u[0], u[1] = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    for _ in range(2):  # C repeats the cross-product repair verbatim
        xcy = _unit_cross(u[0], u[1])
        ycz = _unit_cross(u[1], u[2])
        zcx = _unit_cross(u[2], u[0])
        if mx <= 0:
            u[0] = ycz
        if my <= 0:
            u[1] = zcx
        if mz <= 0:
            u[2] = xcy
    _normalise_rows(u, _row_norms(u))
    if u[2][0] * u[2][0] < 1.0:
        rotx = math.atan2(u[2][1], u[2][2])
        roty = math.atan2(-u[2][0], math.sqrt(u[2][1] * u[2][1] + u[2][2] * u[2][2]))
        rotz = math.atan2(u[1][0], u[0][0])
    else:  # gimbal lock
        rotx = math.atan2(1.0, 1.0) * 4
        roty = math.atan2(1.0, 1.0) * 2
        rotz = math.atan2(u[0][1], -u[1][1])
    return rotx, roty, rotz


def random_misset(rng: CRandom, misset_seed: int) -> tuple[tuple[float, float, float], int]:
    """`-misset random` (C L1899-1912): 3 draws on the shared table, then umat2misset.
    Returns the angles (rad) and the new misset seed."""
    # C quirk: the cap is passed as 90.0, which mosaic_rotation_umat reads as 90 RADIANS
    umat, misset_seed = rng.mosaic_rotation_umat(90.0, misset_seed)
    return umat2misset(umat), misset_seed


def mosaic_umats(rng: CRandom, spread_rad: float, domains: int, mosaic_seed: int) -> tuple[np.ndarray, int]:
    """The (D, 3, 3) mosaic domain rotations (C L2436-2449) and the new mosaic seed."""
    domains = int(domains)
    umats = np.empty((max(domains, 0), 3, 3), dtype=np.float64)
    for m in range(domains):
        # C quirk: every domain is drawn (3 ran1 calls), even with zero spread ...
        umats[m], mosaic_seed = rng.mosaic_rotation_umat(spread_rad, mosaic_seed)
    if domains > 0:
        umats[0] = np.eye(3)  # ... and domain 0 is then forced to the identity
    return umats, mosaic_seed
