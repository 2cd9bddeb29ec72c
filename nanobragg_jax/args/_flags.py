"""The table of nanoBragg's command-line flags, in the order nanoBragg.c tests them.

Each `Flag` is one `if (...)` of the C program's argv loop (nanoBragg.c L511-1114, plus the -img/-mask
pre-scan at L400-414): the substrings it looks for and how (strstr, exact strcmp, or strstr plus an
exact string length), how many tokens must follow (`argc > i+guard`), what it does to `Settings`
(with C's atof/atoi conversions), and whether C stops testing that token afterwards (`continue`).
The same table drives the argv scan (argv_scan.py), the grouped `--help` text and specs/flags.md
(`python -m nanobragg_jax.args > specs/flags.md`).  The building blocks are in _actions.py.
"""

from __future__ import annotations

import dataclasses

from nanobragg_jax.args._actions import (
    GROUPS,
    INTEGER,
    NUMBER,
    RTD,
    F,
    Flag,
    Pattern,
    atof,
    atoi,
    convention_flag,
    is_number,
    negated_seed,
    read_cell,
    read_detector_abs,
    read_energy,
    read_misset,
    read_pivot,
    read_printout_pixel,
    read_roi,
    set_fields,
    stop_after,
    switch,
    vector_flag,
)

__all__ = ["PRESCAN", "TABLE", "OURS", "OUR_NAMES", "ACCIDENT_NOTES", "Option", "all_spellings",
           "RESPONSE_FIELDS",
           # re-exported building blocks
           "GROUPS", "INTEGER", "NUMBER", "RTD", "Flag", "Pattern", "atof", "atoi", "is_number"]

G_IN, G_DET, G_BEAM, G_XTAL, G_SAMP, G_OUT = GROUPS[:6]
_STR = str
_N = lambda field: stop_after(set_fields(field, conv=lambda t: float(atoi(t))))  # noqa: E731

# The -img/-mask pre-scan (L400-414): run before everything else, for every '-' token.
PRESCAN = (
    F("-mask", 1, "in", set_fields("maskfilename", conv=_STR), G_IN,
      "SMV mask: pixels that are 0 are skipped; its header sets the detector (Ybeam = size - BEAM_CENTER_Y)",
      unit="file", line=410),
    F("-img", 1, "in", set_fields("imginfilename", conv=_STR), G_IN,
      "SMV image whose header sets the detector; its pixels are not used", unit="file", line=406),
)

# The main pass (L504-1114), one entry per C `if`, in C's order.
TABLE = (
    F("-Na", 1, "i", _N("Na"), G_XTAL, "unit cells along a (whole number; <= 1 means 1)", line=511,
      check="nonneg"),
    F("-Nb", 1, "i", _N("Nb"), G_XTAL, "unit cells along b", line=516, check="nonneg"),
    F("-Nc", 1, "i", _N("Nc"), G_XTAL, "unit cells along c", line=521, check="nonneg"),
    F("=-N", 1, "i", stop_after(set_fields("Na", "Nb", "Nc", conv=lambda t: float(atoi(t)))), G_XTAL,
      "unit cells in all three directions", default="1", line=526, check="nonneg"),
    F("-cell", 1, "cell", read_cell, G_XTAL,
      "unit cell a b c al be ga (missing b, c = a; missing angles = 90)", unit="A, deg", line=531),
    F("-misset", 1, "misset", read_misset, G_XTAL, "crystal rotations about x, y, z, or 'random'",
      unit="deg", line=553),
    F("-samplesize -sample_size", 1, "f", set_fields("sample_x", "sample_y", "sample_z", scale=1e-3),
      G_XTAL, "crystal full size in x, y and z", unit="mm", default="0", line=568, check="nonneg"),
    F("-sample_thick -sample_x", 1, "f", set_fields("sample_x", scale=1e-3), G_XTAL,
      "crystal size along x (the beam)", unit="mm", line=574, check="nonneg"),
    F("-sample_width -sample_y -width", 1, "f", set_fields("sample_y", scale=1e-3), G_XTAL,
      "crystal size along y (clipped to -beamsize)", unit="mm", line=578, check="nonneg"),
    F("-sample_heigh -sample_z -heigh", 1, "f", set_fields("sample_z", scale=1e-3), G_XTAL,
      "crystal size along z (clipped to -beamsize)", unit="mm", line=582, check="nonneg"),
    F("-xtalsize -xtal_size", 1, "f", set_fields("sample_x", "sample_y", "sample_z", scale=1e-3), G_XTAL,
      "same as -samplesize", unit="mm", line=586, check="nonneg"),
    F("-xtal_thick -xtal_x", 1, "f", set_fields("sample_x", scale=1e-3), G_XTAL, "same as -sample_thick",
      unit="mm", line=592, check="nonneg"),
    F("-xtal_width -xtal_y -width", 1, "f", set_fields("sample_y", scale=1e-3), G_XTAL,
      "same as -sample_width", unit="mm", line=596, check="nonneg"),
    F("-xtal_heigh -xtal_z -heigh", 1, "f", set_fields("sample_z", scale=1e-3), G_XTAL,
      "same as -sample_height", unit="mm", line=600, check="nonneg"),
    F("-density -sample_den", 1, "f", set_fields("density", scale=1e6), G_XTAL, "crystal density",
      unit="g/cm^3", line=604, no_effect="overwritten before use (L2098)"),
    F("=-MW -molec", 1, "f", set_fields("molecular_weight"), G_XTAL, "molecular weight", unit="g/mol",
      line=608, no_effect="overwritten before use (L2098)"),
    F("-Xbeam", 1, "f", set_fields("Xbeam", scale=1e-3, pivot="beam"), G_DET,
      "direct-beam position, image fast axis (pivot beam)", unit="mm", default="convention", line=612),
    F("-Ybeam", 1, "f", set_fields("Ybeam", scale=1e-3, pivot="beam"), G_DET,
      "direct-beam position, image slow axis (pivot beam)", unit="mm", default="convention", line=617),
    F("-Xclose", 1, "f", set_fields("Xclose", scale=1e-3, pivot="sample"), G_DET,
      "point nearest the crystal, fast axis (pivot sample)", unit="mm", default="detsize/2", line=622),
    F("-Yclose", 1, "f", set_fields("Yclose", scale=1e-3, pivot="sample"), G_DET,
      "point nearest the crystal, slow axis (pivot sample)", unit="mm", default="detsize/2", line=627),
    F("-ORGX", 1, "f", set_fields("ORGX", pivot="sample"), G_DET, "XDS origin, fast (pivot sample)",
      unit="pixels", line=632),
    F("-ORGY", 1, "f", set_fields("ORGY", pivot="sample"), G_DET, "XDS origin, slow (pivot sample)",
      unit="pixels", line=637),
    F("-pivot", 1, "pivot", read_pivot, G_DET, "detector pivot: beam or sample (custom convention only)",
      default="beam", line=642),
    F("-mosflm", 0, "", convention_flag("mosflm", "beam"), G_DET, "MOSFLM convention (default)", line=647),
    F("-xds", 0, "", convention_flag("xds", "sample"), G_DET, "XDS convention", line=652),
    F("-adxv", 0, "", convention_flag("adxv", "beam"), G_DET, "ADXV convention", line=657),
    F("-denzo", 0, "", convention_flag("denzo", "beam"), G_DET, "DENZO convention", line=662),
    F("-dials", 0, "", convention_flag("dials", "beam"), G_DET, "DIALS convention", line=667),
    F("-fdet_vector", 3, "fff", vector_flag("fdet_vector"), G_DET,
      "fast-axis direction (custom convention)", unit="x y z", default="0 0 1", line=672),
    F("-sdet_vector", 3, "fff", vector_flag("sdet_vector"), G_DET,
      "slow-axis direction (custom convention)", unit="x y z", default="0 -1 0", line=679),
    F("-odet_vector", 3, "fff", vector_flag("odet_vector"), G_DET, "detector normal (custom convention)",
      unit="x y z", default="1 0 0", line=686),
    F("-beam_vector", 3, "fff", vector_flag("beam_vector"), G_BEAM, "beam direction (custom convention)",
      unit="x y z", default="1 0 0", line=693),
    F("-polar_vector", 3, "fff", vector_flag("polar_vector"), G_BEAM,
      "E-vector direction (custom convention)", unit="x y z", default="0 0 1", line=700),
    F("-spindle_axis", 3, "fff", vector_flag("spindle_vector"), G_SAMP,
      "phi rotation axis (custom convention)", unit="x y z", default="0 0 1", line=707),
    F("-twotheta_axis", 3, "fff", vector_flag("twotheta_axis"), G_DET,
      "two-theta rotation axis, not normalised (custom convention)", unit="x y z", default="0 1 0",
      line=714),
    F("-pix0_vector", 3, "fff", vector_flag("pix0_vector"), G_DET,
      "first pixel position: has no geometric effect, only selects the custom convention", unit="x y z",
      line=721, also=("-pix0_vector_mm",)),
    F("-distance", 1, "f", set_fields("distance", scale=1e-3, pivot="beam"), G_DET,
      "crystal to detector along the beam (pivot beam)", unit="mm", default="100", line=729, check="pos"),
    F("-close_distance", 1, "f", set_fields("close_distance", scale=1e-3, pivot="sample"), G_DET,
      "crystal to detector plane (pivot sample)", unit="mm", line=734, check="pos"),
    F("-detector_abs", 0, "abs", read_detector_abs, G_DET, "sensor attenuation depth, or inf / 0 for none",
      unit="um", default="inf", line=743, also=("-detector_absorb",)),
    F("-detector_thick=15", 0, "f", set_fields("detector_thick", scale=1e-6), G_DET, "sensor thickness",
      unit="um", default="0", line=752, check="nonneg"),
    F("-detector_thicksteps", 0, "i", set_fields("detector_thicksteps", conv=atoi), G_DET, "sensor layers",
      default="auto", line=756, check="nonneg"),
    F("-thicksteps", 0, "i", set_fields("detector_thicksteps", conv=atoi), G_DET,
      "same as -detector_thicksteps", line=760, check="nonneg"),
    F("-twotheta", 1, "f", set_fields("detector_twotheta", scale=1 / RTD, pivot="sample"), G_DET,
      "detector two-theta about the two-theta axis (pivot sample)", unit="deg", default="0", line=764),
    F("-detector_rotx", 1, "f", set_fields("detector_rotx", scale=1 / RTD), G_DET,
      "detector rotation about x", unit="deg", default="0", line=769),
    F("-detector_roty", 1, "f", set_fields("detector_roty", scale=1 / RTD), G_DET,
      "detector rotation about y", unit="deg", default="0", line=773),
    F("-detector_rotz", 1, "f", set_fields("detector_rotz", scale=1 / RTD), G_DET,
      "detector rotation about z", unit="deg", default="0", line=777),
    F("-detsize=8", 1, "f", set_fields("detsize_f", "detsize_s", scale=1e-3), G_DET,
      "detector size (square)", unit="mm", default="102.4", line=781, check="pos"),
    F("-detsize_f", 1, "f", set_fields("detsize_f", scale=1e-3), G_DET, "detector size, fast axis",
      unit="mm", line=786, check="pos"),
    F("-detsize_s", 1, "f", set_fields("detsize_s", scale=1e-3), G_DET, "detector size, slow axis",
      unit="mm", line=790, check="pos"),
    F("-detpixels=10", 1, "i", set_fields("fpixels", "spixels", conv=atoi), G_DET,
      "detector size in pixels (wins over -detsize)", default="from detsize", line=794, check="posint"),
    F("-detpixels_f -detpixels_x", 1, "i", set_fields("fpixels", conv=atoi), G_DET,
      "pixels along the fast axis", line=798, check="posint"),
    F("-detpixels_s -detpixels_y", 1, "i", set_fields("spixels", conv=atoi), G_DET,
      "pixels along the slow axis", line=802, check="posint"),
    F("-curved_det", 1, "dummy", switch(curved_detector=True), G_DET,
      "all pixels at the same distance (needs one more token after it)", line=806),
    F("-pixel", 1, "f", set_fields("pixel_size", scale=1e-3), G_DET, "pixel size", unit="mm", default="0.1",
      line=810, check="pos"),
    F("-point_pixel", 0, "", switch(point_pixel=True), G_DET, "solid angle 1/R^2 (no obliquity)", line=814),
    F("-polar=6", 1, "f", set_fields("polarization", extra={"nopolar": False}), G_BEAM,
      "Kahn polarization factor (turns polarization back on)", default="0", line=818),
    F("-nopolar", 0, "", switch(nopolar=True), G_BEAM, "no polarization correction", line=823),
    F("-oversample_thick", 0, "", stop_after(switch(oversample_thick=True)), G_SAMP,
      "recompute absorption per sub-pixel", line=827),
    F("-oversample_polar", 0, "", stop_after(switch(oversample_polar=True)), G_SAMP,
      "recompute polarization per sub-pixel", line=832),
    F("-oversample_omega", 0, "", stop_after(switch(oversample_omega=True)), G_SAMP,
      "recompute solid angle per sub-pixel", line=837),
    F("-oversample", 1, "i", set_fields("oversample", conv=atoi), G_SAMP, "sub-pixels per pixel edge",
      default="auto", line=842, check="nonneg"),
    F("-roi", 4, "iiii", read_roi, G_SAMP, "render only xmin xmax ymin ymax (inclusive)", unit="pixels",
      default="all", line=846, check="nonneg"),
    F("-lambda -wave", 1, "f", set_fields("lambda0", scale=1e-10), G_BEAM, "wavelength", unit="A",
      default="1", line=853, check="pos", also=("-wavelength",)),
    F("-energy", 1, "f", read_energy, G_BEAM, "photon energy (sets the wavelength)", unit="eV", line=857,
      check="pos"),
    F("-fluence", 1, "f", set_fields("fluence"), G_BEAM, "incident fluence", unit="photons/m^2",
      default="1.25932e29", line=861, check="nonneg"),
    F("-flux", 1, "f", set_fields("flux"), G_BEAM, "incident flux (with -exposure, -beamsize)",
      unit="photons/s", default="0", line=865, check="nonneg"),
    F("-exposure", 1, "f", set_fields("exposure"), G_BEAM, "exposure time", unit="s", default="1", line=869,
      check="nonneg"),
    F("-beamsize", 1, "f", set_fields("beamsize", scale=1e-3), G_BEAM, "beam size (also clips the crystal)",
      unit="mm", default="0.1", line=873, check="nonneg"),
    F("-mosaic=7 -mosaici -mosaic_spr", 1, "f", set_fields("mosaic_spread", scale=1 / RTD), G_XTAL,
      "isotropic mosaic spread", unit="deg", default="0", line=877, check="nonneg",
      also=("-mosaicity", "-mosaic_spread")),
    F("-mosaic_dom", 1, "i", set_fields("mosaic_domains", conv=atoi), G_XTAL, "mosaic domains",
      default="auto (10 with a spread)", line=881, check="nonneg", also=("-mosaic_domains",)),
    F("-dispersion", 1, "f", set_fields("dispersion", scale=1e-2), G_BEAM, "spectral width", unit="%",
      default="0", line=885, check="nonneg"),
    F("-dispsteps", 1, "i", set_fields("dispsteps", conv=atoi), G_BEAM, "wavelengths in the spectrum",
      default="auto", line=889, check="nonneg"),
    F("-divergence", 1, "f", set_fields("hdivrange", "vdivrange", scale=1e-3), G_BEAM,
      "beam divergence, both directions", unit="mrad", line=893, check="nonneg"),
    F("-hdivrange", 1, "f", set_fields("hdivrange", scale=1e-3), G_BEAM, "horizontal divergence",
      unit="mrad", line=897, check="nonneg"),
    F("-vdivrange", 1, "f", set_fields("vdivrange", scale=1e-3), G_BEAM, "vertical divergence", unit="mrad",
      line=901, check="nonneg"),
    F("-hdivstep=9", 1, "f", set_fields("hdivstep", scale=1e-3), G_BEAM, "horizontal divergence step",
      unit="mrad", line=905, check="nonneg"),
    F("-hdivsteps", 1, "i", set_fields("hdivsteps", conv=atoi), G_BEAM, "horizontal divergence points",
      line=909, check="nonneg"),
    F("-vdivstep=9", 1, "f", set_fields("vdivstep", scale=1e-3), G_BEAM, "vertical divergence step",
      unit="mrad", line=913, check="nonneg"),
    F("-vdivsteps", 1, "i", set_fields("vdivsteps", conv=atoi), G_BEAM, "vertical divergence points",
      line=917, check="nonneg"),
    F("-divsteps", 1, "i", set_fields("hdivsteps", "vdivsteps", conv=atoi), G_BEAM,
      "divergence points, both directions", line=921, check="nonneg"),
    F("-round_div", 0, "", switch(round_div=True), G_BEAM, "cut the divergence grid to a disc (default)",
      line=925),
    F("-square_div", 0, "", switch(round_div=False), G_BEAM, "keep the full divergence grid", line=930),
    F("-adc", 1, "f", set_fields("adc_offset"), G_OUT, "offset added to SMV pixels", unit="counts",
      default="40", line=935, also=("-adc_offset",)),
    F("-phi=4", 1, "f", set_fields("phi0", scale=1 / RTD), G_SAMP, "starting spindle angle", unit="deg",
      default="0", line=939),
    F("-osc", 1, "f", set_fields("osc", scale=1 / RTD), G_SAMP, "oscillation range", unit="deg",
      default="auto", line=943, also=("-oscillation",)),
    F("-phistep=8", 1, "f", set_fields("phistep", scale=1 / RTD), G_SAMP, "spindle step", unit="deg",
      default="auto", line=947),
    F("-phisteps", 1, "i", set_fields("phisteps", conv=atoi), G_SAMP, "spindle steps", default="auto",
      line=951, check="nonneg"),
    F("-dmin", 1, "f", set_fields("dmin", scale=1e-10), G_SAMP, "skip reflections beyond this resolution",
      unit="A", default="0", line=955, check="nonneg"),
    F("-mat", 1, "in", set_fields("matfilename", conv=_STR), G_IN, "MOSFLM matrix: a*, b*, c* as columns",
      unit="file", line=959, also=("-matrix",)),
    F("-hkl", 1, "in", set_fields("hklfilename", conv=_STR), G_IN, "structure factors h k l F (P1)",
      unit="file", line=963),
    F("-default_F", 1, "f", set_fields("default_F"), G_XTAL, "F of reflections not in the hkl file",
      default="0", line=967),
    F("-dump", 1, "path", set_fields("dumpfilename", conv=_STR), G_IN, "binary cache of the hkl table",
      unit="file", default="Fdump.bin", line=971),
    F("-img", 1, "in", set_fields("imginfilename", conv=_STR), G_IN, "(see the pre-scan entry)", line=975,
      hidden=True),
    F("-stolout>7", 1, "path", set_fields("stoloutfilename", conv=_STR), G_OUT,
      "structure-factor profile output", unit="file", line=979, no_effect="never written"),
    F("-stol=5", 1, "in", set_fields("stolfilename", conv=_STR), G_IN,
      "structure-factor profile (sin(theta)/lambda)", unit="file", line=983,
      no_effect="read but never used"),
    F("-4stol=6", 1, "in", set_fields("stolfilename", conv=_STR), G_IN,
      "structure-factor profile (4 sin(theta)/lambda)", unit="file", line=988,
      no_effect="read but never used"),
    F("-Q=2", 1, "in", set_fields("stolfilename", conv=_STR), G_IN, "structure-factor profile (Q)",
      unit="file", line=993, no_effect="read but never used"),
    F("-sourcefile", 1, "in", set_fields("sourcefilename", conv=_STR), G_IN,
      "sources X Y Z I lambda[m], one per line", unit="file", line=998),
    F("-floatfile -floatimage", 1, "out", set_fields("floatfilename", conv=_STR), G_OUT,
      "raw float32 image", unit="file", default="floatimage.bin", line=1002),
    F("-intfile -intimage", 1, "out", set_fields("intfilename", conv=_STR), G_OUT, "noiseless SMV image",
      unit="file", default="intimage.img", line=1006),
    F("-pgmfile -pgmimage", 1, "out", set_fields("pgmfilename", conv=_STR, extra={"write_pgm": True}),
      G_OUT, "8-bit PGM image (turns PGM output back on)", unit="file", default="image.pgm", line=1010),
    F("-noisefile -noiseimage", 1, "out",
      set_fields("noisefilename", conv=_STR, extra={"calculate_noise": True}), G_OUT,
      "SMV image with Poisson noise (turns noise back on)", unit="file", default="noiseimage.img",
      line=1015),
    F("-nonoise", 0, "", switch(calculate_noise=False), G_OUT, "do not write the noise image", line=1020),
    F("-nopgm", 0, "", switch(write_pgm=False), G_OUT, "do not write the PGM image", line=1025),
    F("-scale", 1, "f", set_fields("intfile_scale"), G_OUT, "int image scale", default="55000/max",
      line=1029),
    F("-pgmscale", 1, "f", set_fields("pgm_scale", extra={"write_pgm": True}), G_OUT,
      "PGM scale (turns PGM output back on)", default="250/(5 rmsd)", line=1034),
    F("-coherent", 0, "", switch(coherent=True), G_BEAM, "coherent sum", line=1040, no_effect="never used"),
    F("-printout", 0, "", switch(printout=True), G_OUT, "print pixel values", line=1045),
    F("-noprogress", 0, "", switch(progress_meter=False), G_OUT, "no progress meter", line=1050),
    F("-progress", 0, "", switch(progress_meter=True), G_OUT, "progress meter (default)", line=1055),
    F("-interpolate", 0, "", switch(interpolate=1), G_XTAL, "tricubic F interpolation", default="auto",
      line=1060),
    F("-nointerpolate", 0, "", switch(interpolate=0), G_XTAL, "nearest-hkl F", line=1065),
    F("-round_xtal", 0, "", switch(xtal_shape="round"), G_XTAL, "ellipsoidal crystal", line=1070),
    F("-square_xtal", 0, "", switch(xtal_shape="square"), G_XTAL, "parallelepiped crystal (default)",
      line=1075),
    F("-gauss_xtal", 0, "", switch(xtal_shape="gauss"), G_XTAL, "Gaussian spots", line=1080),
    F("-binary_spots -tophat_spots", 0, "", switch(xtal_shape="tophat"), G_XTAL, "top-hat spots",
      line=1085),
    F("-fudge", 1, "f", set_fields("fudge"), G_XTAL, "spot-shape width factor", default="1", line=1090),
    F("-printout_pixel", 2, "ii", read_printout_pixel, G_OUT, "print only this pixel: fast slow",
      unit="pixels", line=1094, check="nonneg"),
    F("-seed", 1, "i", negated_seed("seed"), G_SAMP, "noise seed", default="time", line=1099),
    F("-mosaic_seed", 1, "i", negated_seed("mosaic_seed"), G_SAMP, "mosaic-domain seed", default="12345678",
      line=1103),
    F("-misset_seed", 1, "i", negated_seed("misset_seed"), G_SAMP, "seed of -misset random", default="time",
      line=1107),
    F("-water", 1, "f", set_fields("water_size", scale=1e-6), G_XTAL, "water around the crystal", unit="um",
      default="0", line=1111, check="nonneg"),
)

# Quirks worth a one-line note when a flag's pattern fires on a token meant for another flag.
ACCIDENT_NOTES = {
    "-misset": "sets the misset angles from the next three tokens (C quirk P1)",
    "-twotheta": "sets two-theta in degrees and pivot = sample (C quirk P3)",
}


# --- our own options (long names; -trace_pixel keeps the instrumented C build's spelling) ----------
@dataclasses.dataclass(frozen=True)
class Option:
    """One of our own command-line options (not in nanoBragg.c), e.g. `--mode`, `--dtype`, `--out`.

    Fields:
        names: its spellings; a long one also accepts "--name=value".
        values: what follows it: "" (a switch), "word" (one of `choices`), "path" (a file written),
            "in" (a file read), "i"/"int" (an integer), "ii" (two integers) or "f" (a float).
        field: the `Settings` field it sets.
        help: the help text.
        default: the default shown in the help, "" for none.
        choices: the allowed words of a "word" option, () for any.
        scale: for "f" values, the factor from the option's unit to the field's SI unit (1e-3 for mm).
        switch_value: what a switch stores in its field.
        metavar: how `--help` names the values ("" for the default from `values`).
    """
    names: tuple  # spellings; "--x=value" is accepted too for the long ones
    values: str  # "" switch | "word" | "path" (a file written) | "in" (a file read) | "i" | "ii" | "int" | "f"
    field: str  # Settings field it sets
    help: str
    default: str = ""
    choices: tuple = ()
    scale: float = 1.0  # "f" values: CLI unit -> the Settings field's SI unit
    switch_value: bool = False  # what a switch ("" values) stores in its field
    metavar: str = ""  # how --help names the values (default: from `values`)


OURS = (
    Option(("--mode",), "word", "mode", "spec: every phi step uses its own rotation; c-parity: "
           "reproduce nanoBragg.c's phi=0 carry-over too", "spec", ("spec", "c-parity")),
    Option(("--dtype",), "word", "dtype", "floating-point precision of the kernel", "float64",
           ("float64", "float32")),
    Option(("-trace_pixel", "--trace-pixel"), "ii", "trace_pixel",
           "print every intermediate quantity of pixel (slow S, fast F, 0-based) as TRACE_PY: lines",
           metavar="S F"),
    Option(("--chunk-rows",), "i", "chunk_rows", "pixel rows per kernel chunk (memory knob)", "auto"),
    Option(("--max-hours",), "i", "max_hours",
           "refuse a render estimated to take longer than this many hours (the estimate comes from the "
           "pixel and sample counts before rendering)", "24"),
    Option(("--noise-stream",), "word", "noise_stream",
           "random stream of the noise image: c = nanoBragg.c's ran1 stream, bit for bit (seeded by "
           "-seed); jax = counter-based jax.random Poisson (vectorised, splittable; keyed by -seed; "
           "NOT C's numbers)", "c", ("c", "jax")),
    Option(("--no-cache",), "", "compile_cache",
           "do not use the persistent compile caches (stored render programs and JAX's "
           "compilation cache, in $NANOBRAGG_CACHE_DIR, default ~/.cache/nanobragg_jax/jax)", "cache on"),
    Option(("--geom",), "in", "geom_file",
           "CrystFEL geometry file: its panels replace the detector flags; one image per panel, "
           "named <name>_panel<k><ext> (specs/panels.md)"),
    # --- one run: nonBragg's amorphous background and noisify's detector response (issue 12) ---
    Option(("--stol",), "in", "bg_table", "add the amorphous background of this S(stol) table "
           "(first column sin(theta)/lambda in 1/A, second F per molecule), as nonbragg -stol"),
    Option(("--4stol",), "in", "bg_table_4stol", "the same with the first column 4 sin(theta)/lambda "
           "(nonbragg -4stol)"),
    Option(("--Q",), "in", "bg_table_Q", "the same with the first column Q = 4 pi sin(theta)/lambda "
           "(nonbragg -Q)"),
    Option(("--bg-thick",), "f", "bg_thick", "background sample thickness along the beam [mm]", "0.1",
           scale=1e-3),
    Option(("--bg-width",), "f", "bg_width", "background sample width, clipped to -beamsize [mm]", "0.1",
           scale=1e-3),
    Option(("--bg-height",), "f", "bg_height", "background sample height, clipped to -beamsize [mm]", "0.1",
           scale=1e-3),
    Option(("--bg-density",), "f", "bg_density", "background sample density [g/cm^3]", "1", scale=1e6),
    Option(("--bg-mw",), "f", "bg_mw", "molecular weight of the background sample [g/mol]", "18"),
    Option(("--bg-molecules",), "f", "bg_molecules",
           "molecules in the illuminated sample (sets the density, as nonbragg -molecules)", "from density"),
    Option(("--response",), "", "response", "detector response on the float image (spots + background), "
           "as noisify with its defaults (3% calibration error): the noise image is noisify's; implied "
           "by the options below", switch_value=True),
    Option(("--psf",), "word", "psf", "point-spread function of the response", "none",
           ("gauss", "fiber")),
    Option(("--psf-fwhm",), "f", "psf_fwhm_um", "PSF full width at half maximum [um]", "46"),
    Option(("--psf-radius",), "int", "psf_radius", "PSF rendering radius [pixels]", "0 = automatic"),
    Option(("--readout",), "f", "readout", "read noise [ADU rms]", "0"),
    Option(("--flicker",), "f", "flicker", "source flicker [fraction rms]", "0"),
    Option(("--calibration",), "f", "calibration", "per-pixel calibration error [fraction rms]", "0.03"),
    Option(("--calib-seed",), "int", "calib_seed", "seed of the calibration error (noisify -calib_seed)",
           "noisify's built-in"),
    Option(("--gain",), "f", "gain", "detector gain [ADU/photon]; the offset is -adc", "1"),
    Option(("--bits",), "word", "bits", "bits per pixel of the noise image", "16", ("16", "32")),
    Option(("--out",), "path", "out_file",
           "also write the detector image (the noise image, or the int image with -nonoise, less the "
           "-adc offset) with its whole geometry: NeXus NXmx for .nxs/.nx5/.h5/.hdf5, miniCBF for .cbf "
           "(untilted detectors only)"),
    Option(("--expt",), "path", "expt_file",
           "write the true experiment (beam, detector, goniometer, scan, crystal) as a DIALS experiment "
           "list (JSON); it refers to the --out file, else to the SMV image"),
    Option(("--experiment",), "in", "experiment_file",
           "DIALS experiment list (.expt): its beam, detector (any number of panels), goniometer, scan and "
           "crystal replace the corresponding flags (a warning names them); several panels render as with "
           "--geom (specs/panels.md section 7)"),
    Option(("--image",), "i", "experiment_image",
           "with --experiment: which image of the experiment list to render, 1-based, counted over its "
           "experiments (a scan's images, then the next experiment's)", "1"),
    Option(("--strict",), "", "strict",
           "refuse unknown flags (nanoBragg.c ignores them, and so do we, with a warning)", "off",
           switch_value=True),
)

#: Our options that switch the detector response on.
RESPONSE_FIELDS = ("response", "psf", "psf_fwhm_um", "psf_radius", "readout", "flicker", "calibration",
                   "calib_seed", "gain", "bits")

OUR_NAMES = {n: o for o in OURS for n in o.names}

#: The options of `nanobragg series` (datasets.series_parser; a test keeps the two equal).  A plain
#: render refuses them with a pointer to the series, and they are candidates for "did you mean".
SERIES_OPTION_NAMES = ("--frames", "--out", "--float", "--orientations", "--vary", "--vary-seed",
                       "--manifest", "--resume", "--workers", "--scheduler", "--frames-per-task")


def response_wanted(s) -> bool:
    """Whether any detector-response option was given (`--response` or one of its parameters).

    Arguments:
        s: the run's Settings.
    Returns:
        True when a field of RESPONSE_FIELDS differs from its default.
    """
    defaults = type(s)()
    return any(getattr(s, f) != getattr(defaults, f) for f in RESPONSE_FIELDS)


def all_spellings() -> list:
    """Every spelling a user may type: C flags (with their working aliases) and ours."""
    names = [s for f in PRESCAN + TABLE for s in f.spellings]
    return sorted(set(names) | set(OUR_NAMES) | {"-h", "--help"})


def background_table(s):
    """The one-run background table given on the command line: the last of --stol/--4stol/--Q wins
    (as nonBragg's -stol/-4stol/-Q).

    Arguments:
        s: the run's Settings (its argv decides the order).
    Returns:
        (file, unit) with unit "stol", "4stol" or "Q", or None when no table was given.
    """
    given = [(i, flag, getattr(s, field)) for field, flag in
             (("bg_table", "stol"), ("bg_table_4stol", "4stol"), ("bg_table_Q", "Q"))
             for i, tok in enumerate(s.argv) if tok == "--" + flag and getattr(s, field)]
    if not given:
        return None
    _, unit, name = max(given)
    return name, unit
