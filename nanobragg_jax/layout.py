"""The static Layout of a render (shapes, counts, switches), the row-chunk plan it implies, the
block loop every render shares, and the region of interest.

Plain Python and NumPy: no JAX and no equinox, so the CLI can plan a render, and find its compiled
program on disk, before anything traceable is imported.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

MODES = ("spec", "c-parity")
DTYPES = ("float64", "float32")
SHAPES = ("square", "round", "gauss", "tophat")


@dataclasses.dataclass(frozen=True)
class Layout:
    """Everything static about a render: shapes, counts, switches.  Hashable; changing it
    recompiles.  Checked when built: counts >= 1, a known shape, mode and dtype.

    Attributes:
        spixels, fpixels: image size (slow, fast).
        oversample: sub-pixels per pixel edge.  thicksteps: sensor layers.  phisteps: phi steps.
        mosaic_domains: mosaic domains.  sources: sources (divergence x dispersion or file).
        shape: lattice shape, one of SHAPES.  interpolate: tricubic structure-factor interpolation.
        has_table: a structure-factor table was loaded.  oversample_thick/polar/omega: C's
        per-sub-pixel switches.  point_pixel, curved, nopolar: C's detector switches.
        has_thickness: detector_thick != 0.  use_dmin: a resolution cut is set.  water: -water is
        set (it disables the F_latt == 0 skip).  roi: (xmin, xmax, ymin, ymax) inclusive, C's
        resolved values (`resolve_roi`).  has_mask: a mask is applied.  mode: one of MODES.
        dtype: one of DTYPES, the precision of the per-sample loop.
    """

    spixels: int
    fpixels: int
    oversample: int = 1
    thicksteps: int = 1
    phisteps: int = 1
    mosaic_domains: int = 1
    sources: int = 1
    shape: str = "square"
    interpolate: bool = False
    has_table: bool = False
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    point_pixel: bool = False
    curved: bool = False
    nopolar: bool = False
    has_thickness: bool = False
    use_dmin: bool = False
    water: bool = False
    roi: tuple = (0, -1, 0, -1)
    has_mask: bool = False
    mode: str = "spec"
    dtype: str = "float64"

    def __post_init__(self):
        for name in ("spixels", "fpixels", "oversample", "thicksteps", "phisteps", "mosaic_domains",
                     "sources"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Layout.{name} must be a whole number >= 1, got {value!r}")
        for name, allowed in (("mode", MODES), ("dtype", DTYPES), ("shape", SHAPES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"Layout.{name} must be one of {', '.join(allowed)}, "
                                 f"got {getattr(self, name)!r}")
        if len(self.roi) != 4:
            raise ValueError(f"Layout.roi must be (xmin, xmax, ymin, ymax), got {self.roi!r}")

    @property
    def steps(self) -> int:
        """C's `steps`: the divisor of every pixel (sources x domains x phi x sub-pixels)."""
        return self.sources * self.mosaic_domains * self.phisteps * self.oversample * self.oversample


def as_dtype(layout: Layout):
    """The floating type the per-sample loop runs in (and the carry's state is held in)."""
    return np.float64 if layout.dtype == "float64" else np.float32


# Elements of size (pixels x samples) one chunk may hold; sets the rows per chunk.
DEFAULT_SAMPLE_BUDGET = 1 << 21
# Pixel-samples per progress step (~0.1 s of CPU work); at most 20 steps, C's 5 % lines.
PROGRESS_STEP_SAMPLES = 1 << 24


def samples_per_pixel(layout: Layout) -> int:
    """Samples summed into one pixel: layers x sub-pixels x sources x phi steps x domains."""
    return (
        layout.thicksteps * layout.oversample**2 * layout.sources * layout.phisteps * layout.mosaic_domains
    )


def default_chunk_rows(layout: Layout, budget: int = DEFAULT_SAMPLE_BUDGET) -> int:
    """Rows per chunk so that one chunk holds about `budget` pixel-samples (at least one row)."""
    per_row = max(1, layout.fpixels * samples_per_pixel(layout))
    return int(max(1, min(layout.spixels, budget // per_row)))


class BlockPlan(NamedTuple):
    """How a render is cut: `blocks` calls of `chunks_per_block` chunks of `chunk_rows` rows."""

    chunk_rows: int
    chunks_per_block: int
    blocks: int

    @property
    def rows_per_block(self) -> int:
        return self.chunk_rows * self.chunks_per_block


def block_plan(layout: Layout, chunk_rows: Optional[int], blocks: int) -> BlockPlan:
    """The plan of a render split into (at most) `blocks` calls; chunk_rows None = automatic."""
    if chunk_rows is None:
        chunk_rows = default_chunk_rows(layout)
    chunk_rows = int(max(1, min(chunk_rows, layout.spixels)))
    total_chunks = -(-layout.spixels // chunk_rows)
    blocks = int(max(1, min(blocks, total_chunks)))
    per_block = -(-total_chunks // blocks)
    return BlockPlan(chunk_rows, per_block, -(-total_chunks // per_block))


def progress_blocks(layout: Layout) -> int:
    """How many blocks a render with a progress meter is split into: one per
    PROGRESS_STEP_SAMPLES of work, 1 to 20.  Each block is a host round trip (~10 ms), so a
    sub-second render gets a line or two rather than twenty."""
    work = layout.spixels * layout.fpixels * samples_per_pixel(layout)
    return max(1, min(20, work // PROGRESS_STEP_SAMPLES))


def run_blocks(step: Callable[[Any, int], tuple], carry, plan: BlockPlan,
               progress: Optional[Callable[[int, int], None]] = None, *, spixels: Optional[int] = None):
    """The block loop every render shares: `carry, out = step(carry, row0)` per block, in row order.

    progress(rows done, spixels) is called after each block (spixels defaults to the plan's rows).
    Returns (final carry, [out of each block]).
    """
    total = plan.blocks * plan.rows_per_block if spixels is None else spixels
    outs = []
    for b in range(plan.blocks):
        row0 = b * plan.rows_per_block
        carry, out = step(carry, row0)
        outs.append(out)
        if progress is not None:
            progress(min(row0 + plan.rows_per_block, total), total)
    return carry, outs


def resolve_roi(xmin: int, xmax: int, ymin: int, ymax: int, fpixels: int, spixels: int) -> tuple:
    """C's region of interest (O2, nanoBragg.c L1166-1169): a negative entry takes its default,
    0 for a minimum and fpixels/spixels (one past the last pixel, as C) for a maximum."""
    return (xmin if xmin >= 0 else 0, xmax if xmax >= 0 else fpixels,
            ymin if ymin >= 0 else 0, ymax if ymax >= 0 else spixels)


def roi_slices(roi, shape) -> Optional[tuple]:
    """(rows, cols) slices of the pixels C's loop visits for an inclusive `roi` (xmin, xmax, ymin,
    ymax; a resolved Layout.roi) on an image of `shape` (slow, fast), or None when none is."""
    xmin, xmax, ymin, ymax = (int(v) for v in roi)
    x0, x1 = max(xmin, 0), min(xmax, shape[1] - 1) + 1
    y0, y1 = max(ymin, 0), min(ymax, shape[0] - 1) + 1
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)
