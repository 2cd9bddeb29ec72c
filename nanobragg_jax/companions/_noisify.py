"""`noisify`: the drop-in command line of noisify.c (detector noise on an ideal float image).

    noisify -floatfile spots.bin -psf gauss -psf_fwhm 46 -readout 3 -seed 7 -noisefile noisy.img

Flags, units, defaults, output files and printed lines are noisify.c's (specs/noisify.md): C's
random streams bit for bit (one generator shared by the -seed and -calib_seed streams), its PSF
with the edge spill (NZ-1), its integer conversions.  Inputs that make C crash are refused with one
error line (exit 2); its other accidents are reproduced with a one-line warning.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from nanobragg_jax.args import check_output_path
from nanobragg_jax.companions._cargs import console_exit, run_program
from nanobragg_jax.companions._noisify_args import UNSET, parse_noisify
from nanobragg_jax.constants import R_E_SQR
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import atomic_write_bytes, read_smv, value_of
from nanobragg_jax.io import format_g as g
from nanobragg_jax.noise import CRandom
from nanobragg_jax.response import apply_psf, noiseless_adu, poisson_counts, readout_adu

PROG = "noisify"
BANNER = "noisify - add noise to pixels - James Holton 3-19-16"


def _read_input(s):
    """The last input noisify.c tried to open (NZ-9) as raw bytes."""
    if not s.inputs:
        raise InputError("no input image: give -floatfile FILE (or -floatimage, -bin, or a name "
                         "containing 'floatimage.bin')")
    name = s.inputs[-1]
    try:
        with open(name, "rb") as fh:
            return name, fh.read()
    except OSError as exc:
        raise InputError(f"cannot read the input image '{name}': {exc.strerror}") from None


def _dimensions(s, count, lines, warnings):
    """Image size (L359-433), with the -header values applied after the flags (NZ-10)."""
    W, H, pixel = s.xpixels, s.ypixels, s.pixel
    header = None
    if s.header is not None:
        lines.append("taking header from %s" % s.header)
        try:
            image = read_smv(s.header)
        except InputError as exc:
            raise InputError(f"-header: {exc} (noisify.c reads an uninitialised header size, NZ-8)") from None
        lines.append("reading %s" % s.header)
        with open(s.header, "rb") as fh:
            header = fh.read(image.header_bytes)
        h = image.header
        given = [f for f, v in (("-detpixels", W or H), ("-pixel", "pixel" in s.seen)) if v]
        W, H = image.width, image.height
        count = W * H
        v = value_of(h, "PIXEL_SIZE")
        if not math.isnan(v):
            pixel = v / 1000.0
        s.detsize_x, s.detsize_y = pixel * W, pixel * H
        for key, field in (("DISTANCE", "distance"), ("BEAM_CENTER_X", "Xbeam")):
            v = value_of(h, key)
            if not math.isnan(v):
                setattr(s, field, v / 1000.0)
        v = value_of(h, "BEAM_CENTER_Y")
        if not math.isnan(v):
            s.Ybeam = s.detsize_y - v / 1000.0
        if given:
            warnings.append(f"-header {s.header} overrides {', '.join(given)} (and the beam centre, "
                            "distance), as in noisify.c (NZ-10)")
        if s.bits == 32:
            warnings.append("-bits 32 with -header: the copied header still says its own TYPE (NZ-10)")
    if W == 0 and H == 0:
        if count == 0:
            raise InputError("empty input image and no dimensions (noisify.c divides by zero, NZ-4)")
        lines.append("WARNING: guessing xy pixel dimensions.")
        W = int(math.sqrt(count))
        H = count // W
        while count != W * H and W > 0:
            W -= 1
            H = count // W
        if W != H:
            warnings.append(f"{count} pixels without dimensions are read as {W}x{H} (the largest width "
                            "<= sqrt that divides the count), as noisify.c does (NZ-6)")
    elif W != 0 and H == 0:
        H = count // W
    elif W == 0 and H != 0:
        W = count // H
    if (W == 0 or H == 0) and not pixel > 0.0:
        raise InputError(f"-pixel {pixel * 1000:g}: the image size cannot be computed from -detsize")
    if W != 0:
        s.detsize_x = pixel * W
    else:
        W = math.ceil(s.detsize_x / pixel - 0.5)  # NZ-17
    if H != 0:
        s.detsize_y = pixel * H
    else:
        H = math.ceil(s.detsize_y / pixel - 0.5)
    if W <= 0 or H <= 0:
        raise InputError(f"image size {W}x{H} is empty")
    return W, H, pixel, header


def _smv(s, W, H, pixel, header, u16, u32):
    """The file noisify writes (L520-543): copied or generated header, then 16/32-bit pixels."""
    if header is not None:
        head = header
    else:
        lines = []
        if s.bits in (16, 32):
            lines += ["{", "HEADER_BYTES=512;", "DIM=2;", "BYTE_ORDER=little_endian;",
                      "TYPE=unsigned_short;" if s.bits == 16 else "TYPE=long_integer;"]
        lines += ["SIZE1=%d;" % W, "SIZE2=%d;" % H, "PIXEL_SIZE=%s;" % g(pixel * 1000.0),
                  "DISTANCE=%s;" % g(s.distance * 1000.0), "WAVELENGTH=%s;" % g(s.lambda_text),
                  "BEAM_CENTER_X=%s;" % g(s.Xbeam * 1000.0),
                  "BEAM_CENTER_Y=%s;" % g((s.detsize_y - s.Ybeam) * 1000.0),
                  "PHI=%s;" % g(s.phi0), "OSC_START=%s;" % g(s.phi0), "OSC_RANGE=%s;" % g(s.osc),
                  "DETECTOR_SN=000;", "BEAMLINE=fake;"]
        text = ("\n".join(lines) + "\n}\f").encode("latin-1")
        head = text + b" " * max(0, 512 - len(text))
    if s.bits == 16:
        return head + u16.astype("<u2").tobytes()
    if s.bits == 32:
        return head + u32.astype("<u4").tobytes()
    return head  # NZ-5: no pixels


def main(argv=None) -> int:
    """Run noisify's command line; returns the exit status (0, or 2 for refused input)."""
    from nanobragg_jax.companions._help import noisify_help

    return run_program(PROG, argv, noisify_help, _run)


def noisify_run(s, raw: bytes, name: str, out=print):
    """noisify.c after the argv pass; returns {file name: bytes} of every output, in C's order."""
    lines, warnings = [], list(s.warnings)
    count = len(raw) // 4
    W, H, pixel, header = _dimensions(s, count, lines, warnings)
    P = W * H
    lines.append("importing %d pixel intensites: %s" % (P, name))
    if len(raw) < P:
        raise InputError(f"input image '{name}' has {len(raw)} bytes, {W}x{H} pixels need at least {P} "
                         "(noisify.c: reading input file fails)")
    floats = np.zeros(P, np.float32)
    have = min(len(raw) // 4, P)
    floats[:have] = np.frombuffer(raw[:4 * have], "<f4")
    if have < P:
        warnings.append(f"input image '{name}' holds {have} floats, {W}x{H} needs {P}: the rest are read "
                        "as 0, as noisify.c does (NZ-11)")
    elif len(raw) // 4 > P:
        warnings.append(f"input image '{name}' holds {len(raw) // 4} floats, {W}x{H} uses the first {P}: the "
                        "rest are not read, as noisify.c does (NZ-11)")
    if s.Xbeam <= UNSET:
        s.Xbeam = s.detsize_x / 2
    if s.Ybeam <= UNSET:
        s.Ybeam = s.detsize_y / 2
    if not s.calculate_noise:
        s.calibration = s.flicker = s.readout = 0.0
    psf_on = s.psf is not None and s.psf_fwhm > 0.0
    if psf_on and not pixel > 0.0:
        raise InputError(f"-pixel {pixel * 1000:g} with a PSF: its width in pixels is infinite "
                         "(noisify.c crashes here)")
    w = float(s.psf_fwhm) / pixel if psf_on else 0.0
    lines += _parameter_lines(s, W, H, pixel)
    for line in s.lines + lines:
        out(line)
    lines = []
    for wline in dict.fromkeys(warnings):
        print(f"{PROG}: warning: {wline}", file=sys.stderr)
    if psf_on:
        print(f"{PROG}: warning: the PSF lets light past the right edge land in column 0 of the next "
              "row, as noisify.c does (NZ-1)", file=sys.stderr)

    # --- photon scale (L480-491)
    negative = np.flatnonzero(floats < 0.0)
    for k in negative[:10]:
        out("WARNING: negative intensity in %s: %s" % (name, g(float(floats[k]))))
    if negative.size > 10:
        out(f"WARNING: ... {negative.size - 10} more negative pixels")
    with np.errstate(invalid="ignore"):
        max_I = max(0.0, float(np.max(floats, initial=0.0, where=~np.isnan(floats))))
    k = (s.fluence * R_E_SQR) * s.photon_scale
    # f32(k * I) is I itself when k is exactly 1 (the default fluence and scale)
    photon = floats.copy() if k == 1.0 else (floats.astype(np.float64) * k).astype(np.float32)
    out("maximum value in input file: %s ( %s on photon scale)" % (g(max_I), g(max_I * s.photon_scale * s.fluence * R_E_SQR)))

    files = {}
    if not s.calculate_noise and psf_on:
        out("  applying PSF to noiseless image width = %s pixels" % g(w))
        photon, psf_lines = apply_psf(photon, W, H, s.psf, w, s.psf_radius)
        _psf_report(psf_lines, out)
    u16, u32 = noiseless_adu(photon, s.gain, s.adc)
    files[s.intfile] = _smv(s, W, H, pixel, header, u16, u32)
    if s.bits in (16, 32):
        out("writing %s as %d %d-byte integers" % (s.intfile, P, s.bits // 8))
    if s.write_pgm:
        pgm = np.minimum(u16, 255).astype(np.uint8)
        files[s.pgmfile] = b"P5\n%d %d\n# pixels scaled by 1\n255\n" % (W, H) + pgm.tobytes()
        out("writing %s as %d-byte integers" % (s.pgmfile, 1))
    if not s.calculate_noise:
        return files

    # --- noise (L570-638): one generator, two seeds
    rng = CRandom()
    counts, total, seed, _ = poisson_counts(photon, rng, s.seed, s.calib_seed, flicker=s.flicker,
                                            calibration=s.calibration)
    if psf_on:
        out("%.0f photons on noise image before PSF" % total)
        out("  applying PSF width = %s um" % g(float(s.psf_fwhm) * 1e6))
        counts, psf_lines = apply_psf(counts, W, H, s.psf, w, s.psf_radius)
        _psf_report(psf_lines, out)
    n16, n32, total, overloads, _ = readout_adu(counts, rng, seed, gain=s.gain, adc=s.adc,
                                                readout=s.readout, bits=s.bits)
    out("%.0f photons on noise image (%d overloads)" % (total, overloads))
    files[s.noisefile] = _smv(s, W, H, pixel, header, n16, n32)
    if s.bits in (16, 32):
        out("writing %s as %d-byte integers" % (s.noisefile, s.bits // 8))
    return files


def _psf_report(lines, out):
    for line in lines:
        out(line)
    if "WARNING: no photons, PSF skipped" in lines:
        print(f"{PROG}: warning: no pixel above 0: the automatic PSF returns an all-zero image, as "
              "noisify.c does (NZ-13)", file=sys.stderr)


def _parameter_lines(s, W, H, pixel):
    lines = ["  distance=%s detsize=%sx%s  pixel=%s meters (%dx%d pixels)"
             % (g(s.distance), g(s.detsize_x), g(s.detsize_y), g(pixel), W, H),
             "  Xbeam=%s Ybeam=%s" % (g(s.Xbeam), g(s.Ybeam))]
    if s.psf is not None:
        # C: "  %s PSF fwhm = %g um " then "  with automatic rendering radius\n" and/or
        # "  with rendering radius: %d\n" (both for radius 0, neither for a negative one: NZ-15)
        text = "  %s PSF fwhm = %s um " % ("Gaussian" if s.psf == "gauss" else "fiber", g(float(s.psf_fwhm) * 1e6))
        if s.psf_radius == 0:
            text += "  with automatic rendering radius\n"
        if s.psf_radius >= 0:
            text += "  with rendering radius: %d\n" % s.psf_radius
        lines += text.rstrip("\n").split("\n")
    if s.psf is not None and s.psf_radius < 0:  # the open line runs into the next one
        lines[-1] += "  seed: %d" % s.seed
    else:
        lines.append("  seed: %d" % s.seed)
    lines += ["  calibration noise seed: %d" % s.calib_seed,
              "  calibration_noise = %s %%" % g(s.calibration * 100),
              "  input file scale = %s" % g(s.photon_scale),
              "  readout_noise = %s ADU" % g(s.readout),
              "  flicker_noise = %s %%" % g(s.flicker * 100),
              "  quantum_gain = %s ADU/photon" % g(s.gain),
              "  adc_offset = %s ADU" % g(s.adc), ""]
    return lines


def _run(argv) -> int:
    s = parse_noisify(argv)
    print(BANNER)
    name, raw = _read_input(s)
    files = noisify_run(s, raw, name)
    flags = {s.intfile: "-intfile", s.noisefile: "-noisefile", s.pgmfile: "-pgmfile"}
    for path in files:  # every place checked before the first file is written
        check_output_path(flags.get(path, "output"), path)
    for path, data in files.items():  # all computed first: a refused run writes nothing
        atomic_write_bytes(path, data)
    return 0


def entry_point() -> None:
    """The `noisify` console script."""
    console_exit(main)
