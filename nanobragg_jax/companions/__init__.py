"""The companion programs of nanoBragg as drop-ins: `nonbragg` (amorphous background from an S(stol)
table) and `noisify` (detector response: photon counting, flicker, calibration error, PSF, gain, ADC,
read noise), each with its C program's flags, units, defaults, outputs and quirks."""

from nanobragg_jax.companions._noisify import entry_point as noisify_entry_point
from nanobragg_jax.companions._noisify import main as noisify_main
from nanobragg_jax.companions._noisify import noisify_run as noisify_run
from nanobragg_jax.companions._noisify_args import parse_noisify as parse_noisify
from nanobragg_jax.companions._nonbragg import entry_point as nonbragg_entry_point
from nanobragg_jax.companions._nonbragg import main as nonbragg_main
from nanobragg_jax.companions._one_run import background_table as background_table
from nanobragg_jax.companions._one_run import detector_response as detector_response
from nanobragg_jax.companions._one_run import experiment_background as experiment_background
from nanobragg_jax.companions._one_run import response_wanted as response_wanted
