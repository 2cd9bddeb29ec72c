"""A series' files for processing programs: the one NeXus NXmx file of a series
(`--out name.nxs`) and the true experiment of the whole series as a DIALS experiment list
(`--expt FILE`).

The NXmx file is written by the series' own process (`SeriesFile`): every frame's detector counts
come back to it (from this process's frame maker or from Dask workers) and are stored at the
frame's place as soon as they arrive, in any order.  The file is `name.nxs.part` until every
frame is in; then it is renamed to `name.nxs`, so the file appears only complete.  An interrupted
run leaves the `.part` file (flushed after every frame) and the manifest, which records the
sha256 of each frame's pixels as stored: `--resume` reopens it, keeps the frames whose pixels
still have their checksums, and makes the others.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from nanobragg_jax.errors import InputError
from nanobragg_jax.io import (
    CrystalModel,
    ExperimentModel,
    NotRepresentable,
    NXmxWriter,
    cbf_orientation,
    check_nxmx_model,
    write_expt,
)
from nanobragg_jax.setup import experiment_model


def _format(template) -> str:
    if template.container:
        return "nxmx"
    return "cbf" if template.text.lower().endswith(".cbf") else "other"


def stored_model(exp, template, frames: int) -> ExperimentModel:
    """The series' experiment as its files store it: pixels less the ADC offset (NXmx, miniCBF)
    or with it (SMV: pedestal = -adc), the panel as a miniCBF header lays it out.

    Raises:
        InputError: a geometry the format cannot hold (miniCBF: a tilted or multi-panel
            detector; NXmx: panels of different sizes)."""
    return file_model(exp, _format(template), template.text, frames)[1]


def file_model(exp, fmt: str, name: str, frames: int = 1):
    """The experiment as an image file of format `fmt` stores it (the series and `--out`).

    Arguments:
        exp: the Experiment.  fmt: "nxmx", "cbf", or anything else for SMV.  name: the file (for
            messages).  frames: images of the scan.
    Returns:
        (to_file, model): to_file lays a (slow, fast) image out as the file stores it (flipped or
        transposed to dxtbx's +x, -y for miniCBF; as it is otherwise); model: the ExperimentModel
        with the pedestal of the file's pixels (0 for NXmx and miniCBF counts, the ADC offset for
        SMV) and, for miniCBF, the panel as its header lays it out.
    Raises:
        InputError: a geometry the format cannot hold (miniCBF: a tilted or multi-panel detector;
            NXmx: panels of different sizes).
    """
    pedestal = 0.0 if fmt in ("nxmx", "cbf") else float(exp.settings.adc_offset)
    model, to_file = experiment_model(exp, frames=frames, pedestal=pedestal), (lambda image: image)
    try:
        if fmt == "cbf":
            to_file, model = cbf_orientation(model)
        elif fmt == "nxmx":
            check_nxmx_model(model)
    except (NotRepresentable, ValueError) as exc:
        hint = "; write NeXus NXmx (--out name.nxs) instead" if fmt == "cbf" else ""
        raise InputError(f"--out {name!r}: {exc}{hint}") from None
    return to_file, model


class SeriesFile:
    """The one NXmx file of a series (see the module docstring).

    Arguments:
        template: the series' Template (`name.nxs`).  model: `stored_model` of the series; a
            still series (or frames without a scan) is stored without a scan.  count: frames.
        resume: continue `name.nxs.part` (or a finished `name.nxs`) of an earlier run.
        warn: called with a one-line warning (a partial file that cannot be continued).
    """

    def __init__(self, template, model: ExperimentModel, count: int, *, resume: bool, warn=print):
        path = os.path.abspath(template.text)
        part = path + ".part"
        if resume and not os.path.exists(part) and os.path.exists(path):
            os.replace(path, part)  # a finished file: its frames are checked and kept like any others
        try:
            self.writer = NXmxWriter(path, model, frames=count, resumable=True, resume=resume)
        except InputError as exc:
            if not resume:
                raise
            warn(f"{exc}: starting it again (every frame is made anew)")
            self.writer = NXmxWriter(path, model, frames=count, resumable=True, resume=False)
        self._shape = (len(model.panels), int(model.panels[0].image_size[1]), int(model.panels[0].image_size[0]))

    def digest(self, index: int) -> str:
        """sha256 of frame `index` as the file holds it (what the manifest records)."""
        return self.writer.frame_sha256(index)

    def keep(self, indices) -> None:
        self.writer.mark_written(indices)

    def write(self, entry: dict) -> dict:
        """Store the counts a finished frame's entry carries; the entry without them."""
        counts = entry.pop("counts")
        self.writer.write(counts.reshape(self._shape), entry["index"])
        return entry

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


def series_experiments(exp, template, kind: str, frames: list[dict]) -> list[ExperimentModel]:
    """The true experiment of a finished series, as dxtbx models referring to its files.

    A rotation sweep is one experiment whose scan has every frame (frame i is image i of the
    files: `name_00000.cbf` is image 0, an NXmx file's image i is index i).  A still series, or
    frames without oscillation, is one experiment per frame with that frame's own crystal and
    wavelength (from the manifest's entries: `crystal`, `params.lambda`).

    Arguments:
        exp: the series' Experiment (its first frame's set-up).  template: the Template.
        kind: "sweep" or "stills".  frames: the manifest's frame entries, all finished.
    Returns:
        the ExperimentModels, in frame order.
    """
    single_file = template.container
    sweep = stored_model(exp, template, len(frames))
    if kind == "sweep" and sweep.scan is not None:
        return [sweep.with_images(template.path(frames[0]["index"]), single_file=single_file)]
    one = stored_model(exp, template, 1)
    out: list[ExperimentModel] = []
    for f in frames:
        i = int(f["index"])
        beam = dataclasses.replace(one.beam, wavelength=float(f["params"]["lambda"]))
        crystal = CrystalModel(*(tuple(v) for v in f["crystal"])) if "crystal" in f else one.crystal
        m = one.replace(beam=beam, crystal=crystal)
        if single_file:  # image i of the one file
            if m.scan is not None:
                m = m.replace(scan=dataclasses.replace(m.scan, image_range=(i + 1, i + 1)))
            m = m.with_images(template.path(i), single_file=True)
            m = m.replace(imageset=dataclasses.replace(m.imageset, single_file_indices=(i,)))
        else:
            m = m.with_images(template.path(i))
        out.append(m)
    return out


def write_series_expt(path: Optional[str], exp, template, kind: str, frames: list[dict]) -> None:
    """`--expt FILE` of a series (series_experiments), written atomically; nothing when path is None."""
    if path is not None:
        write_expt(path, series_experiments(exp, template, kind, frames))
