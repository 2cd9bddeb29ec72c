"""miniCBF images with a Pilatus-style header (through fabio), as dxtbx's FormatCBFMini reads them.

    write_minicbf("frame_001.cbf", counts, model, index=0)   # model: io.ExperimentModel
    image, model = read_minicbf("frame_001.cbf")

A miniCBF header carries no detector orientation: dxtbx builds a panel facing the beam with fast
along +x and slow along -y, the rotation axis along +x and the beam along -z, at
`origin = (-Beam_x p, +Beam_y p, -Detector_distance)` (specs/dials-frame.md section 7).  So only
detectors facing the beam with pixel rows along x or y can be written: no two-theta, no tilt, a
rotation about the beam only by a multiple of 90 degrees.  A panel whose fast or slow axis points
the other way (ADXV's slow +y, the "DIALS" convention's fast along y) is written flipped or
transposed so that the file's pixel (0, 0) is the corner dxtbx expects; every pixel keeps its lab
position.  Write NXmx for anything else.

The header convention is GENERIC_MINI and the "# Detector:" line does not say PILATUS: dxtbx's
Pilatus reader would otherwise take the file and insist on a real Pilatus array size.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_write_bytes
from nanobragg_jax.io._expt import (
    BeamModel,
    ExperimentModel,
    GoniometerModel,
    PanelModel,
    ScanModel,
)

CONVENTION = "GENERIC_MINI"
DETECTOR = "nanoBragg simulated PAD, S/N 0"
_TIMESTAMP = "2025-01-01T00:00:00.000"  # dxtbx needs one token with two colons; simulations have no date
_TOL = 1e-9


class NotRepresentable(ValueError):
    """The geometry has no miniCBF form (the message says why)."""


def _axis_index(v) -> tuple:
    """(component 0|1, sign) of a unit vector along x or y, else None."""
    v = np.asarray(v, dtype=np.float64)
    for k in (0, 1):
        if abs(abs(v[k]) - 1.0) < _TOL and np.all(np.abs(np.delete(v, k)) < _TOL):
            return k, float(np.sign(v[k]))
    return None


def cbf_orientation(model: ExperimentModel):
    """How a single-panel experiment fits a miniCBF header.

    Arguments:
        model: the experiment (io.ExperimentModel), dxtbx frame.
    Returns:
        (to_file, stored): to_file maps a (slow, fast) image to the array as stored (rows along -y,
        columns along +x); stored is the experiment with the panel dxtbx builds from the file (an
        experiment list that refers to the file must hold this one).
    Raises:
        NotRepresentable: several panels, a beam not along -z, a rotation axis not along +x, a
            panel not facing the beam or turned by other than a multiple of 90 degrees about it,
            non-square pixels.
    """
    if len(model.panels) != 1:
        raise NotRepresentable(f"miniCBF holds one panel, this detector has {len(model.panels)}")
    beam_dir = np.asarray(model.beam.direction) / np.linalg.norm(model.beam.direction)
    if not np.allclose(beam_dir, (0.0, 0.0, 1.0), atol=_TOL):
        raise NotRepresentable("miniCBF needs the beam along dxtbx's -z")
    if model.goniometer is not None and not np.allclose(model.goniometer.rotation_axis, (1.0, 0.0, 0.0),
                                                        atol=_TOL):
        raise NotRepresentable("miniCBF needs the rotation axis along dxtbx's +x (perpendicular to the beam)")
    p = model.panels[0]
    fast, slow = _axis_index(p.fast_axis), _axis_index(p.slow_axis)
    if fast is None or slow is None or fast[0] == slow[0]:
        raise NotRepresentable("miniCBF holds only a detector facing the beam, its pixel rows along x or y "
                               "(no two-theta, tilt or rotation about the beam other than by 90 degrees)")
    if abs(p.pixel_size[0] - p.pixel_size[1]) > _TOL * p.pixel_size[0]:
        raise NotRepresentable("miniCBF holds square pixels only")
    transpose = fast[0] == 1  # fast along y: rows of the file run along the panel's fast axis
    flip_cols = (slow if transpose else fast)[1] < 0  # the file's columns must run along +x
    flip_rows = (fast if transpose else slow)[1] > 0  # the file's rows must run along -y

    def to_file(image):
        a = np.asarray(image)
        a = a.T if transpose else a
        return a[::-1 if flip_rows else 1, ::-1 if flip_cols else 1]

    nf, ns = p.image_size
    corners = np.array([p.pixel_to_lab(i * nf, j * ns) for i in (0, 1) for j in (0, 1)])
    origin = (corners[:, 0].min(), corners[:, 1].max(), float(p.origin[2]))
    size = (ns, nf) if transpose else (nf, ns)
    stored = dataclasses.replace(p, origin=origin, fast_axis=(1.0, 0.0, 0.0), slow_axis=(0.0, -1.0, 0.0),
                                 image_size=size)
    return to_file, model.replace(panels=(stored,))


def header_lines(panel: PanelModel, beam: BeamModel, start_deg: float, width_deg: float,
                 exposure_s: float) -> list:
    """The "# ..." lines of a Pilatus-style miniCBF header for an untilted panel (fast +x, slow -y)."""
    px_mm = panel.pixel_size[0]
    px_m = px_mm / 1000.0
    lines = [f"# Detector: {DETECTOR}", f"# {_TIMESTAMP}", f"# Pixel_size {px_m:.9e} m x {px_m:.9e} m"]
    if panel.thickness > 0:
        lines.append(f"# Silicon sensor, thickness {panel.thickness / 1000.0:.9f} m")
    lines += [
        f"# Exposure_time {exposure_s:.7f} s",
        f"# Exposure_period {exposure_s:.7f} s",
        "# Tau = 0 s",
        f"# Count_cutoff {int(panel.trusted_range[1])} counts",
        "# Threshold_setting: 0 eV",
        "# Gain_setting: autog (vrf = 1.000)",
        "# N_excluded_pixels = 0",
        f"# Wavelength {beam.wavelength:.9f} A",
        f"# Detector_distance {-panel.origin[2] / 1000.0:.12f} m",
        f"# Beam_xy ({-panel.origin[0] / px_mm:.6f}, {panel.origin[1] / px_mm:.6f}) pixels",
        "# Flux 0.000000",
        "# Filter_transmission 1.0000",
        f"# Start_angle {start_deg:.6f} deg.",
        f"# Angle_increment {width_deg:.6f} deg.",
        "# Detector_2theta 0.0000 deg.",
        f"# Polarization {beam.polarization_fraction:.3f}",
        "# Alpha 0.0000 deg.",
        "# Kappa 0.0000 deg.",
        f"# Phi {start_deg:.6f} deg.",
        "# Phi_increment 0.0000 deg.",
        f"# Omega {start_deg:.6f} deg.",
        f"# Omega_increment {width_deg:.6f} deg.",
        "# Chi 0.0000 deg.",
        "# Oscillation_axis X.CW",
        "# N_oscillations 1",
    ]
    return lines


def write_minicbf(path, image, model: ExperimentModel, index: int = 0) -> None:
    """Write image `index` (0-based) of the experiment's scan as a byte-offset miniCBF, atomically
    (`minicbf_bytes`, its CIF data block named after the file).

    Arguments:
        path: the output file (written through a temporary file and a rename).
        image: (slow, fast) integer counts of the one panel (see `minicbf_bytes`).
        model: the experiment (io.ExperimentModel).
        index: which image of the scan this is (0-based).
    Raises:
        NotRepresentable, ValueError: as `minicbf_bytes`.
        InputError: the file or its folder cannot be written.
    """
    atomic_write_bytes(path, minicbf_bytes(image, model, index, name=os.path.basename(os.fspath(path))))


def minicbf_bytes(image, model: ExperimentModel, index: int = 0, *, name: str = "image.cbf") -> bytes:
    """Image `index` (0-based) of the experiment's scan as the bytes of a byte-offset miniCBF.

    Arguments:
        name: the file name the CIF data block is named after (`data_<name without .cbf>`); the
            bytes depend on nothing else but the image and the model.
        image: (slow, fast) integer counts of the one panel as the model lays it out (the pedestal
            already subtracted); it is flipped or transposed as `cbf_orientation` says.
        model: the experiment (io.ExperimentModel); its scan gives the image's start angle and
            width (a still without a scan: start 0, width 0).
        index: which image of the scan this is.
    Returns:
        bytes of the miniCBF file: the "# Key value" header (GENERIC_MINI; start angle and width in deg,
        exposure in s from the scan) and the pixels as int32, byte-offset compressed (by fabio).
    Raises:
        NotRepresentable: a geometry a miniCBF header cannot hold (see cbf_orientation).
        ValueError: non-integer pixels, or an image whose shape is not the panel's.
        InputError: the file cannot be written (write_minicbf).
    """
    import fabio.cbfimage

    to_file, stored = cbf_orientation(model)
    panel = stored.panels[0]
    image = np.asarray(image)
    p = model.panels[0]
    if image.shape != (p.image_size[1], p.image_size[0]):
        raise ValueError(f"miniCBF image of shape {image.shape}, the panel is "
                         f"{p.image_size[1]}x{p.image_size[0]}")
    if not np.issubdtype(image.dtype, np.integer):
        raise ValueError("miniCBF holds integer counts")
    scan = model.scan
    if scan is None:
        start, width, exposure = 0.0, 0.0, 1.0
    else:
        start, width, exposure = (float(scan.image_starts()[index]), float(scan.oscillation[1]),
                                  float(scan.exposure_time))
    lines = header_lines(panel, model.beam, start, width, exposure)
    header = {"_array_data.header_convention": CONVENTION, "_array_data.header_contents": "\r\n".join(lines)}
    data = np.ascontiguousarray(to_file(image), dtype=np.int32)
    with tempfile.TemporaryDirectory(prefix="nanobragg-cbf-") as folder:
        tmp = os.path.join(folder, os.path.basename(name))  # fabio names the data block after the file
        fabio.cbfimage.CbfImage(data=data, header=header).write(tmp)
        with open(tmp, "rb") as fh:
            return fh.read()


def _header_dict(text: str) -> dict:
    """The "# Key value" lines, keyed as dxtbx's FormatCBFMini keys them."""
    out = {}
    for record in text.replace("\r", "\n").split("\n"):
        record = record.strip()
        if not record.startswith("#"):
            continue
        if len(record[1:].split()) <= 2 and record.count(":") == 2:
            out["timestamp"] = record[1:].strip()
            continue
        tokens = record.replace("=", "").replace(":", "").split()
        if len(tokens) > 1:
            out[tokens[1]] = " ".join(tokens[2:])
    return out


def read_minicbf(path):
    """A miniCBF image and the experiment dxtbx's FormatCBFMini builds from its header.

    Arguments:
        path: the .cbf file.
    Returns:
        (image, model): image (slow, fast) int32 as stored; model an io.ExperimentModel (one
        panel facing the beam, fast +x, slow -y; rotation axis +x; a one-image scan).
    Raises:
        InputError: unreadable file or a header without the Pilatus-style geometry lines.
    """
    import fabio

    name = os.fspath(path)
    try:
        img = fabio.open(name)
        data = np.asarray(img.data)
        h = _header_dict(img.header.get("_array_data.header_contents", ""))
        distance_mm = float(h["Detector_distance"].split()[0]) * 1000.0
        beam_xy = h["Beam_xy"].replace("(", "").replace(")", "").replace(",", "").split()[:2]
        beam_x, beam_y = (float(v) for v in beam_xy)
        pixel_mm = [float(v) * 1000.0 for v in h["Pixel_size"].replace("m", "").replace("x", "").split()[:2]]
        wavelength = float(h["Wavelength"].split()[0])
        thickness = float(h["Silicon"].split()[2]) * 1000.0 if "Silicon" in h else 0.0
        cutoff = float(h["Count_cutoff"].split()[0])
        start = float(h["Start_angle"].split()[0])
        width = float(h["Angle_increment"].split()[0])
        exposure = float(h["Exposure_period"].split()[0])
    except (OSError, KeyError, ValueError, IndexError, TypeError) as exc:
        raise InputError(f"miniCBF file {name!r}: cannot read ({type(exc).__name__}: {exc})") from None
    panel = PanelModel(
        origin=(-beam_x * pixel_mm[0], beam_y * pixel_mm[1], -distance_mm), fast_axis=(1.0, 0.0, 0.0),
        slow_axis=(0.0, -1.0, 0.0), pixel_size=tuple(pixel_mm), image_size=(data.shape[1], data.shape[0]),
        trusted_range=(-1.0, cutoff), thickness=thickness, material="Si" if thickness > 0 else "")
    model = ExperimentModel(
        beam=BeamModel(direction=(0.0, 0.0, 1.0), wavelength=wavelength), panels=(panel,),
        goniometer=GoniometerModel(rotation_axis=(1.0, 0.0, 0.0)),
        scan=ScanModel(image_range=(1, 1), oscillation=(start, width), exposure_time=exposure))
    return data.astype(np.int32, copy=False), model
