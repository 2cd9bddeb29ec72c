"""Making frames in one process: set-up, render on every local device, products, atomic writes.

Frame i is made exactly as `nanobragg <base flags> <frame i's flags>` makes its files: the same
parse, the same set-up (`build_experiment`, with the input files read once per process), the same
compiled frame program (kept per static set-up: compiled or loaded once, then reused with new
parameters), the same C statistics, int image and noise stream.  Batches of one frame per local
device are dispatched before the previous batch's host work (noise, encoding, writing) is done,
so the devices are busy while the host finishes frames.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import itertools
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np

from nanobragg_jax.args import parse_args
from nanobragg_jax.datasets._plan import FrameTask
from nanobragg_jax.datasets._products import detector_counts, frame_products, panel_frame_products
from nanobragg_jax.datasets._writers import Frame, float_bytes, frame_writers
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import atomic_write_bytes, frame_sha256
from nanobragg_jax.setup import build_experiment, experiment_model


@dataclasses.dataclass(frozen=True)
class SeriesJob:
    """What any process needs to make frames of one series (small and picklable: it is sent to
    every Dask worker).  base_argv: the base command line (nanoBragg flags and render options
    such as --mode); workdir: the folder relative input names are read from; compile_cache: use
    the compile caches (not --no-cache); sink: the frames go into one file that the series'
    own process writes (NXmx), so each frame's entry carries its detector counts instead of a
    file being written."""

    base_argv: tuple
    workdir: str
    compile_cache: bool = True
    sink: bool = False

    @property
    def key(self) -> str:
        return hashlib.sha256(pickle.dumps(dataclasses.astuple(self), protocol=4)).hexdigest()


def _jsonable(value):
    arr = np.asarray(value)
    return arr.item() if arr.ndim == 0 else arr.tolist()


def true_parameters(exp) -> dict:
    """A frame's parameters in command-line units (the names of `api.PARAMETERS`; without the
    structure-factor table), as JSON values."""
    return {k: _jsonable(v) for k, v in exp.params.items() if k != "Fhkl"}


class FrameMaker:
    """Makes the frames of one series in this process, on all its local JAX devices.

    Arguments:
        job: the series' `SeriesJob`.
        devices: the JAX devices to spread frames over (None: all local devices).
    The process's JAX set-up (x64, compile caches) is made here, as the command line makes it.
    """

    def __init__(self, job: SeriesJob, devices: Optional[Sequence] = None):
        import jax

        from nanobragg_jax.programs import configure_jax

        self.job = job
        self.store = configure_jax(job.compile_cache)
        self.devices = list(jax.local_devices() if devices is None else devices)
        self.file_cache: dict = {}
        self.programs: dict = {}
        # Host threads for the frames' noise, encoding and writes: the cores XLA:CPU does not
        # need to keep the devices fed (one on a 2-core machine), at most 8.
        self.host_threads = max(1, min(8, (os.cpu_count() or 2) - 1))

    def experiment(self, task: FrameTask):
        """The frame's experiment: the single run's parse and set-up."""
        settings = parse_args(list(self.job.base_argv) + list(task.flags))
        return build_experiment(settings, self.job.workdir, file_cache=self.file_cache)

    def program(self, exp):
        """The frame program of the experiment's static set-up (compiled or loaded once): one
        frame per device, or, for a multi-panel detector, every panel of one frame."""
        from nanobragg_jax.programs import FrameProgram, PanelFrameProgram, panel_program_key, program_key

        rows = exp.settings.chunk_rows
        key = program_key(exp, rows) if exp.panels is None else panel_program_key(exp, rows)
        program = self.programs.get(key) if key is not None else None
        if program is None:
            if exp.panels is None:
                program = FrameProgram(exp, chunk_rows=rows, blocks=1, cache_dir=self.store, devices=self.devices)
            else:
                program = PanelFrameProgram(exp, chunk_rows=rows, cache_dir=self.store)
            if key is not None:
                self.programs[key] = program
        return program

    def finish(self, task: FrameTask, exp, img) -> dict:
        """Products, encoding and atomic writes of one rendered frame (img: the float image, or
        one per panel); its manifest entry.  With `job.sink` the entry carries the frame's
        detector counts (int32, panels stacked along the slow axis) for the series' one file."""
        if exp.panels is not None:
            products = panel_frame_products(exp, img, pgm=False)
            images = products.detector_images()
            per_panel = [{"max_I": st.max_I, "mean": st.mean, "rms": st.rms, "rmsd": st.rmsd} for st in products.stats]
            stats = {k: [p[k] for p in per_panel] for k in per_panel[0]}
            stats["intfile_scale"] = products.int_scale
            if products.noise is not None:
                stats.update(photons=[n[2] for n in products.noise], overloads=[int(n[1]) for n in products.noise])
        else:
            products = frame_products(exp, img, pgm=False)
            images = [products.detector_image()]
            st = products.stats
            stats = {"max_I": st.max_I, "mean": st.mean, "rms": st.rms, "rmsd": st.rmsd,
                     "intfile_scale": products.int_scale}
            if products.noise is not None:
                stats.update(photons=products.noise[2], overloads=int(products.noise[1]))
        entry: dict = {"index": task.index}
        if self.job.sink:
            counts = np.concatenate([detector_counts(image, exp.settings.adc_offset) for image in images])
            entry.update(sha256=frame_sha256(counts), counts=counts)
        else:
            writer = frame_writers().get(os.path.splitext(task.path)[1].lower())
            if writer is None or exp.panels is not None:
                raise InputError(f"no frame writer for {task.path!r}" + (" with several panels" if writer else ""))
            data = writer.encode(Frame(task.index, images[0], exp.header, img, exp, task.path))
            atomic_write_bytes(task.path, data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
        if task.float_path is not None:
            raw = float_bytes(img)
            atomic_write_bytes(task.float_path, raw)
            entry["float_sha256"] = hashlib.sha256(raw).hexdigest()
        entry["params"] = true_parameters(exp)
        entry["stats"] = {k: _jsonable(v) for k, v in stats.items()}
        # The true crystal in dxtbx's frame (real-space a, b, c in A at scan angle 0, or as rendered
        # for a still): what the series' experiment list (--expt) holds for this frame.
        try:
            entry["crystal"] = experiment_model(exp).crystal.real_space.tolist()
        except ValueError:  # no dxtbx frame: the spindle and the polarization both along the beam
            pass
        return entry

    def batches(self, tasks: Iterable[FrameTask]):
        """(program, [(task, experiment)]) for every batch: at most one frame per device, all of
        one static set-up (one program)."""
        batch, program = [], None
        for task in tasks:
            exp = self.experiment(task)
            p = self.program(exp)
            if batch and (p is not program or len(batch) == program.max_frames):
                yield program, batch
                batch = []
            program = p
            batch.append((task, exp))
        if batch:
            yield program, batch

    def make(self, tasks: Iterable[FrameTask], on_done: Callable[[dict], None]) -> None:
        """Make every task's frame, calling on_done(manifest entry) for each, in frame order, as
        soon as it is written (always from the calling thread).

        Each batch is dispatched to the devices before the previous batch's host work, which runs
        on `host_threads` threads (C's noise loop, hashing and writes release the GIL), so devices
        and host overlap.  The first error (for example a full disk) stops the run; frames being
        written finish (atomically) or leave nothing."""
        backlog = 2 * self.host_threads  # frames waiting for the host, at most
        finishing: collections.deque = collections.deque()
        inflight = None
        with ThreadPoolExecutor(self.host_threads, thread_name_prefix="nanobragg-frame") as pool:
            try:
                for program, batch in itertools.chain(self.batches(tasks), [(None, None)]):
                    started = None if batch is None else (program, batch, program.submit([e for _, e in batch]))
                    if inflight is not None:
                        done_program, done_batch, pending = inflight
                        for (task, exp), (img, _) in zip(done_batch, done_program.collect(pending)):
                            finishing.append(pool.submit(self.finish, task, exp, img))
                    inflight = started
                    while finishing and (finishing[0].done() or len(finishing) > backlog or inflight is None):
                        on_done(finishing.popleft().result())
            finally:
                for future in finishing:
                    future.cancel()


_MAKERS: dict = {}


def make_frames(job: SeriesJob, tasks: List[FrameTask]) -> List[dict]:
    """Make `tasks` in this process with a FrameMaker kept per job (what a Dask worker runs).

    The working folder must be reachable under the same path as on the client (a shared file
    system); relative input names are read from it.  Returns the manifest entries."""
    if os.getcwd() != job.workdir:
        try:
            os.chdir(job.workdir)
        except OSError as exc:
            raise InputError(f"this worker cannot enter the series' working folder {job.workdir!r} "
                             f"({exc.strerror}); workers need the client's file system") from None
    maker = _MAKERS.get(job.key)
    if maker is None:
        _MAKERS.clear()
        maker = _MAKERS[job.key] = FrameMaker(job)
    out: List[dict] = []
    maker.make(tasks, out.append)
    return out
