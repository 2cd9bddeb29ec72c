"""Detector response: what a detector records from an ideal float image of photons per pixel.

noisify.c's model, bit for bit where it matters for the drop-in (`apply_psf`, `poisson_counts`,
`readout_adu`, `noiseless_adu`: C's random streams, float32 sums, edge quirks), and the same
kernel as a differentiable JAX convolution for the Python API (`psf_kernel` + `psf_convolve`).
"""

from nanobragg_jax.response._psf import PSF_TYPES as PSF_TYPES
from nanobragg_jax.response._psf import apply_psf as apply_psf
from nanobragg_jax.response._psf import auto_radius as auto_radius
from nanobragg_jax.response._psf import psf_convolve as psf_convolve
from nanobragg_jax.response._psf import psf_kernel as psf_kernel
from nanobragg_jax.response._psf import psf_kernel_jax as psf_kernel_jax
from nanobragg_jax.response._streams import c_uint as c_uint
from nanobragg_jax.response._streams import c_ushort as c_ushort
from nanobragg_jax.response._streams import noiseless_adu as noiseless_adu
from nanobragg_jax.response._streams import poisson_counts as poisson_counts
from nanobragg_jax.response._streams import readout_adu as readout_adu
