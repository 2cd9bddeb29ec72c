"""Batches: jax.vmap over orientations, cells and distances equals a Python loop and traces once.
(Series of frame files are `nanobragg series`: tests/test_series.py.)"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nanobragg_jax import api

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
