"""Batches: jax.vmap over orientations, cells and distances equals a Python loop and traces once;
the sweep helper writes one image per orientation with a progress bar."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cli
from nanobragg_jax import api
from nanobragg_jax.datasets import _orientations as sweep
from nanobragg_jax.io import read_float_image, read_smv

ARGS = ("-cell 30 32 34 90 90 90 -misset 5 10 15 -default_F 100 -N 3 -lambda 1 -distance 60 "
        "-detpixels 16 -pixel 0.6 -oversample 1 -phi 0 -osc 1 -phisteps 2")


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    return api.from_cli(ARGS, workdir=str(tmp_path_factory.mktemp("vmap")))


@pytest.fixture(scope="module")
def single(exp):
    return jax.jit(lambda p: api.simulate(exp, p))


@pytest.mark.parametrize("name,values", [
    ("misset", [[5, 10, 15], [0, 0, 0], [30, -20, 45.5], [5, 10.5, 15]]),
    ("cell", [[30, 32, 34, 90, 90, 90], [31, 32, 33, 88, 92, 91]]),
    ("distance", [60.0, 55.0, 70.0]),
])
def test_vmap_equals_loop_with_one_trace(exp, single, name, values):
    batch = jnp.asarray(values, dtype=jnp.float64)
    p = api.params(exp)
    traced = eqx.debug.assert_max_traces(lambda q: api.simulate(exp, q), max_traces=1)
    f = jax.jit(jax.vmap(lambda v: traced({**p, name: v})))
    images = np.asarray(f(batch))
    again = np.asarray(f(batch[::-1] + 0.25))  # new values, same shape: no second trace
    assert images.shape == (len(values), 16, 16) and again.shape == images.shape
    for i, v in enumerate(batch):
        np.testing.assert_allclose(images[i], single({**p, name: v}), rtol=1e-10)
    assert not np.allclose(images[0], images[1])


def test_simulate_batch_helper(exp, single):
    cells = jnp.asarray([[30, 32, 34, 90, 90, 90], [29, 33, 34, 90, 91, 90]], dtype=jnp.float64)
    out = jax.jit(lambda c: api.simulate_batch(exp, {"cell": c}, {"distance": 65.0}))(cells)
    p = api.params(exp)
    for i in range(2):
        np.testing.assert_allclose(out[i], single({**p, "cell": cells[i], "distance": jnp.asarray(65.0)}),
                                   rtol=1e-10)
    with pytest.raises(ValueError, match="one leading size"):
        api.simulate_batch(exp, {"cell": cells, "distance": jnp.ones(3)})


def test_write_sweep_files_and_progress(exp, single, tmp_path, capsys):
    missets = sweep.misset_series(exp, axis="y", step=2.0, count=3)
    np.testing.assert_allclose(missets[:, 1], [10, 12, 14])
    np.testing.assert_allclose(missets[:, [0, 2]], [[5, 15]] * 3)
    paths = sweep.write_sweep(exp, missets, str(tmp_path / "out" / "s_"), smv=True, batch=2)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["s_0000.bin", "s_0000.img", "s_0001.bin",
                                                    "s_0001.img", "s_0002.bin", "s_0002.img"]
    err = capsys.readouterr().err
    assert "3/3 images" in err and "0/3 images" in err
    p = api.params(exp)
    for i in range(3):
        img = read_float_image(paths[2 * i], (16, 16))
        ref = np.asarray(single({**p, "misset": jnp.asarray(missets[i])}), np.float32)
        np.testing.assert_array_equal(img, ref)
        smv = read_smv(paths[2 * i + 1])
        assert smv.data.shape == (16, 16) and smv.data.max() > 0
    sweep.write_sweep(exp, missets[:1], str(tmp_path / "quiet_"), progress=False)
    assert capsys.readouterr().err == ""


def test_sweep_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "angles.txt").write_text("# x y z\n0 0 0\n10 0 0\n")
    code = cli.main(["sweep", "--missets", "angles.txt", "--prefix", "img_", "--"] + ARGS.split() + ["--no-cache"])
    assert code == 0
    assert (tmp_path / "img_0000.bin").exists() and (tmp_path / "img_0001.bin").exists()
    assert not (tmp_path / "img_0000.img").exists()
    assert "2/2 images" in capsys.readouterr().err
    a, b = (read_float_image(tmp_path / f"img_000{i}.bin", (16, 16)) for i in range(2))
    assert not np.array_equal(a, b)
    assert cli.main(["sweep", "--count", "2", "--axis", "q", "--"] + ARGS.split() + ["--no-cache"]) == 2
