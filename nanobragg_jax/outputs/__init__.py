"""What is made of the float image on the host, exactly as nanoBragg.c does it: the statistics it
prints, the SMV integer image and the PGM preview (NumPy only)."""

from nanobragg_jax.outputs._images import Stats as Stats
from nanobragg_jax.outputs._images import image_statistics as image_statistics
from nanobragg_jax.outputs._images import int_image as int_image
from nanobragg_jax.outputs._images import (
    last_subpixel_position as last_subpixel_position,
)
from nanobragg_jax.outputs._images import non_finite_count as non_finite_count
from nanobragg_jax.outputs._images import pgm_image as pgm_image
