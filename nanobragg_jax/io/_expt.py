"""DIALS experiment lists (`.expt`, JSON): dxtbx's published models, written and read without dxtbx.

The models below hold what one experiment of an experiment list holds, in dxtbx's lab frame
(imgCIF: the beam travels along -z, the source is at +z) and dxtbx's units (mm, Angstrom, degrees).
`setup.experiment_model` maps a nanoBragg set-up onto them (specs/dials-frame.md sections 2-3); the
NXmx and miniCBF writers take them too, so all three formats describe one geometry.

JSON layout (dxtbx's `ExperimentList.to_dict`, DIALS 3.12): a top-level object
`{"__id__": "ExperimentList", "experiment": [...], "imageset": [...], "beam": [...],
"detector": [...], "goniometer": [...], "scan": [...], "crystal": [...], "profile": [],
"scaling_model": []}` whose experiments refer to the model lists by index.  Panel keys are those of
dxtbx's `Panel.to_dict`; a detector without a "hierarchy" key gets a flat one when dxtbx loads it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Optional, Sequence, Union

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_write_bytes, read_input_text

_IDENTITY9 = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def _vec(v) -> tuple:
    return tuple(float(x) + 0.0 for x in np.asarray(v, dtype=np.float64).reshape(3))  # no -0.0


@dataclasses.dataclass(frozen=True)
class BeamModel:
    """dxtbx Beam.  direction: unit vector from the sample to the source (dxtbx's
    `get_sample_to_source_direction`, (0, 0, 1) for a standard set-up); wavelength in Angstrom;
    polarization_normal: normal of the polarization plane; polarization_fraction: XDS's convention
    (0.5 = unpolarised, 0.999 = a typical synchrotron)."""

    direction: tuple
    wavelength: float
    polarization_normal: tuple = (0.0, 1.0, 0.0)
    polarization_fraction: float = 0.5

    @property
    def s0(self) -> np.ndarray:
        """The incident wave vector (1/Angstrom), along the beam: -direction / wavelength."""
        return -np.asarray(self.direction) / np.linalg.norm(self.direction) / self.wavelength


@dataclasses.dataclass(frozen=True)
class PanelModel:
    """dxtbx Panel.  origin: lab position (mm) of the outer corner of pixel (0, 0); fast_axis,
    slow_axis: unit vectors; pixel_size (fast, slow) in mm; image_size (fast, slow) in pixels;
    trusted_range: (lowest, highest) valid value; thickness in mm, material ("Si" or ""), mu in
    1/mm; pedestal subtracted from the stored values; gain in counts per photon."""

    origin: tuple
    fast_axis: tuple
    slow_axis: tuple
    pixel_size: tuple
    image_size: tuple
    trusted_range: tuple = (-1.0, 65535.0)
    thickness: float = 0.0
    material: str = ""
    mu: float = 0.0
    pedestal: float = 0.0
    gain: float = 1.0
    name: str = "Panel"
    type: str = "SENSOR_PAD"

    @property
    def normal(self) -> np.ndarray:
        """unit(fast x slow): points away from the sample for a panel facing it."""
        n = np.cross(self.fast_axis, self.slow_axis)
        return n / np.linalg.norm(n)

    def pixel_to_lab(self, fast_px, slow_px) -> np.ndarray:
        """Lab position (mm) of the point (fast_px, slow_px) in dxtbx pixel coordinates, where
        (0, 0) is the outer corner of pixel (0, 0) and pixel centres sit at i + 0.5."""
        return (np.asarray(self.origin) + np.multiply.outer(fast_px, self.fast_axis) * self.pixel_size[0]
                + np.multiply.outer(slow_px, self.slow_axis) * self.pixel_size[1])


@dataclasses.dataclass(frozen=True)
class GoniometerModel:
    """dxtbx Goniometer with identity fixed and setting rotations: the crystal at scan angle phi is
    R(rotation_axis, phi) applied to the crystal model (right-handed)."""

    rotation_axis: tuple


@dataclasses.dataclass(frozen=True)
class ScanModel:
    """dxtbx Scan.  image_range (first, last), 1-based and inclusive; oscillation (start of the first
    image, width per image) in degrees; exposure_time per image in seconds."""

    image_range: tuple
    oscillation: tuple
    exposure_time: float = 1.0

    @property
    def num_images(self) -> int:
        return int(self.image_range[1] - self.image_range[0] + 1)

    def image_starts(self) -> np.ndarray:
        """(num_images,) the start angle (degrees) of each image."""
        return self.oscillation[0] + self.oscillation[1] * np.arange(self.num_images, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class CrystalModel:
    """dxtbx Crystal: the real-space basis a, b, c (Angstrom, lab frame) at scan angle 0."""

    real_space_a: tuple
    real_space_b: tuple
    real_space_c: tuple
    space_group_hall_symbol: str = " P 1"

    @property
    def real_space(self) -> np.ndarray:
        """(3, 3): rows a, b, c in Angstrom."""
        return np.array([self.real_space_a, self.real_space_b, self.real_space_c], dtype=np.float64)

    @property
    def A(self) -> np.ndarray:
        """dxtbx's A = U B (1/Angstrom): columns a*, b*, c*, the inverse of rows(a, b, c)."""
        return np.linalg.inv(self.real_space)


@dataclasses.dataclass(frozen=True)
class ImagesetModel:
    """Where the pixels are: a file name template (`frame_###.cbf`, or one file's name) and, for a
    multi-image file (NXmx), the 0-based indices of the images in it."""

    template: str
    single_file_indices: Optional[tuple] = None


@dataclasses.dataclass(frozen=True)
class ExperimentModel:
    """One experiment of a DIALS experiment list.  panels: one PanelModel per detector panel (a
    flat detector hierarchy); goniometer, scan: None for a still; crystal: None when unknown;
    imageset: None for a geometry-only experiment."""

    beam: BeamModel
    panels: tuple
    goniometer: Optional[GoniometerModel] = None
    scan: Optional[ScanModel] = None
    crystal: Optional[CrystalModel] = None
    imageset: Optional[ImagesetModel] = None

    def replace(self, **changes) -> "ExperimentModel":
        return dataclasses.replace(self, **changes)

    def with_images(self, path, *, single_file: bool = False) -> "ExperimentModel":
        """The experiment referring to its pixels in `path` (made absolute).

        single_file: all images are in this one file (NXmx), indexed 0..n-1.  Otherwise the
        images are files named by number, path being the first (`frame_0001.cbf`) or a template
        (`frame_####.cbf`, numbered from 1): a scan's image_range starts at that number, a still
        names its one file.  dxtbx reads one-image-per-file formats (miniCBF, SMV) only when the
        name holds an image number: without one the experiment is returned without an imageset
        (geometry only).
        """
        from nanobragg_jax.io._formats import numbered_template

        path = os.path.abspath(os.fspath(path))
        n = 1 if self.scan is None else self.scan.num_images
        if single_file:
            return self.replace(imageset=ImagesetModel(path, tuple(range(n))))
        numbered = numbered_template(path)
        if numbered is None:
            return self.replace(imageset=None)
        if self.scan is None:
            return self.replace(imageset=ImagesetModel(path))
        template, first = numbered
        scan = dataclasses.replace(self.scan, image_range=(first, first + n - 1))
        return self.replace(imageset=ImagesetModel(template), scan=scan)


# --- writing -----------------------------------------------------------------------------------------
def _beam_dict(b: BeamModel) -> dict:
    return {"direction": list(_vec(b.direction)), "wavelength": float(b.wavelength),
            "divergence": 0.0, "sigma_divergence": 0.0,
            "polarization_normal": list(_vec(b.polarization_normal)),
            "polarization_fraction": float(b.polarization_fraction), "flux": 0.0, "transmission": 1.0}


def _panel_dict(p: PanelModel) -> dict:
    parallax = p.thickness > 0 and p.mu > 0
    return {
        "name": p.name, "type": p.type, "fast_axis": list(_vec(p.fast_axis)),
        "slow_axis": list(_vec(p.slow_axis)), "origin": list(_vec(p.origin)), "raw_image_offset": [0, 0],
        "image_size": [int(n) for n in p.image_size], "pixel_size": [float(x) for x in p.pixel_size],
        "trusted_range": [float(x) for x in p.trusted_range], "thickness": float(p.thickness),
        "material": p.material, "mu": float(p.mu), "identifier": "", "mask": [], "gain": float(p.gain),
        "pedestal": float(p.pedestal),
        "px_mm_strategy": {"type": "ParallaxCorrectedPxMmStrategy" if parallax else "SimplePxMmStrategy"},
    }


def _scan_dict(s: ScanModel) -> dict:
    n = s.num_images
    return {"image_range": [int(s.image_range[0]), int(s.image_range[1])], "batch_offset": 0,
            "oscillation": [float(s.oscillation[0]), float(s.oscillation[1])],
            "exposure_time": [float(s.exposure_time)] * n,
            "epochs": [float(s.exposure_time) * i for i in range(n)], "valid_image_ranges": {}}


def _crystal_dict(c: CrystalModel) -> dict:
    return {"__id__": "crystal", "real_space_a": list(_vec(c.real_space_a)),
            "real_space_b": list(_vec(c.real_space_b)), "real_space_c": list(_vec(c.real_space_c)),
            "space_group_hall_symbol": c.space_group_hall_symbol}


def _imageset_dict(i: ImagesetModel, n_panels: int, sequence: bool) -> dict:
    # A scan makes a sequence (a template); a still is an ImageSet (a list of files).
    out = ({"__id__": "ImageSequence", "template": i.template} if sequence
           else {"__id__": "ImageSet", "images": [i.template]})
    if i.single_file_indices is not None:
        out["single_file_indices"] = [int(k) for k in i.single_file_indices]
    out.update({"mask": None, "gain": None, "pedestal": None, "dx": None, "dy": None,
                "params": {"dynamic_shadowing": "Auto", "multi_panel": n_panels > 1}})
    return out


def experiment_list_dict(experiments: Union[ExperimentModel, Sequence[ExperimentModel]]) -> dict:
    """The JSON object of an experiment list holding `experiments` (one set of models each).

    Arguments:
        experiments: one `ExperimentModel` or a sequence of them.
    Returns:
        A dict in DIALS's ExperimentList layout ("__id__": "ExperimentList", the "experiment" entries
        and the beam, detector, goniometer, scan, crystal and imageset lists they index), ready for
        json.dump.
    """
    if isinstance(experiments, ExperimentModel):
        experiments = [experiments]
    d = {"__id__": "ExperimentList", "experiment": [], "imageset": [], "beam": [], "detector": [],
         "goniometer": [], "scan": [], "crystal": [], "profile": [], "scaling_model": []}
    for e in experiments:
        entry = {"__id__": "Experiment", "identifier": "", "beam": len(d["beam"]),
                 "detector": len(d["detector"])}
        d["beam"].append(_beam_dict(e.beam))
        d["detector"].append({"panels": [_panel_dict(p) for p in e.panels]})
        for key, model, to_dict in (("goniometer", e.goniometer, lambda g: {
                "rotation_axis": list(_vec(g.rotation_axis)), "fixed_rotation": list(_IDENTITY9),
                "setting_rotation": list(_IDENTITY9)}), ("scan", e.scan, _scan_dict),
                ("crystal", e.crystal, _crystal_dict)):
            if model is not None:
                entry[key] = len(d[key])
                d[key].append(to_dict(model))
        if e.imageset is not None:
            entry["imageset"] = len(d["imageset"])
            d["imageset"].append(_imageset_dict(e.imageset, len(e.panels), e.scan is not None))
        d["experiment"].append(entry)
    return d


def write_expt(path, experiments: Union[ExperimentModel, Sequence[ExperimentModel]]) -> None:
    """Write a DIALS experiment list (JSON) atomically.

    Arguments:
        path: the .expt file.
        experiments: one ExperimentModel or a sequence of them.
    Raises:
        InputError: the file cannot be written.
    """
    text = json.dumps(experiment_list_dict(experiments), indent=1) + "\n"
    atomic_write_bytes(path, text.encode())


# --- reading -----------------------------------------------------------------------------------------
def _get(d, key, path, where):
    try:
        return d[key]
    except (KeyError, IndexError, TypeError):
        raise InputError(f"experiment list {os.fspath(path)!r}: {where} has no {key!r}") from None


def _panel_frames(h, path) -> dict:
    """panel index -> (R, t): the lab frame of the hierarchy group holding it (R: columns fast,
    slow, normal; t: origin, mm), composed as dxtbx composes a detector hierarchy: a child's lab
    frame is its parent's frame applied to its own local frame (R = R_parent R_local,
    t = t_parent + R_parent origin_local).  A missing hierarchy is flat (identity)."""
    out: dict = {}

    def walk(node, R, t):
        if "panel" in node:
            out[int(node["panel"])] = (R, t)
            return
        f, s = (np.asarray(node.get(k, d), dtype=np.float64) for k, d in
                (("fast_axis", (1.0, 0.0, 0.0)), ("slow_axis", (0.0, 1.0, 0.0))))
        n = np.cross(f, s)
        if not np.linalg.norm(n) > 0:
            raise InputError(f"experiment list {os.fspath(path)!r}: a detector group with parallel axes")
        local = np.column_stack([f, s, n / np.linalg.norm(n)])
        origin = np.asarray(node.get("origin", (0.0, 0.0, 0.0)), dtype=np.float64)
        for child in node.get("children", []):
            walk(child, R @ local, t + R @ origin)

    if h is not None:
        walk(h, np.eye(3), np.zeros(3))
    return out


def _lab_panel(p: PanelModel, frame) -> PanelModel:
    """A panel's local values (its hierarchy group's frame) in the lab frame."""
    if frame is None:
        return p
    R, t = frame
    if np.allclose(R, np.eye(3), rtol=0, atol=0) and not np.any(t):
        return p
    return dataclasses.replace(p, origin=_vec(t + R @ np.asarray(p.origin)), fast_axis=_vec(R @ np.asarray(p.fast_axis)),
                               slow_axis=_vec(R @ np.asarray(p.slow_axis)))


def _read_panel(p, path) -> PanelModel:
    g = lambda k: _get(p, k, path, "a panel")  # noqa: E731
    return PanelModel(
        origin=_vec(g("origin")), fast_axis=_vec(g("fast_axis")), slow_axis=_vec(g("slow_axis")),
        pixel_size=tuple(float(x) for x in g("pixel_size")),
        image_size=tuple(int(n) for n in g("image_size")),
        trusted_range=tuple(float(x) for x in p.get("trusted_range", (-1.0, 65535.0))),
        thickness=float(p.get("thickness", 0.0)), material=str(p.get("material", "")),
        mu=float(p.get("mu", 0.0)), pedestal=float(p.get("pedestal", 0.0)), gain=float(p.get("gain", 1.0)),
        name=str(p.get("name", "Panel")), type=str(p.get("type", "SENSOR_PAD")))


def read_expt(path) -> list:
    """The experiments of a DIALS experiment list (JSON, as dxtbx writes it).

    Arguments:
        path: the .expt file.
    Returns:
        a list of ExperimentModel, one per experiment, in file order.
    Raises:
        InputError: unreadable file, not JSON, not an experiment list, a missing model or key, or
            a goniometer with fixed or setting rotations.  A detector hierarchy (dxtbx's groups,
            e.g. an imported NXmx file's modules) is composed: the panels are in the lab frame.
    """
    text = read_input_text(path, "experiment list")
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"experiment list {os.fspath(path)!r}: not JSON ({exc.msg}, "
                         f"line {exc.lineno})") from None
    if not isinstance(d, dict) or d.get("__id__") != "ExperimentList":
        raise InputError(f"experiment list {os.fspath(path)!r}: not a DIALS experiment list "
                         "(no \"__id__\": \"ExperimentList\")")

    def model(e, key, required=True):
        i = e.get(key)
        if i is None or i == []:
            if required:
                raise InputError(f"experiment list {os.fspath(path)!r}: an experiment has no {key}")
            return None
        return _get(_get(d, key, path, "the file"), i, path, f"the {key} list")

    out = []
    for e in _get(d, "experiment", path, "the file"):
        b = model(e, "beam")
        beam = BeamModel(direction=_vec(_get(b, "direction", path, "the beam")),
                         wavelength=float(_get(b, "wavelength", path, "the beam")),
                         polarization_normal=_vec(b.get("polarization_normal", (0.0, 1.0, 0.0))),
                         polarization_fraction=float(b.get("polarization_fraction", 0.5)))
        det = model(e, "detector")
        frames = _panel_frames(det.get("hierarchy"), path)
        panels = tuple(_lab_panel(_read_panel(p, path), frames.get(k))
                       for k, p in enumerate(_get(det, "panels", path, "the detector")))
        g = model(e, "goniometer", required=False)
        gonio = None
        if g is not None:
            for key in ("fixed_rotation", "setting_rotation"):
                if not np.allclose(np.asarray(g.get(key, _IDENTITY9), dtype=float), _IDENTITY9, atol=1e-12):
                    raise InputError(f"experiment list {os.fspath(path)!r}: goniometer {key} other than "
                                     "the identity is not supported")
            gonio = GoniometerModel(rotation_axis=_vec(_get(g, "rotation_axis", path, "the goniometer")))
        s = model(e, "scan", required=False)
        scan = None
        if s is not None:
            exposure = s.get("exposure_time") or [0.0]
            scan = ScanModel(image_range=tuple(int(n) for n in _get(s, "image_range", path, "the scan")),
                             oscillation=tuple(float(x) for x in _get(s, "oscillation", path, "the scan")),
                             exposure_time=float(exposure[0]))
        c = model(e, "crystal", required=False)
        crystal = None
        if c is not None:
            crystal = CrystalModel(*(_vec(_get(c, f"real_space_{k}", path, "the crystal")) for k in "abc"),
                                   space_group_hall_symbol=str(c.get("space_group_hall_symbol", " P 1")))
        i = model(e, "imageset", required=False)
        imageset = None
        if i is not None:
            idx = i.get("single_file_indices")
            template = i["template"] if "template" in i else (i.get("images") or [None])[0]
            if template is None:
                raise InputError(f"experiment list {os.fspath(path)!r}: an imageset names no file")
            imageset = ImagesetModel(template=str(template),
                                     single_file_indices=None if idx is None else tuple(int(k) for k in idx))
        out.append(ExperimentModel(beam=beam, panels=panels, goniometer=gonio, scan=scan, crystal=crystal,
                                   imageset=imageset))
    return out
