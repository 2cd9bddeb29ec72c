"""`nanobragg series`: every frame equals the single run its manifest names (both modes, noise and
int images, float frames, sweeps and stills), the manifest, resume after an interrupt, Dask
workers (one of them killed mid-run), several devices, and clean failures."""

import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import INPUTS

import cli
from nanobragg_jax.datasets import (
    Frame,
    FrameWriter,
    Template,
    Variation,
    frame_writers,
    register_frame_writer,
)
from nanobragg_jax.errors import InputError

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASE = ["-hkl", str(INPUTS / "P1_small.hkl"), "-cell", "60", "60", "60", "90", "90", "90", "-misset", "10", "20",
        "30", "-N", "5", "-lambda", "1", "-distance", "100", "-detpixels", "32", "-pixel", "0.6", "-mosaic", "0.3",
        "-mosaic_dom", "3", "-osc", "0.5", "-phisteps", "5", "-oversample", "1", "-seed", "7", "-noprogress"]


def single_run(folder: pathlib.Path, flags) -> dict:
    """The files of one `nanobragg` run with these flags (in-process), as bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        noise = [] if "-nonoise" in flags else ["-noisefile", "n.img"]  # C: -noisefile turns noise on
        assert cli.main([*flags, "-floatfile", "f.bin", "-intfile", "i.img", *noise, "-nopgm"]) == 0
    finally:
        os.chdir(cwd)
    out = {"float": (folder / "f.bin").read_bytes(), "int": (folder / "i.img").read_bytes()}
    if (folder / "n.img").exists():
        out["noise"] = (folder / "n.img").read_bytes()
    return out


def series(folder: pathlib.Path, *args) -> int:
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return cli.main(["series", *args])
    finally:
        os.chdir(cwd)


def manifest(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def frame_bytes(folder: pathlib.Path, pattern: str, count: int) -> list:
    return [(folder / pattern.format(i)).read_bytes() for i in range(count)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A 6-frame c-parity sweep made in this process: the frames every other run must equal."""
    folder = tmp_path_factory.mktemp("reference")
    assert series(folder, *BASE, "--mode", "c-parity", "--frames", "6", "--out", "ref/r_###.img") == 0
    return frame_bytes(folder / "ref", "r_{:03d}.img", 6)


# --- frames equal single runs ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["spec", "c-parity"])
def test_sweep_frames_equal_single_runs(tmp_path, mode):
    assert series(tmp_path, *BASE, "--mode", mode, "--frames", "3", "--out", "sweep/s_###.img", "--float") == 0
    m = manifest(tmp_path / "sweep" / "s.json")
    assert m["kind"] == "sweep" and m["count"] == 3 and m["format"] == "SMV"
    assert m["command"][:2] == ["nanobragg", "series"] and m["seeds"]["seed"] == 7
    assert [f["flags"] for f in m["frames"]] == [["-phi", "0", "-seed", "7"], ["-phi", "0.5", "-seed", "8"],
                                                 ["-phi", "1", "-seed", "9"]]
    images = []
    for i, entry in enumerate(m["frames"]):
        ref = single_run(tmp_path / f"single{i}", [*BASE, "--mode", mode, *entry["flags"]])
        img = (tmp_path / "sweep" / entry["file"]).read_bytes()
        assert img == ref["noise"]
        assert (tmp_path / "sweep" / entry["float_file"]).read_bytes() == ref["float"]
        assert entry["sha256"] == hashlib.sha256(img).hexdigest()
        assert entry["float_sha256"] == hashlib.sha256(ref["float"]).hexdigest()
        assert entry["params"]["phi0"] == pytest.approx(0.5 * i) and entry["params"]["N"] == [5, 5, 5]
        assert entry["stats"]["photons"] > 0
        images.append(np.frombuffer(ref["float"], np.float32))
    assert images[0].max() > 0 and not np.array_equal(images[0], images[1])


def test_nonoise_frames_are_the_int_images(tmp_path):
    assert series(tmp_path, *BASE, "-nonoise", "-phi", "2", "--frames", "2", "--out", "i_#.img") == 0
    m = manifest(tmp_path / "i.json")
    assert m["frames"][1]["flags"] == ["-phi", "2.5", "-seed", "8"] and "photons" not in m["frames"][1]["stats"]
    for i, entry in enumerate(m["frames"]):
        ref = single_run(tmp_path / f"single{i}", [*BASE, "-nonoise", "-phi", "2", *entry["flags"]])
        assert "noise" not in ref and (tmp_path / f"i_{i}.img").read_bytes() == ref["int"]


def test_random_stills_equal_single_runs(tmp_path):
    assert series(tmp_path, *BASE, "--orientations", "random:42", "--frames", "3", "--out", "st_##.img") == 0
    m = manifest(tmp_path / "st.json")
    assert m["kind"] == "stills"
    misset_seed = m["seeds"]["misset_seed"]
    assert misset_seed == 42
    missets = []
    for i, entry in enumerate(m["frames"]):
        assert entry["flags"] == ["-misset_seed", str(misset_seed + i), "-misset", "random", "-seed", str(7 + i)]
        ref = single_run(tmp_path / f"single{i}", [*BASE, *entry["flags"]])
        assert (tmp_path / entry["file"]).read_bytes() == ref["noise"]
        assert entry["params"]["phi0"] == 0  # stills: phi does not advance
        missets.append(entry["params"]["misset"])
    assert len({tuple(m_) for m_ in missets}) == 3  # a new orientation per frame


def test_stills_from_files_and_varied_parameters(tmp_path):
    (tmp_path / "angles.txt").write_text("# x y z (deg)\n0 0 0\n-5 12.5 3\n")
    assert series(tmp_path, *BASE, "-nonoise", "--orientations", "angles.txt", "--out", "m_#.img",
                  "--vary", "N=uniform:3:6", "--vary", "lambda=normal:1%", "--vary", "cell=normal:0.5",
                  "--vary-seed", "3") == 0
    m = manifest(tmp_path / "m.json")
    assert m["count"] == 2  # one frame per line
    for i, entry in enumerate(m["frames"]):
        flags = entry["flags"]
        assert flags[:4] == ["-misset", *("0 0 0" if i == 0 else "-5 12.5 3").split()]
        p = entry["params"]
        n = int(flags[flags.index("-N") + 1])
        lam = float(flags[flags.index("-lambda") + 1])
        a, b, c = (float(x) for x in flags[flags.index("-cell") + 1:][:3])
        assert 3 <= n <= 6 and p["N"] == [n] * 3 and p["lambda"] == pytest.approx(lam, rel=1e-15) and lam != 1.0
        assert a == b == c == p["cell"][0] != 60.0 and p["cell"][3:] == [90, 90, 90]
        ref = single_run(tmp_path / f"single{i}", [*BASE, "-nonoise", *flags])
        assert (tmp_path / entry["file"]).read_bytes() == ref["int"]
    # the draws are a function of (seed, frame): the same command plans the same frames
    again = tmp_path / "again"
    again.mkdir()
    (again / "angles.txt").write_text((tmp_path / "angles.txt").read_text())
    assert series(again, *BASE, "-nonoise", "--orientations", "angles.txt", "--out", "m_#.img", "--vary",
                  "N=uniform:3:6", "--vary", "lambda=normal:1%", "--vary", "cell=normal:0.5", "--vary-seed", "3") == 0
    assert [f["flags"] for f in manifest(again / "m.json")["frames"]] == [f["flags"] for f in m["frames"]]


def test_a_matrix_stills_share_one_program(tmp_path):
    """A matrices become per-frame .mat files; frames equal `-mat` single runs, and a new matrix
    is a new argument of the same compiled program, not a new program."""
    from nanobragg_jax.api import from_cli
    from nanobragg_jax.programs import program_key

    rows = (INPUTS / "A.mat").read_text().split()[:9]
    turned = [f"{float(x) * (1 if k % 3 else -1):.8f}" for k, x in enumerate(rows)]  # a mirrored matrix
    (tmp_path / "mats.txt").write_text(" ".join(rows) + "\n" + " ".join(turned) + "\n")
    assert series(tmp_path, *BASE, "-nonoise", "--orientations", "mats.txt", "--out", "a_#.img") == 0
    m = manifest(tmp_path / "a.json")
    for i, entry in enumerate(m["frames"]):
        assert entry["flags"][:2] == ["-mat", str(tmp_path / f"a_{i}.mat")]
        ref = single_run(tmp_path / f"single{i}", [*BASE, "-nonoise", *entry["flags"]])
        assert (tmp_path / entry["file"]).read_bytes() == ref["int"]
    exps = [from_cli([*BASE, "-mat", str(tmp_path / f"a_{i}.mat")], workdir=str(tmp_path)) for i in range(2)]
    assert not np.array_equal(exps[0].static.U, exps[1].static.U)
    assert program_key(exps[0]) == program_key(exps[1])


# --- resume ---------------------------------------------------------------------------------------------
def test_interrupt_and_resume_give_the_same_frames(tmp_path, monkeypatch, capsys, reference):
    from nanobragg_jax.datasets import _engine

    finish = _engine.FrameMaker.finish
    calls = []

    def interrupted(self, task, exp, img):
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the third frame is being finished
        calls.append(task.index)
        return finish(self, task, exp, img)

    monkeypatch.setattr(_engine.FrameMaker, "finish", interrupted)
    args = [*BASE, "--mode", "c-parity", "--frames", "6", "--out", "ref/r_###.img"]
    assert series(tmp_path, *args) == 130
    err = capsys.readouterr().err
    assert "interrupted: 2 of 6 frames are done" in err and "--resume" in err
    m = manifest(tmp_path / "ref" / "r.json")
    assert [("sha256" in f) for f in m["frames"]] == [True, True, False, False, False, False]
    assert sorted(os.listdir(tmp_path / "ref")) == ["r.json", "r_000.img", "r_001.img"]  # no partial file
    before = [(tmp_path / "ref" / f"r_00{i}.img").stat() for i in range(2)]
    (tmp_path / "ref" / ".r_002.img.k7x_2ab9.tmp").write_bytes(b"half a frame")  # a writer killed mid-write
    (tmp_path / "ref" / ".notes.txt.k7x_2ab9.tmp").write_bytes(b"not ours")

    calls.clear()
    monkeypatch.setattr(_engine.FrameMaker, "finish", lambda self, t, e, i: (calls.append(t.index), finish(self, t, e, i))[1])
    assert series(tmp_path, *args, "--resume") == 0
    assert calls == [2, 3, 4, 5]  # finished frames are not made again
    assert "resuming: 2 of 6 frames are done" in capsys.readouterr().out
    after = [(tmp_path / "ref" / f"r_00{i}.img").stat() for i in range(2)]
    assert [(s.st_ino, s.st_mtime_ns) for s in before] == [(s.st_ino, s.st_mtime_ns) for s in after]
    assert frame_bytes(tmp_path / "ref", "r_{:03d}.img", 6) == reference
    assert sorted(os.listdir(tmp_path / "ref")) == [".notes.txt.k7x_2ab9.tmp", "r.json"] + [
        f"r_{i:03d}.img" for i in range(6)]

    # a damaged frame fails its checksum and is made again; a different command is refused
    (tmp_path / "ref" / "r_004.img").write_bytes(b"junk")
    calls.clear()
    assert series(tmp_path, *args, "--resume") == 0 and calls == [4]
    assert frame_bytes(tmp_path / "ref", "r_{:03d}.img", 6) == reference
    capsys.readouterr()
    assert series(tmp_path, *args[:-4], "--frames", "6", "--out", "ref/r_###.img", "-N", "6", "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nanobragg: error: --resume:") and "different series" in err and "\n" not in err


def test_resume_keeps_the_seeds_the_time_gave(tmp_path, monkeypatch):
    """Without -seed and -misset_seed the seeds come from the clock (as in C); a resumed run
    later on takes them from the manifest and makes the frames the first run planned."""
    import nanobragg_jax.args._scan as scan
    from nanobragg_jax.datasets import _engine

    unpinned = [f for f in BASE if f not in ("-seed", "7")]
    finish = _engine.FrameMaker.finish

    def stop_after_one(self, task, exp, img):
        if task.index == 1:
            raise KeyboardInterrupt
        return finish(self, task, exp, img)

    monkeypatch.setattr(_engine.FrameMaker, "finish", stop_after_one)
    args = [*unpinned, "--orientations", "random", "--frames", "3", "--out", "t_#.img"]
    assert series(tmp_path, *args) == 130
    first = manifest(tmp_path / "t.json")
    monkeypatch.setattr(_engine.FrameMaker, "finish", finish)
    monkeypatch.setattr(scan.time, "time", lambda: 2_000_000_000.0)  # much later
    assert series(tmp_path, *args, "--resume") == 0
    second = manifest(tmp_path / "t.json")
    assert second["seeds"] == first["seeds"] and second["seeds"]["seed"] != 2_000_000_000
    assert [f["flags"] for f in second["frames"]] == [f["flags"] for f in first["frames"]]
    ref = single_run(tmp_path / "single", [*unpinned, *second["frames"][2]["flags"]])
    assert (tmp_path / "t_2.img").read_bytes() == ref["noise"]


def test_killed_run_resumes_to_the_same_frames(tmp_path, reference):
    """A SIGKILLed series (no chance to save anything): frames it recorded are kept, the rest are made,
    and every frame equals the uninterrupted run."""
    args = [sys.executable, str(ROOT / "cli.py"), "series", *BASE, "--mode", "c-parity", "--frames", "6",
            "--out", "ref/r_###.img"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "ref" / "r_001.img").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    leftovers = [n for n in os.listdir(tmp_path / "ref") if n.endswith(".tmp")]
    assert leftovers == [] or all(n.startswith(".") for n in leftovers)  # at worst an invisible temp file
    r = subprocess.run(args + ["--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert frame_bytes(tmp_path / "ref", "r_{:03d}.img", 6) == reference
    assert sorted(os.listdir(tmp_path / "ref")) == ["r.json"] + [f"r_{i:03d}.img" for i in range(6)]


# --- several devices and processes ------------------------------------------------------------------------
def test_two_devices_give_the_same_frames(tmp_path, reference):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, str(ROOT / "cli.py"), "series", *BASE, "--mode", "c-parity", "--frames",
                        "6", "--out", "ref/r_###.img"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "on 2 cpu devices" in r.stdout
    assert frame_bytes(tmp_path / "ref", "r_{:03d}.img", 6) == reference


def test_two_local_workers_give_the_same_frames(tmp_path, reference):
    pytest.importorskip("distributed")
    assert series(tmp_path, *BASE, "--mode", "c-parity", "--frames", "6", "--out", "ref/r_###.img",
                  "--workers", "2", "--frames-per-task", "2") == 0
    assert frame_bytes(tmp_path / "ref", "r_{:03d}.img", 6) == reference
    m = manifest(tmp_path / "ref" / "r.json")
    assert all(f["sha256"] == hashlib.sha256(b).hexdigest() for f, b in zip(m["frames"], reference))


def test_a_worker_killed_mid_run_has_its_frames_made_elsewhere(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        def slow_frames():  # defined here so that it is pickled by value to the workers
            import time as t

            from nanobragg_jax.datasets import _engine as e

            finish = e.FrameMaker.finish

            def slowly(self, *args):
                t.sleep(0.3)
                return finish(self, *args)

            e.FrameMaker.finish = slowly

        client.run(slow_frames)
        pids = client.run(os.getpid)
        result = {}
        args = [*BASE, "--mode", "c-parity", "--frames", "6", "--out", "ref/r_###.img",
                "--scheduler", cluster.scheduler_address, "--frames-per-task", "2"]
        run = threading.Thread(target=lambda: result.setdefault("code", series(tmp_path, *args)))
        run.start()
        deadline = time.monotonic() + 120
        while not (tmp_path / "ref" / "r_000.img").exists() and time.monotonic() < deadline and run.is_alive():
            time.sleep(0.01)
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        run.join(300)
        assert result.get("code") == 0
        assert frame_bytes(tmp_path / "ref", "r_{:03d}.img", 6) == reference
        assert victim not in client.run(os.getpid).values()  # the worker really died (and was replaced)
    finally:
        client.close()
        cluster.close()


# --- failures: one line, exit 2, no corrupt frame -----------------------------------------------------------
# Files may not grow past 6000 bytes, and a write past that fails (EFBIG) like one on a full disk
# instead of killing the process; rlimits and ignored signals survive the exec into the command.
_LIMITED = ("import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000)); "
            "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


def test_a_full_disk_stops_with_one_line_and_no_partial_frame(tmp_path):
    """The manifest fits under the limit, a 64x64 frame (8704 bytes) does not."""
    r = subprocess.run([sys.executable, "-c", _LIMITED, str(ROOT / "cli.py"), "series", *BASE, "-nonoise",
                        "-detpixels", "64", "--no-cache", "--frames", "3", "--out", "full/f_#.img"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nanobragg: error: cannot write") and "f_0.img" in lines[0]
    assert sorted(os.listdir(tmp_path / "full")) == ["f.json"]  # no frame, no temp file
    assert "sha256" not in manifest(tmp_path / "full" / "f.json")["frames"][0]


def test_an_unwritable_folder_stops_before_rendering(tmp_path, capsys):
    (tmp_path / "plain").write_text("a file, not a folder")
    assert series(tmp_path, *BASE, "--frames", "2", "--out", "plain/f_#.img") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nanobragg: error: --out") and "cannot create the folder" in err and "\n" not in err


@pytest.mark.parametrize("args, named", [
    (["--frames", "0", "--out", "f_#.img"], "--frames"),
    (["--frames", "2"], "--out"),
    (["--frames", "2", "--out", "f.img"], "run of '#'"),
    (["--frames", "2", "--out", "f_#.tif"], "no frame writer"),
    (["--frames", "20", "--out", "f_#.img"], "more digits"),
    (["--frames", "2", "--out", "f_#.img", "--vary", "mass=normal:1"], "--vary"),
    (["--frames", "2", "--out", "f_#.img", "--vary", "N=normal"], "normal:SIGMA"),
    (["--frames", "2", "--out", "f_#.img", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "one of them"),
    (["--frames", "2", "--out", "f_#.img", "--orientations", "missing.txt"], "missing.txt"),
    (["--frames", "2", "--out", "f_#.img", "-distanse", "5", "--strict"], "-distance"),
    (["--frames", "2", "--out", "f_#.img", "--resume"], "manifest"),
])
def test_bad_options_one_line_exit_2_nothing_written(tmp_path, capsys, args, named):
    assert series(tmp_path, *BASE, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nanobragg: error:") and named in err and "\n" not in err
    assert os.listdir(tmp_path) == []


def test_help(capsys):
    assert cli.main(["series", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--frames" in out and "--resume" in out and "--workers" in out and "--orientations" in out


# --- the frame program behind the series ----------------------------------------------------------------------
def test_frame_program_recompiles_when_a_stored_executable_fails(tmp_path, monkeypatch):
    """submit/collect (the series' path) recover from a stored executable that cannot run, as the
    single-frame path does, and give the single run's float image."""
    import jax

    from nanobragg_jax.api import from_cli
    from nanobragg_jax.programs import FrameProgram, _executable_store, render_frame

    exp = from_cli([*BASE, "-phi", "1"], workdir=str(tmp_path))
    store = str(tmp_path / "store")
    reference, omega = render_frame(exp, cache_dir=store)

    def broken(path):
        def run(*args):
            raise jax.errors.JaxRuntimeError("INTERNAL: Function fusion not found")

        return run

    monkeypatch.setattr(_executable_store, "_load", broken)
    program = FrameProgram(exp, cache_dir=store)
    [(img, omega2)] = program.collect(program.submit([exp]))
    np.testing.assert_array_equal(img, reference)
    assert omega2 == pytest.approx(omega, rel=1e-14)


# --- the frame-writer hook and the plan's parts -------------------------------------------------------------
def test_a_registered_writer_makes_the_frames(tmp_path):
    def encode(frame: Frame) -> bytes:
        assert frame.header["PHI"] == float(frame.experiment.params["phi0"])
        return b"RAW" + frame.image.astype("<u2").tobytes()

    register_frame_writer(FrameWriter("raw test", (".raw",), encode))
    try:
        assert series(tmp_path, *BASE, "-nonoise", "--frames", "2", "--out", "w_#.raw") == 0
        m = manifest(tmp_path / "w.json")
        assert m["format"] == "raw test"
        ref = single_run(tmp_path / "single", [*BASE, "-nonoise", *m["frames"][1]["flags"]])
        assert (tmp_path / "w_1.raw").read_bytes() == b"RAW" + ref["int"][512:]
    finally:
        frame_writers()  # (the registry is a module global: remove ours)
        from nanobragg_jax.datasets import _writers

        _writers._WRITERS.pop(".raw", None)


def test_template_and_variation_rules():
    t = Template("out/name_#####.img")
    assert t.path(7) == "out/name_00007.img" and t.float_path(7) == "out/name_00007.bin" and t.stem() == "name"
    assert Template("#####.img").stem() == "series" and Template("a_##.img").fits(100) and not Template("a_##.img").fits(101)
    for bad in ("name.img", "a_#_#.img", "a_#.jpg"):
        with pytest.raises(InputError):
            Template(bad)
    rng = np.random.default_rng(0)
    assert Variation.parse("N=uniform:3:6").draw(rng, 5.0) in (3.0, 4.0, 5.0, 6.0)
    lo, hi = 0.98, 1.02
    draws = [Variation.parse("lambda=uniform:-2%:2%").draw(rng, 1.0) for _ in range(200)]
    assert lo <= min(draws) and max(draws) <= hi and np.std(draws) > 0.005
    sigma = np.std([Variation.parse("cell=normal:1%").draw(rng, 50.0) for _ in range(4000)])
    assert sigma == pytest.approx(0.5, rel=0.1)
    with pytest.raises(InputError):
        Variation.parse("lambda=uniform:2:1")


def test_progress_bar_counts_frames_and_is_quiet_with_noprogress(tmp_path, capsys):
    loud = [f for f in BASE if f != "-noprogress"]
    assert series(tmp_path, *loud, "-nonoise", "--frames", "3", "--out", "p_#.img") == 0
    err = capsys.readouterr().err
    assert "series" in err and "3/3 frames" in err and "frames/s" in err
    assert series(tmp_path, *BASE, "-nonoise", "--frames", "3", "--out", "q_#.img") == 0
    assert capsys.readouterr().err == ""


def test_series_options_are_known_to_the_flag_pass(tmp_path, capsys):
    """args.SERIES_OPTION_NAMES is the series parser's option list: a plain render points a user
    who gives one to `nanobragg series`, and a typo of one is matched to it."""
    from nanobragg_jax.args import SERIES_OPTION_NAMES
    from nanobragg_jax.datasets import series_parser

    parsed = {o for a in series_parser()._actions for o in a.option_strings}
    assert parsed == set(SERIES_OPTION_NAMES)
    assert cli.main([*BASE, "--frames", "2"]) == 2
    assert "option of `nanobragg series`" in capsys.readouterr().err
    assert series(tmp_path, *BASE, "--frame", "2", "--out", "f_#.img") == 2
    assert "did you mean --frames?" in capsys.readouterr().err


def test_resume_of_another_series_names_the_difference_and_a_rerun_warns(tmp_path, capsys):
    assert series(tmp_path, *BASE, "--frames", "2", "--out", "f_#.img") == 0
    capsys.readouterr()
    other = list(BASE)
    other[other.index("-distance") + 1] = "77"
    assert series(tmp_path, *other, "--frames", "2", "--out", "f_#.img", "--resume") == 2
    err = capsys.readouterr().err
    assert "flags differs: item" in err and "was \"100\", now \"77\"" in err, err
    assert series(tmp_path, *BASE, "--frames", "1", "--out", "f_#.img") == 0
    assert "of an earlier series is replaced" in capsys.readouterr().err
