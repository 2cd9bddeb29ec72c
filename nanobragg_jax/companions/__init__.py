"""The companion programs of nanoBragg as drop-ins: `nonbragg` (amorphous background from an S(stol)
table) and `noisify` (detector response: photon counting, flicker, calibration error, PSF, gain, ADC,
read noise), each with its C program's flags, units, defaults, outputs and quirks; and the glue of
nanobragg's one-run options (`experiment_background`, `detector_response`).

Names are loaded on first use, so each console script imports only its own program.
"""

from nanobragg_jax._lazy import lazy_face

_EXPORTS = {
    "nonbragg_main": ("_nonbragg", "main"),
    "nonbragg_entry_point": ("_nonbragg", "entry_point"),
    "noisify_main": ("_noisify", "main"),
    "noisify_entry_point": ("_noisify", "entry_point"),
    "noisify_run": ("_noisify", "noisify_run"),
    "parse_noisify": ("_noisify_args", "parse_noisify"),
    "parse_nonbragg": ("_nonbragg_args", "parse_nonbragg"),
    "detector_response": ("_one_run", "detector_response"),
    "experiment_background": ("_one_run", "experiment_background"),
}

__getattr__, __dir__, __all__ = lazy_face(__name__, _EXPORTS)
