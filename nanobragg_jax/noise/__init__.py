"""Noise: nanoBragg.c's random streams bit for bit, and Poisson noise images.

`CRandom` is C's single shared ran1 shuffle table plus the statics of gaussdev and poidev; the set-up
draws the misset and mosaic domains on it and `noise_image` continues it, as C does.
`counter_noise_image` is a parallel jax.random stream (the same statistics, not C's numbers).
`noisify_counts` and `noisify_adu` are noisify.c's two loops on the same deviates (the detector
response; `compiled_stream_loop` gives their numba versions).
"""

from nanobragg_jax.noise._cstream import CRandom as CRandom
from nanobragg_jax.noise._cstream import compiled_stream_loop as compiled_stream_loop
from nanobragg_jax.noise._cstream import f32 as f32
from nanobragg_jax.noise._cstream import gammln_cache as gammln_cache
from nanobragg_jax.noise._cstream import noisify_adu as noisify_adu
from nanobragg_jax.noise._cstream import noisify_counts as noisify_counts
from nanobragg_jax.noise._image import counter_noise_image as counter_noise_image
from nanobragg_jax.noise._image import noise_image as noise_image
from nanobragg_jax.noise._image import noise_summary_line as noise_summary_line
from nanobragg_jax.noise._image import pixel_box as pixel_box
