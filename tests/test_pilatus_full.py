"""The full Pilatus frame (2463 x 2527, 10 phi steps) against C, per pixel, in c-parity float64.

Its golden (23 MB) stays in ../shared/golden, outside the repository: without it this test skips
and says so."""

import gzip
import pathlib
import shutil

import numpy as np
import pytest

from test_parity import assert_parity

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "golden"
CASE = SHARED / "cases" / "pilatus_full"


def test_pilatus_full_frame_c_parity(tmp_path, monkeypatch):
    if not (CASE / "float.bin.gz").exists():
        pytest.skip(f"full-frame golden not available at {CASE}")
    import json

    from nanobragg_jax.api import from_cli
    from nanobragg_jax.programs import render_frame

    for f in (SHARED / "inputs").iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    args = json.loads((CASE / "case.json").read_text())["args"].split()
    exp = from_cli(args + ["-nopgm", "-noprogress"], workdir=str(tmp_path), mode="c-parity")
    img = render_frame(exp)[0]
    gold = np.frombuffer(gzip.open(CASE / "float.bin.gz").read(), np.float32)
    assert img.shape == (2527, 2463)
    assert_parity(img, gold)
