"""Python API: experiments from nanoBragg command lines, named parameters, differentiable images.

    exp = from_cli("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -detpixels 64")
    p   = params(exp)          # dict of named float arrays in the command line's units
    img = simulate(exp, p)     # (slow, fast) float image, what -floatfile writes

`simulate` is a pure JAX function of `p`: wrap it in jax.jit, jax.grad, jax.jvp or jax.vmap.  `p`
may hold only some of the names; the others keep the experiment's values.  Static choices (image
size, oversample, phi steps, mosaic domains, sources, mode, dtype) are fixed by `from_cli`; a new
parameter value never recompiles.  docs/api.md lists every name, its unit and when it matters.
"""

from __future__ import annotations

import contextlib
import shlex
import warnings
from typing import Mapping, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from nanobragg_jax.args import parse_args
from nanobragg_jax.errors import InputError
from nanobragg_jax.layout import DTYPES, MODES
from nanobragg_jax.render import render, render_panels
from nanobragg_jax.setup import (
    Experiment,
    build_experiment,
    build_model,
    build_panel_models,
    full_params,
)

# name -> (unit, meaning); the keys `Experiment.params` holds (Fhkl only when a table is loaded).
PARAMETERS = {
    "cell": ("A, A, A, deg, deg, deg", "unit cell a, b, c, alpha, beta, gamma"),
    "misset": ("deg", "crystal misset rotations about x, then y, then z"),
    "distance": ("mm", "sample to detector distance along the beam"),
    "close_distance": ("mm", "sample to detector plane (used only when -close_distance was given)"),
    "beam_center": ("mm", "Xbeam, Ybeam (beam pivot; convention units)"),
    "close_center": ("mm", "Xclose, Yclose (sample pivot)"),
    "lambda": ("A", "central wavelength"),
    "N": ("cells", "Na, Nb, Nc, continuous"),
    "fluence": ("photons/m^2", "incident fluence"),
    "detector_rot": ("deg", "detector rotations about x, y, z"),
    "twotheta": ("deg", "detector swing about the two-theta axis"),
    "phi0": ("deg", "spindle angle of the first phi step"),
    "phistep": ("deg", "spindle increment per phi step"),
    "mosaic_spread": ("deg", "mosaic spread (needs -mosaic_domains > 1 and a non-zero spread)"),
    "divergence": ("mrad", "horizontal, vertical divergence ranges (needs divergence steps)"),
    "dispersion": ("fraction", "spectral dispersion range (needs -dispsteps > 1)"),
    "default_F": ("electrons", "structure factor of reflections missing from the table"),
    "Fhkl": ("electrons", "structure-factor table (C layout), present when -hkl or a dump is read"),
    # Multi-panel experiments (--geom, setup.with_panels) have these instead of distance,
    # close_distance, beam_center, close_center, detector_rot and twotheta:
    "panel_shift": ("mm", "(P, 3) lab-frame translation of each panel (0 = the geometry as read)"),
    "panel_rotation": ("deg", "(P, 3) rotations of each panel about lab x, then y, then z, about "
                              "the panel's centre (0 = the geometry as read)"),
}

Params = Mapping[str, jax.Array]


def from_cli(args: Union[str, Sequence[str]], workdir: str = ".", *, mode: Optional[str] = None,
             dtype: Optional[str] = None) -> Experiment:
    """An Experiment built exactly as the command line would build it (flags, files, auto-rules,
    seeds), without writing any file.

    Arguments:
        args: nanoBragg flags, one string (split like a shell) or a list of tokens.  `--mode` and
            `--dtype` in args are honoured; the keyword arguments override them.
        workdir: folder the file names in args are read relative to.
        mode: "spec" or "c-parity".  dtype: "float64" or "float32" (the kernel's precision).
    Returns:
        the Experiment (`nanobragg_jax.setup.Experiment`).
    Raises:
        InputError: bad flags, values or files, or an unknown mode or dtype.

    float64 needs JAX's x64 mode (`jax.config.update("jax_enable_x64", True)` before any JAX
    work); without it JAX computes in float32, and this function warns once.  Every warning the
    command line prints (an unknown flag ignored as nanoBragg.c ignores it, a value assumed, a C
    quirk reproduced) comes as a `UserWarning`; `--strict` in args turns unknown flags into errors.
    """
    argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    settings = parse_args(argv, workdir=workdir)
    for name, value, allowed in (("mode", mode, MODES), ("dtype", dtype, DTYPES)):
        if value is not None:
            if value not in allowed:
                raise InputError(f"{name}={value!r}: choose {' or '.join(allowed)}")
            setattr(settings, name, value)
    if settings.dtype == "float64" and not jax.config.jax_enable_x64:
        _warn_x64_off()
    exp = build_experiment(settings, workdir=workdir)
    for line in exp.warnings:  # what the command line prints on stderr (unknown flags, C's quirks)
        warnings.warn(line, UserWarning, stacklevel=2)
    return exp


def _warn_x64_off() -> None:
    global _X64_WARNED
    if not _X64_WARNED:
        _X64_WARNED = True
        warnings.warn("float64 was asked for but JAX's x64 mode is off, so JAX computes in float32: "
                      "call jax.config.update('jax_enable_x64', True) first (or use dtype='float32')",
                      stacklevel=3)


_X64_WARNED = False


def params(exp: Experiment) -> dict:
    """The experiment's continuous parameters as a dict of JAX arrays (command-line units; the
    names and units of PARAMETERS).

    Arguments:
        exp: the experiment (`from_cli`).
    Returns:
        Dict name -> JAX array holding the experiment's value, in the units PARAMETERS gives (mm, deg,
        Angstrom, mrad, photons/m^2, ...); e.g. "cell" has shape (6,), "misset" (3,), "N" (3,).
    """
    return {k: jnp.asarray(v) for k, v in exp.params.items()}


def simulate(exp, p: Optional[Params] = None, *, chunk_rows: Optional[int] = None,
             checkpoint: bool = True):
    """The float image (slow, fast) for parameters p; differentiable w.r.t. every entry of p.

    What `-floatfile` writes: nanoBragg.c's pixel loop (L2643-3071), each pixel
    r_e^2 * fluence * I / steps * capture * polarization * solid angle (specs/c-behaviours.md A6).

    `checkpoint` (default on) recomputes each chunk of rows in the backward pass, so reverse-mode
    memory stays flat in the image size; it changes nothing in forward mode.  On 2 CPU cores it
    also compiled and ran jax.grad faster (bench/bench_grad_memory.py).

    Arguments:
        exp: a single-panel experiment (`from_cli`).
        p: some or all of the experiment's parameters (names and units of PARAMETERS); the others
            keep the experiment's values.  None: the experiment's own.
        chunk_rows: pixel rows per chunk of the kernel's scan (memory knob; None = automatic).
        checkpoint: recompute each chunk in the backward pass (see above).
    Returns:
        (spixels, fpixels) image, photons per pixel, in the experiment's dtype (float32 when x64 is
        off).
    Raises:
        ValueError: the experiment has panels (use `simulate_panels`).
        KeyError: a name in p that is not one of the experiment's parameters.
    """
    if exp.panels is not None:
        raise ValueError(f"this experiment has {len(exp.panels)} panels: use simulate_panels")
    if exp.layout.dtype == "float64" and not jax.config.jax_enable_x64:
        _warn_x64_off()
    with _quiet_dtype_warnings(exp):
        return render(build_model(exp, p), chunk_rows=chunk_rows, checkpoint=checkpoint)


@contextlib.contextmanager
def _quiet_dtype_warnings(exp):
    """float64 asked for with x64 off: our one warning (`_warn_x64_off`) stands for the one JAX
    gives for every array the set-up and kernel ask to be float64 (they hold float32 instead)."""
    if exp.layout.dtype != "float64" or jax.config.jax_enable_x64:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Explicitly requested dtype float64", category=UserWarning)
        yield


def simulate_panels(exp, p: Optional[Params] = None, *, chunk_rows: Optional[int] = None,
                    checkpoint: bool = True) -> list:
    """The float image of every panel of a multi-panel experiment, for parameters p.

    Panels of one size are rendered by one kernel over a stacked panel axis
    (`render.render_panels`), each as its own nanoBragg run; differentiable with respect to every
    entry of p, panel_shift and panel_rotation included; jit, grad, jvp and vmap work on it.

    Arguments:
        exp: an experiment with panels (`from_cli("... --geom FILE.geom")`, or
            `setup.with_panels` / `setup.single_panel_experiment`).
        p: some or all of the experiment's parameters (names and units of PARAMETERS).
        chunk_rows, checkpoint: as `simulate`.
    Returns:
        list of P arrays (spixels_k, fpixels_k), photons per pixel, in panel order.
    Raises:
        ValueError: the experiment has no panels.  KeyError: an unknown parameter name.
    """
    images: list = [None] * (0 if exp.panels is None else len(exp.panels))
    for indices, model in build_panel_models(exp, p):
        stack = render_panels(model, chunk_rows=chunk_rows, checkpoint=checkpoint)
        for j, k in enumerate(indices):
            images[k] = stack[j]
    return images


def jit_simulate(exp, *, chunk_rows: Optional[int] = None, checkpoint: bool = True):
    """A jitted `p -> image` for repeated calls (compiled once per experiment layout).

    Arguments:
        exp: a single-panel experiment (`from_cli`).
        chunk_rows, checkpoint: as `simulate`.
    Returns:
        The jitted function `p -> (spixels, fpixels) image` (p and the image as for `simulate`).
    """
    return jax.jit(lambda p: simulate(exp, p, chunk_rows=chunk_rows, checkpoint=checkpoint))


def simulate_batch(exp, batch: Params, p: Optional[Params] = None, *, chunk_rows: Optional[int] = None,
                   checkpoint: bool = True):
    """Images (K, slow, fast) for K values of the names in `batch` (leading axis K), one vmapped
    call; names not in `batch` come from p or the experiment.  E.g. batch={"misset": (K, 3)}.

    Arguments:
        exp: a single-panel experiment (`from_cli`).
        batch: name -> array whose leading axis K holds the K values (each value in the name's
            PARAMETERS unit and shape, e.g. (K, 3) for "misset" in degrees).
        p: fixed parameters for every image, or None; no name may be in both `batch` and `p`.
        chunk_rows, checkpoint: as `simulate`.
    Returns:
        (K, spixels, fpixels) images, photons per pixel.
    Raises:
        ValueError: a name both batched and fixed, batched arrays of different leading sizes, or an
            experiment with panels.
        KeyError: a name that is not one of the experiment's parameters.
    """
    if p is not None and set(batch) & set(p):
        raise ValueError(f"names both batched and fixed: {sorted(set(batch) & set(p))}")
    fixed = dict(p or {})
    sizes = {int(jnp.shape(v)[0]) for v in batch.values()}
    if len(sizes) != 1:
        raise ValueError(f"batched parameters need one leading size, got {sorted(sizes)}")

    def one(b):
        return simulate(exp, {**fixed, **b}, chunk_rows=chunk_rows, checkpoint=checkpoint)

    return jax.vmap(one)({k: jnp.asarray(v) for k, v in batch.items()})


def jit_simulate_batch(exp, *, chunk_rows: Optional[int] = None, checkpoint: bool = True):
    """A jitted `(batch, p) -> images (K, slow, fast)`; one compile per layout and batch shape.

    Arguments:
        exp: a single-panel experiment (`from_cli`).
        chunk_rows, checkpoint: as `simulate`.
    Returns:
        The jitted function `(batch, p=None) -> (K, spixels, fpixels)` (arguments as `simulate_batch`).
    """
    return jax.jit(lambda batch, p=None: simulate_batch(exp, batch, p, chunk_rows=chunk_rows,
                                                         checkpoint=checkpoint))


def derivative_image(exp, p: Optional[Params], tangent: Params, *, chunk_rows: Optional[int] = None
                     ) -> Tuple[jax.Array, jax.Array]:
    """(image, d image) along `tangent` (forward mode, one pass): the per-pixel derivative of the
    image in the direction of the given parameter changes, e.g. tangent={"distance": 1.0} gives
    d image / d distance per mm.  Names missing from `tangent` do not move.

    Arguments:
        exp: a single-panel experiment (`from_cli`).
        p: the point to differentiate at (some or all parameters), or None for the experiment's own.
        tangent: name -> the change of that parameter, in its PARAMETERS unit; a scalar is broadcast
            to the parameter's shape (e.g. {"misset": 1.0} moves all three angles by 1 degree).
        chunk_rows: as `simulate`.
    Returns:
        (image, derivative), both (spixels, fpixels): photons per pixel, and photons per pixel per unit
        step along `tangent`.
    Raises:
        KeyError: a name in p or `tangent` that is not one of the experiment's parameters.
    """
    base = {k: jnp.asarray(v) for k, v in full_params(exp, p).items()}
    names = list(tangent)
    unknown = sorted(set(names) - set(base))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown} in the tangent; this experiment has {sorted(base)}")
    primals = {k: base[k] for k in names}
    tangents = {k: jnp.broadcast_to(jnp.asarray(tangent[k], base[k].dtype), jnp.shape(base[k]))
                for k in names}

    def f(moving):
        return simulate(exp, {**base, **moving}, chunk_rows=chunk_rows)

    return jax.jvp(f, (primals,), (tangents,))


def flatten(p: Params, names: Sequence[str]):
    """The entries `names` of p as one flat vector, and a function mapping such a vector back to a dict
    (for optimisers and jax.hessian over a chosen subset).

    Arguments:
        p: parameters (e.g. `params(exp)`).
        names: the names to take, in the order they are concatenated.
    Returns:
        (vec, unflatten): vec is the 1-D concatenation of the raveled entries (their promoted dtype,
        float64 under x64); unflatten(v) returns {name: array of the entry's shape} for such a vector.
    Raises:
        KeyError: a name not in p.
    """
    missing = [k for k in names if k not in p]
    if missing:
        raise KeyError(f"{missing} not in the parameters; they have {sorted(p)}")
    shapes = [jnp.shape(p[k]) for k in names]
    sizes = [int(np.prod(s)) for s in shapes]
    vec = jnp.concatenate([jnp.ravel(jnp.asarray(p[k])) for k in names])

    def unflatten(v):
        out, i = {}, 0
        for k, shape, n in zip(names, shapes, sizes):
            out[k] = jnp.reshape(v[i:i + n], shape)
            i += n
        return out

    return vec, unflatten


# ------------------------------------------------------------------------------------------------
# Realistic images: nonBragg's amorphous background and noisify's detector response (issue 12)

#: name -> (unit, meaning) of the background sample (`background(..., sample=...)`).
BACKGROUND_PARAMETERS = {
    "thickness": ("mm", "sample thickness along the beam (default 0.1)"),
    "width": ("mm", "sample width, clipped to -beamsize (default 0.1)"),
    "height": ("mm", "sample height, clipped to -beamsize (default 0.1)"),
    "density": ("g/cm^3", "sample density (default 1)"),
    "molecular_weight": ("g/mol", "molecular weight (default 18, water)"),
}
_SAMPLE_DEFAULTS = {"thickness": 0.1, "width": 0.1, "height": 0.1, "density": 1.0,
                    "molecular_weight": 18.0}


def stol_profile(path, unit: str = "stol"):
    """An S(stol) table file as the background's `StolTable` (nonBragg's reader and guards).

    Arguments:
        path: the table file: columns stol and F (the structure factor per molecule), as
            nonBragg's -stol, -4stol and -Q read it.
        unit: what the first column holds: "stol" (sin(theta)/lambda in 1/A), "4stol"
            (4 sin(theta)/lambda) or "Q" (4 pi sin(theta)/lambda).
    Returns:
        The `StolTable`.
    Raises:
        InputError: an unknown unit, or a missing or empty file, or one without any F.
    """
    from nanobragg_jax.background import STOL_UNITS, stol_table
    from nanobragg_jax.io import read_stol_file

    if unit not in STOL_UNITS:
        raise InputError(f"unit={unit!r}: choose one of {', '.join(STOL_UNITS)}")
    rows, _ = read_stol_file(path, "-" + unit)
    return stol_table(rows, STOL_UNITS[unit], str(path))


def background(exp, table, p: Optional[Params] = None, sample: Optional[Params] = None, *,
               chunk_rows: Optional[int] = None):
    """The amorphous background (nonBragg.c's physics) on the experiment's detector: photons per
    pixel, (slow, fast), to add to `simulate(exp, p)`.

    Differentiable with respect to every entry of `p` (the experiment's geometry, wavelength,
    fluence, divergence, ...) and of `sample` (BACKGROUND_PARAMETERS: thickness, width, height,
    density, molecular weight), through jax.grad, jvp and vmap.

    Arguments:
        exp: the experiment (`from_cli`); its detector, sources, oversampling, ROI, mask and
            polarization are the spots'.
        table: a `StolTable` (`stol_profile(path)`), strictly increasing in stol.
        p: experiment parameters (names of PARAMETERS), partial; None = the experiment's.
        sample: sample parameters (names of BACKGROUND_PARAMETERS, command-line units), partial.
    Returns:
        (spixels, fpixels) image, float64 under x64.
    Raises:
        ValueError: an unordered table (nonBragg's result then depends on the pixel order; use the
            `nonbragg` command, or sort the table), or an unknown sample name.
    """
    from nanobragg_jax.background import render_background
    from nanobragg_jax.constants import AVOGADRO
    from nanobragg_jax.programs import background_model, table_arrays

    if not table.increasing:
        raise ValueError("background(): the table is not strictly increasing in stol; sort it (the "
                         "nonbragg command reproduces C's order-dependent fit instead)")
    unknown = set(sample or ()) - set(BACKGROUND_PARAMETERS)
    if unknown:
        raise ValueError(f"unknown sample parameter(s) {sorted(unknown)}; known: {sorted(BACKGROUND_PARAMETERS)}")
    smp = {k: jnp.asarray(v, dtype=float) for k, v in {**_SAMPLE_DEFAULTS, **(sample or {})}.items()}
    model = build_model(exp, p)
    s, st, L = exp.settings, exp.static, exp.layout
    width, height = smp["width"] / 1000.0, smp["height"] / 1000.0
    if s.beamsize >= 0:  # nonBragg clips the sample to the beam
        width = jnp.minimum(width, s.beamsize)
        height = jnp.minimum(height, s.beamsize)
    volume = smp["thickness"] / 1000.0 * width * height
    molecules = volume * (smp["density"] * 1e6) * AVOGADRO / smp["molecular_weight"]
    det, beam = model.detector, model.beam
    weights = st.sources.file_I if st.sources.file_I is not None else np.ones(st.sources.count)
    from nanobragg_jax.layout import Layout

    layout = Layout(spixels=L.spixels, fpixels=L.fpixels, oversample=L.oversample, sources=L.sources,
                    point_pixel=L.point_pixel, curved=L.curved, nopolar=L.nopolar, roi=L.roi,
                    has_mask=L.has_mask, dtype=L.dtype)
    arrays = {"pix0": det.pix0, "fdet": det.fdet, "sdet": det.sdet, "odet": det.odet,
              "pixel_size": det.pixel_size, "close_distance": det.close_distance,
              "distance": det.distance, "beam": det.beam, "incident": beam.incident,
              "wavelength": beam.wavelength, "weights": jnp.asarray(weights), "polar_vector": beam.polar_vector,
              "kahn": beam.kahn, "fluence": beam.fluence, "molecules": molecules}
    tables, steps = table_arrays(table)
    bg_model = background_model({**arrays, **tables}, layout, mask=det.mask, search_steps=steps)
    image, _ = render_background(bg_model, chunk_rows=chunk_rows)
    return image


def detector_response(image, *, psf: Optional[str] = None, fwhm_um=46.0, pixel_mm=None,
                      radius: Optional[int] = None, gain=1.0, offset=0.0, exp=None):
    """What a detector reads out, without noise: the image blurred by its point-spread function,
    times the gain, plus the ADC offset (noisify's continuous part), differentiable.

    Arguments:
        image: (..., slow, fast) photons per pixel (e.g. simulate + background).
        psf: "gauss", "fiber" or None (no blur).
        fwhm_um: PSF full width at half maximum in micrometres (noisify's -psf_fwhm, default 46).
        pixel_mm: pixel size in mm (default: the experiment's, or 0.1).
        radius: kernel radius in pixels (default: 2 FWHM for the Gaussian, where it has fallen to
            1.5e-5 of its peak; 10 FWHM for the fiber's long tails; at least 1).
        gain: ADU per photon.  offset: ADU added (noisify's -adc).
        exp: an experiment to take the pixel size from.
    Returns:
        (..., slow, fast) ADU as floats.  The PSF is a plain convolution (zero outside the image,
        no lost-light add-back and no edge spill; `noisify` reproduces C's version of both).
    Raises:
        ValueError: a psf other than "gauss", "fiber" or None; no `radius` while the FWHM or pixel
            size is traced (the kernel size must be static).
    The source of the kernel: noisify.c's apply_psf pixel integrals (specs/noisify.md 6).
    """
    from nanobragg_jax.response import psf_convolve, psf_kernel_jax

    image = jnp.asarray(image)
    if psf is not None:
        if pixel_mm is None:
            pixel_mm = exp.settings.pixel_size * 1000.0 if exp is not None else 0.1
        w = jnp.asarray(fwhm_um, image.dtype) / 1000.0 / pixel_mm  # FWHM in pixels
        if radius is None:
            try:
                wf = float(fwhm_um) / 1000.0 / float(pixel_mm)
            except TypeError:  # a traced FWHM (jax.grad over it): the kernel size must be static
                raise ValueError("detector_response: pass radius= when the FWHM is traced") from None
            radius = max(1, int(np.ceil((2.0 if psf == "gauss" else 10.0) * wf)))
        image = psf_convolve(image, psf_kernel_jax(psf, w, radius))
    return image * gain + offset


def detector_noise(image, *, seed: int, calibration: float = 0.03, calib_seed: Optional[int] = None,
                   flicker: float = 0.0, psf: Optional[str] = None, fwhm_um: float = 46.0,
                   pixel_mm: Optional[float] = None, radius: int = 0, readout: float = 0.0,
                   gain: float = 1.0, adc: float = 40.0, bits: int = 16, exp=None):
    """The noise draw: noisify.c's noisy image of `image` (photons), C's random streams bit for bit.

    Host-side (NumPy/numba): not differentiable; for gradients use `detector_response`.  Steps as
    noisify.c takes them (specs/noisify.md): Poisson counts with flicker and calibration error,
    then the PSF on the counts, then gain, offset and read noise, clamped to the pixel type.  The
    arguments follow noisify's flags.

    Arguments:
        image: (slow, fast) mean photons per pixel (rounded to float32, as noisify reads it).
        seed: the noise seed N of `-seed N` (stored negated, as noisify.c does).
        calibration: per-pixel calibration error, fraction rms (default 0.03); <= 0: off.
        calib_seed: `-calib_seed N`; None = noisify's built-in seed.
        flicker: source flicker, fraction rms; <= 0: off.
        psf: "gauss", "fiber" or None (no PSF): the C PSF with its edge quirks, applied to the counts.
        fwhm_um: PSF full width at half maximum in micrometres (-psf_fwhm).
        pixel_mm: pixel size in mm (converts the FWHM to pixels; default: the experiment's, or 0.1).
        radius: kernel radius in pixels (-psf_radius; 0: automatic).
        readout: read noise, ADU rms; <= 0: off.
        gain: ADU per photon.
        adc: ADU offset added to every pixel (-adc).
        bits: 16 or 32, the pixel type (and its overload clamp).
        exp: an experiment to take the pixel size from (as `detector_response`).
    Returns:
        (slow, fast) uint16 ADU when bits is 16, else uint32, as the noise image noisify writes.
    Raises:
        InputError: an automatic PSF radius noisify cannot compute (NZ-14).
    """
    from nanobragg_jax.noise import CRandom, f32
    from nanobragg_jax.response import apply_psf, poisson_counts, readout_adu

    if pixel_mm is None:
        pixel_mm = exp.settings.pixel_size * 1000.0 if exp is not None else 0.1
    img = np.asarray(image, np.float32)
    shape = img.shape
    rng = CRandom()
    cseed = 123456789 if calib_seed is None else -int(calib_seed)
    counts, _, s, _ = poisson_counts(img.reshape(-1), rng, -int(seed), cseed, flicker=flicker,
                                     calibration=calibration)
    if psf is not None:
        counts, _ = apply_psf(counts, shape[1], shape[0], psf, f32(fwhm_um / 1e6) / (pixel_mm / 1000.0),
                              radius)
    u16, u32, _, _, _ = readout_adu(counts, rng, s, gain=gain, adc=adc, readout=readout, bits=bits)
    return (u16 if bits == 16 else u32).reshape(shape)
