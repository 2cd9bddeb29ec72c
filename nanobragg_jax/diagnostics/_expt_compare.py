"""`nanobragg compare-expt`: what processing found against the truth a run exported (`--expt`).

    nanobragg compare-expt truth.expt indexed.expt

Both files are DIALS experiment lists (the first experiment of each is compared).  The crystals are
compared after the integral change of basis between their settings: an indexing program may pick
any basis of the lattice (another cell choice, signs), so found = M truth with M integral and
det M = +-1; the misorientation is then the smallest rotation taking M truth onto found
(orthogonal Procrustes, Kabsch 1976), the inversion being a symmetry of every lattice.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io import CrystalModel, read_expt


def cell_parameters(real: np.ndarray) -> tuple:
    """(a, b, c [A], alpha, beta, gamma [deg]) of a basis given as rows a, b, c."""
    a, b, c = (np.asarray(v, dtype=np.float64) for v in real)
    angle = lambda u, v: float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))  # noqa: E731
    lengths = tuple(float(np.linalg.norm(v)) for v in (a, b, c))
    return lengths + (angle(b, c), angle(c, a), angle(a, b))


def change_of_basis(truth: CrystalModel, found: CrystalModel, tolerance: float = 0.1) -> np.ndarray:
    """M (3x3 integers, det +-1) with found ~ M truth (rows a, b, c).

    Arguments:
        truth: io.CrystalModel; `real_space` (3, 3) rows a, b, c in Angstrom.
        found: io.CrystalModel, likewise.
        tolerance: largest allowed |ratio - round(ratio)| per entry of
            ratio = found.real_space inv(truth.real_space), dimensionless.
    Returns:
        (3, 3) int array M = round(ratio), det M = +-1.
    Raises:
        InputError: no integral change of basis within `tolerance` (not the same lattice).
        numpy.linalg.LinAlgError: a singular true basis.
    """
    ratio = found.real_space @ np.linalg.inv(truth.real_space)
    M = np.rint(ratio)
    if np.abs(ratio - M).max() > tolerance or abs(round(np.linalg.det(M))) != 1:
        raise InputError("the two crystals are not one lattice: no integral change of basis relates them "
                         f"(found = {np.array2string(ratio, precision=3)} truth)")
    return M.astype(int)


def misorientation_deg(truth: CrystalModel, found: CrystalModel) -> float:
    """Smallest rotation (degrees) taking the true crystal onto the found one, after the integral
    change of basis (see the module docstring).

    Arguments:
        truth: io.CrystalModel (real-space rows a, b, c in Angstrom).
        found: io.CrystalModel, likewise.
    Returns:
        float angle in degrees, 0 to 180: the rotation of the orthogonal Procrustes (Kabsch) fit of
        M truth (M with det +1, the inversion applied if needed) onto found.
    Raises:
        InputError: no integral change of basis (`change_of_basis`).
    """
    M = change_of_basis(truth, found).astype(np.float64)
    if np.linalg.det(M) < 0:
        M = -M  # the inversion maps every lattice onto itself
    X, F = M @ truth.real_space, found.real_space
    U, _, Vt = np.linalg.svd(X.T @ F)  # Kabsch: the rotation Q with Q x_i closest to f_i
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    Q = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
    return float(np.degrees(np.arccos(np.clip((np.trace(Q) - 1.0) / 2.0, -1.0, 1.0))))


def detector_difference_mm(a, b) -> Optional[float]:
    """Largest distance (mm) between the corresponding corners of two detectors' panels (None when
    their panels differ in number or size).

    Arguments:
        a, b: io.ExperimentModel (or anything with `panels`, a sequence of io.PanelModel).
    Returns:
        float in mm, the largest distance over the four corners of every panel pair (lab positions
        from `PanelModel.pixel_to_lab`), or None.
    """
    if len(a.panels) != len(b.panels):
        return None
    worst = 0.0
    for p, q in zip(a.panels, b.panels):
        if tuple(p.image_size) != tuple(q.image_size):
            return None
        for f, s in ((0, 0), (p.image_size[0], 0), (0, p.image_size[1]), tuple(p.image_size)):
            worst = max(worst, float(np.linalg.norm(p.pixel_to_lab(f, s) - q.pixel_to_lab(f, s))))
    return worst


@dataclasses.dataclass
class ExperimentComparison:
    """The result of `compare_experiments`: the first experiments of two DIALS experiment lists, A and B.

    Fields:
        cell_a: A's cell (a, b, c in Angstrom, alpha, beta, gamma in degrees), None without a crystal.
        cell_b: B's cell, likewise.
        change_of_basis: M, (3, 3) integers with det +-1, such that B's basis = M A's basis (rows a, b,
            c); None unless both have a crystal.
        misorientation_deg: the smallest rotation (degrees) taking M A's crystal onto B's, None unless
            both have a crystal.
        detector_mm: the largest distance (mm) between corresponding panel corners, None when the panels
            differ in number or size.
        beam_deg: the angle between the two beam directions, degrees.
    """
    cell_a: Optional[tuple]  # (a, b, c, alpha, beta, gamma) of A's crystal
    cell_b: Optional[tuple]
    change_of_basis: Optional[np.ndarray]  # b = M a
    misorientation_deg: Optional[float]
    detector_mm: Optional[float]  # largest panel-corner distance
    beam_deg: float  # angle between the beams

    def lines(self) -> list:
        out = []
        if self.cell_a is not None and self.cell_b is not None:
            fmt = lambda c: " ".join(f"{x:.4f}" for x in c[:3]) + "  " + " ".join(f"{x:.3f}" for x in c[3:])  # noqa: E731
            out += [f"cell A: {fmt(self.cell_a)}", f"cell B: {fmt(self.cell_b)}"]
            if self.change_of_basis is not None:
                rows = "; ".join(" ".join(f"{v:d}" for v in row) for row in self.change_of_basis)
                out += [f"change of basis (B = M A): M = [{rows}]",
                        f"misorientation after the change of basis: {self.misorientation_deg:.4f} deg"]
        out.append("detector: " + ("panels differ in number or size" if self.detector_mm is None
                                   else f"largest panel-corner distance {self.detector_mm:.3g} mm"))
        out.append(f"beam direction: {self.beam_deg:.3g} deg apart")
        return out


def compare_experiments(a_path, b_path) -> ExperimentComparison:
    """Compare the first experiment of two DIALS experiment lists (crystal, detector, beam).

    Arguments:
        a_path: path of list A (the truth, e.g. from `--expt`).
        b_path: path of list B (e.g. the indexed result).
    Returns:
        ExperimentComparison (cells in Angstrom and degrees, change of basis, misorientation in
        degrees, detector difference in mm, angle between the beams in degrees).
    Raises:
        InputError: an unreadable list, or crystals that are not one lattice.
    """
    a, b = read_expt(a_path)[0], read_expt(b_path)[0]
    M = mis = None
    if a.crystal is not None and b.crystal is not None:
        M = change_of_basis(a.crystal, b.crystal)
        mis = misorientation_deg(a.crystal, b.crystal)
    u, v = (np.asarray(x.beam.direction) / np.linalg.norm(x.beam.direction) for x in (a, b))
    return ExperimentComparison(
        cell_a=None if a.crystal is None else cell_parameters(a.crystal.real_space),
        cell_b=None if b.crystal is None else cell_parameters(b.crystal.real_space),
        change_of_basis=M, misorientation_deg=mis, detector_mm=detector_difference_mm(a, b),
        beam_deg=float(np.degrees(np.arccos(np.clip(u @ v, -1.0, 1.0)))))
