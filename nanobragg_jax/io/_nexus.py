"""NeXus NXmx files (HDF5, through h5py and hdf5plugin): one frame or a whole rotation series.

    with NXmxWriter("sweep.nxs", model) as w:      # model: io.ExperimentModel (setup.experiment_model)
        for frame in frames:                        # (slow, fast) counts, in scan order
            w.write(frame)
    write_nxmx("one.nxs", image, model)             # the same for frames already in memory
    images, model = read_nxmx("sweep.nxs")          # (n, slow, fast) and the geometry back

Layout (specs/dials-frame.md section 6; read by dxtbx's FormatNXmx, DIALS 3.12):
/entry (NXentry, definition "NXmx"); /entry/data/data (n, rows, fast) with bitshuffle-LZ4, one
chunk per frame, as detectors write it; /entry/instrument/beam/incident_wavelength;
/entry/instrument/detector (NXdetector: sensor material and thickness, saturation and underload,
pixel size, a det_z translation) with one NXdetector_module per panel (module_offset translation,
fast and slow pixel directions); /entry/sample/transformations/omega (start angle of every frame,
omega_end, omega_increment_set).  Panel k's pixels sit at rows k*slow .. (k+1)*slow of the data.

Vectors are NeXus McStas (z along the beam, y up): v_mcstas = diag(-1, 1, -1) v_dxtbx, a rotation
by 180 degrees about y, its own inverse.  dxtbx 3.12 reads no beam direction from NXmx (it takes the
beam along McStas +z), so the models must be in the frame where the beam is dxtbx's -z, as
`setup.experiment_model` gives them.  The beam's polarisation is not written (dxtbx ignores it): the
.expt holds it.

h5py and hdf5plugin are imported when a file is opened, not with nanobragg_jax.io.  Programs that
read these files through the system's HDF5 (DIALS from Debian) need hdf5plugin's filters:
HDF5_PLUGIN_PATH=$(python -c "import hdf5plugin; print(hdf5plugin.PLUGIN_PATH)").
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import sys

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io._atomic import atomic_path
from nanobragg_jax.io._expt import (
    BeamModel,
    ExperimentModel,
    GoniometerModel,
    PanelModel,
    ScanModel,
)

MCSTAS = np.diag([-1.0, 1.0, -1.0])  # dxtbx (imgCIF) <-> NeXus McStas; its own inverse
# dxtbx refuses a sensor thickness of 0 (its parallax model asserts t > 0): a simulation without
# sensor thickness is written as 1 nm, which moves no spot measurably, and read back as 0.
THIN_SENSOR_MM = 1e-6
_DET = "/entry/instrument/detector"
_LENGTH_MM = {"mm": 1.0, "m": 1000.0, "um": 1e-3, "micron": 1e-3, "cm": 10.0, "nm": 1e-6}
_ANGLE_DEG = {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "rad": np.degrees(1.0), "radian": np.degrees(1.0),
              "radians": np.degrees(1.0)}


def _h5():
    import h5py
    import hdf5plugin  # registers its filters with h5py's HDF5 unless HDF5 already finds them

    # With HDF5_PLUGIN_PATH pointing at hdf5plugin's folder (as DIALS needs it), HDF5 loads the
    # bitshuffle library itself, uninitialised, and hdf5plugin keeps that copy: every write then
    # fails ("error during user callback").  Register hdf5plugin's own, initialised filter.
    if not os.path.isfile(str(hdf5plugin.get_config().registered_filters.get("bshuf", ""))):
        hdf5plugin.register("bshuf", force=True)
    return h5py


def _bytes(value: str):
    return np.bytes_(value)


def _dataset(group, name, value, units=None, **attrs):
    ds = group.create_dataset(name, data=_bytes(value) if isinstance(value, str) else value)
    if units is not None:
        ds.attrs["units"] = _bytes(units)
    for key, v in attrs.items():
        ds.attrs[key] = _bytes(v) if isinstance(v, str) else v
    return ds


def _group(parent, name, nx_class):
    g = parent.create_group(name)
    g.attrs["NX_class"] = _bytes(nx_class)
    return g


def _translation(group, name, value_mm, vector, depends_on, offset=True):
    extra = {"offset": np.zeros(3), "offset_units": "mm"} if offset else {}
    return _dataset(group, name, float(value_mm), "mm", transformation_type="translation",
                    vector=np.asarray(vector, dtype=np.float64), depends_on=depends_on, **extra)


def check_nxmx_model(model: ExperimentModel) -> None:
    """Whether this writer can hold the experiment's detector.

    Arguments:
        model: the experiment (io.ExperimentModel); its panels are checked.
    Returns:
        None when the writer can hold the detector.
    Raises:
        ValueError: no panel, panels of different sizes, a pedestal, non-square pixels.
    """
    sizes = {tuple(p.image_size) for p in model.panels}
    if not model.panels:
        raise ValueError("NXmx: the experiment has no panel")
    if len(sizes) != 1:
        raise ValueError(f"NXmx: panels of different sizes are not supported yet ({sorted(sizes)})")
    for p in model.panels:
        if p.pedestal:
            raise ValueError("NXmx holds counts without a pedestal: subtract the pedestal (nanoBragg's "
                             "ADC offset) from the frames and give panels with pedestal 0")
        if abs(p.pixel_size[0] - p.pixel_size[1]) > 1e-12 * p.pixel_size[0]:
            raise ValueError("NXmx: this writer supports square pixels only")


class NXmxWriter:
    """An NXmx file written frame by frame: open once, `write` the frames, `close`.

    The file appears under its name only when `close` succeeds.  By default it is written as a
    temp file in the same folder, and `abort` (or an exception inside a `with` block) removes it.
    A resumable writer (a series that may be interrupted) writes `<path>.part` instead, flushed
    after every frame, and `abort` keeps it: a writer made later with `resume=True` reopens it,
    `frame_sha256` checks the frames it holds, `mark_written` takes them over, and the rest are
    written into the same file.

    Arguments:
        path: the file to write (.nxs, .h5).
        model: the experiment (io.ExperimentModel): beam, panels, goniometer and scan.  With a
            scan, exactly scan.num_images frames must be written; without one (a still series)
            any number, all at the goniometer's angle 0.
        dtype: storage type of the pixels; None: int32 for integer frames, float32 for floats
            (int32 when `frames` is given: the data set is made before the first frame).
        compression: bitshuffle-LZ4 (HDF5 filter 32008) when True.
        frames: the number of frames, known in advance: frames may then be written in any order
            (`write(frame, index)`), and the file holds the whole scan from the start.  None: the
            scan's image count (any number, in order, for a still series).
        resumable: write `<path>.part` and keep it on `abort` (see above).
        resume: reopen an existing `<path>.part` of the same shape (a new one when there is none).
    Raises:
        ValueError: panels of different sizes, non-square pixels, a pedestal; a frame of the wrong
            shape; fewer or more frames than the scan at close.
        InputError: the folder cannot be written.
    """

    def __init__(self, path, model: ExperimentModel, *, dtype=None, compression: bool = True,
                 frames=None, resumable: bool = False, resume: bool = False):
        check_nxmx_model(model)
        self.path = os.fspath(path)
        self.model = model
        self.frames = 0
        self._written: set = set()
        self._dtype = None if dtype is None else np.dtype(dtype)
        self._compression = compression
        p0 = model.panels[0]
        self._frame_shape = (len(model.panels), int(p0.image_size[1]), int(p0.image_size[0]))
        if frames is None and model.scan is not None:
            frames = model.scan.num_images if resumable else None
        if frames is not None and model.scan is not None and frames != model.scan.num_images:
            raise ValueError(f"NXmx: the scan has {model.scan.num_images} images, frames={frames}")
        self._count = None if frames is None else int(frames)
        if resumable and self._count is None:
            raise ValueError("NXmx: a resumable file needs its number of frames")
        self._resumable = resumable
        self._data = None
        self._stack = contextlib.ExitStack()
        self.part_path = self.path + ".part" if resumable else None
        if resume and resumable and os.path.exists(self.part_path):
            self._reopen()
            return
        try:
            if resumable:
                tmp = self.part_path
                with contextlib.suppress(OSError):
                    os.remove(tmp)
            else:
                tmp = self._stack.enter_context(atomic_path(self.path))
            self._file = _h5().File(tmp, "w")
            self._stack.callback(self._file.close)  # closed before the temp file is moved
            self._write_header()
            if self._count is not None:
                self._create_data(self._dtype or np.dtype(np.int32))
                self._write_scan(self._count)
        except OSError as exc:
            self._stack.__exit__(*sys.exc_info())
            raise InputError(f"cannot write {self.path!r}: {exc}") from None
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise

    def _reopen(self):
        """Continue the partial file of an interrupted run (frames are taken over by mark_written)."""
        h5py = _h5()
        try:
            self._file = h5py.File(self.part_path, "r+")
            data = self._file["/entry/data/data"]
            n, rows, cols = self._frame_shape
            if data.shape != (self._count, n * rows, cols):
                raise ValueError(f"its data is {data.shape}, this series makes {(self._count, n * rows, cols)}")
        except (OSError, KeyError, ValueError) as exc:
            with contextlib.suppress(Exception):
                self._file.close()
            raise InputError(f"cannot continue {self.part_path!r} ({exc}); remove it to start the file "
                             "again") from None
        self._stack.callback(self._file.close)
        self._data = data

    # -- the fixed part of the file -----------------------------------------------------------------
    def _write_header(self):
        m, f = self.model, self._file
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        f.attrs["default"] = _bytes("entry")
        entry = _group(f, "entry", "NXentry")
        entry.attrs["default"] = _bytes("data")
        _dataset(entry, "definition", "NXmx")
        _dataset(entry, "start_time", now)
        _dataset(entry, "end_time_estimated", now)
        data = _group(entry, "data", "NXdata")
        data.attrs["signal"] = _bytes("data")

        inst = _group(entry, "instrument", "NXinstrument")
        _dataset(inst, "name", "nanoBragg simulation", short_name="nanoBragg")
        beam = _group(inst, "beam", "NXbeam")
        _dataset(beam, "incident_wavelength", float(m.beam.wavelength), "angstrom")

        p0 = m.panels[0]
        det = _group(inst, "detector", "NXdetector")
        _dataset(det, "depends_on", f"{_DET}/transformations/det_z")
        _dataset(det, "description", "nanoBragg simulated detector")
        _dataset(det, "type", "pixel")
        _dataset(det, "sensor_material", "Si")  # required by dxtbx (Si, CdTe, GaAs)
        _dataset(det, "sensor_thickness", max(float(p0.thickness), THIN_SENSOR_MM), "mm")
        _dataset(det, "saturation_value", int(p0.trusted_range[1]))
        _dataset(det, "underload_value", int(p0.trusted_range[0]) + 1)  # dxtbx: trusted = underload - 1
        _dataset(det, "x_pixel_size", float(p0.pixel_size[0]), "mm")
        _dataset(det, "y_pixel_size", float(p0.pixel_size[1]), "mm")
        exposure = m.scan.exposure_time if m.scan is not None else 1.0
        _dataset(det, "count_time", float(exposure), "s")
        _dataset(det, "frame_time", float(exposure), "s")
        origin0 = np.asarray(p0.origin, dtype=np.float64)
        _dataset(det, "distance", float(abs(origin0 @ p0.normal)), "mm")
        s0 = m.beam.s0
        along = s0 @ p0.normal
        if abs(along) > 1e-12 * np.linalg.norm(s0):  # where the beam meets panel 0's plane (pixels)
            hit = (origin0 @ p0.normal) / along * s0 - origin0
            _dataset(det, "beam_center_x", float(hit @ p0.fast_axis / p0.pixel_size[0]), "pixel")
            _dataset(det, "beam_center_y", float(hit @ p0.slow_axis / p0.pixel_size[1]), "pixel")

        tr = _group(det, "transformations", "NXtransformations")
        det_z = float((MCSTAS @ origin0)[2])
        _translation(tr, "det_z", det_z, (0.0, 0.0, 1.0), ".", offset=False)
        rows = self._frame_shape[1]
        for k, p in enumerate(m.panels):
            module = _group(det, f"module_{k:02d}", "NXdetector_module")
            _dataset(module, "data_origin", np.array([k * rows, 0], dtype=np.int64))
            _dataset(module, "data_size", np.array([p.image_size[1], p.image_size[0]], dtype=np.int64))
            rest = MCSTAS @ np.asarray(p.origin, dtype=np.float64) - (0.0, 0.0, det_z)
            size = float(np.linalg.norm(rest))
            _translation(module, "module_offset", size, rest / size if size > 0 else (1.0, 0.0, 0.0),
                         f"{_DET}/transformations/det_z")
            for axis, name in ((p.fast_axis, "fast_pixel_direction"), (p.slow_axis, "slow_pixel_direction")):
                vector = MCSTAS @ np.asarray(axis, dtype=np.float64)
                _translation(module, name, float(p.pixel_size[0]), vector, f"{module.name}/module_offset")

        sample = _group(entry, "sample", "NXsample")
        _dataset(sample, "name", "nanoBragg crystal")
        _dataset(sample, "depends_on", "/entry/sample/transformations/omega")
        _group(sample, "transformations", "NXtransformations")

    def _create_data(self, dtype):
        n, rows, cols = self._frame_shape
        kw = {"chunks": (1, n * rows, cols), "maxshape": (None, n * rows, cols)}
        if self._compression:
            import hdf5plugin

            kw.update(hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))  # filter 32008, as detectors write
        self._data = self._file["/entry/data"].create_dataset(
            "data", shape=(self._count or 0, n * rows, cols), dtype=dtype, **kw)

    def _write_scan(self, frames: int) -> None:
        """omega (the start angle of every frame), omega_end and omega_increment_set."""
        scan, gonio = self.model.scan, self.model.goniometer
        axis = gonio.rotation_axis if gonio is not None else (1.0, 0.0, 0.0)
        if scan is not None:
            start, width = scan.image_starts(), float(scan.oscillation[1])
        else:
            start, width = np.zeros(frames), 0.0
        st = self._file["/entry/sample/transformations"]
        _dataset(st, "omega", start, "deg", transformation_type="rotation",
                 vector=MCSTAS @ np.asarray(axis, dtype=np.float64), depends_on=".")
        if scan is not None:
            _dataset(st, "omega_end", start + width, "deg")
            _dataset(st, "omega_increment_set", width, "deg")

    # -- frames -------------------------------------------------------------------------------------
    def write(self, frame, index=None) -> None:
        """Store one frame: (slow, fast) for one panel, or (panels, slow, fast).

        index: its 0-based place in the file (any order when the writer knows its number of
        frames); None: the next one."""
        frame = np.asarray(frame)
        if frame.ndim == 2:
            frame = frame[None]
        if frame.shape != self._frame_shape:
            raise ValueError(f"NXmx frame of shape {frame.shape}, expected {self._frame_shape} "
                             "(panels, slow, fast)")
        if self._data is None:
            self._create_data(self._dtype or (np.dtype(np.int32) if np.issubdtype(frame.dtype, np.integer)
                                              else np.dtype(np.float32)))
        if index is None:
            index = self.frames
        if self._count is None:
            if index != self.frames:
                raise ValueError("NXmx: frames in any order need the number of frames (frames=)")
            self._data.resize(self.frames + 1, axis=0)
        elif not 0 <= index < self._count:
            raise ValueError(f"NXmx: frame {index} of a file of {self._count} frames")
        self._data[index] = frame.reshape(self._data.shape[1:]).astype(self._data.dtype, copy=False)
        self._written.add(index)
        self.frames = len(self._written)
        if self._resumable:
            self._file.flush()  # what an interrupted run leaves is readable

    def frame_sha256(self, index: int) -> str:
        """sha256 of frame `index` as stored (its pixels' bytes, little-endian, C order): what a
        series records for each frame of its file."""
        return frame_sha256(self._data[index])

    def mark_written(self, indices) -> None:
        """Count frames already in a reopened file (checked with frame_sha256) as written."""
        self._written.update(int(i) for i in indices)
        self.frames = len(self._written)

    def close(self) -> None:
        """Write the scan (omega of every frame) and put the file in place."""
        if self._file is None:
            return
        try:
            scan = self.model.scan
            if self.frames == 0:
                raise ValueError("NXmx: no frame was written")
            expected = self._count if self._count is not None else (scan.num_images if scan else None)
            if expected is not None and self.frames != expected:
                what = "the scan has" if scan is not None else "the file holds"
                raise ValueError(f"NXmx: {what} {expected} images, {self.frames} were written")
            if self._count is None:
                self._write_scan(self.frames)
        except BaseException:
            self.abort()
            raise
        self._file = None
        self._stack.close()
        if self._resumable:
            os.replace(self.part_path, self.path)

    def abort(self) -> None:
        """Stop: remove the unfinished file (a resumable writer keeps its .part file)."""
        if self._file is not None:
            self._file = None
            if self._resumable:
                self._stack.close()
            else:
                self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "NXmxWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def frame_sha256(frame) -> str:
    """sha256 of a frame's pixels as an NXmx file stores them: the bytes of the array, little-endian,
    C order (int32 counts for a series).

    Arguments:
        frame: the frame's pixels, any shape and dtype (array-like).
    Returns:
        str: 64 lowercase hex digits, the sha256 of the array's bytes in its own dtype made
        little-endian, C order.
    """
    a = np.asarray(frame)
    return hashlib.sha256(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()).hexdigest()


def write_nxmx(path, images, model: ExperimentModel, *, dtype=None, compression: bool = True) -> None:
    """Write frames already in memory as one NXmx file (see NXmxWriter).

    Arguments:
        path: the file.
        images: (slow, fast) one frame, (n, slow, fast) n frames of one panel, or
            (n, panels, slow, fast).
        model: the experiment (io.ExperimentModel).
        dtype, compression: as NXmxWriter.
    Raises:
        ValueError, InputError: as NXmxWriter.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    with NXmxWriter(path, model, dtype=dtype, compression=compression) as w:
        for frame in images:
            w.write(frame)


# --- reading -----------------------------------------------------------------------------------------
def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.shape == () else value[0]
    return value.decode() if isinstance(value, bytes) else str(value)


def _attr(ds, name, default=None):
    return _text(ds.attrs[name]) if name in ds.attrs else default


def _transform(ds, index=0) -> np.ndarray:
    """The 4x4 matrix of one NXtransformations dataset at `index` (mm, lab McStas)."""
    kind = _attr(ds, "transformation_type", "")
    units = _attr(ds, "units", "mm" if kind == "translation" else "deg")
    value = np.asarray(ds[()], dtype=np.float64).reshape(-1)[index]
    vector = np.asarray(ds.attrs.get("vector", (0.0, 0.0, 1.0)), dtype=np.float64).reshape(3)
    vector = vector / np.linalg.norm(vector)
    offset = np.asarray(ds.attrs.get("offset", np.zeros(3)), dtype=np.float64).reshape(3)
    offset = offset * _LENGTH_MM.get(_attr(ds, "offset_units", "mm"), 1.0)
    m = np.eye(4)
    if kind == "translation":
        m[:3, 3] = value * _LENGTH_MM[units] * vector
    elif kind == "rotation":
        angle = np.radians(value * _ANGLE_DEG[units])
        k = np.array([[0, -vector[2], vector[1]], [vector[2], 0, -vector[0]], [-vector[1], vector[0], 0]])
        m[:3, :3] = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    else:
        raise KeyError(f"{ds.name}: transformation_type {kind!r}")
    shift = np.eye(4)
    shift[:3, 3] = offset
    return shift @ m


def _chain(f, path: str) -> np.ndarray:
    """The 4x4 matrix of a depends_on chain starting at `path` (identity for '.')."""
    m, seen = np.eye(4), set()
    while path and path != ".":
        if path in seen:
            raise KeyError(f"depends_on loop at {path}")
        seen.add(path)
        ds = f[path]
        m = _transform(ds) @ m
        path = _attr(ds, "depends_on", ".")
    return m


def read_nxmx(path):
    """Frames and geometry of an NXmx file as this module writes it (any depends_on chains of
    translations and rotations; one rotation axis for the scan).

    Arguments:
        path: the .nxs/.h5 file.
    Returns:
        (images, model): images (n, slow, fast) for one panel or (n, panels, slow, fast); model an
        io.ExperimentModel in dxtbx's frame (beam along -z; polarisation not stored: unpolarised).
    Raises:
        InputError: unreadable file or missing NXmx items.
    """
    h5py = _h5()
    name = os.fspath(path)
    try:
        with h5py.File(name, "r") as f:
            data = f["/entry/data/data"][()]
            wavelength = float(np.asarray(f["/entry/instrument/beam/incident_wavelength"][()]).reshape(-1)[0])
            det = f[_DET]
            thickness = float(np.asarray(det["sensor_thickness"][()])) * _LENGTH_MM[
                _attr(det["sensor_thickness"], "units", "mm")]
            trusted = (float(det["underload_value"][()]) - 1.0 if "underload_value" in det else -1.0,
                       float(det["saturation_value"][()]) if "saturation_value" in det else 65535.0)
            panels, slices = [], []
            for key in sorted(det):
                g = det[key]
                if not isinstance(g, h5py.Group) or _attr(g, "NX_class") != "NXdetector_module":
                    continue
                fast_ds, slow_ds = g["fast_pixel_direction"], g["slow_pixel_direction"]
                frame = _chain(f, _attr(fast_ds, "depends_on"))
                axes = [frame[:3, :3] @ np.asarray(ds.attrs["vector"], dtype=np.float64)
                        for ds in (fast_ds, slow_ds)]
                axes = [MCSTAS @ (v / np.linalg.norm(v)) for v in axes]
                pixel = [float(ds[()]) * _LENGTH_MM[_attr(ds, "units", "mm")] for ds in (fast_ds, slow_ds)]
                origin, size = np.asarray(g["data_origin"][()]), np.asarray(g["data_size"][()])
                slices.append((slice(int(origin[0]), int(origin[0] + size[0])),
                               slice(int(origin[1]), int(origin[1] + size[1]))))
                panels.append(PanelModel(
                    origin=tuple(MCSTAS @ frame[:3, 3]), fast_axis=tuple(axes[0]), slow_axis=tuple(axes[1]),
                    pixel_size=tuple(pixel),
                    image_size=(int(size[1]), int(size[0])), trusted_range=trusted,
                    thickness=0.0 if thickness <= THIN_SENSOR_MM else thickness,
                    material="" if thickness <= THIN_SENSOR_MM else _text(det["sensor_material"][()]),
                    name=g.name))
            omega = f[_text(f["/entry/sample/depends_on"][()])]
            if _attr(omega, "transformation_type") != "rotation" or _attr(omega, "depends_on", ".") != ".":
                raise KeyError("the sample's depends_on is not a single rotation")
            unit = _ANGLE_DEG[_attr(omega, "units", "deg")]
            starts = np.asarray(omega[()], dtype=np.float64).reshape(-1) * unit
            end_name = omega.name + "_end"
            width = (float(np.median(np.asarray(f[end_name][()]) * unit - starts)) if end_name in f
                     else float(np.median(np.diff(starts))) if starts.size > 1 else 0.0)
            axis = MCSTAS @ np.asarray(omega.attrs["vector"], dtype=np.float64)
            exposure = float(det["frame_time"][()]) if "frame_time" in det else 1.0
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"NXmx file {name!r}: cannot read ({exc})") from None
    if not panels:
        raise InputError(f"NXmx file {name!r}: no NXdetector_module")
    images = np.stack([data[(slice(None),) + s] for s in slices], axis=1)
    n = data.shape[0]
    still = width == 0 and (n == 1 or np.all(starts == starts[0]))
    model = ExperimentModel(
        beam=BeamModel(direction=(0.0, 0.0, 1.0), wavelength=wavelength), panels=tuple(panels),
        goniometer=GoniometerModel(rotation_axis=tuple(axis / np.linalg.norm(axis))),
        scan=None if still else ScanModel(image_range=(1, n), oscillation=(float(starts[0]), width),
                                          exposure_time=exposure))
    return (images[:, 0] if len(panels) == 1 else images), model

