"""Render the README's picture: run the `nanobragg` CLI, log-scale its float image, write docs/pattern.png.

    python tools/make_readme_image.py [--out docs/pattern.png]

The pattern is the README's first set-up command (same flags, no noise so the picture does not depend
on the clock seed).  The PNG is written with a few lines of zlib (8-bit greyscale, one IDAT chunk), so
the script needs nothing beyond the package's own dependencies.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
HKL = ROOT / "tests" / "data" / "golden" / "inputs" / "P1_wide.hkl"
# Keep in step with the README's first command.
PATTERN_ARGS = ("-hkl {hkl} -cell 60 60 60 90 90 90 -misset 10 20 30 -N 5 -gauss_xtal -lambda 1 -distance 100 "
                "-detpixels 256 -pixel 0.2 -mosaic 0.3 -mosaic_dom 10 -osc 1 -phisteps 5 -oversample 2")


def render_float_image(workdir: pathlib.Path) -> np.ndarray:
    """Run the CLI in `workdir` and return its float image, (slow, fast)."""
    exe = shutil.which("nanobragg")
    cmd = [exe] if exe else [sys.executable, str(ROOT / "cli.py")]
    args = PATTERN_ARGS.format(hkl=HKL).split()
    args += ["-nonoise", "-nopgm", "-noprogress", "-floatfile", "pattern.bin", "-intfile", "pattern.img"]
    subprocess.run(cmd + args, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    data = np.fromfile(workdir / "pattern.bin", dtype="<f4")
    side = int(round(data.size ** 0.5))
    return data.reshape(side, side).astype(np.float64)


def log_grey(image: np.ndarray) -> np.ndarray:
    """Dark spots on white: grey = 255 * (1 - log1p(I/I0) / log1p(Imax/I0)), I0 a low percentile.

    A log stretch shows the weak high-resolution spots next to the strong low-order ones; I0 sets
    where the stretch starts (the faint end of the spots)."""
    positive = image[image > 0]
    if positive.size == 0:
        return np.full(image.shape, 255, np.uint8)
    i0 = max(float(np.percentile(positive, 90)), 1e-30)
    level = np.log1p(np.clip(image, 0, None) / i0) / np.log1p(positive.max() / i0)
    return np.round(255 * (1 - np.clip(level, 0, 1))).astype(np.uint8)


def png_bytes(grey: np.ndarray) -> bytes:
    """A minimal PNG: signature, IHDR (8-bit greyscale), one zlib IDAT (filter byte 0 per row), IEND."""
    height, width = grey.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + grey[r].tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "pattern.png"))
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        image = render_float_image(pathlib.Path(tmp))
    data = png_bytes(log_grey(image))
    pathlib.Path(ns.out).write_bytes(data)
    print(f"wrote {ns.out}: {image.shape[1]}x{image.shape[0]} pixels, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
