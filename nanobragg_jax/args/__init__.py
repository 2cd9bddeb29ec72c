"""Command-line arguments: nanoBragg's flags parsed exactly as nanoBragg.c parses them.

    settings = parse_args("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64")

`Settings` holds the C program's variables after its argv pass (SI units; NaN = not given).  The
flag table (`TABLE`, in nanoBragg.c's test order) drives the argv scan, `help_text` and
specs/flags.md (`python -m nanobragg_jax.args > specs/flags.md`).  This package imports no JAX,
so `nanobragg --help` and bad-input errors answer fast.
"""

from nanobragg_jax.args._actions import Flag as Flag
from nanobragg_jax.args._actions import atof as atof
from nanobragg_jax.args._actions import atoi as atoi
from nanobragg_jax.args._actions import is_number as is_number
from nanobragg_jax.args._checks import check_output_path as check_output_path
from nanobragg_jax.args._flags import OURS as OURS
from nanobragg_jax.args._flags import PRESCAN as PRESCAN
from nanobragg_jax.args._flags import RESPONSE_FIELDS as RESPONSE_FIELDS
from nanobragg_jax.args._flags import SERIES_OPTION_NAMES as SERIES_OPTION_NAMES
from nanobragg_jax.args._flags import TABLE as TABLE
from nanobragg_jax.args._flags import background_table as background_table
from nanobragg_jax.args._flags import response_wanted as response_wanted
from nanobragg_jax.args._help import flags_markdown as flags_markdown
from nanobragg_jax.args._help import help_text as help_text
from nanobragg_jax.args._scan import parse_args as parse_args
from nanobragg_jax.args._settings import Settings as Settings
