"""What one frame's float image becomes, exactly as a single `nanobragg` run makes it: C's
statistics, the SMV int image, the PGM preview and the noise image.  The command line and every
frame of a series call the same function, so a series frame equals the single run's files.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from nanobragg_jax.args import response_wanted
from nanobragg_jax.errors import InputError
from nanobragg_jax.noise import counter_noise_image, noise_image
from nanobragg_jax.outputs import (
    Stats,
    image_statistics,
    int_image,
    last_subpixel_position,
    non_finite_count,
    pgm_image,
)


@dataclasses.dataclass
class FrameProducts:
    """The host-side products of one float image (C L3040-3260).

    stats: C's statistics (max_I, mean, rms, rmsd).  ints: uint16 (slow, fast) SMV int image;
    int_scale: its scale.  pgm: (uint8 image, pgm_scale) or None.  noise: (uint16 noise image,
    overloads, photon sum) or None (-nonoise, or the detector response in its place).
    response: noisify's noise image of the float image with the one-run detector-response options
    ((slow, fast) uint16 or uint32 pixels, bits) or None; response_lines: what noisify prints for
    it.  warnings: one-line warnings about options that had no effect.
    """

    stats: Stats
    ints: np.ndarray
    int_scale: float
    pgm: Optional[tuple] = None
    noise: Optional[tuple] = None
    response: Optional[tuple] = None
    response_lines: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)

    def detector_image(self) -> np.ndarray:
        """What the detector reports: the detector response's noise image, else the noise image,
        else (-nonoise) the int image."""
        if self.response is not None:
            return self.response[0]
        return self.noise[0] if self.noise is not None else self.ints


def check_finite(img: np.ndarray, what: str = "the rendered image") -> None:
    """Refuse an image with NaN or infinite pixels before anything is written.

    nanoBragg.c writes such an image and exits 0; we never do (issue 11).

    Arguments:
        img: any float image (photons per pixel).
        what: how the error line names the image.
    Raises:
        InputError: one line with the count of non-finite pixels and the usual causes.
    """
    bad = non_finite_count(img)
    if bad:
        raise InputError(f"{what} has {bad} of {np.size(img)} pixels that are NaN or infinite, so "
                         "nothing was written; check the inputs for a zero wavelength, an infinite "
                         "fluence or background, or a degenerate geometry")


def frame_products(exp, img: np.ndarray, *, pgm: Optional[bool] = None) -> FrameProducts:
    """C's statistics, int image, PGM and noise image of `img` for the experiment `exp`.

    Arguments:
        exp: the frame's `nanobragg_jax.setup.Experiment`.  Its C random stream (`exp.rng`) is
            advanced by the noise draw, as C's is.
        img: (spixels, fpixels) float32 photons per pixel, as C stores the float image.
        pgm: make the PGM preview (None: as the flags say, -nopgm).
    Returns:
        FrameProducts; the noise image only when the flags ask for noise (not -nonoise).
    Raises:
        InputError: the image has NaN or infinite pixels (`check_finite`).
    """
    check_finite(img)
    s, L = exp.settings, exp.layout
    px = exp.static.detector.pixel_size
    stats = image_statistics(img, L.roi, exp.static.mask,
                             max_pixel_pos=lambda sl, f: last_subpixel_position(sl, f, px, L.oversample))
    ints, int_scale = int_image(img, L.roi, s.intfile_scale, s.adc_offset, max_I=stats.max_I)
    out = FrameProducts(stats=stats, ints=ints, int_scale=int_scale)
    if s.write_pgm if pgm is None else pgm:
        out.pgm = pgm_image(img, L.roi, s.pgm_scale, stats.rmsd, int_scale)
    if response_wanted(s) and not s.calculate_noise:
        out.warnings.append("the detector-response options shape the noise image, which -nonoise "
                            "turns off: ignored")
    elif response_wanted(s):
        if s.noise_stream == "jax":
            out.warnings.append("--noise-stream jax is ignored with the detector response (noisify's "
                                "C streams draw the noise image)")
        from nanobragg_jax.companions import detector_response  # loads noisify's model only when asked

        out.response = detector_response(img, s, out=out.response_lines.append)
    elif s.calculate_noise and s.noise_stream == "jax":
        import jax

        out.noise = counter_noise_image(img, jax.random.PRNGKey(abs(s.seed)), s.adc_offset, L.roi)
    elif s.calculate_noise:
        out.noise = noise_image(img, L.roi, s.adc_offset, exp.rng, s.seed)[:3]
    return out


@dataclasses.dataclass
class PanelProducts:
    """The host-side products of a multi-panel frame, per panel (specs/panels.md section 5).

    stats: C's statistics of each panel over its ROI and mask.  ints: uint16 int image of each
    panel, all with one int_scale (-scale, else from the brightest panel).  pgms: (uint8 image,
    pgm_scale) per panel, or None.  noise: (uint16 noise image, overloads, photon sum) per panel
    (C's stream continued from panel to panel; --noise-stream jax: key fold_in(seed, k)), or None.
    """

    stats: list
    ints: list
    int_scale: float
    pgms: Optional[list] = None
    noise: Optional[list] = None

    def detector_images(self) -> list:
        """What each panel's detector reports: the noise image, or the int image with -nonoise."""
        return [n[0] for n in self.noise] if self.noise is not None else list(self.ints)


def panel_frame_products(exp, images, *, pgm: Optional[bool] = None) -> PanelProducts:
    """C's statistics, int images, PGMs and noise images of every panel of a multi-panel frame.

    Arguments:
        exp: the frame's Experiment with panels.  Its C random stream is advanced by the noise
            draws, panel after panel.
        images: [float32 (spixels_k, fpixels_k)] photons per pixel, one per panel.
        pgm: make the PGM previews (None: as the flags say).
    Returns:
        PanelProducts.
    Raises:
        InputError: a panel image has NaN or infinite pixels (`check_finite`).
    """
    from nanobragg_jax.setup import panel_layouts

    for k, img in enumerate(images):
        check_finite(img, f"the rendered image of panel {k}")

    s, panels = exp.settings, exp.panels
    roi = {k: L.roi for idx, L in panel_layouts(exp) for k in idx}
    stats = [image_statistics(img, roi[k], panels[k].mask, max_pixel_pos=lambda sl, f, k=k:
                              last_subpixel_position(sl, f, panels[k].pixel_size, exp.layout.oversample))
             for k, img in enumerate(images)]
    peak = max(st.max_I for st in stats)
    made = [int_image(img, roi[k], s.intfile_scale, s.adc_offset, max_I=peak) for k, img in enumerate(images)]
    out = PanelProducts(stats=stats, ints=[m[0] for m in made], int_scale=made[0][1])
    if s.write_pgm if pgm is None else pgm:
        out.pgms = [pgm_image(img, roi[k], s.pgm_scale, stats[k].rmsd, out.int_scale)
                    for k, img in enumerate(images)]
    if s.calculate_noise:
        import jax

        out.noise, seed = [], s.seed
        for k, img in enumerate(images):
            if s.noise_stream == "jax":
                key = jax.random.fold_in(jax.random.PRNGKey(abs(s.seed)), k)
                out.noise.append(counter_noise_image(img, key, s.adc_offset, roi[k]))
            else:  # C's stream, continued from one panel to the next
                image, over, photons, seed = noise_image(img, roi[k], s.adc_offset, exp.rng, seed)
                out.noise.append((image, over, photons))
    return out


def detector_counts(image: np.ndarray, adc_offset: float) -> np.ndarray:
    """What a photon-counting detector reports (NXmx, miniCBF): the SMV pixels less the ADC
    offset, as int32.

    Arguments:
        image: (slow, fast) SMV pixels in ADU (any numeric dtype).
        adc_offset: the ADC offset in ADU (`-adc`).
    Returns:
        (slow, fast) int32: rint(image - adc_offset), rounded half to even.
    """
    return np.rint(np.asarray(image, dtype=np.float64) - adc_offset).astype(np.int32)


def run_warnings(exp, headers=None) -> list:
    """The one-line warnings of a run, each once: the flags' and the set-up's, and C's SMV header
    overflowing its 512 bytes (C quirk O6).

    Arguments:
        exp: the Experiment of the run (its `warnings` and SMV `header` are read).
        headers: the SMV headers the run writes (default: the experiment's one header; a
            multi-panel run passes one per panel).
    Returns:
        list of str in first-seen order, duplicates removed.
    """
    from nanobragg_jax.io import header_overflow

    warnings = list(exp.warnings)  # the settings' warnings are included
    over = max(header_overflow(h) for h in (headers or [exp.header]))
    if over:  # the int image is always written
        warnings.append(f"the SMV header is {512 + over} bytes, past its HEADER_BYTES=512, so readers "
                        "(fabio, adxv, nanoBragg itself) misplace the pixels; nanoBragg.c writes it so "
                        "(C quirk O6)")
    return list(dict.fromkeys(warnings))
