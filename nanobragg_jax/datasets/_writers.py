"""Frame files: the output template (`name_#####.img`) and the frame writers it picks by suffix.

A frame writer turns one finished `Frame` into the bytes of its file; the series writes those
bytes atomically (temp file + rename), checksums them and records them in the manifest, so a
writer never touches the disk itself.  SMV (`.img`) is built in; other formats plug in with

    register_frame_writer(FrameWriter("miniCBF", (".cbf",), encode_cbf))

where `encode_cbf(frame) -> bytes` may use any field of `Frame` (the image, C's header fields,
the experiment with its settings and true parameters).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from nanobragg_jax.errors import InputError
from nanobragg_jax.io import smv_bytes


@dataclasses.dataclass(frozen=True)
class Frame:
    """One finished frame, as a writer sees it.

    index: 0-based frame number.  image: uint16 (slow, fast), the file's pixels: the noise image,
    or the int image under -nonoise (what the single run writes to -noisefile / -intfile).
    header: the SMV header fields of that single run (`io.smv_header_fields`: distance, beam
    centre, wavelength, PHI, OSC_RANGE, ... in C's units).  float_image: float32 (slow, fast)
    photons per pixel (-floatfile).  experiment: the frame's `setup.Experiment` (settings,
    static set-up; `experiment.params` are the true parameters in command-line units).
    """

    index: int
    image: np.ndarray
    header: Mapping
    float_image: np.ndarray
    experiment: Any


class FrameWriter(NamedTuple):
    """A frame file format: its name, the template suffixes that select it (lower case, with the
    dot), and `encode(frame) -> bytes`."""

    name: str
    suffixes: tuple
    encode: Callable[[Frame], bytes]


_WRITERS: dict = {}


def register_frame_writer(writer: FrameWriter) -> None:
    """Make `writer` the format of every template ending in one of its suffixes (replacing any
    writer registered for them)."""
    for suffix in writer.suffixes:
        _WRITERS[suffix.lower()] = writer


def frame_writers() -> dict:
    """suffix -> FrameWriter of every registered format."""
    return dict(_WRITERS)


register_frame_writer(FrameWriter("SMV", (".img",), lambda frame: smv_bytes(frame.image, frame.header)))


def float_bytes(img: np.ndarray) -> bytes:
    """A float image as -floatfile writes it: raw little-endian float32, fast index fastest."""
    return np.ascontiguousarray(img, dtype="<f4").tobytes()


_RUN = re.compile(r"#+")


@dataclasses.dataclass(frozen=True)
class Template:
    """`name_#####.img`: the run of #'s is the frame number (zero-padded to its width; 0-based),
    the suffix picks the writer.  `path(i)` is frame i's file, `float_path(i)` its raw float image
    (same name, `.bin`)."""

    text: str

    def __post_init__(self):
        folder, name = os.path.split(self.text)
        runs = _RUN.findall(name)
        if len(runs) != 1:
            raise InputError(f"--out {self.text!r}: the file name needs one run of '#' for the frame "
                             "number (e.g. out/frame_#####.img)")
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in _WRITERS:
            known = ", ".join(sorted(_WRITERS))
            raise InputError(f"--out {self.text!r}: no frame writer for '{suffix or name}' (known: {known})")
        if _RUN.search(os.path.splitext(name)[1]):
            raise InputError(f"--out {self.text!r}: the '#' run must come before the suffix")

    @property
    def writer(self) -> FrameWriter:
        return _WRITERS[os.path.splitext(self.text)[1].lower()]

    @property
    def width(self) -> int:
        return len(_RUN.findall(os.path.basename(self.text))[0])

    @property
    def folder(self) -> str:
        return os.path.dirname(self.text)

    def path(self, index: int) -> str:
        folder, name = os.path.split(self.text)
        return os.path.join(folder, _RUN.sub(f"{index:0{self.width}d}", name))

    def float_path(self, index: int) -> str:
        return os.path.splitext(self.path(index))[0] + ".bin"

    def stem(self) -> str:
        """The file name before the '#' run, without trailing separators ('name' for name_#####.img)."""
        before = os.path.basename(self.text).split("#", 1)[0].rstrip("_-. ")
        return before or "series"

    def fits(self, count: int) -> bool:
        return count <= 10 ** self.width
