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


# Elements of size (pixels x samples) one chunk may hold; sets the rows per chunk, and the blocks
# of samples when one row holds more.
DEFAULT_SAMPLE_BUDGET = 1 << 21
# Lane-samples whose reverse-mode residuals (~100 values each) one checkpointed block of samples
# may hold: with `checkpoint`, runs of positions, sources and phi/domain steps are cut to this.
GRAD_SAMPLE_BUDGET = 1 << 17
# The kernel's pixel axis is padded to a multiple of this (the widest SIMD vector, in float32
# lanes): XLA's CPU loops vectorise (and run several times faster) only then.
PIXEL_ALIGN = 16
# Elements one pass of the kernel works on before it pays to vectorise over sub-pixels as well as
# pixels (below this, per-pass overhead dominates: a few pixels with many sub-pixels).
LANE_TARGET = 1 << 15
# Pixel-samples per progress step (~0.1 s of CPU work); at most 20 steps, C's 5 % lines.
PROGRESS_STEP_SAMPLES = 1 << 24


def samples_per_pixel(layout: Layout) -> int:
    """Samples summed into one pixel: layers x sub-pixels x sources x phi steps x domains."""
    return (
        layout.thicksteps * layout.oversample**2 * layout.sources * layout.phisteps * layout.mosaic_domains
    )


def positions_per_pixel(layout: Layout) -> int:
    """Detector positions summed into one pixel: layers x sub-pixels (C's thick_tic, subS, subF)."""
    return layout.thicksteps * layout.oversample**2


def default_chunk_rows(layout: Layout, budget: int = DEFAULT_SAMPLE_BUDGET) -> int:
    """Rows per chunk so that one chunk holds about `budget` pixel-samples (at least one row).

    When one row alone holds more (large oversample, many phi steps or domains), the kernel also
    cuts each chunk's samples into blocks (`position_block`), so a chunk is just enough rows to
    fill one SIMD vector of pixels (PIXEL_ALIGN)."""
    per_row = max(1, layout.fpixels * samples_per_pixel(layout))
    if per_row > budget:
        return int(max(1, min(layout.spixels, PIXEL_ALIGN // layout.fpixels)))
    return int(max(1, min(layout.spixels, budget // per_row)))


def padded_pixels(pixels: int) -> int:
    """The kernel's pixel axis for `pixels` pixels: padded to a multiple of PIXEL_ALIGN."""
    return -(-pixels // PIXEL_ALIGN) * PIXEL_ALIGN


def position_block(layout: Layout, rows: int, budget: int = DEFAULT_SAMPLE_BUDGET) -> int:
    """Detector positions (layer, sub-pixel) a chunk of `rows` rows computes at once.

    1: the positions are walked one by one, each pass vectorised over the chunk's pixels (enough
    of them to fill the machine, or a single position per pixel).  B > 1: B consecutive positions
    of every pixel form one (B x pixels) vector, so a few pixels with many sub-pixels still run at
    full width; that block's terms (B x pixels x sources x phi x domains, at most `budget`) are
    kept and added to each pixel in C's order.  Blocks are balanced (ceil(Q / B) blocks of nearly
    equal size), so the last one wastes little.
    """
    Q = positions_per_pixel(layout)
    P = padded_pixels(rows * layout.fpixels)
    if Q == 1 or P >= LANE_TARGET:
        return 1
    per_position = P * layout.sources * layout.phisteps * layout.mosaic_domains
    b = max(1, min(Q, LANE_TARGET // P, budget // per_position))
    return -(-Q // -(-Q // b))


# The cost model behind `render_cost` (bench/bench_memory.py measures it; bench/RESULTS.md).
# Bytes of the CLI's Python + JAX runtime with a loaded program (CPU; 190-200 MB measured).
RUNTIME_BYTES = 200 << 20
# Bytes per image pixel over a whole CLI run: the kernel's rows, the float32 frame, its host copy,
# the statistics, the int (and noise) images (the Pilatus frame: 0.57 GB for 6.2 M pixels).
BYTES_PER_PIXEL = 48
# Live bytes per element of one pass (geometry, scattering vectors, masks, a sample's
# intermediates), and per kept term (the term, its flag and the scan's buffer) when B > 1.
BYTES_PER_LANE = 400
BYTES_PER_TERM = 24
# CPU time per pixel-sample, float64 and float32 (one core of the 2-core EPYC of bench/RESULTS.md:
# 4-12 ns measured; the larger figure, so that long runs are not underestimated).
NS_PER_SAMPLE = {"float64": 12.0, "float32": 8.0}
# The same on an accelerator (GPU), a guess on the fast side (not measured here), so that the
# time limit refuses only what is hopeless there too.
NS_PER_SAMPLE_ACCELERATOR = 0.02


class RenderCost(NamedTuple):
    """What a render will cost, estimated from its layout before anything is compiled.

    samples: pixel-samples the kernel sums (every pixel x `samples_per_pixel`).
    seconds: wall time at `ns_per_sample` per pixel-sample.
    peak_bytes: peak memory of a CLI run (runtime, image and its outputs, one chunk).
    factors: the counts that multiply `samples`, largest first: (name, count) with names
        'pixels', 'oversample' (count = sub-pixels per pixel), 'thicksteps', 'sources',
        'phisteps', 'mosaic_domains'.
    """

    samples: int
    seconds: float
    peak_bytes: int
    factors: tuple


def chunk_bytes(layout: Layout, rows: Optional[int] = None, budget: int = DEFAULT_SAMPLE_BUDGET) -> int:
    """Working memory of one chunk of `rows` rows (default: the automatic chunk), per the cost
    model above: one pass over B x pixels lanes, plus the kept terms when B > 1."""
    rows = default_chunk_rows(layout, budget) if rows is None else rows
    P = padded_pixels(rows * layout.fpixels)
    B = position_block(layout, rows, budget)
    lanes = B * P
    terms = lanes * layout.sources * layout.phisteps * layout.mosaic_domains if B > 1 else 0
    return lanes * BYTES_PER_LANE + terms * BYTES_PER_TERM


def render_cost(layout: Layout, ns_per_sample: Optional[float] = None, cores: int = 1,
                extra_bytes: int = 0) -> RenderCost:
    """Estimate a render's time and peak memory from its layout (see `RenderCost`).

    Arguments:
        ns_per_sample: CPU nanoseconds per pixel-sample (default NS_PER_SAMPLE of the dtype).
        cores: cores the kernel runs on (its loops are split over them).
        extra_bytes: other arrays the run holds (structure-factor table, mask).
    """
    ns = NS_PER_SAMPLE[layout.dtype] if ns_per_sample is None else ns_per_sample
    pixels = layout.spixels * layout.fpixels
    samples = pixels * samples_per_pixel(layout)
    factors = (("pixels", pixels), ("oversample", layout.oversample**2), ("thicksteps", layout.thicksteps),
               ("sources", layout.sources), ("phisteps", layout.phisteps),
               ("mosaic_domains", layout.mosaic_domains))
    peak = RUNTIME_BYTES + pixels * BYTES_PER_PIXEL + chunk_bytes(layout) + extra_bytes
    return RenderCost(samples, samples * ns * 1e-9 / max(1, cores), int(peak),
                      tuple(sorted(factors, key=lambda f: -f[1])))


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
