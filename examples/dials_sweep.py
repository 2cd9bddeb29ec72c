"""Render a rotation sweep for DIALS: NXmx (one file) or miniCBF (one file per frame), plus the truth.

    python examples/dials_sweep.py --frames 20 --out sweep.nxs --expt truth.expt -- <nanoBragg flags>
    python examples/dials_sweep.py --frames 20 --out frame_###.cbf --expt truth.expt -- <flags>

The flags are those of the first frame; frame k (0-based) is the single `nanobragg` run with
`-phi phi0 + k*osc`, rendered by the command line itself in this process (one compile for the whole
sweep), so every frame equals that run.  Its detector image (the noise image, or the int image with
-nonoise, less the ADC offset) goes to the NXmx writer frame by frame, or to `frame_001.cbf`, ...
The experiment list describes the whole sweep (io.ExperimentModel from setup.experiment_model).

This is the stop-gap until `nanobragg series` renders sweeps in batches (issue 13); it shows the
writer API that command uses:

    model = experiment_model(from_cli(flags), frames=n).with_images("sweep.nxs", single_file=True)
    with NXmxWriter("sweep.nxs", model) as w:
        for counts in frames:
            w.write(counts)
    write_expt("truth.expt", model)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import cli  # noqa: E402  (the `nanobragg` command line, run in this process)
from nanobragg_jax.api import from_cli  # noqa: E402
from nanobragg_jax.io import NXmxWriter, cbf_orientation, image_format, read_smv, write_expt  # noqa: E402
from nanobragg_jax.setup import experiment_model  # noqa: E402


def frame_flags(flags, exp, k):
    """The flags of frame k (0-based): -phi advanced by k times the frame's oscillation range."""
    osc = float(exp.static.phi.range) * 180.0 / np.pi
    return list(flags) + ["-phi", repr(float(exp.params["phi0"]) + k * osc)]


_SEEN = set()


def run_frame(argv, quiet=True):
    """One `nanobragg` run in this process.  Quiet: its stdout is dropped and each warning line is
    shown once for the whole sweep."""
    err = io.StringIO()
    with contextlib.ExitStack() as stack:
        if quiet:
            stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
            stack.enter_context(contextlib.redirect_stderr(err))
        code = cli.main(list(argv) + ["-noprogress"])
    for line in err.getvalue().splitlines():
        if line not in _SEEN or code != 0:
            _SEEN.add(line)
            print(line, file=sys.stderr)
    if code != 0:
        raise SystemExit(f"dials_sweep: nanobragg {' '.join(argv)} failed ({code})")


def render_sweep(flags, frames, out, expt=None, quiet=True):
    """Render the sweep into `out` (and the truth into `expt`); returns the io.ExperimentModel."""
    exp = from_cli(flags, workdir=tempfile.mkdtemp())
    cbf = image_format(out) == "cbf"
    model = experiment_model(exp, frames=frames)
    if cbf:  # the panel as the files store it (a flipped or turned panel is written reoriented)
        model = cbf_orientation(model)[1]
    template = out if "#" in out or not cbf else out.replace(".cbf", "_###.cbf")
    model = model.with_images(template, single_file=not cbf)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        writer = None if cbf else stack.enter_context(NXmxWriter(out, model))
        smv = os.path.join(tmp, "noise.img" if exp.settings.calculate_noise else "int.img")
        for k in range(frames):
            argv = frame_flags(flags, exp, k) + [
                "-floatfile", os.path.join(tmp, "float.bin"), "-intfile", os.path.join(tmp, "int.img"),
                "-noisefile", os.path.join(tmp, "noise.img"), "-nopgm"]
            if cbf:
                hashes = template.count("#")
                argv += ["--out", template.replace("#" * hashes, f"{k + 1:0{hashes}d}")]
            run_frame(argv, quiet)
            if writer is not None:
                writer.write(np.rint(read_smv(smv).data - exp.settings.adc_offset).astype(np.int32))
    if expt:
        write_expt(expt, model)
    return model


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        raise SystemExit(__doc__)
    cut = argv.index("--")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, required=True)
    ap.add_argument("--out", required=True, help="sweep.nxs, or frame_###.cbf")
    ap.add_argument("--expt", default=None, help="the true experiment (DIALS experiment list)")
    ap.add_argument("--verbose", action="store_true", help="show nanobragg's output of every frame")
    opts = ap.parse_args(argv[:cut])
    model = render_sweep(argv[cut + 1:], opts.frames, opts.out, opts.expt, quiet=not opts.verbose)
    truth = f" and the experiment to {opts.expt}" if opts.expt else ""
    scan = (f"; scan {model.scan.oscillation[0]:g} deg + {model.scan.oscillation[1]:g} deg per frame"
            if model.scan else "")
    print(f"wrote {opts.frames} frames to {opts.out}{truth}{scan}")


if __name__ == "__main__":
    main()
