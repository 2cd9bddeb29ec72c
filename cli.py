"""`nanobragg`: the drop-in command line of nanoBragg.c, plus two checking tools.

    nanobragg -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64 ...   render, as nanoBragg
    nanobragg compare A B [--shape S F]                                          two float images
    nanobragg trace-diff A B [--tol 1e-6]                                        two pixel traces

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

SUBCOMMANDS = ("compare", "trace-diff", "render", "sweep")


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
        """Compare image B with A (raw float32 or SMV, .gz accepted): correlation, sum ratio, worst pixel.
        Exit 0 when every pixel has |B - A| <= rtol |A| + atol max|A|, else 1 (2: bad input)."""
        from nanobragg_jax.diagnostics import compare_images

        try:
            result = compare_images(a, b, shape, rtol=rtol, atol=atol)
        except InputError as exc:
            raise typer.Exit(_error(exc))
        print("\n".join(result.lines()))
        raise typer.Exit(0 if result.failing == 0 else 1)

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

    @app.command("sweep", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def sweep_command(
        ctx: typer.Context,
        missets: Optional[str] = typer.Option(None, "--missets", help="file of misset triples (deg), one per line"),
        axis: str = typer.Option("x", "--axis", help="misset component to step: x, y or z"),
        step: float = typer.Option(1.0, "--step", help="degrees per orientation"),
        count: int = typer.Option(10, "--count", help="number of orientations"),
        prefix: str = typer.Option("sweep_", "--prefix", help="output names <prefix><i>.bin (and .img)"),
        smv: bool = typer.Option(False, "--smv", help="also write SMV integer images"),
        batch: int = typer.Option(8, "--batch", help="orientations per vmapped call"),
    ):
        """Render K crystal orientations in vmapped batches: `nanobragg sweep [options] -- <flags>`."""
        try:
            from nanobragg_jax.args import parse_args
            from nanobragg_jax.datasets import run_sweep

            settings = parse_args(list(ctx.args))
            _configure_jax(settings)
            run_sweep(settings, missets, axis, step, count, prefix, smv, batch)
        except (InputError, ValueError) as exc:
            raise typer.Exit(_error(exc))
        except OSError as exc:
            raise typer.Exit(_error(f"{exc.strerror or exc} '{getattr(exc, 'filename', '')}'"))

    return app


def run(argv: List[str]) -> int:
    """Parse, render and write; bad input -> one line on stderr and exit code 2, no output files."""
    try:
        from nanobragg_jax.args import parse_args

        settings = parse_args(argv)
        _configure_jax(settings)
        return _render(settings)
    except InputError as exc:
        return _error(exc)
    except OSError as exc:  # a file that vanished or cannot be written after the checks
        name = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
        return _error(f"{exc.strerror or exc}{name}")
    except KeyboardInterrupt:
        print("nanobragg: interrupted", file=sys.stderr)
        return 130


def cache_dir() -> str:
    return os.environ.get("NANOBRAGG_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "nanobragg_jax", "jax")


def executable_dir() -> str:
    """Where the render's compiled executables are kept (see nanobragg_jax/executable_cache.py)."""
    return os.path.join(cache_dir(), "executables")


def _configure_jax(settings) -> None:
    """x64 always (float32 mode still sets up in float64); persistent compile cache unless --no-cache."""
    import jax

    jax.config.update("jax_enable_x64", True)
    if settings.compile_cache:
        path = cache_dir()
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            print(f"nanobragg: warning: compile cache off, cannot create {path}: {exc.strerror}",
                  file=sys.stderr)
            return
        jax.config.update("jax_compilation_cache_dir", path)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


class _Progress:
    """C's progress meter: '<n>% done' lines as rows are finished."""

    def __init__(self):
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = done * 100 // max(total, 1)
        if pct != self.last and pct < 100:
            self.last = pct
            print(f"{pct}% done", flush=True)


def _render(settings) -> int:
    """The thin glue from Settings to files: set-up, render, statistics, images, noise, writes."""
    import numpy as np

    from nanobragg_jax.programs import render_frame
    from nanobragg_jax.layout import progress_blocks
    from nanobragg_jax.io import format_g as g
    from nanobragg_jax.outputs import image_statistics, int_image, last_subpixel_position, pgm_image
    from nanobragg_jax.io import header_overflow, write_float_image, write_pgm, write_smv
    from nanobragg_jax.noise import counter_noise_image, noise_image, noise_summary_line
    from nanobragg_jax.setup import build_experiment, write_structure_factor_dump

    s = settings
    exp = build_experiment(s, workdir=".")
    print("\n".join(exp.summary))
    warnings = list(exp.warnings)
    over = header_overflow(exp.header)
    if over:  # the int image is always written
        warnings.append(f"the SMV header is {512 + over} bytes, past its HEADER_BYTES=512, so readers "
                        "(fabio, adxv, nanoBragg itself) misplace the pixels; nanoBragg.c writes it so (C quirk O6)")
    for w in dict.fromkeys(warnings):  # settings warnings are included, once each
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
    img, omega = render_frame(exp, chunk_rows=s.chunk_rows, blocks=blocks, progress=progress,
                              cache_dir=executable_dir() if s.compile_cache else None)

    # Everything is computed before the first file is written, so a failure leaves no outputs.
    bad = int(np.size(img) - np.count_nonzero(np.isfinite(img)))
    if bad:  # nanoBragg.c writes such an image and exits 0; we never do
        raise InputError(f"the rendered image has {bad} of {np.size(img)} pixels that are NaN or "
                         "infinite, so nothing was written; check the inputs for a zero wavelength, an "
                         "infinite fluence or background, or a degenerate geometry")
    # C writes the dump while reading -hkl (Fdump.bin); here only once the image is known to be finite
    if exp.fdump_path is not None and not write_structure_factor_dump(exp):
        print(f"WARNING: unable to open dump file: {s.dumpfilename}")
    L, px = exp.layout, exp.static.detector.pixel_size
    stats = image_statistics(img, L.roi, exp.static.mask,
                             max_pixel_pos=lambda sl, f: last_subpixel_position(sl, f, px, L.oversample))
    ints, int_scale = int_image(img, L.roi, s.intfile_scale, s.adc_offset, max_I=stats.max_I)
    pgm = pgm_image(img, L.roi, s.pgm_scale, stats.rmsd, int_scale) if s.write_pgm else None
    noise = None
    if s.calculate_noise and s.noise_stream == "jax":
        import jax

        key = jax.random.PRNGKey(abs(s.seed))
        noise = counter_noise_image(img, key, s.adc_offset, L.roi) + (None,)
    elif s.calculate_noise:
        noise = noise_image(img, L.roi, s.adc_offset, exp.rng, s.seed)

    print()
    print(f"solid angle subtended by detector = {g(omega)} steradian ( {g(100 * omega / 4 / math.pi)}% sphere)")
    print(f"writing {s.floatfilename} as {img.size} 4-byte floats")
    write_float_image(s.floatfilename, img)
    print(f"max_I = {g(stats.max_I)}  at {g(stats.max_I_x)} {g(stats.max_I_y)}")
    print(f"mean= {g(stats.mean)} rms= {g(stats.rms)} rmsd= {g(stats.rmsd)}")
    print(f"intfile_scale = {g(int_scale)}")
    print(f"writing {s.intfilename} as 2-byte integers")
    write_smv(s.intfilename, ints, exp.header)
    if pgm is not None:
        print(f"pgm_scale = {g(pgm[1])}")
        print(f"writing {s.pgmfilename} as 1-byte integers")
        write_pgm(s.pgmfilename, pgm[0], pgm[1])
    if noise is not None:
        image, overloads, photons, _ = noise
        print(noise_summary_line(photons, overloads))
        print(f"writing {s.noisefilename} as 2-byte integers")
        write_smv(s.noisefilename, image, exp.header)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
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
