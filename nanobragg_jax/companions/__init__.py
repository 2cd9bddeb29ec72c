"""The companion programs of nanoBragg as drop-ins: `nonbragg` (amorphous background from an S(stol)
table) and `noisify` (detector response: photon counting, flicker, calibration error, PSF, gain, ADC,
read noise), each with its C program's flags, units, defaults, outputs and quirks; and the glue of
nanobragg's one-run options (`experiment_background`, `detector_response`).

Names are loaded on first use, so each console script imports only its own program.
"""

import importlib

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

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nanobragg_jax.companions' has no attribute {name!r}")
    module, attr = _EXPORTS[name]
    value = getattr(importlib.import_module(f"nanobragg_jax.companions.{module}"), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
