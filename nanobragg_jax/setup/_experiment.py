"""The result of the host set-up: `Experiment` and the static decisions it holds (`SetupStatic`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from nanobragg_jax.args import Settings
from nanobragg_jax.layout import Layout
from nanobragg_jax.noise import CRandom
from nanobragg_jax.panels import PanelSet
from nanobragg_jax.setup._detector import BeamCentre, DetectorStatic
from nanobragg_jax.setup._mosaic import MosaicDraws
from nanobragg_jax.setup._sampling import Axis
from nanobragg_jax.setup._sources import SourceGrid


@dataclasses.dataclass
class SetupStatic:
    """Everything non-continuous `build_model` needs, decided once on the host (SI units).

    detector: convention, pivot, unit vectors and pixel counts.  centre: C's default beam centre.
    user_cell: -cell was given (C rescales the -mat cell to it).  misset_given: C's
    `misset[0] > 0` (informational: a zero misset is applied as exact identity rotations, so it can
    still be refined from zero).  U: (3, 3) orientation from -mat, or None.  sources: the source
    grid or file.  mosaic: the random axes and tilt fractions of the domains; mosaic_apply: C's
    `mosaic_spread > 0`.  phi, thick: the phi and sensor-layer axes (rad; m).  mu: sensor
    attenuation (1/m).  water_size: -water (m).  hkl: the structure-factor table (HKLTable) or None;
    hkls: C's count of initialised reflections.  mask: (spixels, fpixels) bool, True = render, or
    None.  kahn: Kahn polarization factor.  fudge: lattice-shape fudge.  dmin: resolution cut (m).
    sample_xyz: crystal size after clipping to the beam (m).
    """

    detector: DetectorStatic
    centre: BeamCentre
    user_cell: bool
    misset_given: bool
    U: Optional[np.ndarray]
    sources: SourceGrid
    mosaic: MosaicDraws
    mosaic_apply: bool
    phi: Axis
    thick: Axis
    mu: float
    water_size: float
    hkl: Any
    hkls: int
    mask: Optional[np.ndarray]
    kahn: float
    fudge: float
    dmin: float
    sample_xyz: tuple


@dataclasses.dataclass
class Experiment:
    """One nanoBragg run after the host set-up, ready to render.

    Attributes:
        settings: the parsed command line (`nanobragg_jax.args.Settings`, SI units).
        layout: the static `Layout` (shapes, counts, switches; changing it recompiles).
        params: the continuous parameters in command-line units (mm, deg, A, ...), the names of
            `nanobragg_jax.api.PARAMETERS`; `build_model` turns them into the kernel's pytrees.
        static: the host decisions (`SetupStatic`).
        header: SMV header fields C writes with the int and noise images.
        summary: the lines nanoBragg.c prints before rendering.
        rng: C's shared random stream, after the misset and mosaic draws (the noise draw continues
            it, as in C).
        warnings: one-line warnings about C behaviours that changed this run.
        fdump_path: where C writes its structure-factor dump (-hkl runs), or None; the set-up does
            not write it (`write_structure_factor_dump` does).
        panels: the multi-panel detector (`nanobragg_jax.panels.PanelSet`, lab frame) that
            replaces the flags' detector, or None (the flags' one panel, `build_model`).  With
            panels, `params` has `panel_shift` and `panel_rotation` instead of the flags'
            detector parameters, and `layout` is the template of each panel group's layout
            (`setup.panel_layouts`); render with `setup.build_panel_models`.
    """

    settings: Settings
    layout: Layout
    params: dict
    static: SetupStatic
    header: dict
    summary: list
    rng: CRandom
    warnings: list
    fdump_path: Optional[str] = None
    panels: Optional[PanelSet] = None
