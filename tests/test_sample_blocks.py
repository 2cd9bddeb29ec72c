"""Memory flat in the sampling (issue 17): the kernel cuts each pixel's detector positions (layers x
sub-pixels) into blocks; the image must not depend on the cut, bit for bit (C's summation order is
kept, the last-value flags and the first-sample rules included); a highly oversampled run matches
nanoBragg.c; gradients go through the blocks; what cannot run is refused in one line."""

import json
import pathlib
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import DATA, INPUTS
from nanobragg_jax import layout
from nanobragg_jax.errors import InputError

# Every sample-axis feature: layers with absorption, sub-pixels, two wavelengths, phi steps, mosaic
# domains, water (no F_latt skip), a twotheta detector; variants add what changes C's order rules.
BASE = ("-cell 60 62 64 90 90 90 -default_F 10 -N 3 -lambda 1 -distance 80 -detpixels 10 -pixel 0.3 "
        "-oversample 3 -phi 0 -osc 1 -phisteps 2 -mosaic 0.3 -mosaic_dom 2 -twotheta 5 -dispersion 1 "
        "-dispsteps 2 -detector_thick 100 -detector_thicksteps 2 -detector_abs 200")
VARIANTS = {
    # A2/A3/A4 from the first sample, water on, c-parity's phi=0 carryover across blocks
    "rich": BASE + " -water 5 --mode c-parity",
    # C quirk A5: the running sum is scaled after every term, in C's order
    "last_value": BASE + " -oversample_thick -oversample_polar -oversample_omega",
    # A8 (dmin skips some sources of some sub-pixels), A3 then takes a later sample; ROI: the
    # chunk's first evaluated sample is not the first pixel's
    "dmin_roi": BASE + " -dmin 50 -roi 2 8 1 9 --mode c-parity",
    # C quirk F4: the first out-of-range stencil switches interpolation off for the rest of the run
    "interpolate": ("-hkl P1_small.hkl -cell 30 30 30 90 90 90 -N 2 -lambda 1 -distance 60 -detpixels 12 "
                    "-pixel 2.1 -oversample 3 -interpolate -phisteps 2 -osc 1"),
}


def experiment(argv, tmp_path, monkeypatch):
    from nanobragg_jax.api import from_cli

    for f in INPUTS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return from_cli(argv, workdir=str(tmp_path))


def rendered(model, positions, chunk_rows=None, checkpoint=False):
    """(image, C's solid-angle sum) in one block of chunks."""
    from nanobragg_jax.render import cast_model, initial_carry, render_block

    m = cast_model(model)
    L = m.layout
    rows = chunk_rows or layout.default_chunk_rows(L)
    chunks = -(-L.spixels // rows)
    _, _, img, omega = render_block(m, *initial_carry(m), jnp.asarray(0), rows, chunks, checkpoint, positions)
    return np.asarray(img)[: L.spixels], float(omega)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_blocks_of_positions_do_not_change_the_image(name, tmp_path, monkeypatch):
    from nanobragg_jax.setup import build_model

    exp = experiment(VARIANTS[name], tmp_path, monkeypatch)
    model = build_model(exp)
    Q = layout.positions_per_pixel(exp.layout)
    assert Q == exp.layout.thicksteps * 9
    whole, omega = rendered(model, Q)  # every position of a pixel in one block
    assert np.isfinite(whole).all() and whole.max() > 0
    # one position per pass (pixels as the vector), blocks with a short last one, one row per chunk
    for positions, rows in ((1, None), (4, None), (5, 1), (1, 3)):
        img, om = rendered(model, positions, rows)
        np.testing.assert_array_equal(img, whole, err_msg=f"positions={positions} rows={rows}")
        assert om == pytest.approx(omega, rel=1e-13)


def test_interpolation_switch_fires_inside_a_block(tmp_path, monkeypatch):
    """The F4 variant is only a test of the switch if the switch fires in this image."""
    from nanobragg_jax.render import cast_model, initial_carry, render_block
    from nanobragg_jax.setup import build_model

    m = cast_model(build_model(experiment(VARIANTS["interpolate"], tmp_path, monkeypatch)))
    L = m.layout
    _, on, _, _ = render_block(m, *initial_carry(m), jnp.asarray(0), L.spixels, 1, False, 2)
    assert L.interpolate and not bool(on)


def test_gradient_through_blocks_equals_unblocked(tmp_path, monkeypatch):
    from nanobragg_jax.api import params
    from nanobragg_jax.render import render
    from nanobragg_jax.setup import build_model

    exp = experiment(VARIANTS["rich"], tmp_path, monkeypatch)
    Q = layout.positions_per_pixel(exp.layout)
    w = jnp.asarray(np.random.default_rng(1).random((exp.layout.spixels, exp.layout.fpixels)))

    def grad(positions):
        def loss(p):
            return jnp.sum(render(build_model(exp, p), checkpoint=True, positions=positions) * w)

        return jax.jit(jax.grad(loss))(params(exp))

    a, b = grad(Q), grad(2)
    for key in a:
        assert np.all(np.isfinite(np.asarray(b[key]))), key
        np.testing.assert_allclose(np.asarray(b[key]), np.asarray(a[key]), rtol=1e-10, atol=1e-300,
                                   err_msg=key)


def test_checkpointed_runs_of_sources_and_phi_steps(tmp_path, monkeypatch):
    """With a tiny budget the backward pass recomputes runs of sources and of (phi, domain) steps,
    the last run short (5 steps in runs of 2); image and gradient are unchanged."""
    from nanobragg_jax.api import params
    from nanobragg_jax.render import _kernel, render
    from nanobragg_jax.setup import build_model

    exp = experiment(BASE.replace("-phisteps 2", "-phisteps 5").replace("-mosaic_dom 2", "-mosaic_dom 1"),
                     tmp_path, monkeypatch)
    L = exp.layout
    assert (L.sources, L.phisteps * L.mosaic_domains) == (2, 5)
    w = jnp.asarray(np.random.default_rng(2).random((L.spixels, L.fpixels)))

    def loss(positions, rows):
        return lambda p: jnp.sum(render(build_model(exp, p), chunk_rows=rows, checkpoint=True,
                                        positions=positions) * w)

    p = params(exp)
    ref_img = np.asarray(render(build_model(exp, p), positions=layout.positions_per_pixel(L)))
    ref = jax.jit(jax.grad(loss(layout.positions_per_pixel(L), None)))(p)
    monkeypatch.setattr(_kernel, "GRAD_SAMPLE_BUDGET", 2 * 80)  # 7 rows: 80 lanes, runs of 2 steps
    np.testing.assert_array_equal(np.asarray(render(build_model(exp, p), chunk_rows=7, checkpoint=True,
                                                    positions=1)), ref_img)
    got = jax.jit(jax.grad(loss(1, 7)))(p)
    for key in ref:
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(ref[key]), rtol=1e-10, atol=1e-300,
                                   err_msg=key)


def test_oversample_2000_matches_c(tmp_path, monkeypatch):
    """16 M sub-pixel samples on 4x4 pixels (the issue's case) against nanoBragg.c, pixel by pixel."""
    from test_parity import assert_parity

    from nanobragg_jax.api import from_cli
    from nanobragg_jax.programs import render_frame

    case = DATA / "oversample2000"
    argv = json.loads((case / "case.json").read_text())["args"]
    monkeypatch.chdir(tmp_path)
    exp = from_cli(argv, workdir=str(tmp_path), mode="c-parity")
    L = exp.layout
    assert L.oversample == 2000 and layout.default_chunk_rows(L) == 4
    assert layout.position_block(L, 4) < L.oversample**2  # the sub-pixels come in blocks
    img, omega = render_frame(exp)
    gold = np.fromfile(case / "float.bin", np.float32)
    assert_parity(img, gold)
    c_line = next(x for x in (case / "stdout.txt").read_text().splitlines() if x.startswith("solid angle"))
    assert float(c_line.split("=")[1].split()[0]) == pytest.approx(omega, rel=1e-5)


# --- the estimate before rendering ---------------------------------------------------------------------

BIG = "-default_F 100 -cell 50 50 50 90 90 90 -N 200 -detpixels 32 -distance 1"  # auto-oversample 3000


def test_estimate_names_the_auto_oversample(tmp_path, monkeypatch):
    from nanobragg_jax.setup import check_render_cost

    exp = experiment(BIG, tmp_path, monkeypatch)
    cost = layout.render_cost(exp.layout)
    assert exp.layout.oversample == 3000
    assert cost.samples == 32 * 32 * 3000**2
    assert cost.factors[0] == ("oversample", 3000**2)
    # the memory of a chunk does not grow with the oversampling
    small = experiment(BIG + " -oversample 30", tmp_path, monkeypatch)
    assert layout.chunk_bytes(exp.layout) <= layout.chunk_bytes(small.layout) * 1.01 + 2**20
    with pytest.raises(InputError) as err:
        check_render_cost(exp, max_hours=0.001, cores=2)
    line = str(err.value)
    assert "\n" not in line and "--max-hours" in line
    assert "-oversample 3000" in line and "chosen automatically" in line
    warnings = check_render_cost(exp, cores=1, ns_per_sample=1.0)  # 9.2 s at 1 ns: no warning
    assert warnings == []
    warnings = check_render_cost(exp, cores=1, ns_per_sample=100.0)  # 15 min: one line
    assert len(warnings) == 1 and "-oversample 3000" in warnings[0]
    assert check_render_cost(small, cores=2, ns_per_sample=100.0) == []  # 30-fold: under a minute


def test_estimate_refuses_what_cannot_fit_in_memory(tmp_path, monkeypatch):
    from nanobragg_jax.setup import check_render_cost

    exp = experiment("-default_F 100 -cell 50 50 50 90 90 90 -N 5 -detpixels 3000 -oversample 1",
                     tmp_path, monkeypatch)
    with pytest.raises(InputError) as err:
        check_render_cost(exp, memory=2**30)
    assert "3000 x 3000 pixels (-detpixels" in str(err.value) and "1.0 GB available" in str(err.value)
    assert check_render_cost(exp, memory=2**40) == []


def _cli(argv, tmp_path, monkeypatch, capsys):
    import cli

    monkeypatch.chdir(tmp_path)
    code = cli.main(argv.split() + ["-floatfile", "f.bin", "-intfile", "i.img", "-nopgm", "-nonoise",
                                    "-noprogress"])
    return code, capsys.readouterr()


def test_cli_refuses_a_hopeless_render_in_one_line(tmp_path, monkeypatch, capsys):
    code, out = _cli("-default_F 100 -cell 50 50 50 90 90 90 -N 5 -detpixels 1000 -oversample 1000 "
                     "--max-hours 1", tmp_path, monkeypatch, capsys)
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nanobragg: error: this render would take about ")
    assert "-oversample 1000" in lines[0] and "1000 x 1000 pixels" in lines[0]
    assert not any(tmp_path.iterdir())  # nothing written


def test_cli_turns_a_runtime_out_of_memory_into_one_line(tmp_path, monkeypatch, capsys):
    import nanobragg_jax.programs as programs

    def exhausted(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 25634315040 bytes.")

    monkeypatch.setattr(programs, "render_frame", exhausted)
    code, out = _cli("-default_F 100 -cell 50 50 50 90 90 90 -N 5 -detpixels 4", tmp_path, monkeypatch, capsys)
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("nanobragg: error: out of memory while rendering (RESOURCE_EXHAUSTED: Out of "
                               "memory allocating 25634315040 bytes.)")
    assert not any(p.name in ("f.bin", "i.img") for p in pathlib.Path(tmp_path).iterdir())
