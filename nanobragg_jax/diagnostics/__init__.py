"""Checking tools: pixel traces (`-trace_pixel`), image comparison (`nanobragg compare`) and trace
comparison (`nanobragg trace-diff`)."""

from nanobragg_jax.diagnostics._compare import Comparison as Comparison
from nanobragg_jax.diagnostics._compare import compare_images as compare_images
from nanobragg_jax.diagnostics._compare import load_image as load_image
from nanobragg_jax.diagnostics._trace import print_trace as print_trace
from nanobragg_jax.diagnostics._trace import trace_pixel as trace_pixel
from nanobragg_jax.diagnostics._trace_diff import TraceDiff as TraceDiff
from nanobragg_jax.diagnostics._trace_diff import parse_trace as parse_trace
from nanobragg_jax.diagnostics._trace_diff import trace_diff as trace_diff
