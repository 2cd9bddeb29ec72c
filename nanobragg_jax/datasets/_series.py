"""`nanobragg series <nanoBragg flags> --frames N --out TEMPLATE [options]`: the whole command.

Plan (which single run each frame is, `_plan.py`), manifest (what is done, `_manifest.py`),
then the frames: in this process on every local device (`_engine.py`) or on a Dask cluster
(`_cluster.py`), with a progress bar, resumable from the manifest.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from typing import List, Optional, Sequence, TextIO

from nanobragg_jax.args import parse_args
from nanobragg_jax.datasets._engine import FrameMaker, SeriesJob
from nanobragg_jax.datasets._manifest import Manifest, frame_entry, same_plan_flags
from nanobragg_jax.datasets._plan import Seeds, Variation, plan_frames, read_orientations
from nanobragg_jax.datasets._products import run_warnings
from nanobragg_jax.datasets._progress import SeriesProgress
from nanobragg_jax.datasets._writers import Template
from nanobragg_jax.errors import InputError
from nanobragg_jax.setup import build_experiment, write_structure_factor_dump

USAGE = "nanobragg series <nanoBragg flags> --frames N --out TEMPLATE [options]"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, our prefix, exit code 2 (via InputError)
        raise InputError(f"series: {message}")


def series_parser() -> argparse.ArgumentParser:
    """The series' own options (the other tokens are nanoBragg flags)."""
    # No -h: argparse would take nanoBragg's -hkl for "-h kl".  run_series answers -h/--help itself.
    p = _Parser(prog="nanobragg series", usage=USAGE, allow_abbrev=False, add_help=False, description=(
        "Many frames of one experiment: frame i is the single run with `-phi phi0 + i*osc` (a rotation "
        "sweep) or its own orientation (a still series), and noise seed `-seed + i`. Files appear only "
        "complete; a manifest beside them records each frame's flags, true parameters and checksum."))
    p.add_argument("--frames", type=int, metavar="N", help="number of frames (default with --orientations FILE: "
                   "one per orientation)")
    p.add_argument("--out", required=True, metavar="TEMPLATE", help="frame files, e.g. out/name_#####.img: "
                   "the #'s are the 0-based frame number, the suffix picks the format (.img = SMV)")
    p.add_argument("--float", action="store_true", help="also keep each raw float frame (<frame>.bin, as -floatfile)")
    p.add_argument("--orientations", metavar="random|FILE", help="a still series: each frame a random orientation "
                   "(-misset random, seeded -misset_seed + i) or one line of FILE (3 misset angles in deg, or the "
                   "9 numbers of an A matrix as in a .mat file); phi is not advanced")
    p.add_argument("--vary", action="append", default=[], metavar="NAME=DIST",
                   help="draw N, cell or lambda per frame: normal:SIGMA or uniform:LO:HI (values may end in %% "
                        "for relative to the flags' value); repeatable")
    p.add_argument("--vary-seed", type=int, metavar="S", help="seed of the --vary draws (default: the -seed value)")
    p.add_argument("--manifest", metavar="PATH", help="the manifest (default: <folder>/<name>.json beside the frames)")
    p.add_argument("--resume", action="store_true", help="continue the series of an existing manifest: frames whose "
                   "files have their recorded checksums are kept, the others are made")
    p.add_argument("--workers", type=int, metavar="K", help="make the frames on a local Dask cluster of K worker "
                   "processes (127.0.0.1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="make the frames on the Dask cluster at ADDRESS "
                   "(tcp://host:port); workers need the same file paths")
    p.add_argument("--frames-per-task", type=int, metavar="F", help="frames per Dask task (default: about four "
                   "tasks per worker, at most 8 frames each)")
    return p


def split_argv(argv: Sequence[str]):
    """(series options namespace, nanoBragg tokens) of the command's arguments."""
    parser = series_parser()
    opts, rest = parser.parse_known_args(list(argv))
    return opts, rest


def _check(opts) -> None:
    if opts.frames is not None and opts.frames < 1:
        raise InputError(f"--frames must be at least 1, got {opts.frames}")
    if opts.workers is not None and opts.workers < 1:
        raise InputError(f"--workers must be at least 1, got {opts.workers}")
    if opts.workers is not None and opts.scheduler is not None:
        raise InputError("--workers starts a local cluster, --scheduler uses a running one: give one of them")
    if opts.frames_per_task is not None and opts.frames_per_task < 1:
        raise InputError(f"--frames-per-task must be at least 1, got {opts.frames_per_task}")
    if opts.vary_seed is not None and opts.vary_seed < 0:
        raise InputError(f"--vary-seed must be >= 0, got {opts.vary_seed}")


def run_series(argv: Sequence[str], *, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """The `nanobragg series` command (argv: what follows `series`).

    Returns the exit code: 0 done, 130 interrupted (the manifest keeps what is done; the same
    command with --resume continues).
    Raises:
        InputError: bad options or flags, unreadable inputs, an unwritable output folder, a full
            disk, or a manifest of another series under --resume.  No frame is left half-written.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if any(a in ("-h", "--help") for a in argv):
        out.write(series_parser().format_help())
        return 0
    opts, flags = split_argv(argv)
    _check(opts)
    settings = parse_args(flags)
    template = Template(opts.out)
    folder = os.path.abspath(template.folder or ".")
    manifest_path = os.path.abspath(opts.manifest or os.path.join(folder, template.stem() + ".json"))
    old = Manifest.load(manifest_path) if opts.resume else None

    # The seeds as spelled on the command line (C stores them negated).  Unpinned ones default to
    # the time; a resumed run takes the manifest's, so its frames are the same frames.
    seeds = Seeds(seed=-settings.seed, misset_seed=-settings.misset_seed,
                  vary_seed=opts.vary_seed if opts.vary_seed is not None else abs(-settings.seed))
    if old is not None and isinstance(old.get("seeds"), dict) and same_plan_flags(old.get("flags"), flags):
        seeds = Seeds(**{k: int(old["seeds"][k]) for k in ("seed", "misset_seed", "vary_seed")})
        if opts.vary_seed is not None and opts.vary_seed != seeds.vary_seed:
            raise InputError(f"--resume: the manifest's --vary-seed is {seeds.vary_seed}, not {opts.vary_seed}")

    orientations = None
    kind = "sweep"
    if opts.orientations is not None:
        kind = "stills"
        if opts.orientations != "random":
            orientations = read_orientations(opts.orientations)
    count = opts.frames
    if count is None:
        if orientations is None:
            raise InputError("series: --frames N is needed (or --orientations FILE, one frame per line)")
        count = len(orientations)
    if orientations is not None and len(orientations) < count:
        raise InputError(f"--orientations {opts.orientations}: {len(orientations)} orientations for {count} frames")
    if opts.orientations == "random":
        orientations = [["random"]] * count
    if not template.fits(count):
        raise InputError(f"--out {opts.out!r}: {count} frames need more digits than its {template.width} '#'")
    variations = [Variation.parse(v) for v in opts.vary]

    exp = build_experiment(settings, workdir=".")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {opts.out!r}: cannot create the folder {folder!r} ({exc.strerror})") from None
    tasks = plan_frames(count, kind=kind, settings=settings, exp=exp, seeds=seeds, template=template,
                        orientations=orientations, variations=variations, keep_float=opts.float)

    import nanobragg_jax

    manifest = Manifest(manifest_path, head={
        "version": nanobragg_jax.__version__,
        "command": ["nanobragg", "series", *argv],
        "flags": list(flags),
        "kind": kind,
        "template": opts.out,
        "count": count,
        "format": template.writer.name,
        "seeds": {**seeds.as_dict(), "mosaic_seed": -settings.mosaic_seed},
        "options": {"float": bool(opts.float), "orientations": opts.orientations, "vary": list(opts.vary)},
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }, frames=[frame_entry(t.index, t.flags, os.path.relpath(t.path, os.path.dirname(manifest_path)),
                           None if t.float_path is None else os.path.relpath(t.float_path, os.path.dirname(manifest_path)))
               for t in tasks])
    kept = set(manifest.resume_from(old)) if old is not None else set()
    write_structure_factor_dump(exp)  # C leaves Fdump.bin after reading -hkl; so does each single run
    for w in run_warnings(exp):
        print(f"nanobragg: warning: {w}", file=err)
    manifest.save()  # also the check that the folder is writable, before any rendering
    todo = [t for t in tasks if t.index not in kept]
    if kept:
        print(f"resuming: {len(kept)} of {count} frames are done (checksums match), {len(todo)} to make", file=out)

    job = SeriesJob(base_argv=tuple(flags), workdir=os.getcwd(), compile_cache=settings.compile_cache)
    progress = SeriesProgress(count, len(kept), enabled=settings.progress_meter, stream=err)
    t0 = time.monotonic()

    def done(entry: dict) -> None:
        manifest.record(entry)
        progress.advance()
        manifest.save(force=False)

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
    except KeyboardInterrupt:
        _final_save(manifest)
        print(f"nanobragg: interrupted: {manifest.done()} of {count} frames are done; the same command "
              "with --resume continues", file=err)
        return 130
    except BaseException:
        _final_save(manifest)
        raise
    manifest.data["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    manifest.save()
    made, seconds = len(todo), time.monotonic() - t0
    rate = f", {made / seconds:.3g} frames/s" if made and seconds > 0 else ""
    names = f" {template.path(todo[0].index)}" if todo else ""
    if len(todo) > 1:
        names += f" ... {template.path(todo[-1].index)}"
    print(f"wrote {made} frames{names} {where}{rate}; manifest {manifest.path}", file=out)
    return 0


def _final_save(manifest: Manifest) -> None:
    """Save what is done when the run stops early; a manifest that cannot be written (a full
    disk) keeps its last complete version, and the original error is the one reported."""
    try:
        manifest.save()
    except (InputError, OSError):
        pass


def main(argv: Optional[List[str]] = None) -> int:  # pragma: no cover - python -m convenience
    return run_series(sys.argv[1:] if argv is None else argv)
