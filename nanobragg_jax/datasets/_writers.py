"""Frame files: the output template (`name_#####.img`) and the frame writers it picks by suffix.

A frame writer turns one finished `Frame` into the bytes of its file; the series writes those
bytes atomically (temp file + rename), checksums them and records them in the manifest, so a
writer never touches the disk itself.  SMV (`.img`) and miniCBF (`.cbf`) are built in; other
formats plug in with

    register_frame_writer(FrameWriter("TIFF", (".tif",), encode_tiff))

where `encode_tiff(frame) -> bytes` may use any field of `Frame` (the image, C's header fields,
the experiment with its settings and true parameters, the file's path).

NeXus NXmx (`name.nxs`, `.nx5`, `.h5`, `.hdf5`, no '#') is not a frame file but one file for the
whole series (`CONTAINER_SUFFIXES`): the series writes its frames into it (datasets/_nxmx.py).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io import cbf_orientation, minicbf_bytes, smv_bytes


@dataclasses.dataclass(frozen=True)
class Frame:
    """One finished frame, as a writer sees it.

    index: 0-based frame number.  image: uint16 (slow, fast), the file's pixels: the noise image,
    or the int image under -nonoise (what the single run writes to -noisefile / -intfile).
    header: the SMV header fields of that single run (`io.smv_header_fields`: distance, beam
    centre, wavelength, PHI, OSC_RANGE, ... in C's units).  float_image: float32 (slow, fast)
    photons per pixel (-floatfile).  experiment: the frame's `setup.Experiment` (settings,
    static set-up; `experiment.params` are the true parameters in command-line units).  path: the
    file the bytes go to.
    """

    index: int
    image: np.ndarray
    header: Mapping
    float_image: np.ndarray
    experiment: Any
    path: str = ""


class FrameWriter(NamedTuple):
    """A frame file format: its name, the template suffixes that select it (lower case, with the
    dot), and `encode(frame) -> bytes`."""

    name: str
    suffixes: tuple
    encode: Callable[[Frame], bytes]


_WRITERS: dict = {}


def register_frame_writer(writer: FrameWriter) -> None:
    """Make `writer` the format of every template ending in one of its suffixes (replacing any
    writer registered for them).

    Arguments:
        writer: a FrameWriter (name, suffixes such as ".cbf", encode: Frame -> bytes); suffixes
            are matched case-insensitively.
    """
    for suffix in writer.suffixes:
        _WRITERS[suffix.lower()] = writer


def frame_writers() -> dict:
    """suffix -> FrameWriter of every registered format."""
    return dict(_WRITERS)


def cbf_bytes(frame: Frame) -> bytes:
    """A frame as a miniCBF (what `nanobragg --out frame_00001.cbf` writes): the counts without
    the ADC offset, the panel as dxtbx's FormatCBFMini reads it (`io.cbf_orientation`), the
    header's angles those of this frame's scan image."""
    from nanobragg_jax.datasets._products import detector_counts
    from nanobragg_jax.setup import experiment_model

    exp = frame.experiment
    to_file, model = cbf_orientation(experiment_model(exp))
    counts = detector_counts(frame.image, exp.settings.adc_offset)
    return minicbf_bytes(to_file(counts), model, 0, name=os.path.basename(frame.path) or "image.cbf")


register_frame_writer(FrameWriter("SMV", (".img",), lambda frame: smv_bytes(frame.image, frame.header)))
register_frame_writer(FrameWriter("miniCBF", (".cbf",), cbf_bytes))

#: Suffixes of a file that holds the whole series (NeXus NXmx), named without '#'.
CONTAINER_SUFFIXES = (".nxs", ".nx5", ".h5", ".hdf5")


def float_bytes(img: np.ndarray) -> bytes:
    """A float image as -floatfile writes it: raw little-endian float32, fast index fastest."""
    return np.ascontiguousarray(img, dtype="<f4").tobytes()


_RUN = re.compile(r"#+")


@dataclasses.dataclass(frozen=True)
class Template:
    """`name_#####.img`: the run of #'s is the frame number (zero-padded to its width; 0-based),
    the suffix picks the writer.  `path(i)` is frame i's file, `float_path(i)` its raw float image
    (same name, `.bin`).  `name.nxs` (no '#', a `CONTAINER_SUFFIXES` suffix): one NXmx file for
    the whole series; `path(i)` is that file, `float_path(i)` is `name_000005.bin`."""

    text: str

    def __post_init__(self):
        folder, name = os.path.split(self.text)
        runs = _RUN.findall(name)
        if self.container:
            if runs:
                raise InputError(f"--out {self.text!r}: one NXmx file holds the whole series; name it "
                                 "without '#' (e.g. out/sweep.nxs)")
            return
        if len(runs) != 1:
            raise InputError(f"--out {self.text!r}: the file name needs one run of '#' for the frame "
                             "number (e.g. out/frame_#####.img)")
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in _WRITERS:
            known = ", ".join(sorted(_WRITERS)) + "; one NXmx file: " + ", ".join(CONTAINER_SUFFIXES)
            raise InputError(f"--out {self.text!r}: no frame writer for '{suffix or name}' (known: {known})")
        if _RUN.search(os.path.splitext(name)[1]):
            raise InputError(f"--out {self.text!r}: the '#' run must come before the suffix")

    @property
    def container(self) -> bool:
        """One file for the whole series (NXmx)."""
        return os.path.splitext(self.text)[1].lower() in CONTAINER_SUFFIXES

    @property
    def format_name(self) -> str:
        return "NeXus NXmx" if self.container else self.writer.name

    @property
    def writer(self) -> FrameWriter:
        return _WRITERS[os.path.splitext(self.text)[1].lower()]

    @property
    def width(self) -> int:
        return 6 if self.container else len(_RUN.findall(os.path.basename(self.text))[0])

    @property
    def folder(self) -> str:
        return os.path.dirname(self.text)

    def path(self, index: int) -> str:
        if self.container:
            return self.text
        folder, name = os.path.split(self.text)
        return os.path.join(folder, _RUN.sub(f"{index:0{self.width}d}", name))

    def float_path(self, index: int) -> str:
        if self.container:
            return os.path.join(self.folder, f"{self.stem()}_{index:0{self.width}d}.bin")
        return os.path.splitext(self.path(index))[0] + ".bin"

    def stem(self) -> str:
        """The file name before the '#' run, without trailing separators ('name' for name_#####.img);
        an NXmx file's name without its suffix."""
        if self.container:
            return os.path.splitext(os.path.basename(self.text))[0] or "series"
        before = os.path.basename(self.text).split("#", 1)[0].rstrip("_-. ")
        return before or "series"

    def fits(self, count: int) -> bool:
        return self.container or count <= 10 ** self.width
