"""`nanobragg series <nanoBragg flags> --frames N --out TEMPLATE [options]`: the whole command.

Plan (which single run each frame is, `_plan.py`), manifest (what is done, `_manifest.py`),
then the frames: in this process on every local device (`_engine.py`) or on a Dask cluster
(`_cluster.py`), with a progress bar, resumable from the manifest.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import sys
import time
from typing import Optional, Sequence, TextIO

from nanobragg_jax.args import parse_args
from nanobragg_jax.datasets._engine import FrameMaker, SeriesJob
from nanobragg_jax.datasets._manifest import Manifest, frame_entry, same_plan_flags
from nanobragg_jax.datasets._plan import Seeds, Variation, plan_frames, read_orientations
from nanobragg_jax.datasets._processing import SeriesFile, stored_model, write_series_expt
from nanobragg_jax.datasets._products import run_warnings
from nanobragg_jax.datasets._progress import SeriesProgress
from nanobragg_jax.datasets._writers import Template
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import leftover_temp_files, read_expt
from nanobragg_jax.setup import build_experiment, experiment_images, write_structure_factor_dump

USAGE = "nanobragg series <nanoBragg flags> --frames N --out TEMPLATE [options]"
_RANDOM = re.compile(r"random(?::(\d+))?$")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, our prefix, exit code 2 (via InputError)
        raise InputError(f"series: {message}")


def series_parser() -> argparse.ArgumentParser:
    """The series' own options (the other tokens are nanoBragg flags and render options)."""
    # No -h: argparse would take nanoBragg's -hkl for "-h kl".  run_series answers -h/--help itself.
    p = _Parser(prog="nanobragg series", usage=USAGE, allow_abbrev=False, add_help=False, description=(
        "Many frames of one experiment. Frame i is the single nanobragg run with the flags plus its own: "
        "-phi phi0 + i*osc (a rotation sweep) or an orientation (a still series), and -seed seed + i. "
        "Frame files appear only complete; a manifest beside them records each frame's flags, true "
        "parameters and checksum."), epilog=(
        "Every nanoBragg flag and every option of a single run applies to each frame (nanobragg --help): "
        "--mode, --dtype, --noise-stream, --stol/--response and the detector-response options, --geom, "
        "--experiment/--image; --expt FILE writes the true experiment of the whole series as a DIALS "
        "experiment list."))
    add = p.add_argument
    add("--frames", type=int, metavar="N",
        help="number of frames (default with --orientations FILE: one per orientation; with --experiment: "
             "the experiment list's images from --image on)")
    add("--out", required=True, metavar="TEMPLATE",
        help="frame files, e.g. out/name_#####.img: the #'s are the 0-based frame number, the suffix "
             "picks the format (.img: SMV, .cbf: miniCBF); or out/name.nxs (.nx5, .h5, .hdf5): one NeXus "
             "NXmx file holding every frame (name.nxs.part until it is complete)")
    add("--float", action="store_true", help="also keep each raw float frame (<frame>.bin, as -floatfile)")
    add("--orientations", metavar="random[:SEED]|FILE",
        help="a still series (phi is not advanced): a random orientation per frame (-misset random with "
             "-misset_seed SEED + i; SEED defaults to -misset_seed) or one line of FILE per frame (3 misset "
             "angles in deg, or the 9 numbers of an A matrix as the three lines of a .mat file)")
    add("--vary", action="append", default=[], metavar="NAME=DIST",
        help="draw N, cell or lambda per frame: normal:SIGMA or uniform:LO:HI (a value ending in %% is "
             "relative to the flags' value); repeatable")
    add("--vary-seed", type=int, metavar="S", help="seed of the --vary draws (default: the -seed value)")
    add("--manifest", metavar="PATH", help="the manifest (default: <name>.json beside the frames)")
    add("--resume", action="store_true",
        help="continue the series of an existing manifest: frames whose files still have their recorded "
             "checksums are kept, the others are made")
    add("--workers", type=int, metavar="K", help="make the frames on a local Dask cluster of K processes")
    add("--scheduler", metavar="ADDRESS",
        help="make the frames on the Dask cluster at ADDRESS (tcp://host:port); workers need the same paths")
    add("--frames-per-task", type=int, metavar="F",
        help="frames per Dask task (default: about four tasks per worker, at most 8 frames each)")
    return p


def _options(argv: Sequence[str]):
    """(series options, nanoBragg tokens), checked."""
    opts, flags = series_parser().parse_known_args(list(argv))
    for name in ("frames", "workers", "frames_per_task"):
        value = getattr(opts, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if opts.workers is not None and opts.scheduler is not None:
        raise InputError("--workers starts a local cluster, --scheduler uses a running one: give one of them")
    if opts.vary_seed is not None and opts.vary_seed < 0:
        raise InputError(f"--vary-seed must be >= 0, got {opts.vary_seed}")
    return opts, flags


def _seeds(opts, settings, flags, old: Optional[dict]) -> Seeds:
    """The series' seeds as the command line spells them (C stores them negated).  Unpinned ones
    default to the time; a resumed run takes the manifest's, so that it plans the same frames."""
    random = _RANDOM.match(opts.orientations or "")
    misset = int(random.group(1)) if random and random.group(1) else -settings.misset_seed
    seeds = Seeds(seed=-settings.seed, misset_seed=misset,
                  vary_seed=opts.vary_seed if opts.vary_seed is not None else abs(settings.seed))
    if old is not None and isinstance(old.get("seeds"), dict) and same_plan_flags(old.get("flags"), flags):
        seeds = Seeds(**{k: int(old["seeds"][k]) for k in ("seed", "misset_seed", "vary_seed")})
    return seeds


def _orientations(opts, listed: Optional[tuple] = None):
    """(kind, orientation per line of the file or None for random/none, frame count).
    listed: (images available from --image on, whether the list has a crystal) with --experiment."""
    if opts.orientations is None:
        if opts.frames is None and listed is None:
            raise InputError("series: --frames N is needed")
        count = listed[0] if opts.frames is None else opts.frames
        if listed is not None and count > listed[0]:
            raise InputError(f"series: --frames {count}, but the experiment list has {listed[0]} image"
                             f"{'s' * (listed[0] != 1)} from --image on")
        return "sweep", None, count
    if listed is not None and listed[1]:
        raise InputError("series: --orientations with an experiment list that holds a crystal (its "
                         "orientation replaces the frames'); drop one of them")
    if _RANDOM.match(opts.orientations):
        if opts.frames is None:
            raise InputError("series: --frames N is needed with --orientations random")
        return "stills", [["random"]] * opts.frames, opts.frames
    rows = read_orientations(opts.orientations)
    count = len(rows) if opts.frames is None else opts.frames
    if len(rows) < count:
        raise InputError(f"--orientations {opts.orientations}: {len(rows)} orientations for {count} frames")
    return "stills", rows, count


def run_series(argv: Sequence[str], *, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """The `nanobragg series` command (argv: what follows `series`).

    Arguments:
        argv: nanoBragg flags, render options (--mode, --dtype, ...) and the series options
            (`series_parser`), in any order.
        out, err: where the summary and the warnings, errors and progress bar go (default
            stdout, stderr).
    Returns:
        the exit code: 0 done, 130 interrupted (the manifest keeps what is done; the same command
        with --resume continues).
    Raises:
        InputError: bad options or flags, unreadable inputs, an unwritable output folder, a full
            disk, or a manifest of another series under --resume.  No frame is left half-written.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if any(a in ("-h", "--help") for a in argv):
        out.write(series_parser().format_help())
        return 0
    opts, flags = _options(argv)
    settings = parse_args(flags)
    template = Template(opts.out)
    listed = _listed_images(settings, opts)
    kind, orientations, count = _orientations(opts, listed)
    if not template.fits(count):
        raise InputError(f"--out {opts.out!r}: {count} frames need more digits than its {template.width} '#'")
    variations = [Variation.parse(v) for v in opts.vary]
    folder = os.path.abspath(template.folder or ".")
    manifest_path = os.path.abspath(opts.manifest or os.path.join(folder, template.stem() + ".json"))
    old = Manifest.load(manifest_path) if opts.resume else None
    if old is None and os.path.exists(manifest_path):
        print(f"nanobragg: warning: {manifest_path} of an earlier series is replaced; frame files of that "
              "series this one does not make stay as they are (--resume continues a series)", file=err)
    seeds = _seeds(opts, settings, flags, old)

    exp = build_experiment(settings, workdir=".")
    if exp.panels is not None and not template.container:
        raise InputError("series: a multi-panel detector is written as one NXmx file (--out name.nxs); "
                         "SMV and miniCBF frames hold one panel")
    if exp.panels is not None and opts.float:
        raise InputError("series: --float is not available for a multi-panel detector")
    if template.container or template.writer.name == "miniCBF" or settings.expt_file is not None:
        stored_model(exp, template, count)  # a geometry the format cannot hold: refused before rendering
    if template.container and any(v.name == "lambda" for v in variations):
        print("nanobragg: warning: NXmx holds one wavelength: the drawn ones are in the manifest"
              + (" and the experiment list" if settings.expt_file else ""), file=err)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {opts.out!r}: cannot create the folder {folder!r} "
                         f"({exc.strerror})") from None
    tasks = plan_frames(count, kind=kind, settings=settings, exp=exp, seeds=seeds, template=template,
                        orientations=orientations, variations=variations, keep_float=opts.float)
    manifest = _manifest(manifest_path, argv, flags, kind, opts, template, count, seeds, settings, tasks)
    sink = None
    if template.container:  # one NXmx file for every frame, written by this process
        model = stored_model(exp, template, count)
        if kind == "stills" or model.scan is None:
            model = model.replace(scan=None)
        sink = SeriesFile(template, model, count, resume=old is not None,
                          warn=lambda w: print(f"nanobragg: warning: {w}", file=err))
    try:
        kept = set(manifest.resume_from(old, sink.digest if sink else None)) if old is not None else set()
        if sink is not None:
            sink.keep(kept)
        # Temp files of frames whose writer was killed mid-write (never frames themselves).
        for path in leftover_temp_files([p for t in tasks for p in (t.path, t.float_path, manifest_path) if p]):
            with contextlib.suppress(OSError):
                os.remove(path)
        write_structure_factor_dump(exp)  # C leaves Fdump.bin after reading -hkl; so does each single run
        for w in run_warnings(exp):
            print(f"nanobragg: warning: {w}", file=err)
        manifest.save()  # also the check that the folder is writable, before any rendering
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    todo = [t for t in tasks if t.index not in kept]
    if kept:
        print(f"resuming: {len(kept)} of {count} frames are done (checksums match), {len(todo)} to make",
              file=out)

    job = SeriesJob(base_argv=tuple(flags), workdir=os.getcwd(), compile_cache=settings.compile_cache,
                    sink=sink is not None)
    progress = SeriesProgress(count, len(kept), enabled=settings.progress_meter, stream=err)

    def done(entry: dict) -> None:
        if sink is not None:
            entry = sink.write(entry)
        manifest.record(entry)
        progress.advance()
        manifest.save(force=False)

    t0 = time.monotonic()
    try:
        with progress:
            if opts.workers is not None or opts.scheduler is not None:
                from nanobragg_jax.datasets._cluster import dask_client, run_on_cluster

                with dask_client(opts.workers, opts.scheduler) as client:
                    where = run_on_cluster(client, job, todo, done, opts.frames_per_task)
            else:
                maker = FrameMaker(job)
                n = len(maker.devices)
                where = f"on {n} {maker.devices[0].platform} device{'s' * (n > 1)}"
                maker.make(todo, done)
        if sink is not None:
            sink.close()
    except KeyboardInterrupt:
        _final_save(manifest, sink)
        print(f"nanobragg: interrupted: {manifest.done()} of {count} frames are done; the same command "
              "with --resume continues", file=err)
        return 130
    except BaseException:
        _final_save(manifest, sink)
        raise
    seconds = time.monotonic() - t0
    write_series_expt(settings.expt_file, exp, template, kind, manifest.frames)
    manifest.data["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    manifest.save()
    names = f" {template.path(todo[0].index)}" if todo else ""
    if len(todo) > 1:
        names += f" ... {template.path(todo[-1].index)}"
    if template.container:
        names = f" into {template.text}"
    rate = f", {len(todo) / seconds:.3g} frames/s" if todo and seconds > 0 else ""
    print(f"wrote {len(todo)} frames{names} {where}{rate}; manifest {manifest.path}", file=out)
    return 0


def _manifest(path, argv, flags, kind, opts, template, count, seeds, settings, tasks) -> Manifest:
    import nanobragg_jax

    folder = os.path.dirname(path)

    def rel(p):
        return None if p is None else os.path.relpath(p, folder)

    return Manifest(path, head={
        "version": nanobragg_jax.__version__,
        "command": ["nanobragg", "series", *argv],
        "flags": list(flags),
        "kind": kind,
        "template": opts.out,
        "count": count,
        "format": template.format_name,
        "seeds": {**seeds.as_dict(), "mosaic_seed": -settings.mosaic_seed},
        "options": {"float": bool(opts.float), "orientations": opts.orientations, "vary": list(opts.vary)},
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }, frames=[frame_entry(t.index, t.flags, rel(t.path), rel(t.float_path)) for t in tasks])


def _final_save(manifest: Manifest, sink=None) -> None:
    """Save what is done when the run stops early; a manifest that cannot be written (a full
    disk) keeps its last complete version, and the original error is the one reported.  The
    series' NXmx file is closed and kept as `name.nxs.part` for --resume."""
    if sink is not None:
        try:
            sink.abort()
        except Exception:  # noqa: BLE001 - the original error is the one reported
            pass
    try:
        manifest.save()
    except (InputError, OSError):
        pass


def _listed_images(settings, opts) -> Optional[tuple]:
    """With --experiment: (its images from --image on, whether that image's experiment has a
    crystal); the options a list's crystal or beam would silently override are refused."""
    if settings.experiment_file is None:
        return None
    experiments = read_expt(settings.experiment_file)
    images = experiment_images(experiments)
    first = settings.experiment_image or 1
    if not 1 <= first <= len(images):
        raise InputError(f"--image {first}: {settings.experiment_file} has {len(images)} images")
    has_crystal = experiments[images[first - 1][0]].crystal is not None
    for v in opts.vary:
        name = v.partition("=")[0]
        if name == "lambda" or (name == "cell" and has_crystal):
            raise InputError(f"series: --vary {name} with --experiment: the experiment list's "
                             f"{'beam' if name == 'lambda' else 'crystal'} replaces the drawn values")
    return len(images) - first + 1, has_crystal
