"""Checking tools: pixel traces (`-trace_pixel`), image comparison (`nanobragg compare`), trace
comparison (`nanobragg trace-diff`) and experiment comparison (`nanobragg compare-expt`)."""

from nanobragg_jax.diagnostics._compare import Comparison as Comparison
from nanobragg_jax.diagnostics._compare import compare_images as compare_images
from nanobragg_jax.diagnostics._compare import load_image as load_image
from nanobragg_jax.diagnostics._expt_compare import ExperimentComparison as ExperimentComparison
from nanobragg_jax.diagnostics._expt_compare import change_of_basis as change_of_basis
from nanobragg_jax.diagnostics._expt_compare import compare_experiments as compare_experiments
from nanobragg_jax.diagnostics._expt_compare import detector_difference_mm as detector_difference_mm
from nanobragg_jax.diagnostics._expt_compare import misorientation_deg as misorientation_deg
from nanobragg_jax.diagnostics._trace import print_trace as print_trace
from nanobragg_jax.diagnostics._trace import trace_pixel as trace_pixel
from nanobragg_jax.diagnostics._trace_diff import TraceDiff as TraceDiff
from nanobragg_jax.diagnostics._trace_diff import parse_trace as parse_trace
from nanobragg_jax.diagnostics._trace_diff import trace_diff as trace_diff
