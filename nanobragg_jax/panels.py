"""The multi-panel detector model: flat panels, each with its own origin, axes, pixel size and
pixel counts, in the lab frame, SI units (specs/panels.md).

    panel = make_panel("p0", origin, fast, slow, pixel_size, fpixels, spixels)
    panels = PanelSet((panel, ...))
    for indices, (spixels, fpixels) in panels.groups(): ...   # panels of one size share a layout

A panel's `origin` is the outer corner of its pixel (0, 0), nanoBragg's pix0 and dxtbx's panel
origin: pixel (s, f) is centred at origin + (f + 1/2) p fast + (s + 1/2) p slow (nanoBragg.c
L2694-2705).  The readers (CrystFEL geometry, DIALS experiment lists) and the flags
(`setup.panels_from_flags`) all fill this one structure.  Plain NumPy, no JAX: readers and the
host set-up use it; `setup` turns it into the kernel's stacked Detector pytrees.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator, Optional, Sequence

import numpy as np

from nanobragg_jax.errors import InputError

# How far from unit length and orthogonal the axes of `make_panel` may be (relative).
AXIS_TOLERANCE = 1e-4


def _vector(name: str, v) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise InputError(f"panel {name} must be three finite numbers, got {v!r}")
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class Panel:
    """One flat panel in the lab frame.

    Attributes:
        name: the panel's name (from the file, or "panel<k>").
        origin: (3,) m, outer corner of pixel (0, 0) (nanoBragg's pix0, dxtbx's origin).
        fast, slow: (3,) unit vectors along increasing fast and slow pixel index.
        normal: (3,) unit normal (nanoBragg's odet): the sensor's depth direction and the axis of
            the solid angle's obliquity; it points away from the sample.
        pixel_size: m (square pixels).
        fpixels, spixels: pixel counts along fast and slow.
        mask: (spixels, fpixels) bool, True = render; None = every pixel.
        adu_per_photon, adu_per_eV: the detector gain as the file gives it (one of them or None);
            kept for writers, not applied to the images (they are in photons, as nanoBragg's).
    """

    name: str
    origin: np.ndarray
    fast: np.ndarray
    slow: np.ndarray
    normal: np.ndarray
    pixel_size: float
    fpixels: int
    spixels: int
    mask: Optional[np.ndarray] = None
    adu_per_photon: Optional[float] = None
    adu_per_eV: Optional[float] = None

    def __post_init__(self):
        for field in ("origin", "fast", "slow", "normal"):
            object.__setattr__(self, field, _vector(f"{self.name} {field}", getattr(self, field)))
        for field in ("fpixels", "spixels"):
            value = getattr(self, field)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"panel {self.name}: {field} must be a whole number >= 1, got {value!r}")
            object.__setattr__(self, field, int(value))
        size = float(self.pixel_size)
        if not (np.isfinite(size) and size > 0.0):
            raise InputError(f"panel {self.name}: pixel size must be positive, got {self.pixel_size!r}")
        object.__setattr__(self, "pixel_size", size)
        if self.mask is not None:
            # A traced mask (a compiled program's argument) is kept as it is.
            traced = not isinstance(self.mask, np.ndarray) and hasattr(self.mask, "dtype")
            mask = self.mask if traced else np.asarray(self.mask, dtype=bool)
            if tuple(mask.shape) != (self.spixels, self.fpixels):
                raise InputError(f"panel {self.name}: mask is {mask.shape}, the panel is "
                                 f"{(self.spixels, self.fpixels)} (slow, fast)")
            object.__setattr__(self, "mask", mask)

    @property
    def shape(self) -> tuple:
        """(spixels, fpixels), the image's shape."""
        return self.spixels, self.fpixels

    @property
    def close_distance(self) -> float:
        """m, sample to the panel's plane along its normal (nanoBragg's close_distance)."""
        return float(self.origin @ self.normal)

    def pixel_centres(self) -> np.ndarray:
        """Lab positions of the pixel centres.

        Returns:
            (spixels, fpixels, 3) float64, metres: origin + (f + 1/2) p fast + (s + 1/2) p slow.
        """
        f = (np.arange(self.fpixels) + 0.5) * self.pixel_size
        s = (np.arange(self.spixels) + 0.5) * self.pixel_size
        return (self.origin + f[None, :, None] * self.fast + s[:, None, None] * self.slow)

    def transformed(self, matrix) -> "Panel":
        """The same panel in another frame.

        Arguments:
            matrix: (3, 3), new = matrix @ old, applied to the origin and the three axes.
        Returns:
            the mapped Panel (mask, counts and pixel size unchanged).
        """
        m = np.asarray(matrix, dtype=np.float64)
        return dataclasses.replace(self, origin=m @ self.origin, fast=m @ self.fast,
                                   slow=m @ self.slow, normal=m @ self.normal)


def make_panel(name: str, origin, fast, slow, pixel_size: float, fpixels: int, spixels: int, *,
               normal=None, mask=None, adu_per_photon=None, adu_per_eV=None) -> Panel:
    """A Panel from direction vectors of any length (they are normalised).

    Arguments:
        name: panel name.  origin: (3,) m, outer corner of pixel (0, 0).
        fast, slow: (3,) directions of increasing fast and slow index (orthogonal within
            AXIS_TOLERANCE).  pixel_size: m.  fpixels, spixels: counts.
        normal: (3,) or None: unit(fast x slow), signed to point away from the sample.
        mask, adu_per_photon, adu_per_eV: as `Panel`.
    Returns:
        the Panel.
    Raises:
        InputError: a zero or non-finite axis, axes that are not orthogonal, a panel whose plane
            passes through the sample, bad counts or pixel size.
    """
    o = _vector(f"{name} origin", origin)
    f, s = _vector(f"{name} fast axis", fast), _vector(f"{name} slow axis", slow)
    nf, ns = np.linalg.norm(f), np.linalg.norm(s)
    if nf == 0.0 or ns == 0.0:
        raise InputError(f"panel {name}: the fast or slow axis is zero")
    f, s = f / nf, s / ns
    if abs(f @ s) > AXIS_TOLERANCE:
        raise InputError(f"panel {name}: fast and slow axes are not perpendicular "
                         f"(cos = {f @ s:.3g}); skewed pixels are not supported")
    if normal is None:
        n = np.cross(f, s)
        n = n / np.linalg.norm(n)
        centre = o + 0.5 * pixel_size * (fpixels * f + spixels * s)
        side = centre @ n
        if side == 0.0:
            raise InputError(f"panel {name}: its plane passes through the sample")
        normal = n if side > 0.0 else -n
    return Panel(name=name, origin=o, fast=f, slow=s, normal=normal, pixel_size=pixel_size,
                 fpixels=fpixels, spixels=spixels, mask=mask, adu_per_photon=adu_per_photon,
                 adu_per_eV=adu_per_eV)


@dataclasses.dataclass(frozen=True, eq=False)
class PanelSet:
    """An ordered set of panels (the detector).  Panel k's outputs are named `..._panel<k>...`.

    Attributes:
        panels: tuple of Panel, in file order.
        source: where the set came from (a file name, or "flags").
    """

    panels: tuple
    source: str = ""

    def __post_init__(self):
        panels = tuple(self.panels)
        if not panels:
            raise InputError(f"{self.source or 'panel set'}: no panels")
        names = [p.name for p in panels]
        if len(set(names)) != len(names):
            raise InputError(f"{self.source or 'panel set'}: duplicate panel names")
        object.__setattr__(self, "panels", panels)

    def __len__(self) -> int:
        return len(self.panels)

    def __iter__(self) -> Iterator[Panel]:
        return iter(self.panels)

    def __getitem__(self, k: int) -> Panel:
        return self.panels[k]

    @property
    def names(self) -> list:
        return [p.name for p in self.panels]

    def groups(self) -> list:
        """Panels of one size, in order of first appearance (each group is rendered by one kernel
        over a stacked panel axis).

        Returns:
            [(panel indices, (spixels, fpixels))].
        """
        out: dict = {}
        for k, p in enumerate(self.panels):
            out.setdefault(p.shape, []).append(k)
        return [(tuple(idx), shape) for shape, idx in out.items()]

    def transformed(self, matrix) -> "PanelSet":
        """Every panel mapped by the (3, 3) matrix (lab = M v)."""
        return dataclasses.replace(self, panels=tuple(p.transformed(matrix) for p in self.panels))

    def replace_panels(self, panels: Sequence[Panel]) -> "PanelSet":
        return dataclasses.replace(self, panels=tuple(panels))


def panel_file_name(name: str, k: int, count: int) -> str:
    """The output file of panel k.

    Arguments:
        name: the single-panel file name (`<stem><ext>`).  k: panel index.  count: panels.
    Returns:
        `<stem>_panel<k><ext>`, k zero-padded to the digits of count - 1 so the files sort in panel
        order: image.bin, 3 of 16 -> image_panel03.bin.
    """
    stem, ext = os.path.splitext(name)
    width = len(str(max(count - 1, 0)))
    return f"{stem}_panel{k:0{width}d}{ext}"
