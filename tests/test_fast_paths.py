"""The speed paths equal the reference paths: the clean-file hkl reader vs the exact C scanner,
the compiled model builder vs the eager one, and the kernel's sincg parts vs the closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nanobragg_jax.errors import InputError
from nanobragg_jax.render import physics as ph
from nanobragg_jax.io import _hkl as hkl_mod

HKL_TEXTS = {
    "clean": "1 2 3 4.5\n-1 0 2 1e2\n0 0 0 .25\n",
    "float_index": "1 2 3 4.5\n1.0 2 3 5\n2 2 2 1\n",
    "partial_record": "1 2 3 4\n5 6 7",
    "duplicates": "1 1 1 5\n1 1 1 6\n0 0 0 1\n",
    "signs_and_zeros": "+1 -0 007 +3.\n-2 -2 -2 -0.5E-1\n",
    "dangling_exponent": "1 2 3 4e\n1 1 1 1\n",
    "five_columns": "1 2 3 4 5\n6 7 8 9 10\n",
    "c_white_space": "1\t2\v3\f4\r\n2 2 2 2",
    "junk": "1 2 3 4\n1 2 3 abc\n",
}


@pytest.mark.parametrize("name", sorted(HKL_TEXTS))
@pytest.mark.parametrize("default_F", [0.0, 3.0])
def test_clean_hkl_reader_equals_the_c_scanner(tmp_path, monkeypatch, name, default_F):
    path = tmp_path / f"{name}.hkl"
    path.write_text(HKL_TEXTS[name])
    if name == "junk":  # a line that is not 'h k l F' is refused by both readers (issue 11)
        with pytest.raises(InputError, match=r"line 2: '1 2 3 abc'"):
            hkl_mod.read_hkl(path, default_F)
        monkeypatch.setattr(hkl_mod, "_clean_records", lambda text: None)
        with pytest.raises(InputError, match=r"line 2: '1 2 3 abc'"):
            hkl_mod.read_hkl(path, default_F)
        return
    fast = hkl_mod.read_hkl(path, default_F)
    monkeypatch.setattr(hkl_mod, "_clean_records", lambda text: None)
    exact = hkl_mod.read_hkl(path, default_F)
    assert (fast.hkl_min, fast.hkl_max, fast.hkls, fast.warnings) == (
        exact.hkl_min, exact.hkl_max, exact.hkls, exact.warnings)
    np.testing.assert_array_equal(fast.F, exact.F)


def test_clean_reader_takes_clean_files_and_refuses_the_rest():
    assert hkl_mod._clean_records(HKL_TEXTS["clean"]) is not None
    for name in ("float_index", "dangling_exponent", "junk"):
        assert hkl_mod._clean_records(HKL_TEXTS[name]) is None, name
    assert hkl_mod._clean_records("1 2 3 4\n99999999999 0 0 1\n") is None  # beyond C's int


def test_compiled_model_equals_eager_build(tmp_path, monkeypatch):
    """The frame program's model build (host arrays as arguments, jitted) equals the eager one."""
    from nanobragg_jax.api import from_cli
    from nanobragg_jax.programs._model_builder import model_builder
    from nanobragg_jax.setup import build_model

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.hkl").write_text("".join(f"{h} {k} {l} {1 + h * h + k + l}\n"
                                            for h in range(-3, 4) for k in range(-3, 4) for l in range(-3, 4)))
    exp = from_cli("-cell 60 62 64 88 91 93 -hkl t.hkl -N 3 -lambda 1 -distance 80 -detpixels 12 -pixel 0.3 "
                   "-misset 5 7 9 -mosaic 0.3 -mosaic_dom 3 -divergence 0.2 -divsteps 2 -phi 1 -osc 2 "
                   "-phisteps 2 -twotheta 4 -nonoise -nopgm", workdir=str(tmp_path))
    build, big = model_builder(exp)
    fast = jax.jit(build)(dict(exp.params), big)
    slow = build_model(exp, dict(exp.params))
    fl, ft = jax.tree_util.tree_flatten(fast)
    sl, st = jax.tree_util.tree_flatten(slow)
    assert ft == st
    for a, b in zip(fl, sl):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13, atol=1e-300)


def test_sincg_parts_closed_form_and_gradient():
    h = jnp.array([0.0, 3.0, -2.0, 0.25, 1.5, 7.1, 0.013, -0.49, 1e-9])
    for N in (1.0, 5.0, 36.0, 4.5):
        num, den = ph.sincg_parts(h, jnp.asarray(N))
        hs = np.asarray(h, np.longdouble)
        f = hs - np.round(hs)  # periodic in h (for integer N this is C's sin(N pi h)/sin(pi h))
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = np.sin(np.pi * N * f) / np.sin(np.pi * f)
        expected = np.where(np.abs(f) < 1e-12, N, expected)  # the limit at integer h
        np.testing.assert_allclose(np.abs(np.asarray(num / den)), np.abs(expected.astype(float)), rtol=1e-12, atol=1e-12 * N)
        assert np.all(np.asarray(den) != 0)
    assert np.all(np.asarray(ph.sincg_parts(h, jnp.asarray(1.0))[0] / ph.sincg_parts(h, jnp.asarray(1.0))[1]) == 1.0)
    sq = lambda x, n: (lambda nd: (nd[0] / nd[1]) ** 2)(ph.sincg_parts(x, n))
    dh = jax.vmap(jax.grad(sq), in_axes=(0, None))(h, jnp.asarray(5.0))
    assert np.all(np.isfinite(np.asarray(dh)))
    np.testing.assert_allclose(np.asarray(dh[:3]), 0.0, atol=1e-9)  # peaks are maxima
    dN = jax.grad(sq, argnums=1)(jnp.asarray(2.0), jnp.asarray(5.0))
    assert float(dN) == pytest.approx(10.0)  # d(N^2)/dN at a peak
