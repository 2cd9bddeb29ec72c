"""A realistic image through the Python API: spots + a water ring + detector response, as a PNG.

    python examples/realistic_image.py [--out docs/api_realistic.png]

simulate() gives the Bragg spots, background() nonBragg's water scattering on the same detector,
detector_response() the PSF blur, gain and ADC offset (differentiable), and detector_noise() the
noisy integer image noisify would write (C's random streams).  The picture shows the noisy image.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import nanobragg_jax as nbj  # noqa: E402
from nanobragg_jax import api  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
INPUTS = ROOT / "tests" / "data" / "golden" / "inputs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "api_realistic.png"))
    out = parser.parse_args().out

    exp = nbj.from_cli(f"-hkl {INPUTS}/P1_wide.hkl -cell 60 60 60 90 90 90 -misset 10 20 30 -N 10 "
                       "-gauss_xtal -lambda 1 -distance 70 -detpixels 128 -pixel 0.4 -mosaic 0.3 "
                       "-mosaic_dom 10 -oversample 2 -fluence 3e27 -beamsize 0.0001")
    spots = nbj.simulate(exp)                                            # photons/pixel
    water = api.background(exp, api.stol_profile(INPUTS / "water.stol"),
                           sample={"thickness": 0.000014})                # a 14 nm water film
    photons = spots + water
    adu = api.detector_response(photons, psf="gauss", fwhm_um=400, exp=exp, gain=1.0, offset=40.0)
    noisy = api.detector_noise(photons, seed=1, psf="gauss", fwhm_um=400, pixel_mm=0.4, readout=3.0)
    print(f"spots max {float(spots.max()):.0f}, water ring {float(water.max()):.0f} photons/pixel; "
          f"noiseless ADU max {float(adu.max()):.0f}, noisy ADU max {int(noisy.max())}")

    sys.path.insert(0, str(ROOT / "tools"))
    from make_readme_image import png_bytes
    from make_realistic_image import grey

    pathlib.Path(out).write_bytes(png_bytes(grey(noisy.astype(np.float64))))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
