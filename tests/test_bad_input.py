"""The bad-input set of issue 11 (its items and the wave-1 list), through the real command (cli.main):

* impossible input: exit 2, one line `nanobragg: error: ...` naming the flag, file or cause, nothing
  written (not even Fdump.bin), no traceback;
* input nanoBragg.c accepts with an assumption: exit 0, one warning line naming the flag, and the
  image of the command line that spells the assumption out (an independent run);
* never exit 0 with a NaN or infinite pixel.
"""

import numpy as np
import pytest

import cli

BASE = ["-default_F", "100", "-N", "3", "-detpixels", "8", "-nonoise", "-nopgm", "-noprogress", "--no-cache"]
CELL = ["-cell", "50", "50", "50", "90", "90", "90"]

FILES = {
    "bad.hkl": "0 0 0 5\n1 2 x 5\n0 1 0 7\n",
    "sing.mat": "0.01 0 0\n0 0.01 0.02\n0 0 0\n",
    "zero_lambda.txt": "-10 0 0 1 1e-10\n-10 0 0.001 1 0\n",
    "commented.txt": "# X Y Z I lambda\n-10 0 0 1 1e-10\n",
    "plain.txt": "-10 0 0 1 1e-10\n",
}

# (case, extra flags, what the error line must name)
REFUSED = [
    ("roi short", ["-roi", "1", "2", "3"], "-roi"),
    ("--out into a missing folder", ["--out", "nodir/x.nxs"], "--out 'nodir/x.nxs'"),
    ("--expt a folder", ["--expt", "."], "--expt '.'"),
    ("roi inverted (C: all-zero image)", ["-roi", "5", "2", "0", "3"], "empty region"),
    ("missing hkl", ["-hkl", "missing.hkl"], "missing.hkl"),
    ("N not whole", ["-N", "2.5"], "-N"),
    ("N three values (item 2)", ["-N", "36", "47", "29"], "-Na 36 -Nb 47 -Nc 29"),
    ("stray value (item 11)", ["-N", "3", "5"], "'5'"),
    ("flag as a value (item 11)", ["-Nb", "-Ybeam", "0.5"], "-Nb"),
    ("unknown mode", ["--mode", "fast"], "--mode"),
    ("zero pixel", ["-pixel", "0"], "-pixel"),
    ("value missing", ["-default_F"], "-default_F"),
    ("unknown flag with --strict (item 1)", ["-hdiv", "0", "--strict"], "did you mean"),
    ("hkl line not h k l F (item 4)", ["-hkl", "bad.hkl"], "bad.hkl', line 2: '1 2 x 5'"),
    ("source wavelength 0 (item 5)", ["-sourcefile", "zero_lambda.txt"], "zero_lambda.txt', line 2"),
    ("beam in the detector plane (item 10)", ["-beam_vector", "0", "0", "1"], "passes through the sample"),
    ("zero beam (item 10)", ["-beam_vector", "0", "0", "0"], "-beam_vector 0 0 0"),
    ("twotheta 90, beam pivot", ["-twotheta", "90"], "passes through the sample"),
    ("beamsize 0 with flux", ["-flux", "1e12", "-beamsize", "0"], "-beamsize 0"),
    ("singular -mat", ["-mat", "sing.mat"], "singular"),
    ("a wavelength of 0 from -dispersion", ["-dispersion", "200", "-dispsteps", "3"], "-dispersion 200%"),
    ("depth overflows", ["-detector_thick", "100", "-detector_abs", "1e-320"], "-detector_abs"),
    ("infinite image (C exits 0)", ["-water", "1e300"], "NaN or infinite"),
]

# (case, flags, the equivalent spelled-out flags (None: C's image is known, all zero; "as given":
# C takes the value as it is, so there is nothing to spell out), the warning's words)
ASSUMED = [
    ("unknown flags ignored (item 1)", ["-hdiv", "0", "-vdiv", "0"], [], ["-hdiv 0", "did you mean"]),
    ("misspelt flag ignored", ["-distanse", "120"], [], ["-distanse 120", "-distance"]),
    ("five -cell numbers (item 3)", ["-cell", "50", "50", "50", "90", "90"], [], ["-cell", "90 90 90"]),
    ("zero -cell angles (item 3)", ["-cell", "50", "50", "50", "0", "0", "0"], [], ["-cell", "90 90 90"]),
    ("source comment line (item 5)", ["-sourcefile", "commented.txt"], ["-sourcefile", "plain.txt"],
     ["commented.txt", "comment"]),
    ("-oversample_thick without a sensor (item 8)", ["-oversample_thick"], None, ["-oversample_thick"]),
    ("wavelength in nm? (item 6)", ["-lambda", "150"], "as given", ["-lambda 150", "Angstrom"]),
    ("distance in metres? (item 6)", ["-distance", "0.5"], "as given", ["-distance 0.5", "mm"]),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _argv(flags):
    has_cell = any(f in ("-cell", "-mat") for f in flags)
    return BASE + ([] if has_cell else CELL) + flags


def _outputs(folder):
    return sorted(p.name for p in folder.iterdir() if p.name not in FILES)


@pytest.mark.parametrize("case, flags, named", REFUSED, ids=[c for c, _, _ in REFUSED])
def test_impossible_input_is_one_line_exit_2_and_no_file(case, flags, named, workdir, capsys):
    code = cli.main(_argv(flags))
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("nanobragg: error:")]
    assert code == 2 and len(errors) == 1 and named in errors[0], err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == errors[0]
    assert _outputs(workdir) == []


def _render(flags, folder, capsys, name):
    code = cli.main(_argv(flags) + ["-floatfile", f"{name}.bin", "-intfile", f"{name}.img"])
    out = capsys.readouterr()
    assert code == 0, out.err
    image = np.fromfile(folder / f"{name}.bin", dtype="<f4")
    assert np.all(np.isfinite(image))
    return image, [line for line in out.err.splitlines() if line.startswith("nanobragg: warning:")]


@pytest.mark.parametrize("case, flags, spelled, words", ASSUMED, ids=[c for c, _, _, _ in ASSUMED])
def test_accepted_assumption_is_c_result_and_one_warning(case, flags, spelled, words, workdir, capsys):
    image, warnings = _render(flags, workdir, capsys, "a")
    named = [w for w in warnings if all(word in w for word in words)]
    assert len(named) == 1, warnings
    if spelled is None:
        assert not image.any()  # C's image here (exp(0) - exp(0) capture fraction, C quirk A12)
    elif spelled != "as given":
        reference, _ = _render(spelled, workdir, capsys, "b")
        np.testing.assert_array_equal(image, reference)


def test_no_run_exits_0_with_a_non_finite_image(workdir, capsys):
    """The final check itself: whatever made the image non-finite, nothing is written."""
    (workdir / "tiny.hkl").write_text("0 0 0 5\n1 1 1 7\n")
    assert cli.main(_argv(["-hkl", "tiny.hkl", "-water", "1e300", "-floatfile", "w.bin"])) == 2
    assert "NaN or infinite" in capsys.readouterr().err
    assert _outputs(workdir) == ["tiny.hkl"]  # no image, and no Fdump.bin either
