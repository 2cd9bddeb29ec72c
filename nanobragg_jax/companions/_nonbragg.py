"""`nonbragg`: the drop-in command line of nonBragg.c (amorphous scattering from an S(stol) table).

    nonbragg -stol water.stol -lambda 1 -distance 100 -detpixels 1024 -floatfile water.bin ...

Flags, units, defaults, precedence, output files and printed statistics are nonBragg.c's
(specs/nonbragg.md); its accidental behaviours are reproduced with a one-line warning on stderr, and
inputs that make C crash or read garbage are refused with one error line (exit 2).  The image is
rendered by the JAX background kernel (`nanobragg_jax.background`) through one compiled program
kept on disk.
"""

from __future__ import annotations

import math
import sys

from nanobragg_jax.args import check_output_path
from nanobragg_jax.companions._cargs import console_exit, run_program
from nanobragg_jax.companions._jaxsetup import configure_jax, executable_dir
from nanobragg_jax.companions._nonbragg_args import parse_nonbragg
from nanobragg_jax.companions._nonbragg_outputs import extract_bins, nonbragg_statistics, stolout_lines
from nanobragg_jax.companions._nonbragg_setup import (
    BANNER,
    background_arrays,
    nonbragg_setup,
    read_img_header,
)
from nanobragg_jax.io import atomic_write_bytes, write_float_image, write_pgm, write_smv
from nanobragg_jax.io import format_g as g
from nanobragg_jax.noise import CRandom, noise_image, noise_summary_line
from nanobragg_jax.outputs import int_image, last_subpixel_position, non_finite_count, pgm_image

PROG = "nonbragg"


def render_nonbragg(run, *, cache_dir=None):
    """(float32 image, omega_sum, last-evaluation details or None) of a NonBraggRun."""
    from nanobragg_jax.programs import render_background_frame, table_arrays

    s = run.settings
    tables, steps = table_arrays(run.table)
    return render_background_frame({**background_arrays(run), **tables}, run.layout,
                                   increasing=run.table.increasing, fmap=s.fmap,
                                   details=s.img is not None or s.printout, cache_dir=cache_dir,
                                   search_steps=steps)


def main(argv=None, workdir: str = ".") -> int:
    """Run nonBragg's command line; returns the exit status (0, or 2 for refused input)."""
    from nanobragg_jax.companions._help import nonbragg_help

    def body(argv):
        s = parse_nonbragg(argv, read_header=lambda st: read_img_header(st, workdir))
        run = nonbragg_setup(s, workdir, image=s.image)
        configure_jax()
        return _render(run)

    return run_program(PROG, argv, nonbragg_help, body)


def _render(run) -> int:
    s, L = run.settings, run.layout
    if s.img is not None:
        print(f"reading {s.img}")
        print(f"mmap({s.img}) = {hex(id(run.image))}")  # C prints its buffer's address here
    outputs = [("-floatfile", s.floatfile), ("-intfile", s.intfile), ("-pgmfile", s.pgmfile)]
    outputs += [("-noisefile", s.noisefile)] * s.calculate_noise + [("-stolout", s.stolout)] * (s.img is not None)
    for flag, name in outputs:  # all checked before anything is rendered or written
        check_output_path(flag, name)
    print(BANNER)
    print("\n".join(run.summary))
    for w in dict.fromkeys(run.warnings):
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    if s.roi != (-1, -1, -1, -1) and s.img is not None:
        print(f"{PROG}: warning: -img with -roi: pixels outside the ROI overwrite the first table bins "
              "of the -stolout averages, as in nonBragg.c (NB-15)", file=sys.stderr)
    cache = executable_dir()
    img, omega_sum, last = render_nonbragg(run, cache_dir=cache)

    # Everything is computed before the first file is written.
    steps = L.steps
    stol_lines = warn_lines = None
    rendered = _rendered_count(L)
    n_stats = rendered
    if s.img is not None:
        Fimage, bin_of, pixels_in = extract_bins(run.image, L.roi, s.ignore, s.adc, s.gain, last,
                                                 run.table, run.fluence, run.molecules, steps)
        stol_lines, warn_lines, n_stats = stolout_lines(Fimage, bin_of, pixels_in, run.table)
    stats = nonbragg_statistics(img, L.roi, n_stats)
    bad = non_finite_count(img)
    if bad:  # nonBragg.c writes them (NB-5); the drop-in does too, and says so
        print(f"{PROG}: warning: {bad} of {img.size} pixels of the image are NaN or infinite, as nonBragg.c "
              "computes them (NB-5: a table with repeated or unordered abscissae, or comment lines)",
              file=sys.stderr)
    ints, int_scale = int_image(img, L.roi, s.intfile_scale, s.adc, max_I=stats.max_I)
    pgm, pgm_scale = pgm_image(img, L.roi, s.pgm_scale, stats.rmsd, int_scale)
    noise = noise_image(img, L.roi, s.adc, CRandom(), s.seed) if s.calculate_noise else None
    if s.printout:
        _printout(run, img, last)
    elif s.progress:
        for line in progress_lines(L):
            print(line)

    print()
    print("solid angle subtended by detector = %s steradian ( %s%% sphere)"
          % (g(omega_sum), g(100 * omega_sum / 4 / math.pi)))
    if stol_lines is not None:
        print("\n".join(warn_lines))
        atomic_write_bytes(s.stolout, "".join(line + "\n" for line in stol_lines).encode())
        print("wrote %s as %d lines of text" % (s.stolout, len(stol_lines)))
    print("writing %s as %d %d-byte floats" % (s.floatfile, img.size, 4))
    write_float_image(s.floatfile, img)
    mx, my = (last_subpixel_position(stats.max_s, stats.max_f, s.pixel, L.oversample)
              if stats.max_s >= 0 else (0.0, 0.0))
    print("max_I = %s  at %s %s" % (g(stats.max_I), g(mx), g(my)))
    print("mean= %s rms= %s rmsd= %s" % (g(stats.mean), g(stats.rms), g(stats.rmsd)))
    print("intfile_scale = %s" % g(int_scale))
    print("writing %s as %d-byte integers" % (s.intfile, 2))
    write_smv(s.intfile, ints, run.header)
    print("pgm_scale = %s" % g(pgm_scale))
    print("writing %s as %d-byte integers" % (s.pgmfile, 1))
    write_pgm(s.pgmfile, pgm, pgm_scale)  # NB-8: only the defined W*H bytes (C writes 2*W*H)
    if noise is not None:
        image, overloads, photons, _ = noise
        print(noise_summary_line(photons, overloads))
        print("writing %s as %d-byte integers" % (s.noisefile, 2))
        write_smv(s.noisefile, image, run.header)
    return 0


def progress_lines(L) -> list:
    """nonBragg.c's progress meter (specs/nonbragg.md section 9): the '<n>% done' lines its pixel
    loop prints, a function of the pixel counts only.  The image is rendered in one compiled call,
    so they are printed after it, where C's last one stands.

    Arguments:
        L: the run's Layout (its ROI and detector size).
    Returns:
        [str]: the lines, in C's order (none when the ROI holds fewer than 100 pixels).
    """
    xmin, xmax, ymin, ymax = L.roi
    total = (xmax - xmin + 1) * (ymax - ymin + 1)
    if total // 100 <= 0:
        return []
    rendered = _rendered_count(L)
    every_5 = set(range(0, rendered, total // 20))
    every_1 = {p for p in range(0, rendered, total // 100) if 10 * p < total or 10 * p > 9 * total}
    return [f"{p * 100 // total}% done" for p in sorted(every_5 | every_1)]


def _rendered_count(L) -> int:
    xmin, xmax, ymin, ymax = L.roi
    nx = max(0, min(xmax, L.fpixels - 1) - xmin + 1)
    ny = max(0, min(ymax, L.spixels - 1) - ymin + 1)
    return nx * ny


def _printout(run, img, last):
    """-printout / -printout_pixel (L1590-1600): the values of the chosen pixel(s)' last evaluation.
    C prints F= from an uninitialised variable (0) and I = the last source's weight (NB-3)."""
    s = run.settings
    F, polar, omega, stol, _ = last if last is not None else (None,) * 5
    if F is None:
        return
    fsel, ssel = s.printout_pixel
    steps = run.layout.steps
    for sp in range(img.shape[0]):
        for fp in range(img.shape[1]):
            if fsel >= 0 and (fp, sp) != (fsel, ssel):
                continue
            print("%4d %4d : stol = %s" % (fp, sp, g(stol[sp, fp])))
            print(" F=%s    I = %s" % (g(0.0), g(run.weights[-1])))
            print("I/steps %15.10g" % (run.weights[-1] / steps))
            print("polar   %15.10g" % polar[sp, fp])
            print("omega   %15.10g" % omega[sp, fp])
            print("pixel   %15.10g" % img[sp, fp])


def entry_point() -> None:
    """The `nonbragg` console script."""
    console_exit(main)
