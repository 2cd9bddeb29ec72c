"""The Python API: from_cli / params / simulate contracts, partial parameter dicts, no recompiles,
and a package import that leaves JAX alone."""

import gzip
import shutil
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from nanobragg_jax.setup import write_structure_factor_dump
import pytest

from conftest import CASES, INPUTS, load_case
from nanobragg_jax import api

SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -detpixels 16 -pixel 0.4"

UNITS = {  # name -> shape, for the list of parameters
    "cell": (6,), "misset": (3,), "distance": (), "beam_center": (2,), "lambda": (), "N": (3,),
    "fluence": (), "detector_rot": (3,), "twotheta": (), "phi0": (), "phistep": (),
    "mosaic_spread": (),
}


def test_params_names_shapes_and_command_line_units(tmp_path):
    exp = api.from_cli(SMALL + " -distance 120 -misset 10 20 30 -twotheta 5 -phi 3 -osc 1 -phisteps 2 "
                       "-mosaic 0.3 -mosaic_dom 2 -Xbeam 3 -Ybeam 3.5", workdir=str(tmp_path))
    p = api.params(exp)
    for name, shape in UNITS.items():
        assert jnp.shape(p[name]) == shape, name
        assert isinstance(p[name], jax.Array)
    assert set(p) <= set(api.PARAMETERS)
    np.testing.assert_allclose(p["cell"], [100, 100, 100, 90, 90, 90])
    np.testing.assert_allclose(p["misset"], [10, 20, 30])
    assert float(p["distance"]) == pytest.approx(120.0)
    np.testing.assert_allclose(p["beam_center"], [3.0, 3.5])
    assert float(p["lambda"]) == pytest.approx(1.0)
    np.testing.assert_allclose(p["N"], [5, 5, 5])
    assert float(p["twotheta"]) == pytest.approx(5.0)
    assert float(p["phi0"]) == pytest.approx(3.0) and float(p["phistep"]) == pytest.approx(0.5)
    assert float(p["mosaic_spread"]) == pytest.approx(0.3)
    assert "Fhkl" not in p


def test_fhkl_present_with_a_table(tmp_path, monkeypatch):
    shutil.copy(INPUTS / "P1_small.hkl", tmp_path / "P1_small.hkl")
    monkeypatch.chdir(tmp_path)
    exp = api.from_cli(["-hkl", "P1_small.hkl", "-cell", "60", "60", "60", "90", "90", "90", "-N", "2",
                        "-detpixels", "8"], workdir=str(tmp_path))
    p = api.params(exp)
    assert p["Fhkl"].ndim == 3 and float(jnp.max(p["Fhkl"])) > 0
    assert not (tmp_path / "Fdump.bin").exists()  # the set-up writes no file ...
    assert write_structure_factor_dump(exp) and (tmp_path / "Fdump.bin").exists()  # ... this does


def test_simulate_equals_the_c_float_image(tmp_path, monkeypatch):
    """A string command line with --mode c-parity reproduces what C's -floatfile wrote."""
    monkeypatch.chdir(tmp_path)
    case = load_case("phi_carryover_small")
    exp = api.from_cli(case["args"] + " --mode c-parity", workdir=str(tmp_path))
    assert exp.layout.mode == "c-parity"
    img = np.asarray(api.simulate(exp, api.params(exp)))
    gold = np.frombuffer(gzip.open(CASES / "phi_carryover_small" / "float.bin.gz").read(), np.float32)
    assert img.shape == (exp.layout.spixels, exp.layout.fpixels)
    np.testing.assert_allclose(img.reshape(-1), gold, rtol=1e-5, atol=1e-7 * np.abs(gold).max())
    assert api.from_cli(case["args"], workdir=str(tmp_path)).layout.mode == "spec"  # the default


def test_string_and_list_agree_and_keywords_override(tmp_path):
    a = api.from_cli(SMALL + " -distance 80", workdir=str(tmp_path))
    b = api.from_cli(SMALL.split() + ["-distance", "80"], workdir=str(tmp_path), mode="c-parity",
                     dtype="float32")
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert (b.layout.mode, b.layout.dtype) == ("c-parity", "float32")
    assert api.simulate(b).dtype == jnp.float32


def test_partial_params_and_unknown_names(tmp_path):
    exp = api.from_cli(SMALL, workdir=str(tmp_path))
    full = api.params(exp)
    full["distance"] = jnp.asarray(90.0)
    np.testing.assert_array_equal(api.simulate(exp, {"distance": jnp.asarray(90.0)}), api.simulate(exp, full))
    assert not np.allclose(api.simulate(exp, {"distance": 90.0}), api.simulate(exp))
    with pytest.raises(KeyError, match="Fhkl"):
        api.simulate(exp, {"Fhkl": jnp.ones((2, 2, 2))})


def test_new_parameter_values_do_not_recompile(tmp_path):
    exp = api.from_cli(SMALL + " -phi 0 -osc 1 -phisteps 2 -mosaic 0.2 -mosaic_dom 2", workdir=str(tmp_path))
    f = jax.jit(eqx.debug.assert_max_traces(lambda p: api.simulate(exp, p), max_traces=1))
    p = api.params(exp)
    first = f(p)
    for k, v in p.items():
        changed = f({**p, k: v * 1.01 + 0.01})
        assert changed.shape == first.shape


def test_package_import_does_not_import_jax():
    code = ("import sys, nanobragg_jax as nbj; assert 'jax' not in sys.modules, 'jax imported'; "
            "assert callable(nbj.simulate) and 'jax' in sys.modules; "
            "assert set(nbj.__all__) <= set(dir(nbj))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- what a Python user gets wrong (new-user trial) --------------------------------------------------
SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 8"


@pytest.mark.parametrize("bad", [{"cell": [100.0, 100.0, 100.0]}, {"misset": 1.0},
                                 {"distance": [100.0, 110.0]}, {"N": [[5.0, 5.0, 5.0]]}])
def test_a_parameter_of_the_wrong_shape_is_refused(bad, tmp_path):
    """JAX indexes past an array's end without an error, so a 3-number cell used to render a
    'cell' with angles 100: the shape is checked against the experiment's own value."""
    exp = api.from_cli(SMALL, workdir=str(tmp_path))
    (name,) = bad
    with pytest.raises(ValueError, match=f"parameter '{name}' has shape"):
        api.simulate(exp, {k: jnp.asarray(v) for k, v in bad.items()})


def test_unknown_names_of_derivative_image_and_flatten_are_listed(tmp_path):
    exp = api.from_cli(SMALL, workdir=str(tmp_path))
    with pytest.raises(KeyError, match="distance"):
        api.derivative_image(exp, None, {"distnace": 1.0})
    with pytest.raises(KeyError, match="they have"):
        api.flatten(api.params(exp), ["distnace"])


def test_from_cli_warns_as_the_command_line_does(tmp_path):
    """An unknown flag, ignored as nanoBragg.c ignores it, and an assumed -cell come as warnings."""
    with pytest.warns(UserWarning) as record:
        exp = api.from_cli("-cell 100 100 100 90 90 -default_F 100 -N 5 -detpixels 8 -lamda 1.5",
                           workdir=str(tmp_path))
    texts = [str(w.message) for w in record]
    assert any("-lamda" in t and "did you mean -lambda" in t for t in texts)
    assert any("-cell" in t and "C quirk P9" in t for t in texts)
    assert float(exp.params["lambda"]) == 1.0  # the typo changed nothing


def test_from_cli_reads_relative_files_in_workdir(tmp_path, monkeypatch):
    shutil.copy(INPUTS / "P1_small.hkl", tmp_path / "mine.hkl")
    monkeypatch.chdir("/")
    exp = api.from_cli("-hkl mine.hkl -cell 60 60 60 90 90 90 -N 5 -detpixels 8", workdir=str(tmp_path))
    assert exp.static.hkls > 0
