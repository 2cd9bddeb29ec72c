"""Set-up: nanoBragg.c's host-side set-up, from `Settings` to an `Experiment`, and the pure JAX
`build_model` from an experiment's continuous parameters to the kernel's `Model`.

    exp   = build_experiment(settings)        # reads files, auto-rules, random draws (host, once)
    model = build_model(exp, exp.params)      # traceable, differentiable (CLI units -> SI)

Importing this package imports neither equinox nor jax.numpy (`build_model` imports them when
called), so the CLI's warm start stays fast.
"""

from nanobragg_jax.setup._build import build_experiment as build_experiment
from nanobragg_jax.setup._build import (
    write_structure_factor_dump as write_structure_factor_dump,
)
from nanobragg_jax.setup._cost import available_memory as available_memory
from nanobragg_jax.setup._cost import check_render_cost as check_render_cost
from nanobragg_jax.setup._experiment import Experiment as Experiment
from nanobragg_jax.setup._experiment import SetupStatic as SetupStatic
from nanobragg_jax.setup._model import build_model as build_model
from nanobragg_jax.setup._model import full_params as full_params
from nanobragg_jax.setup._model import geometry_report as geometry_report
