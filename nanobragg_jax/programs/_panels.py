"""The CLI's multi-panel frame as one compiled program, kept on disk like the single-panel one.

`frames(params, big, masks) -> [(float32 images (G, S, F), solid-angle sums (G,)) per group]`
builds every group's Model inside the program (`setup.build_panel_models`) and renders each group
with `render.render_panels`: all panels in one compiled program, one stacked kernel per panel size.
The structure-factor table and the panels' masks are arguments (not constants of the program), so
the stored executable is keyed on shapes and the static set-up only (`_executable_store`).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Optional

import numpy as np

from nanobragg_jax.programs._executable_store import compiled_program
from nanobragg_jax.programs._model_builder import _lift


def render_panel_frames(exp, *, chunk_rows: Optional[int] = None,
                        cache_dir: Optional[str] = None) -> tuple[list, list]:
    """Every panel's float image, what the per-panel -floatfile files hold, and C's solid-angle
    sums.

    Arguments:
        exp: an Experiment with panels (`--geom`).
        chunk_rows: pixel rows per kernel chunk (None: automatic).
        cache_dir: where executables are kept (None: compile in memory only).
    Returns:
        ([float32 image (spixels_k, fpixels_k) per panel], [omega_sum / steps per panel, sr]).
    """
    import jax

    static, big = _lift(exp.static)  # the hkl table as an argument; -mask is refused with panels
    skeleton = exp.panels.replace_panels([dataclasses.replace(p, mask=None) for p in exp.panels])
    masks = [None if p.mask is None else np.asarray(p.mask) for p in exp.panels]
    params = {k: np.asarray(v, dtype=np.result_type(v)) for k, v in exp.params.items()}
    try:
        s = exp.settings  # -roi is resolved per group size inside the program
        roi = (s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax)
        closure = pickle.dumps((static, exp.layout, skeleton, roi, chunk_rows), protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        closure, cache_dir = b"", None  # a set-up that cannot be described as bytes: no store

    def frames(params, big, masks):
        import jax.numpy as jnp

        from nanobragg_jax.render import render_panels
        from nanobragg_jax.setup import build_panel_models

        e = copy.copy(exp)
        e.static = copy.copy(static)
        e.static.hkl = None if big[0] is None else dataclasses.replace(static.hkl, F=big[0])
        e.panels = skeleton.replace_panels([dataclasses.replace(p, mask=m)
                                            for p, m in zip(skeleton.panels, masks)])
        out = []
        for _, model in build_panel_models(e, params):
            images, omegas = render_panels(model, chunk_rows=chunk_rows, solid_angle=True)
            out.append((images.astype(jnp.float32), omegas))
        return out

    def run(reload: bool):
        program = compiled_program(frames, (params, big, masks), name="panels.frames",
                                   closure=closure, directory=cache_dir, reload=reload)
        groups = program(params, big, masks)
        images, omegas = [None] * len(exp.panels), [0.0] * len(exp.panels)
        for (indices, _), (imgs, oms) in zip(exp.panels.groups(), groups):
            imgs, oms = np.asarray(imgs), np.asarray(oms)
            for j, k in enumerate(indices):
                images[k], omegas[k] = imgs[j], float(oms[j]) / exp.layout.steps
        return images, omegas

    try:
        return run(reload=True)
    except jax.errors.JaxRuntimeError:
        if cache_dir is None:
            raise
        return run(reload=False)  # a stored executable that loads but cannot run: recompile
