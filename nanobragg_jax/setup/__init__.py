"""Set-up: nanoBragg.c's host-side set-up, from `Settings` to an `Experiment`, and the pure JAX
`build_model` from an experiment's continuous parameters to the kernel's `Model`.

    exp   = build_experiment(settings)        # reads files, auto-rules, random draws (host, once)
    model = build_model(exp, exp.params)      # traceable, differentiable (CLI units -> SI)

The detector, sampling and source helpers are exported for the companion programs (nonbragg), which
set up the same geometry from their own flags.  Importing this package imports neither equinox nor jax.numpy (`build_model` imports them when
called), so the CLI's warm start stays fast.

Multi-panel detectors (`nanobragg_jax.panels.PanelSet`: --geom, or `with_panels`) replace the
flags' detector; `build_panel_models` gives one Model per group of equally sized panels, with a
leading panel axis on the Detector's leaves (specs/panels.md).
"""

from nanobragg_jax.setup._build import build_experiment as build_experiment
from nanobragg_jax.setup._detector import DetectorStatic as DetectorStatic
from nanobragg_jax.setup._detector import detector_geometry as detector_geometry
from nanobragg_jax.setup._sampling import clip_sample as clip_sample
from nanobragg_jax.setup._sampling import resolve_fluence as resolve_fluence
from nanobragg_jax.setup._sampling import resolve_phi as resolve_phi
from nanobragg_jax.setup._sampling import resolve_spread as resolve_spread
from nanobragg_jax.setup._sampling import sanity as sanity
from nanobragg_jax.setup._sources import divergence_grid as divergence_grid
from nanobragg_jax.setup._sources import file_sources as file_sources
from nanobragg_jax.setup._sources import source_summary as source_summary
from nanobragg_jax.setup._sources import source_vectors as source_vectors
from nanobragg_jax.setup._sources import unit_rows as unit_rows
from nanobragg_jax.setup._build import (
    write_structure_factor_dump as write_structure_factor_dump,
)
from nanobragg_jax.setup._cost import available_memory as available_memory
from nanobragg_jax.setup._cost import check_render_cost as check_render_cost
from nanobragg_jax.setup._dials_frame import experiment_images as experiment_images
from nanobragg_jax.setup._dials_frame import experiment_model as experiment_model
from nanobragg_jax.setup._dials_frame import lab_rotation as lab_rotation
from nanobragg_jax.setup._dials_frame import scan_angles as scan_angles
from nanobragg_jax.setup._experiment import Experiment as Experiment
from nanobragg_jax.setup._experiment import SetupStatic as SetupStatic
from nanobragg_jax.setup._model import build_model as build_model
from nanobragg_jax.setup._model import full_params as full_params
from nanobragg_jax.setup._model import geometry_report as geometry_report
from nanobragg_jax.setup._panels import FLAG_DETECTOR_PARAMS as FLAG_DETECTOR_PARAMS
from nanobragg_jax.setup._panels import build_panel_models as build_panel_models
from nanobragg_jax.setup._panels import crystfel_frame as crystfel_frame
from nanobragg_jax.setup._panels import panel_header as panel_header
from nanobragg_jax.setup._panels import panel_layouts as panel_layouts
from nanobragg_jax.setup._panels import panels_from_flags as panels_from_flags
from nanobragg_jax.setup._panels import single_panel_experiment as single_panel_experiment
from nanobragg_jax.setup._panels import with_panels as with_panels
