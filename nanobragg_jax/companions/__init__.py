"""The companion programs of nanoBragg as drop-ins: `nonbragg` (amorphous background from an S(stol)
table) and `noisify` (detector response: photon counting, flicker, calibration error, PSF, gain, ADC,
read noise), each with its C program's flags, units, defaults, outputs and quirks."""

from nanobragg_jax.companions._noisify import entry_point as noisify_entry_point
from nanobragg_jax.companions._noisify import main as noisify_main
from nanobragg_jax.companions._noisify import noisify_run as noisify_run
from nanobragg_jax.companions._noisify_args import parse_noisify as parse_noisify
from nanobragg_jax.companions._nonbragg import entry_point as nonbragg_entry_point
from nanobragg_jax.companions._nonbragg import main as nonbragg_main
