"""Render the README's realistic picture (spots + water ring + detector noise, one `nanobragg` run)
and write docs/realistic.png.

    python tools/make_realistic_image.py [--out docs/realistic.png]

The command is the README's (keep the two in step): the README pattern's crystal, a 100 nm beam
through a 14 nm water film (`--stol water.stol --bg-thick 0.000014`), and noisify's detector
response (Poisson counting, 3 % calibration error, a Gaussian PSF of 250 um FWHM, 3 ADU read noise) on the sum.
The noise image is drawn on a grey scale, dark = more counts.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_readme_image import png_bytes  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
INPUTS = ROOT / "tests" / "data" / "golden" / "inputs"
# Keep in step with the README's realistic-image command.
REALISTIC_ARGS = ("-hkl {inputs}/P1_wide.hkl -cell 60 60 60 90 90 90 -misset 10 20 30 -N 10 -gauss_xtal "
                  "-lambda 1 -distance 70 -detpixels 256 -pixel 0.2 -mosaic 0.3 -mosaic_dom 10 -osc 1 "
                  "-phisteps 5 -oversample 2 -fluence 3e27 -beamsize 0.0001 "
                  "--stol {inputs}/water.stol --bg-thick 0.000014 --psf gauss --psf-fwhm 250 --readout 3 -seed 1")


def render_noise_image(workdir: pathlib.Path) -> np.ndarray:
    """Run the CLI in `workdir`; return its noise image (slow, fast) in ADU."""
    exe = shutil.which("nanobragg")
    cmd = [exe] if exe else [sys.executable, str(ROOT / "cli.py")]
    args = REALISTIC_ARGS.format(inputs=INPUTS).split()
    args += ["-nopgm", "-noprogress", "-floatfile", "real.bin", "-intfile", "real_int.img",
             "-noisefile", "real.img"]
    subprocess.run(cmd + args, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    raw = (workdir / "real.img").read_bytes()
    pixels = np.frombuffer(raw[512:], dtype="<u2")
    side = int(round(pixels.size ** 0.5))
    return pixels.reshape(side, side).astype(np.float64)


def grey(adu: np.ndarray) -> np.ndarray:
    """Dark = bright pixel: linear from the 1st percentile (white) to 3x the ring's level above it
    (black), so the ring and its noise show and the spots saturate."""
    lo = float(np.percentile(adu, 1))
    hi = lo + 3.0 * (float(np.percentile(adu, 99)) - lo)
    level = np.clip((adu - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    return np.round(255 * (1 - level)).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "realistic.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        image = render_noise_image(pathlib.Path(tmp))
    pathlib.Path(args.out).write_bytes(png_bytes(grey(image)))
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]}, ADU {image.min():g}..{image.max():g})")


if __name__ == "__main__":
    main()
