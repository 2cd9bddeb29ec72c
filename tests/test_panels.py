"""Multi-panel detectors: a panel set made from the flags renders exactly what the flags render;
a CrystFEL geometry file's panels sit where a hand computation puts them, and each renders what a
single-panel CUSTOM nanoBragg run of that panel renders (c-parity: the carry restarts per panel);
gradients with respect to panel positions and rotations match finite differences; vmap over
orientations; the CLI's per-panel files and its one-line errors."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cli
from nanobragg_jax import api
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import read_crystfel_geometry, read_float_image, read_smv, write_smv
from nanobragg_jax.panels import panel_file_name
from nanobragg_jax.setup import (
    build_model,
    build_panel_models,
    panel_header,
    single_panel_experiment,
)

DATA = pathlib.Path(__file__).parent / "data"
GEOM = DATA / "eight_panels.geom"
CRYSTAL = "-cell 30 32 34 88 91 93 -misset 5 10 15 -default_F 100 -N 3 -lambda 1"


def write_mask(path, mask):
    write_smv(path, mask, {"HEADER_BYTES": 512, "DIM": 2, "BYTE_ORDER": "little_endian",
                           "TYPE": "unsigned_short", "SIZE1": mask.shape[1], "SIZE2": mask.shape[0]})


# --- the flags' detector as a one-panel set -------------------------------------------------------------
FLAG_CASES = {
    # XDS: sample pivot, two-theta and a detector rotation; 2x2 sub-pixels; phi from 0 (the carry)
    "xds_tilted": "-xds -twotheta 7 -detector_rotx 2 -distance 60 -detpixels_f 20 -detpixels_s 14 "
                  "-pixel 0.6 -oversample 2 -phi 0 -osc 1 -phisteps 3",
    # MOSFLM: beam pivot, off-centre beam, a mask, a region of interest, sensor layers, mosaic
    "mosflm_masked": "-distance 70 -detpixels 16 -pixel 0.5 -Xbeam 3.3 -Ybeam 4.1 -roi 2 13 1 12 "
                     "-detector_thick 100 -detector_thicksteps 2 -mosaic 0.5 -mosaic_dom 3 "
                     "-phi 0 -osc 0.5 -phisteps 2 -mask mask.img",
}


@pytest.mark.parametrize("mode", ["spec", "c-parity"])
@pytest.mark.parametrize("case", sorted(FLAG_CASES))
def test_one_panel_set_from_flags_equals_the_flags(tmp_path, monkeypatch, case, mode):
    monkeypatch.chdir(tmp_path)  # the parser reads -mask's header from the working folder, as C
    if "-mask" in FLAG_CASES[case]:
        mask = np.ones((16, 16), np.uint16)
        mask[3:6, 4:9] = 0
        write_mask(tmp_path / "mask.img", mask)
    exp = api.from_cli(f"{CRYSTAL} {FLAG_CASES[case]}", workdir=str(tmp_path), mode=mode)
    one = single_panel_experiment(exp)
    assert len(one.panels) == 1 and one.layout == exp.layout
    flags = build_model(exp).detector
    [(indices, model)] = build_panel_models(one)
    assert indices == (0,)
    for name in ("pix0", "fdet", "sdet", "odet", "pixel_size", "close_distance"):
        np.testing.assert_array_equal(np.asarray(getattr(model.detector, name))[0],
                                      np.asarray(getattr(flags, name)), err_msg=name)
    if exp.static.mask is not None:
        np.testing.assert_array_equal(np.asarray(model.detector.mask)[0], exp.static.mask)
    image = np.asarray(api.simulate(exp))
    assert image.max() > 0
    np.testing.assert_array_equal(np.asarray(api.simulate_panels(one)[0]), image)
    # chunks of 4 rows: the carry crosses chunk boundaries inside the panel exactly as in one chunk
    np.testing.assert_array_equal(np.asarray(api.simulate_panels(one, chunk_rows=4)[0]), image)


def test_panel_experiments_name_their_parameters(tmp_path):
    exp = api.from_cli(f"{CRYSTAL} -detpixels 8 --geom {GEOM}", workdir=str(tmp_path))
    p = api.params(exp)
    assert p["panel_shift"].shape == (8, 3) and p["panel_rotation"].shape == (8, 3)
    assert "distance" not in p and "beam_center" not in p and set(p) <= set(api.PARAMETERS)
    with pytest.raises(ValueError, match="simulate_panels"):
        api.simulate(exp)
    with pytest.raises(ValueError, match="no panel set"):
        api.simulate_panels(api.from_cli(f"{CRYSTAL} -detpixels 8", workdir=str(tmp_path)))


# --- the CrystFEL geometry file, by hand ----------------------------------------------------------------
# name: (corner_x, corner_y [px], fs, ss [px, CrystFEL frame], res [px/m], coffset [m], (fpixels, spixels))
HAND = {
    "q0": (-14.0, 10.0, (1, 0, 0), (0, -1, 0), 5000, 0.0, (12, 8)),
    "q1": (2.0, 10.0, (0.9998477, 0.0174524, 0), (0.0174524, -0.9998477, 0), 5000, 0.0, (12, 8)),
    "q2": (-14.0, -2.0, (1, 0, 0), (0, -1, 0), 5000, 0.0, (12, 8)),
    "q3": (2.0, -2.0, (1, 0, 0), (0, -1, 0), 5000, 0.0005, (12, 8)),
    "m0": (-16.0, 5.0, (0, -1, 0), (-1, 0, 0), 5000, 0.0, (10, 10)),
    "m1": (14.0, 5.0, (1, 0, 0), (0, -1, 0), 4000, 0.0, (10, 10)),
    "m2": (-5.0, 22.0, (0.98480775, 0, 0.17364818), (0, -1, 0), 5000, -0.002, (10, 10)),
    "m3": (-5.0, -12.0, (1, 0, 0), (0, -1, 0), 5000, 0.0, (10, 10)),
}
CLEN = 0.080  # clen = 80 mm


def hand_centres(name):
    """Pixel centres by CrystFEL's formula (detgeom: (corner + fs*fs_vec + ss*ss_vec) / res, z from
    clen + coffset), at fs + 1/2, ss + 1/2, then CrystFEL (x, y, z) -> MOSFLM lab (z, y, -x)."""
    cx, cy, fs, ss, res, coffset, (nf, ns) = HAND[name]
    out = np.zeros((ns, nf, 3))
    for s in range(ns):
        for f in range(nf):
            a, b = f + 0.5, s + 0.5
            x = (cx + a * fs[0] + b * ss[0]) / res
            y = (cy + a * fs[1] + b * ss[1]) / res
            z = CLEN + coffset + (a * fs[2] + b * ss[2]) / res
            out[s, f] = (z, y, -x)
    return out


@pytest.fixture(scope="module")
def geom_exp(tmp_path_factory):
    return api.from_cli(f"{CRYSTAL} -oversample 2 -phi 0 -osc 1 -phisteps 2 --geom {GEOM}",
                        workdir=str(tmp_path_factory.mktemp("geom")), mode="c-parity")


def test_crystfel_pixel_positions_match_a_hand_computation(geom_exp):
    panels = geom_exp.panels
    assert panels.names == list(HAND)
    models = build_panel_models(geom_exp)
    assert [idx for idx, _ in models] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    for idx, model in models:
        d = {k: np.asarray(getattr(model.detector, k)) for k in ("pix0", "fdet", "sdet", "pixel_size")}
        for j, k in enumerate(idx):
            want = hand_centres(panels[k].name)
            # 1e-11 m: the file's rounded m2 vectors differ from unit length by ~1e-9, and a
            # panel has one (square) pixel size
            np.testing.assert_allclose(panels[k].pixel_centres(), want, rtol=0, atol=1e-11)
            ns, nf = want.shape[:2]
            f = (np.arange(nf) + 0.5) * d["pixel_size"][j]
            s = (np.arange(ns) + 0.5) * d["pixel_size"][j]
            kernel = d["pix0"][j] + f[None, :, None] * d["fdet"][j] + s[:, None, None] * d["sdet"][j]
            np.testing.assert_allclose(kernel, want, rtol=0, atol=1e-11, err_msg=panels[k].name)
    # normals point away from the sample: m0's f x s points back at it, m2 is tilted by 10 degrees
    np.testing.assert_allclose(panels[4].normal, [1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(panels[6].normal, [0.98480775, 0, 0.17364818], atol=1e-8)
    assert panels[5].pixel_size == pytest.approx(0.25e-3, rel=1e-15)


def test_crystfel_bad_regions_and_defaults(geom_exp):
    panels = geom_exp.panels
    bad = {p.name: (np.zeros(p.shape, bool) if p.mask is None else ~p.mask) for p in panels}
    want_q2 = np.zeros((8, 12), bool)
    want_q2[1:3, 2:5] = True  # badA: fs 2-4, ss 17-18 of the data block, q2 starts at ss 16
    np.testing.assert_array_equal(bad["q2"], want_q2)
    want_m0 = np.zeros((10, 10), bool)  # badB: x in (-21, -18), y in (-2, 2) at pixel corners
    for s in range(10):
        for f in range(10):
            x, y = -16.0 - s, 5.0 - f  # m0: fs = -y, ss = -x
            want_m0[s, f] = -21 < x < -18 and -2 < y < 2
    assert want_m0.sum() == 6
    np.testing.assert_array_equal(bad["m0"], want_m0)
    assert all(not bad[n].any() for n in HAND if n not in ("q2", "m0"))
    # the default gain changes half way: q* keep adu_per_eV, m* take adu_per_photon
    assert [p.adu_per_eV for p in panels[:4]] == [1e-4] * 4
    assert [p.adu_per_photon for p in panels[4:]] == [1.0] * 4 and panels[4].adu_per_eV is None


def custom_flags(panel):
    """The flags of a single-panel CUSTOM nanoBragg run of `panel` (sample pivot, lab = MOSFLM)."""
    mm = 1000.0
    vec = lambda v: " ".join(f"{x:.17g}" for x in v)  # noqa: E731
    return (f"-fdet_vector {vec(panel.fast)} -sdet_vector {vec(panel.slow)} "
            f"-odet_vector {vec(panel.normal)} -pixel {panel.pixel_size * mm:.17g} "
            f"-detpixels_f {panel.fpixels} -detpixels_s {panel.spixels} "
            f"-Xbeam {-(panel.origin @ panel.fast) * mm:.17g} -Ybeam {-(panel.origin @ panel.slow) * mm:.17g} "
            f"-close_distance {panel.close_distance * mm:.17g} -pivot sample")


@pytest.mark.parametrize("k", [1, 4, 5])  # rotated; flipped normal and masked; 0.25 mm pixels
def test_each_panel_renders_as_its_own_custom_run(geom_exp, tmp_path, k):
    """Independent route: C's CUSTOM detector set-up with the panel's vectors, one panel per run,
    in c-parity from phi = 0 (so the carry must restart at each panel's first pixel)."""
    images = geom_exp_images(geom_exp)
    panel = geom_exp.panels[k]
    # exactly unit length, so C keeps the normal (G5 would replace it by unit(f x s))
    assert float(np.linalg.norm(panel.normal)) == 1.0
    alone = api.from_cli(f"{CRYSTAL} -oversample 2 -phi 0 -osc 1 -phisteps 2 {custom_flags(panel)}",
                         workdir=str(tmp_path), mode="c-parity")
    want = np.asarray(api.simulate(alone))
    got = images[k]
    assert want.max() > 0
    render = np.ones(panel.shape, bool) if panel.mask is None else panel.mask
    np.testing.assert_allclose(got[render], want[render], rtol=1e-9, atol=1e-12 * want.max())
    assert np.all(got[~render] == 0)


_IMAGES = {}


def geom_exp_images(exp):
    if id(exp) not in _IMAGES:
        _IMAGES[id(exp)] = [np.asarray(x) for x in api.simulate_panels(exp)]
    return _IMAGES[id(exp)]


# --- gradients with respect to panel positions and rotations --------------------------------------------
def test_gradients_of_panel_shift_and_rotation_match_finite_differences(tmp_path):
    exp = api.from_cli(f"{CRYSTAL} -oversample 1 --geom {GEOM}", workdir=str(tmp_path))
    p0 = api.params(exp)
    weights = [jnp.asarray(np.random.default_rng(k).uniform(0.5, 1.5, panel.shape))
               for k, panel in enumerate(exp.panels)]

    @jax.jit
    def loss(shift, rotation):
        images = api.simulate_panels(exp, {**p0, "panel_shift": shift, "panel_rotation": rotation})
        return sum(jnp.sum(w * img) for w, img in zip(weights, images))

    shift, rotation = p0["panel_shift"], p0["panel_rotation"]
    g_shift, g_rot = jax.jit(jax.grad(loss, argnums=(0, 1)))(shift, rotation)
    # panel 0 along all three axes, the tilted panel 6 along y; rotations of panels 1 and 6
    for which, grad, h, entries in (("shift", g_shift, 1e-4, [(0, 0), (0, 1), (0, 2), (6, 1)]),
                                    ("rotation", g_rot, 1e-3, [(1, 0), (1, 2), (6, 1)])):
        for k, axis in entries:
            step = jnp.zeros((8, 3)).at[k, axis].set(h)
            if which == "shift":
                fd = (loss(shift + step, rotation) - loss(shift - step, rotation)) / (2 * h)
            else:
                fd = (loss(shift, rotation + step) - loss(shift, rotation - step)) / (2 * h)
            assert abs(float(fd)) > 1e-3, (which, k, axis)
            assert float(grad[k, axis]) == pytest.approx(float(fd), rel=1e-5), (which, k, axis)
    assert g_shift.shape == g_rot.shape == (8, 3)


def test_vmap_over_orientations_equals_a_loop(geom_exp):
    missets = jnp.asarray([[5.0, 10.0, 15.0], [20.0, -5.0, 40.0]])
    batched = jax.jit(jax.vmap(lambda m: api.simulate_panels(geom_exp, {"misset": m})))(missets)
    for i in range(2):
        loop = api.simulate_panels(geom_exp, {"misset": missets[i]})
        for k in range(8):
            np.testing.assert_allclose(batched[k][i], loop[k], rtol=1e-10, atol=1e-14)
    assert not np.allclose(batched[0][0], batched[0][1])


# --- malformed geometry files ---------------------------------------------------------------------------
PANEL = ("p0/min_fs = 0\np0/max_fs = 3\np0/min_ss = 0\np0/max_ss = 3\np0/fs = x\np0/ss = -y\n"
         "p0/corner_x = -2\np0/corner_y = 2\n")
GOOD = "clen = 0.1\nres = 5000\n" + PANEL


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("clen = 0.1\n", ""), "no clen"),
    ("clen = /LCLS/detector/clen\nres = 5000\n" + PANEL, "data-file location"),
    (GOOD + "p0 corner_z 3\n", "no '='"),
    (GOOD.replace("p0/fs = x", "p0/fs = 1q"), "expected terms"),
    (GOOD.replace("p0/corner_x = -2\n", ""), "has no corner_x"),
    (GOOD.replace("p0/max_fs = 3", "p0/max_fs = banana"), "not a number"),
    (GOOD.replace("p0/ss = -y", "p0/ss = -2y"), "non-square"),
    (GOOD.replace("p0/ss = -y", "p0/ss = +0.6x -0.8y"), "not perpendicular"),
    (GOOD + "p0/clen = 0.2\n", "top-level"),
    (GOOD + "res = 4000\n", "defaults for panels defined after"),
    (GOOD + "bad1/min_fs = 0\nbad1/max_fs = 1\nbad1/min_ss = 0\nbad1/max_ss = 1\nbad1/panel = p9\n",
     "no panel 'p9'"),
    (GOOD + "bad1/min_fs = 0\nbad1/max_fs = 9\nbad1/min_ss = 0\nbad1/max_ss = 1\nbad1/panel = p0\n",
     "outside panel"),
    (GOOD + "bad1/min_x = 0\nbad1/max_fs = 1\n", "cannot be mixed"),
    ("clen = 0.1\nres = 5000\n", "no panels"),
])
def test_malformed_geometry_is_one_line_input_error(tmp_path, text, message):
    path = tmp_path / "bad.geom"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_crystfel_geometry(str(path))
    assert "\n" not in str(info.value) and "bad.geom" in str(info.value)


def test_good_geometry_reads_and_warns_on_unknown_fields(tmp_path):
    path = tmp_path / "ok.geom"
    path.write_text(GOOD + "p0/frobnicate = 3\nmask = /entry/mask\nphoton_energy = 9 keV\n"
                    "p1/min_fs = 0\np1/max_fs = 3\np1/min_ss = 4\np1/max_ss = 7\np1/fs = x\n"
                    "p1/ss = -y\np1/corner_x = -2\np1/corner_y = -3\np1/no_index = true\n")
    geom = read_crystfel_geometry(str(path))
    assert len(geom.panels) == 2 and geom.panels[1].mask is not None and not geom.panels[1].mask.any()
    assert geom.wavelength == pytest.approx(12398.42 / 9000 * 1e-10)
    assert any("frobnicate" in w for w in geom.warnings) and any("data files" in w for w in geom.warnings)


# --- the command line -----------------------------------------------------------------------------------
def test_cli_writes_one_set_of_files_per_panel(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = f"{CRYSTAL} -oversample 1 -distance 55 --geom {GEOM} -floatfile f.bin -intfile i.img -seed 7"
    assert cli.main(args.split()) == 0
    out, err = capsys.readouterr()
    assert "replaces the detector given by -distance" in err
    exp = api.from_cli(args, workdir=str(tmp_path))
    images = api.simulate_panels(exp)
    for k, panel in enumerate(exp.panels):
        assert panel_file_name("f.bin", k, 8) == f"f_panel{k}.bin"
        got = read_float_image(tmp_path / f"f_panel{k}.bin", panel.shape)
        np.testing.assert_allclose(got, np.asarray(images[k], np.float32), rtol=1e-6)
        smv = read_smv(tmp_path / f"i_panel{k}.img")
        assert (smv.height, smv.width) == panel.shape
        header = panel_header(exp, k)
        assert f"PIXEL_SIZE={header['PIXEL_SIZE']:g}" in smv.header.replace(" ", "")
        assert (tmp_path / f"noiseimage_panel{k}.img").exists() and (tmp_path / f"image_panel{k}.pgm").exists()
    assert "intfile_scale" in out and "panel 7 m3: max_I" in out


@pytest.mark.parametrize("extra, message", [
    ("--geom missing.geom", "cannot read"),
    ("--geom bad.geom", "no clen"),
    ("--geom eight.geom -mask mask.img", "-mask cannot be combined with --geom"),
    ("--geom eight.geom -curved_det -nopgm", "-curved_det cannot be combined"),
])
def test_cli_geometry_errors_are_one_line_and_write_nothing(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.geom").write_text(GOOD.replace("clen = 0.1\n", ""))
    (tmp_path / "eight.geom").write_text(GEOM.read_text())
    write_mask(tmp_path / "mask.img", np.ones((8, 8), np.uint16))
    before = set(p.name for p in tmp_path.iterdir())
    assert cli.main(f"{CRYSTAL} -detpixels 8 {extra}".split()) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nanobragg: error:") and message in err[0]
    assert set(p.name for p in tmp_path.iterdir()) == before


def test_a_replaced_flag_given_at_its_default_is_named(tmp_path):
    """-distance 100 is nanoBragg's default, but the user typed it: the file still replaces it."""
    with pytest.warns(UserWarning, match="replaces the detector given by -distance"):
        api.from_cli(f"{CRYSTAL} -oversample 1 -distance 100 --geom {GEOM}", workdir=str(tmp_path))
