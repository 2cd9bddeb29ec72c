"""`nanobragg`: the drop-in command line of nanoBragg.c, plus checking tools.

    nanobragg -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64 ...   render, as nanoBragg
    nanobragg compare A B [--shape S F]                                          two float images
    nanobragg trace-diff A B [--tol 1e-6]                                        two pixel traces
    nanobragg series <flags> --frames N --out name_#####.img [options]           many frames (sweeps, stills)
    nanobragg compare-expt TRUTH FOUND                                           two experiment lists

nanoBragg's single-dash, variable-arity, substring-matched flags are not something Typer/Click can
parse, so the render command takes the raw argv and hands it to `nanobragg_jax.settings.parse_args`;
Typer runs the subcommands (and is imported only for them).  JAX is imported only on the render
path (after the x64 and compile-cache set-up), so `--help` and bad-input errors answer quickly.
No `from __future__ import annotations` here: Typer reads the subcommands' annotations, which
name `typer` inside `build_app`.
"""

import math
import os
import sys
from typing import List, Optional, Tuple

from nanobragg_jax.errors import InputError

SUBCOMMANDS = ("compare", "trace-diff", "render", "series", "compare-expt")


def _error(message) -> int:
    text = " ".join(str(message).split("\n"))
    print(f"nanobragg: error: {text}", file=sys.stderr)
    return 2


def build_app():
    """The Typer app of the subcommands.  Built on demand: a plain render never needs it, and
    importing typer costs ~40 ms of the start-up."""
    import typer

    app = typer.Typer(add_completion=False, help="nanoBragg in JAX (run `nanobragg --help` for the flags).")

    @app.command("compare")
    def compare_command(a: str, b: str,
                        shape: Optional[Tuple[int, int]] = typer.Option(None, "--shape", help="slow fast"),
                        rtol: float = typer.Option(1e-5, "--rtol", help="relative tolerance per pixel"),
                        atol: float = typer.Option(1e-7, "--atol", help="absolute tolerance, as a fraction of max|A|")):
        """Compare image B with A (raw float32 or SMV, .gz accepted; .cbf; .nxs, its first frame):
        correlation, sum ratio, worst pixel.  Exit 0 when every pixel has
        |B - A| <= rtol |A| + atol max|A|, else 1 (2: bad input)."""
        from nanobragg_jax.diagnostics import compare_images

        try:
            result = compare_images(a, b, shape, rtol=rtol, atol=atol)
        except InputError as exc:
            raise typer.Exit(_error(exc))
        print("\n".join(result.lines()))
        raise typer.Exit(0 if result.failing == 0 else 1)

    @app.command("compare-expt")
    def compare_expt_command(truth: str, found: str):
        """Compare two DIALS experiment lists (e.g. --expt's truth and dials.index's result): cells,
        misorientation after the change of basis, detector, beam."""
        from nanobragg_jax.diagnostics import compare_experiments

        try:
            result = compare_experiments(truth, found)
        except InputError as exc:
            raise typer.Exit(_error(exc))
        print("\n".join(result.lines()))

    @app.command("trace-diff")
    def trace_diff_command(a: str, b: str, tol: float = typer.Option(1e-6, "--tol", help="relative tolerance")):
        """Name the first quantity where two pixel traces (TRACE_C / TRACE_PY lines) differ beyond --tol."""
        from nanobragg_jax.diagnostics import trace_diff

        try:
            result = trace_diff(a, b, tol)
        except InputError as exc:
            raise typer.Exit(_error(exc))
        print("\n".join(result.lines(tol)))
        raise typer.Exit(0 if result.first is None else 1)

    @app.command("render", context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                             "help_option_names": []})
    def render_command(ctx: typer.Context):
        """Render with nanoBragg flags (the default command: `nanobragg <flags>` means this)."""
        raise typer.Exit(run(list(ctx.args)))

    return app


def run(argv: List[str]) -> int:
    """Parse, render and write; bad input -> one line on stderr and exit code 2, no output files."""
    try:
        from nanobragg_jax.args import parse_args

        settings = parse_args(argv)
        return _render(settings, _configure_jax(settings))
    except InputError as exc:
        return _error(exc)
    except OSError as exc:  # a file that vanished or cannot be written after the checks
        return _os_error(exc)
    except KeyboardInterrupt:
        print("nanobragg: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if _out_of_memory(exc):
            first = " ".join(str(exc).split("\n")[0].split())
            return _error(f"out of memory while rendering ({first}); lower --chunk-rows, or the sampling "
                          "(-oversample, -phisteps, -mosaic_dom) or the detector size")
        raise


def _out_of_memory(exc: BaseException) -> bool:
    """A host out-of-memory error, or XLA's RESOURCE_EXHAUSTED from the runtime."""
    if isinstance(exc, MemoryError):
        return True
    return type(exc).__name__ in ("JaxRuntimeError", "XlaRuntimeError") and "RESOURCE_EXHAUSTED" in str(exc)


def series(argv: List[str]) -> int:
    """`nanobragg series ...` (nanobragg_jax.datasets.run_series): errors as one line, exit code 2."""
    try:
        from nanobragg_jax.datasets import run_series

        return run_series(argv)
    except InputError as exc:
        return _error(exc)
    except OSError as exc:
        return _os_error(exc)


def _os_error(exc: OSError) -> int:
    name = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
    return _error(f"{exc.strerror or exc}{name}")


def _configure_jax(settings) -> Optional[str]:
    """x64 always; the compile caches unless --no-cache (nanobragg_jax.programs.configure_jax).
    Returns the executable store's folder, or None."""
    from nanobragg_jax.programs import configure_jax

    return configure_jax(settings.compile_cache)


def _check_cost(exp, settings) -> list:
    """The cost estimate of the render (setup.check_render_cost), at this backend's speed."""
    import jax

    from nanobragg_jax.layout import NS_PER_SAMPLE_ACCELERATOR
    from nanobragg_jax.setup import check_render_cost

    if jax.default_backend() == "cpu":
        return check_render_cost(exp, max_hours=settings.max_hours)
    return check_render_cost(exp, max_hours=settings.max_hours, cores=1, memory=None,
                             ns_per_sample=NS_PER_SAMPLE_ACCELERATOR)


class _Progress:
    """C's progress meter: '<n>% done' lines as rows are finished."""

    def __init__(self):
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = done * 100 // max(total, 1)
        if pct != self.last and pct < 100:
            self.last = pct
            print(f"{pct}% done", flush=True)


def _render(settings, store: Optional[str]) -> int:
    """The thin glue from Settings to files: set-up, render, statistics, images, noise, writes.
    store: the executable store's folder (None: compile in memory)."""
    from nanobragg_jax.args import check_output_path
    from nanobragg_jax.datasets import frame_products, run_warnings
    from nanobragg_jax.io import format_g as g
    from nanobragg_jax.io import write_float_image, write_pgm, write_smv
    from nanobragg_jax.layout import progress_blocks
    from nanobragg_jax.noise import noise_summary_line
    from nanobragg_jax.programs import render_frame
    from nanobragg_jax.setup import build_experiment

    s = settings
    exp = build_experiment(s, workdir=".")
    s = exp.settings  # an experiment list (--experiment) replaces flags
    cost_warnings = _check_cost(exp, s)  # refuses (InputError) before anything is written
    # --out/--expt: checked before anything is rendered or written
    for flag, name in (("--out", s.out_file), ("--expt", s.expt_file)):
        if name is not None:
            check_output_path(flag, name)
    truth, to_file = _processing_model(s, exp) if s.out_file or s.expt_file else (None, None)
    print("\n".join(exp.summary))
    if exp.panels is not None:
        return _render_panels(s, exp, store, truth, cost_warnings)
    for w in dict.fromkeys(run_warnings(exp) + cost_warnings):  # settings warnings are included, once each
        print(f"nanobragg: warning: {w}", file=sys.stderr)
    if s.trace_pixel is not None:
        try:
            from nanobragg_jax.diagnostics import print_trace
        except ImportError as exc:
            print(f"nanobragg: warning: -trace_pixel unavailable ({exc})", file=sys.stderr)
        else:
            print_trace(exp, *s.trace_pixel)
    # One compiled program (model build + a block of rows + the solid-angle sum) whose executable
    # is kept on disk, so a warm run does not trace; the progress meter runs it once per block.
    # The image comes back as C stores it: float32.
    progress = _Progress() if s.progress_meter else None
    blocks = progress_blocks(exp.layout) if progress else 1
    img, omega = render_frame(exp, chunk_rows=s.chunk_rows, blocks=blocks, progress=progress, cache_dir=store)
    img = _add_background(exp, img, store)  # --stol ...: nonBragg's background, float32 add as C's chain

    # Everything is computed before the first file is written, so a failure leaves no outputs.
    out = frame_products(exp, img)  # refuses a NaN or infinite image (nanoBragg.c writes it, exit 0)
    stats = out.stats
    for w in out.warnings:
        print(f"nanobragg: warning: {w}", file=sys.stderr)
    # C writes the dump while reading -hkl (Fdump.bin); here only once the image is known to be finite
    _write_dump(exp)

    counts = None
    if s.out_file is not None:  # what a detector reports: counts without the ADC offset
        from nanobragg_jax.datasets import detector_counts

        counts = detector_counts(out.detector_image(), s.adc_offset)

    print()
    print(f"solid angle subtended by detector = {g(omega)} steradian ( {g(100 * omega / 4 / math.pi)}% sphere)")
    print(f"writing {s.floatfilename} as {img.size} 4-byte floats")
    write_float_image(s.floatfilename, img)
    print(f"max_I = {g(stats.max_I)}  at {g(stats.max_I_x)} {g(stats.max_I_y)}")
    print(f"mean= {g(stats.mean)} rms= {g(stats.rms)} rmsd= {g(stats.rmsd)}")
    print(f"intfile_scale = {g(out.int_scale)}")
    print(f"writing {s.intfilename} as 2-byte integers")
    write_smv(s.intfilename, out.ints, exp.header)
    if out.pgm is not None:
        print(f"pgm_scale = {g(out.pgm[1])}")
        print(f"writing {s.pgmfilename} as 1-byte integers")
        write_pgm(s.pgmfilename, out.pgm[0], out.pgm[1])
    if out.response is not None:
        print("\n".join(out.response_lines))
        pixels, bits = out.response
        print(f"writing {s.noisefilename} as {bits // 8}-byte integers")
        write_smv(s.noisefilename, pixels, exp.header)
    if out.noise is not None:
        image, overloads, photons = out.noise
        print(noise_summary_line(photons, overloads))
        print(f"writing {s.noisefilename} as 2-byte integers")
        write_smv(s.noisefilename, image, exp.header)
    if truth is not None:
        _write_processing_files(s, truth, counts, to_file)
    return 0


def _render_panels(s, exp, store, truth=None, cost_warnings=()) -> int:
    """A multi-panel run (--geom, or --experiment with several panels): every panel rendered by one
    compiled program, then per panel the outputs of a single run, named <name>_panel<k><ext>
    (specs/panels.md).  One intfile_scale (from the brightest panel, unless -scale) serves every
    panel, so their integers compare; the C noise stream continues from panel to panel.  truth:
    the experiment for --out (NXmx, one module per panel) and --expt, or None."""
    import numpy as np

    from nanobragg_jax.datasets import detector_counts, panel_frame_products, run_warnings
    from nanobragg_jax.io import format_g as g
    from nanobragg_jax.io import write_float_image, write_pgm, write_smv
    from nanobragg_jax.noise import noise_summary_line
    from nanobragg_jax.panels import panel_file_name
    from nanobragg_jax.programs import render_panel_frames
    from nanobragg_jax.setup import panel_header

    panels, count = exp.panels, len(exp.panels)
    headers = [panel_header(exp, k) for k in range(count)]
    for w in dict.fromkeys(run_warnings(exp, headers) + list(cost_warnings)):
        print(f"nanobragg: warning: {w}", file=sys.stderr)
    images, omegas = render_panel_frames(exp, chunk_rows=s.chunk_rows, cache_dir=store)

    # Everything is computed before the first file is written, so a failure leaves no outputs.
    out = panel_frame_products(exp, images)  # refuses a NaN or infinite panel image
    _write_dump(exp)
    stats, int_scale, noise = out.stats, out.int_scale, out.noise or []
    pgms = out.pgms or [None] * count

    omega = sum(omegas)
    print()
    print(f"solid angle subtended by detector = {g(omega)} steradian ( {g(100 * omega / 4 / math.pi)}% sphere)")
    for k, img in enumerate(images):
        st = stats[k]
        print(f"panel {k} {panels[k].name}: max_I = {g(st.max_I)}  at {g(st.max_I_x)} {g(st.max_I_y)}"
              f"  mean= {g(st.mean)} rms= {g(st.rms)} rmsd= {g(st.rmsd)}")
    print(f"intfile_scale = {g(int_scale)}")
    if noise:
        print(noise_summary_line(sum(n[2] for n in noise), sum(n[1] for n in noise)))
    outputs = [(s.floatfilename, "4-byte floats"), (s.intfilename, "2-byte integers")]
    if s.write_pgm:
        outputs.append((s.pgmfilename, "1-byte integers"))
    if noise:
        outputs.append((s.noisefilename, "2-byte integers"))
    for name, what in outputs:
        print(f"writing {panel_file_name(name, 0, count)} ... {panel_file_name(name, count - 1, count)} "
              f"as {what}")
    for k in range(count):
        write_float_image(panel_file_name(s.floatfilename, k, count), images[k])
        write_smv(panel_file_name(s.intfilename, k, count), out.ints[k], headers[k])
        if pgms[k] is not None:
            write_pgm(panel_file_name(s.pgmfilename, k, count), *pgms[k])
        if noise:
            write_smv(panel_file_name(s.noisefilename, k, count), noise[k][0], headers[k])
    if truth is not None:
        counts = None
        if s.out_file is not None:
            counts = np.stack([detector_counts(img, s.adc_offset) for img in out.detector_images()])[None]
        _write_processing_files(s, truth, counts, lambda image: image)
    return 0


def _write_dump(exp) -> None:
    """Fdump.bin after a -hkl read, as C leaves it; a dump that cannot be written is C's warning."""
    from nanobragg_jax.setup import write_structure_factor_dump

    if exp.fdump_path is not None and not write_structure_factor_dump(exp):
        print(f"WARNING: unable to open dump file: {exp.settings.dumpfilename}")


def _add_background(exp, img, store):
    """The spots plus nonBragg's background of the one-run table options (float32 sum)."""
    from nanobragg_jax.args import background_table

    given = background_table(exp.settings)
    if given is None:
        return img
    table_file = given[0]
    from nanobragg_jax.companions import experiment_background
    from nanobragg_jax.programs import render_background_frame, table_arrays

    arrays, layout, table, warnings = experiment_background(exp)
    for w in warnings:
        print(f"nanobragg: warning: {w}", file=sys.stderr)
    tables, steps = table_arrays(table)
    bg, _, _ = render_background_frame({**arrays, **tables}, layout, increasing=table.increasing,
                                       mask=exp.static.mask, search_steps=steps,
                                       cache_dir=store)
    print(f"added the amorphous background of {table_file}: "
          f"max {float(bg.max()):g} photons/pixel")
    return img + bg


def _processing_model(s, exp):
    """The true experiment as dxtbx models for --out and --expt.

    It refers to the --out file (counts without the ADC offset), else to the SMV image the run
    writes (the noise image, or the int image with -nonoise; pedestal = the ADC offset).  A miniCBF
    that cannot hold the geometry is refused here, before anything is rendered.  Returns (model,
    to_file): to_file lays the image out as the --out file stores it."""
    from nanobragg_jax.datasets import file_model
    from nanobragg_jax.io import image_format

    if s.out_file is None:
        image, fmt = s.noisefilename if s.calculate_noise else s.intfilename, "smv"
    else:
        image, fmt = s.out_file, image_format(s.out_file)
    if s.curved_detector:
        print("nanobragg: warning: --out/--expt: dxtbx has no curved detector (-curved_det); the exported "
              "panel is the flat one it is bent from", file=sys.stderr)
    to_file, model = file_model(exp, fmt, image)
    if fmt == "smv" and exp.panels is not None:  # one SMV file per panel: nothing dxtbx reads as one image
        print(f"nanobragg: warning: --expt '{s.expt_file}' of a multi-panel run holds the geometry only "
              "(DIALS reads no per-panel SMV files); write the images with --out x.nxs", file=sys.stderr)
        return model, to_file
    linked = model.with_images(image, single_file=fmt == "nxmx")
    if linked.imageset is None and (fmt == "cbf" or s.expt_file is not None):
        example = "frame_0001" + os.path.splitext(image)[1]
        print(f"nanobragg: warning: '{image}' has no image number before its extension, so DIALS (dxtbx) "
              f"cannot read it (name it e.g. {example})"
              + ("; the experiment list does not refer to it" if s.expt_file is not None else ""),
              file=sys.stderr)
    return linked, to_file


def _write_processing_files(s, truth, counts, to_file) -> None:
    from nanobragg_jax.io import image_format, write_expt, write_minicbf, write_nxmx

    if s.out_file is not None:
        if image_format(s.out_file) == "cbf":
            print(f"writing {s.out_file} as miniCBF")
            write_minicbf(s.out_file, to_file(counts), truth)
        else:
            print(f"writing {s.out_file} as NeXus NXmx")
            write_nxmx(s.out_file, counts, truth)
    if s.expt_file is not None:
        print(f"writing {s.expt_file} as a DIALS experiment list")
        write_expt(s.expt_file, truth)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "series":  # nanoBragg flags plus our options: parsed by datasets
        return series(argv[1:])
    if argv and argv[0] == "render":  # the default command by name: same flags, same --help
        argv = argv[1:]
    elif argv and argv[0] in SUBCOMMANDS:
        try:
            build_app()(args=argv, prog_name="nanobragg")  # Typer prints its own usage errors (exit 2)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return 0
    if not argv or "-h" in argv or "--help" in argv:
        from nanobragg_jax.args import help_text

        sys.stdout.write(help_text())
        return 0
    return run(argv)


def entry_point() -> None:
    """The `nanobragg` console script: main(), then a fast exit.

    Everything a run writes is closed by then (atomic file writes, the caches), so the exit skips
    the interpreter's teardown of JAX's runtime and of the image buffers, ~0.1-0.15 s of a 1 s
    render.  In-process callers (tests, notebooks) call main() and keep their interpreter."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`nanobragg ... | head`): nothing to flush to
            pass
    os._exit(code)


if __name__ == "__main__":
    entry_point()
