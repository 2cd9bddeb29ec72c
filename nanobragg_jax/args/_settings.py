"""Every nanoBragg flag, resolved the way nanoBragg.c resolves them.

`Settings` mirrors the C program's variables right after its argv pass (SI units: metres, radians,
photons/m^2), so every later stage can follow the C set-up order exactly.  NaN means "not given",
exactly as in C.  Vectors are `None` when the user did not give them (the convention decides).

`parse_args` (_scan.py) fills it from a nanoBragg command line with the flag table of _flags.py.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Optional

from nanobragg_jax.constants import DEFAULT_FLUENCE

NAN = float("nan")

Vec3 = Optional[tuple]


@dataclasses.dataclass
class Settings:
    """Everything a nanoBragg command line sets, as nanoBragg.c holds it right after its argv pass.

    Filled by `parse_args` (flag table in _flags.py); read by the set-up.  Units are SI, as in C:
    lengths in metres (wavelength, distance, pixel size, detector size, beam centre, sample and beam
    size, sensor thickness, dmin), angles in radians (cell angles, misset, rotations, two-theta,
    divergence, phi, mosaic spread), fluence in photons/m^2, flux in photons/s, exposure in s,
    `detector_mu` in 1/m.  Exceptions: the cell lengths are in Angstrom (as C stores them), `ORGX` and
    `ORGY` in pixels, `dispersion` a fraction, `bg_density` in g/m^3, `bg_mw` in g/mol, `psf_fwhm_um`
    in micrometres, `readout` in ADU rms and `gain` in ADU/photon.  The command line uses mm, degrees,
    Angstrom, um, mrad and eV; the flags' `Apply` functions convert.

    NaN means "not given" (as in C), and so do -1 for the step and count fields; vectors are None when
    not given (the convention decides).  Seeds are stored negated, as nanoBragg.c stores them (C row
    R2).  `warnings` collects the parse-time warnings; `argv` keeps the command line as given.
    """
    # --- input files -------------------------------------------------------------------------
    matfilename: Optional[str] = None
    hklfilename: Optional[str] = None
    dumpfilename: str = "Fdump.bin"
    stolfilename: Optional[str] = None
    imginfilename: Optional[str] = None
    maskfilename: Optional[str] = None
    sourcefilename: Optional[str] = None

    # --- output files ------------------------------------------------------------------------
    floatfilename: str = "floatimage.bin"
    intfilename: str = "intimage.img"
    pgmfilename: str = "image.pgm"
    noisefilename: str = "noiseimage.img"
    stoloutfilename: str = "output.stol"
    calculate_noise: bool = True
    write_pgm: bool = True
    intfile_scale: float = 0.0
    pgm_scale: float = 0.0
    adc_offset: float = 40.0
    printout: bool = False
    printout_fpixel: int = -1
    printout_spixel: int = -1
    progress_meter: bool = True

    # --- beam --------------------------------------------------------------------------------
    lambda0: float = 1.0e-10  # m
    dispersion: float = 0.0  # fraction (C: percent / 100)
    dispstep: float = -1.0
    dispsteps: int = -1
    hdivrange: float = -1.0  # rad
    hdivstep: float = -1.0
    hdivsteps: int = -1
    vdivrange: float = -1.0
    vdivstep: float = -1.0
    vdivsteps: int = -1
    round_div: bool = True
    fluence: float = DEFAULT_FLUENCE  # photons/m^2
    flux: float = 0.0  # photons/s
    exposure: float = 1.0  # s
    beamsize: float = 1.0e-4  # m
    polarization: float = 0.0  # Kahn factor (C default 0 although its help says 1)
    nopolar: bool = False
    coherent: bool = False

    # --- crystal -----------------------------------------------------------------------------
    user_cell: bool = False
    cell_a: float = 0.0  # Angstrom, as C stores a[0]
    cell_b: float = 0.0
    cell_c: float = 0.0
    cell_alpha: float = 0.0  # rad
    cell_beta: float = 0.0
    cell_gamma: float = 0.0
    misset_random: bool = False
    misset: Optional[tuple] = None  # (rx, ry, rz) rad, or None
    Na: float = 1.0  # C keeps them as double holding atoi() values
    Nb: float = 1.0
    Nc: float = 1.0
    sample_x: float = 0.0  # m
    sample_y: float = 0.0
    sample_z: float = 0.0
    density: float = 1.0e6
    molecular_weight: float = 18.0
    xtal_shape: str = "square"  # square | round | gauss | tophat
    fudge: float = 1.0
    default_F: float = 0.0
    water_size: float = 0.0  # m
    mosaic_spread: float = -1.0  # rad; -1 = not given
    mosaic_domains: int = -1
    dmin: float = 0.0  # m
    interpolate: int = 2  # 2 = auto, 1 = on, 0 = off

    # --- detector ----------------------------------------------------------------------------
    pixel_size: float = 0.1e-3  # m
    fpixels: int = 0
    spixels: int = 0
    distance: float = 100.0e-3  # m
    detsize_f: float = 102.4e-3
    detsize_s: float = 102.4e-3
    detector_mu: float = -1.0  # 1/m; -1 = not given
    detector_thick: float = 0.0  # m
    detector_thickstep: float = -1.0  # no flag sets it (as in C)
    detector_thicksteps: int = -1
    detector_rotx: float = 0.0  # rad
    detector_roty: float = 0.0
    detector_rotz: float = 0.0
    detector_twotheta: float = 0.0  # rad
    detector_pivot: str = "beam"  # beam | sample
    beam_convention: str = "mosflm"  # mosflm | xds | adxv | denzo | dials | custom
    curved_detector: bool = False
    point_pixel: bool = False
    Xbeam: float = NAN  # m
    Ybeam: float = NAN
    Xclose: float = NAN
    Yclose: float = NAN
    close_distance: float = NAN
    ORGX: float = NAN  # pixels
    ORGY: float = NAN
    # User-given vectors (unnormalised, as typed).  None = keep C's initial value / convention.
    beam_vector: Vec3 = None
    fdet_vector: Vec3 = None
    sdet_vector: Vec3 = None
    odet_vector: Vec3 = None
    polar_vector: Vec3 = None
    spindle_vector: Vec3 = None
    twotheta_axis: Vec3 = None
    pix0_vector: Vec3 = None  # parsed but never used for geometry (C quirk G7)

    # --- sampling ----------------------------------------------------------------------------
    roi_xmin: int = -1
    roi_xmax: int = -1
    roi_ymin: int = -1
    roi_ymax: int = -1
    oversample: int = -1
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    phi0: float = 0.0  # rad
    phistep: float = -1.0
    osc: float = -1.0
    phisteps: int = -1

    # --- random seeds (stored negated, as in C) ----------------------------------------------
    seed: int = dataclasses.field(default_factory=lambda: -int(time.time()))
    mosaic_seed: int = -12345678
    misset_seed: int = dataclasses.field(default_factory=lambda: -int(time.time()))

    # --- header values read from -img / -mask that C keeps but never uses --------------------
    header_twotheta: float = NAN
    # The -mask pixels (uint16, (slow, fast)); 0 = skip the pixel.  The -img pixels are not kept
    # because C never uses them (C quirk P11).
    mask_image: Optional[object] = dataclasses.field(default=None, compare=False, repr=False)

    # --- our own options (--long-names) ------------------------------------------------------
    mode: str = "spec"  # spec | c-parity
    dtype: str = "float64"  # float64 | float32
    trace_pixel: Optional[tuple] = None  # (slow, fast)
    noise_stream: str = "c"  # c: nanoBragg.c's ran1 stream; jax: counter-based jax.random
    chunk_rows: Optional[int] = None  # pixel rows per kernel chunk; None = automatic
    max_hours: int = 24  # refuse renders estimated to take longer (hours)
    compile_cache: bool = True  # persistent JAX compilation cache (--no-cache turns it off)
    geom_file: Optional[str] = None  # --geom: a CrystFEL geometry file whose panels replace the detector
    # one run: nonBragg's background (--stol ...) and noisify's detector response (--response ...)
    bg_table: Optional[str] = None  # table file; the three table options differ in its first column
    bg_table_4stol: Optional[str] = None
    bg_table_Q: Optional[str] = None
    bg_thick: float = 1e-4  # m
    bg_width: float = 1e-4
    bg_height: float = 1e-4
    bg_density: float = 1e6  # g/m^3
    bg_mw: float = 18.0  # g/mol
    bg_molecules: float = 0.0  # 0 = from the density
    response: bool = False
    psf: Optional[str] = None  # gauss | fiber
    psf_fwhm_um: float = 46.0  # um: noisify converts it as f32(value / 1e6), kept for that arithmetic
    psf_radius: int = 0  # pixels, 0 = automatic
    readout: float = 0.0  # ADU rms
    flicker: float = 0.0
    calibration: float = 0.03
    calib_seed: int = 123456789  # stored as noisify stores it (its built-in value is positive)
    gain: float = 1.0  # ADU/photon
    bits: str = "16"
    out_file: Optional[str] = None  # --out: the detector image as NXmx (.nxs/.h5) or miniCBF (.cbf)
    expt_file: Optional[str] = None  # --expt: the true experiment as a DIALS experiment list
    experiment_file: Optional[str] = None  # --experiment: a DIALS experiment list replacing flags
    experiment_image: Optional[int] = None  # --image: its image to render (1-based; None = 1)
    strict: bool = False  # --strict: unknown flags are errors (C ignores them; we warn)
    argv: list = dataclasses.field(default_factory=list)  # the command line as given
    warnings: list = dataclasses.field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
