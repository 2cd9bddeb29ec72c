"""--help texts of the companion programs (the flags are specs/nonbragg.md 2.2 and
specs/noisify.md 2.2; every flag matches by substring, as in C)."""

NONBRAGG_HELP = """\
usage: nonbragg -stol FILE [flags]      (nonBragg.c as a drop-in; details: specs/nonbragg.md)

Amorphous scattering (water, air, ice, glass) from a structure-factor profile F(sin(theta)/lambda).

table:     -stol FILE (sin(theta)/lambda in 1/A) | -4stol FILE (4 sin(theta)/lambda) | -Q FILE (4 pi sin(theta)/lambda)
sample:    -thick/-sample_thick MM  -width MM  -height MM  -samplesize MM (all three; default 0.1)
           -density G/CM3 (1)  -MW G/MOL (18)  -molecules N (sets the density)
beam:      -lambda/-wave A (1) | -energy EV   -fluence PH/M2 | -flux PH/S -exposure S -beamsize MM (0.1)
           -dispersion % -dispsteps N  -divergence MRAD -divsteps N  -hdivrange/-vdivrange MRAD
           -hdivstep/-vdivstep MRAD  -hdivsteps/-vdivsteps N  -round_div | -square_div
           -sourcefile FILE (X Y Z weight lambda[m])  -source_distance MM  -polar K (0) | -nopolar
           -polar_vector X Y Z  -beam_vector X Y Z
detector:  -distance MM (100) | -close_distance MM   -pixel MM (0.1)  -detpixels N | -detpixels_f/_s N
           -detsize MM | -detsize_x/_y MM   -Xbeam/-Ybeam MM | -Xclose/-Yclose MM | -ORGX/-ORGY PX
           -pivot beam|sample  -twotheta DEG  -twotheta_axis X Y Z  -detector_rotx/y/z DEG
           -fdet_vector X Y Z  -sdet_vector X Y Z  -curved_det 1  -point_pixel  -oversample N (1)
           -roi XMIN XMAX YMIN YMAX
outputs:   -floatfile FILE (floatimage.bin)  -intfile FILE (intimage.img)  -pgmfile FILE (image.pgm)
           -noisefile FILE (noiseimage.img) | -nonoise   -seed N  -adc ADU (40)  -scale X  -pgmscale X
           -Fmap (pixel = fitted F)  -printout  -printout_pixel F S  -noprogress
extraction: -img SMV -stolout FILE -ignore VALUE -gain X: F per pixel from a measured image, binned

nonBragg.c's accidents are reproduced with a warning on stderr; inputs it crashes on are refused.
"""

NOISIFY_HELP = """\
usage: noisify -floatfile FILE [flags]   (noisify.c as a drop-in; details: specs/noisify.md)

Detector noise on an ideal float image (photons/pixel, raw float32).

input:     -floatfile/-floatimage/-bin FILE (or any name containing floatimage.bin)
           -detpixels N | -detpixels_x/_y N (else guessed from the size)  -header SMV (copied)
           -scale X (1)  -fluence PH/M2 (photon scale = fluence r_e^2 scale)
noise:     -seed N  -calibration FRAC (0.03) -calib_seed N  -flicker FRAC (0)  -readout ADU (0)
           -nonoise (noiseless image only; the PSF then blurs it)
psf:       -psf gauss|fiber  -psf_fwhm UM (46)  -psf_radius PX (0 = automatic)
readout:   -gain ADU/PHOTON (1)  -adc ADU (40)  -bits 16|32
geometry:  -pixel MM (0.1)  -distance MM  -lambda A  -Xbeam/-Ybeam MM  -phi DEG  -osc DEG (header only)
outputs:   -intfile FILE (intimage.img, noiseless)  -noisefile FILE (noiseimage.img)
           -pgmfile FILE (image.pgm) | -nopgm

noisify.c's random streams are reproduced bit for bit; its accidents with a warning on stderr.
"""


def nonbragg_help() -> str:
    """The `nonbragg --help` text: its flags with their units and defaults.

    Returns:
        The text, ending with a newline.
    """
    return NONBRAGG_HELP


def noisify_help() -> str:
    """The `noisify --help` text: its flags with their units and defaults.

    Returns:
        The text, ending with a newline.
    """
    return NOISIFY_HELP
