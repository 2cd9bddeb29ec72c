"""Test configuration: float64 everywhere, and paths to the C goldens copied into tests/data."""

import json
import os
import pathlib

import jax

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
