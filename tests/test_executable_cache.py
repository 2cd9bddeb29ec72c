"""The on-disk executable store behind the CLI's warm start (nanobragg_jax/executable_cache.py).

A hit must give exactly what a fresh compile gives and must not trace or compile; anything that
changes the program (closure, argument shapes) must miss; a damaged entry must cost only a
recompile.  The end-to-end check runs the real CLI twice in subprocesses with JAX's compile log on.
"""

import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import CASES, INPUTS
from nanobragg_jax.programs import _executable_store as ec
from test_parity import golden_argv


def _f(x, d):
    return {"y": jnp.sin(x) * d["s"], "total": jnp.sum(x)}


def _args(n=5):
    return (np.linspace(0.0, 1.0, n), {"s": np.asarray(2.5)})


def _entries(path):
    return sorted(p for p in os.listdir(path) if p.endswith(".exe"))


def _golden_experiment(name, tmp_path, monkeypatch, mode="c-parity"):
    """A golden case's Experiment, set up in tmp_path with the golden input files."""
    from nanobragg_jax.api import from_cli

    for f in INPUTS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return from_cli(golden_argv(name), workdir=str(tmp_path), mode=mode)


def test_hit_equals_fresh_compile_and_does_not_compile(tmp_path, monkeypatch):
    first = ec.compiled_program(_f, _args(), name="t", closure=b"c", directory=str(tmp_path))
    assert len(_entries(tmp_path)) == 1
    expected = first(*_args())

    def no_compile(*a, **k):
        raise AssertionError("a cache hit compiled")

    monkeypatch.setattr(ec, "_fresh_compile", no_compile)
    monkeypatch.setattr(jax, "jit", no_compile)
    again = ec.compiled_program(_f, _args(), name="t", closure=b"c", directory=str(tmp_path))
    got = again(*_args())
    for k in expected:
        np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(expected[k]))


def test_closure_name_and_shapes_are_part_of_the_key(tmp_path):
    base = ec.cache_key("t", b"c", _args())
    assert ec.cache_key("t", b"c", _args()) == base
    assert ec.cache_key("t", b"other", _args()) != base
    assert ec.cache_key("u", b"c", _args()) != base
    assert ec.cache_key("t", b"c", _args(6)) != base
    assert ec.cache_key("t", b"c", (_args()[0].astype(np.float32), _args()[1])) != base


def test_damaged_entry_is_a_miss_and_is_rewritten(tmp_path):
    ec.compiled_program(_f, _args(), name="t", closure=b"c", directory=str(tmp_path))
    (entry,) = _entries(tmp_path)
    (tmp_path / entry).write_bytes(b"not an executable")
    again = ec.compiled_program(_f, _args(), name="t", closure=b"c", directory=str(tmp_path))
    np.testing.assert_allclose(np.asarray(again(*_args())["y"]), np.sin(_args()[0]) * 2.5, rtol=1e-15)
    assert (tmp_path / entry).stat().st_size > 100


_SCRIPT = """
import sys, jax, jax.numpy as jnp, numpy as np
sys.path.insert(0, {tests!r})
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_compilation_cache_dir", {jcache!r})
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
from nanobragg_jax.programs import _executable_store as ec
from test_executable_cache import _args, _f
step = sys.argv[1]
jax.jit(_f)(*_args())  # compiled plainly: JAX's persistent cache holds it (a hit from step 2 on)
if step != "jax":
    prog = ec.compiled_program(_f, _args(), name="t", closure=b"c", directory={store!r})
    print(float(prog(*_args())["total"]))
"""


def test_stored_executable_runs_when_jax_cache_holds_the_program(tmp_path):
    """Regression: the stored executable must come from a real compile.  On XLA:CPU one that JAX
    loaded from its own persistent cache (here the same program, compiled plainly first in the
    same process) is stored without its kernels and fails when it runs."""
    script = tmp_path / "s.py"
    script.write_text(_SCRIPT.format(tests=str(CASES.parents[2]), jcache=str(tmp_path / "jax"),
                                     store=str(tmp_path / "store")))
    outs = []
    for step in ("jax", "jax", "store", "load"):
        r = subprocess.run([sys.executable, str(script), step], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(r.stdout.strip())
    assert outs[2:] == ["2.5", "2.5"]
    assert len(_entries(tmp_path / "store")) == 1


def test_store_is_pruned_to_the_newest_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(ec, "MAX_ENTRIES", 2)
    for n in (3, 4, 5):
        ec.compiled_program(_f, _args(n), name="t", closure=b"c", directory=str(tmp_path))
    assert len(_entries(tmp_path)) == 2


def test_render_frame_recompiles_when_a_stored_executable_fails(tmp_path, monkeypatch):
    from nanobragg_jax.programs import render_frame

    exp = _golden_experiment("cubic_mosflm", tmp_path, monkeypatch)
    store = tmp_path / "store"
    reference, omega = render_frame(exp, cache_dir=str(store))

    def broken(path):
        def run(*args):
            raise jax.errors.JaxRuntimeError("INTERNAL: Function fusion not found")

        return run

    monkeypatch.setattr(ec, "_load", broken)
    again, omega2 = render_frame(exp, cache_dir=str(store))
    np.testing.assert_array_equal(again, reference)
    assert omega2 == omega


def test_cli_warm_run_neither_traces_nor_compiles(tmp_path):
    """Two CLI runs sharing a cache: the second loads the stored program (no 'Compiling' line in
    JAX's compile log) and writes the same bytes."""
    name = "phi_osc"
    for f in INPUTS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    cli_py = CASES.parents[3] / "cli.py"
    env = dict(os.environ, NANOBRAGG_CACHE_DIR=str(tmp_path / "cache"), JAX_LOG_COMPILES="1")
    outputs = []
    for run in ("cold", "warm"):
        argv = golden_argv(name, floatfile=f"{run}.bin", intfile=f"{run}.img") + ["--mode", "c-parity"]
        r = subprocess.run([sys.executable, str(cli_py)] + argv, cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outputs.append(r)
    assert "Compiling" in outputs[0].stderr  # the log is on: the cold run compiles the frame
    assert "Compiling" not in outputs[1].stderr and "tracing" not in outputs[1].stderr.lower()
    assert outputs[0].stdout.replace("cold.", "warm.") == outputs[1].stdout
    assert (tmp_path / "cold.bin").read_bytes() == (tmp_path / "warm.bin").read_bytes()
    assert (tmp_path / "cold.img").read_bytes() == (tmp_path / "warm.img").read_bytes()
    assert len(_entries(tmp_path / "cache" / "executables")) == 1


def test_render_frame_blocks_carry_the_phi_state(tmp_path, monkeypatch):
    """The progress meter's blocks (the same program run once per block, the carry passed
    between them) give the one-block image bit for bit, on a case where the phi = 0 carryover
    crosses block boundaries, and report rows done up to the total."""
    from nanobragg_jax.programs import render_frame

    exp = _golden_experiment("phi_osc", tmp_path, monkeypatch)
    one, omega = render_frame(exp, chunk_rows=5)
    seen = []
    many, omega4 = render_frame(exp, chunk_rows=5, blocks=4, progress=lambda d, t: seen.append((d, t)),
                                cache_dir=str(tmp_path / "store"))
    np.testing.assert_array_equal(many, one)
    assert omega4 == pytest.approx(omega, rel=1e-14)
    total = exp.layout.spixels
    assert exp.layout.spixels >= 4 and len(seen) == 4 and seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    spec_exp = _golden_experiment("phi_osc", tmp_path, monkeypatch, mode="spec")
    assert not np.array_equal(render_frame(spec_exp, chunk_rows=5)[0], one)  # the carry mattered


def test_render_frame_without_a_describable_setup_renders_uncached(tmp_path, monkeypatch):
    """If the static set-up cannot be pickled into a key, the frame still renders (no store)."""
    from nanobragg_jax.programs import _frame
    from nanobragg_jax.programs import render_frame

    exp = _golden_experiment("cubic_mosflm", tmp_path, monkeypatch)
    reference, omega = render_frame(exp)

    def unpicklable(exp):
        raise TypeError("cannot pickle")

    monkeypatch.setattr(_frame, "closure_bytes", unpicklable)
    got, omega2 = render_frame(exp, cache_dir=str(tmp_path / "store"))
    np.testing.assert_array_equal(got, reference)
    assert omega2 == omega and not (tmp_path / "store").exists()
