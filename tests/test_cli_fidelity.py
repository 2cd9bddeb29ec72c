"""Issue 11 items 12, 14, 15 and 16: `render --help`, `compare`'s exit code and tolerance, the help
text agreeing with the docs, and the API's one warning when float64 is asked for with x64 off."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import cli
from nanobragg_jax.args import help_text

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
GUIDE = (ROOT / "docs" / "user-guide.md").read_text()


@pytest.mark.parametrize("argv", [["render", "--help"], ["render", "-h"], ["render"], ["--help"]])
def test_render_help(argv, capsys):
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == help_text()


def test_compare_exits_1_when_images_differ_and_takes_a_tolerance(tmp_path, capsys):
    a = np.random.default_rng(0).uniform(1, 2, (4, 5)).astype("<f4")
    b = a.copy()
    b[2, 3] *= 1.0001  # 1e-4 relative: outside the default 1e-5
    a.tofile(tmp_path / "a.bin")
    b.tofile(tmp_path / "b.bin")
    c = a.copy()
    c[0, 0] = np.nan
    c.tofile(tmp_path / "c.bin")
    run = lambda *args: cli.main(["compare", str(tmp_path / args[0]), str(tmp_path / args[1]), "--shape", "4", "5",
                                  *args[2:]])
    assert run("a.bin", "a.bin") == 0
    assert run("a.bin", "b.bin") == 1 and "outside 1e-05*|A| + 1e-07*max|A|: 1 of 20" in capsys.readouterr().out
    assert run("a.bin", "b.bin", "--rtol", "2e-4") == 0
    assert run("a.bin", "b.bin", "--atol", "1e-3") == 0
    assert run("a.bin", "c.bin", "--rtol", "1") == 1  # a NaN pixel is never within tolerance
    assert run("a.bin", "b.bin", "--rtol", "-1") == 2


def test_usage_lists_the_subcommands_and_docs_agree_with_help():
    text = help_text()
    usage = text[:text.index("\n\n")]
    for word in ("[render]", "compare A B", "--rtol", "trace-diff", "series", "compare-expt"):
        assert word in usage
    assert re.search(r"-trace_pixel, --trace-pixel S F +print every intermediate quantity of pixel \(slow S, "
                     r"fast F,\s+0-based\)", text)
    assert "`-trace_pixel S F` | print every intermediate quantity of pixel (slow S, fast F, 0-based)" in README
    assert "`-trace_pixel S F` prints every intermediate quantity of one pixel (slow S, fast F, 0-based)" in GUIDE
    default = re.search(r"-mosaic_seed N +mosaic-domain seed \(default (\d+)\)", text).group(1)
    assert f"mosaic seed defaults to {default}" in GUIDE
    assert "--strict" in text and "`--strict`" in README
    for sub in ("nanobragg render", "nanobragg compare", "nanobragg trace-diff", "nanobragg series",
                "nanobragg compare-expt"):
        assert sub in README


def test_api_warns_once_when_float64_is_asked_for_with_x64_off():
    code = ("from nanobragg_jax.api import from_cli, params, simulate\n"
            "exp = from_cli('-cell 100 100 100 90 90 90 -default_F 100 -N 2 -lambda 1 -detpixels 8')\n"
            "img = simulate(exp, {**params(exp), 'distance': 120.0})\n"
            "img = simulate(exp, {**params(exp), 'distance': 130.0})\n"
            "print(img.dtype)\n")
    r = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, env={"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"})
    assert r.returncode == 0 and r.stdout.strip() == "float32", r.stderr
    lines = [line for line in r.stderr.splitlines() if "Warning" in line]
    assert len(lines) == 1 and "float64 was asked for but JAX's x64 mode is off" in lines[0], r.stderr
