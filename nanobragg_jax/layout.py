"""The static Layout of a render (shapes, counts, switches) and the row-chunk plan it implies.

Plain Python and NumPy: no JAX and no equinox, so the CLI can plan a render, and find its compiled
program on disk, before anything traceable is imported.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class Layout:
    """Everything static: shapes, counts, switches.  Hashable; changing it recompiles."""

    spixels: int
    fpixels: int
    oversample: int = 1
    thicksteps: int = 1
    phisteps: int = 1
    mosaic_domains: int = 1
    sources: int = 1
    shape: str = "square"  # square | round | gauss | tophat
    interpolate: bool = False
    has_table: bool = False  # hkls > 0 (a table was loaded)
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    point_pixel: bool = False
    curved: bool = False
    nopolar: bool = False
    has_thickness: bool = False  # detector_thick != 0 (else capture fraction = 1)
    use_dmin: bool = False
    water: bool = False  # water_size != 0 (disables the F_latt == 0 skip)
    roi: tuple = (0, -1, 0, -1)  # xmin, xmax, ymin, ymax inclusive (C semantics, resolved)
    has_mask: bool = False
    mode: str = "spec"  # spec | c-parity
    dtype: str = "float64"

    @property
    def steps(self) -> int:
        return self.sources * self.mosaic_domains * self.phisteps * self.oversample * self.oversample


def as_dtype(layout: Layout):
    """The floating type the per-sample loop runs in (and the carry's state is held in)."""
    return np.float64 if layout.dtype == "float64" else np.float32


# Elements of size (pixels x samples) one chunk may hold; sets the rows per chunk.
DEFAULT_SAMPLE_BUDGET = 1 << 21
# Pixel-samples per progress step (~0.1 s of CPU work); at most 20 steps, C's 5 % lines.
PROGRESS_STEP_SAMPLES = 1 << 24


def samples_per_pixel(layout: Layout) -> int:
    return (
        layout.thicksteps * layout.oversample**2 * layout.sources * layout.phisteps * layout.mosaic_domains
    )


def default_chunk_rows(layout: Layout, budget: int = DEFAULT_SAMPLE_BUDGET) -> int:
    per_row = max(1, layout.fpixels * samples_per_pixel(layout))
    return int(max(1, min(layout.spixels, budget // per_row)))


def block_plan(layout: Layout, chunk_rows: Optional[int], blocks: int) -> tuple[int, int, int]:
    """(rows per chunk, chunks per block, blocks) for a render split into `blocks` calls."""
    if chunk_rows is None:
        chunk_rows = default_chunk_rows(layout)
    chunk_rows = int(max(1, min(chunk_rows, layout.spixels)))
    total_chunks = -(-layout.spixels // chunk_rows)
    blocks = int(max(1, min(blocks, total_chunks)))
    per_block = -(-total_chunks // blocks)
    return chunk_rows, per_block, -(-total_chunks // per_block)


def progress_blocks(layout: Layout) -> int:
    """How many blocks a render with a progress meter is split into: one per
    PROGRESS_STEP_SAMPLES of work, 1 to 20.  Each block is a host round trip (~10 ms), so a
    sub-second render gets a line or two rather than twenty."""
    work = layout.spixels * layout.fpixels * samples_per_pixel(layout)
    return max(1, min(20, work // PROGRESS_STEP_SAMPLES))
