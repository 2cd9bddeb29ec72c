"""Noise: nanoBragg.c's random streams bit for bit, and Poisson noise images.

`CRandom` is C's single shared ran1 shuffle table plus the statics of gaussdev and poidev; the set-up
draws the misset and mosaic domains on it and `noise_image` continues it, as C does.
`counter_noise_image` is a parallel jax.random stream (the same statistics, not C's numbers).
"""

from nanobragg_jax.noise._cstream import CRandom as CRandom
from nanobragg_jax.noise._cstream import f32 as f32
from nanobragg_jax.noise._cstream import gaussdev_kernel as gaussdev_kernel
from nanobragg_jax.noise._cstream import jit_stream_loop as jit_stream_loop
from nanobragg_jax.noise._cstream import gammln_cache as gammln_cache
from nanobragg_jax.noise._cstream import poidev_kernel as poidev_kernel
from nanobragg_jax.noise._cstream import poidev_kernel_cached as poidev_kernel_cached
from nanobragg_jax.noise._cstream import ran1_kernel as ran1_kernel
from nanobragg_jax.noise._cstream import to_ushort as to_ushort
from nanobragg_jax.noise._image import counter_noise_image as counter_noise_image
from nanobragg_jax.noise._image import noise_image as noise_image
from nanobragg_jax.noise._image import noise_summary_line as noise_summary_line
from nanobragg_jax.noise._image import pixel_box as pixel_box
