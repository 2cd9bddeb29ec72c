"""Test configuration: float64 everywhere, a scratch compile cache, and paths to the C goldens
copied into tests/data."""

import atexit
import json
import os
import pathlib
import shutil
import tempfile

import jax

# CLI runs inside the tests keep their compile caches in a scratch folder, not the user's home.
_CACHE = tempfile.mkdtemp(prefix="nanobragg-test-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["NANOBRAGG_CACHE_DIR"] = _CACHE

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", os.environ.get("JAX_PLATFORMS", "cpu") or "cpu")

import pytest  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
CASES = GOLDEN / "cases"
INPUTS = GOLDEN / "inputs"


def golden_case_names():
    return sorted(p.name for p in CASES.iterdir() if (p / "case.json").exists())


def load_case(name):
    return json.loads((CASES / name / "case.json").read_text())


@pytest.fixture
def golden_dir():
    return GOLDEN
