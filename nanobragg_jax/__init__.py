"""nanobragg_jax: nanoBragg's diffraction images in JAX, differentiable and batched.

    import nanobragg_jax as nbj
    exp = nbj.from_cli("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -lambda 1 -detpixels 64")
    p   = nbj.params(exp)
    img = nbj.simulate(exp, p)

The subpackages follow the pipeline: `args` (flags -> Settings) -> `setup` (Settings -> Experiment,
and `build_model` -> Model) -> `render` (Model -> image), then `outputs`, `noise` and `io` (what is
written), with `programs` (the CLI's compiled frame), `datasets`, `diagnostics` and `api` on top.
Importing the package does not import JAX (so `nanobragg --help` stays fast); the names below are
loaded on first use.  It never changes JAX's global configuration: enable float64 yourself
(`jax.config.update("jax_enable_x64", True)`) before building an experiment if you want it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily)
_EXPORTS = {
    "from_cli": "nanobragg_jax.api",
    "params": "nanobragg_jax.api",
    "simulate": "nanobragg_jax.api",
    "simulate_panels": "nanobragg_jax.api",
    "jit_simulate": "nanobragg_jax.api",
    "simulate_batch": "nanobragg_jax.api",
    "jit_simulate_batch": "nanobragg_jax.api",
    "derivative_image": "nanobragg_jax.api",
    "flatten": "nanobragg_jax.api",
    "PARAMETERS": "nanobragg_jax.api",
    "parse_args": "nanobragg_jax.args",
    "Settings": "nanobragg_jax.args",
    "build_experiment": "nanobragg_jax.setup",
    "build_model": "nanobragg_jax.setup",
    "Experiment": "nanobragg_jax.setup",
    "render": "nanobragg_jax.render",
    "Model": "nanobragg_jax.render",
    "render_frame": "nanobragg_jax.programs",
    "run_series": "nanobragg_jax.datasets",
    "InputError": "nanobragg_jax.errors",
    "Panel": "nanobragg_jax.panels",
    "PanelSet": "nanobragg_jax.panels",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nanobragg_jax' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
