"""The CLI's multi-panel frame as one compiled program, kept on disk like the single-panel one.

`frames(params, big, masks) -> [(float32 images (G, S, F), solid-angle sums (G,)) per group]`
builds every group's Model inside the program (`setup.build_panel_models`) and renders each group
with `render.render_panels`: all panels in one compiled program, one stacked kernel per panel size.
The structure-factor table, the -mat orientation and the panels' masks are arguments (not
constants of the program), so the stored executable is keyed on shapes and the static set-up only
(`_executable_store`), and `PanelFrameProgram` renders every frame of a series (new parameters, a
new orientation) through one executable.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Optional

import numpy as np

from nanobragg_jax.programs._executable_store import compiled_program
from nanobragg_jax.programs._model_builder import _lift_orientation


def _skeleton(exp):
    """The panel set without its masks (they are arguments)."""
    return exp.panels.replace_panels([dataclasses.replace(p, mask=None) for p in exp.panels])


def panel_program_key(exp, chunk_rows: Optional[int] = None) -> Optional[bytes]:
    """Bytes naming the multi-panel frame program of `exp` (static set-up, layout, panels without
    their masks, -roi, chunking), or None when the set-up cannot be described as bytes.

    Arguments:
        exp: an Experiment with panels.
        chunk_rows: pixel rows per kernel chunk (None: automatic).
    Returns:
        bytes (a pickle of those items, the -roi as the settings hold it, pixel indices) or None
        when pickling fails.
    """
    static, _ = _lift_orientation(exp.static)
    s = exp.settings  # -roi is resolved per group size inside the program
    roi = (s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax)
    try:
        return pickle.dumps(("panels", static, exp.layout, _skeleton(exp), roi, chunk_rows), protocol=4)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


class PanelFrameProgram:
    """The multi-panel frame program of one static set-up, compiled (or loaded) once.

    Arguments:
        exp: an Experiment with panels (`--geom`, a multi-panel `--experiment`).
        chunk_rows: pixel rows per kernel chunk (None: automatic).
        cache_dir: where executables are kept (None: compile in memory only).
    `run(exp)` renders any experiment of the same static set-up; `submit`/`collect` are the
    series' interface (one frame at a time: `max_frames` is 1).
    """

    max_frames = 1

    def __init__(self, exp, *, chunk_rows: Optional[int] = None, cache_dir: Optional[str] = None):
        self.key = panel_program_key(exp, chunk_rows)
        self.cache_dir = cache_dir if self.key is not None else None
        self._compiled = None
        static, _ = _lift_orientation(exp.static)
        skeleton, groups, steps = _skeleton(exp), exp.panels.groups(), exp.layout.steps
        self._groups, self._steps, self._count = groups, steps, len(exp.panels)

        def frames(params, big, masks):
            import jax.numpy as jnp

            from nanobragg_jax.render import render_panels
            from nanobragg_jax.setup import build_panel_models

            table, _, U = big
            e = copy.copy(exp)
            e.static = copy.copy(static)
            e.static.hkl = None if table is None else dataclasses.replace(static.hkl, F=table)
            e.static.U = U
            e.panels = skeleton.replace_panels([dataclasses.replace(p, mask=m)
                                                for p, m in zip(skeleton.panels, masks)])
            out = []
            for _, model in build_panel_models(e, params):
                images, omegas = render_panels(model, chunk_rows=chunk_rows, solid_angle=True)
                out.append((images.astype(jnp.float32), omegas))
            return out

        self._frames = frames

    @staticmethod
    def _arguments(exp):
        _, big = _lift_orientation(exp.static)  # table, mask (refused with panels), U
        masks = [None if p.mask is None else np.asarray(p.mask) for p in exp.panels]
        params = {k: np.asarray(v, dtype=np.result_type(v)) for k, v in exp.params.items()}
        return params, [None if b is None else np.asarray(b) for b in big], masks

    def run(self, exp) -> tuple[list, list]:
        """([float32 image (spixels_k, fpixels_k) per panel], [omega_sum / steps per panel, sr])."""
        import jax

        args = self._arguments(exp)

        def render(reload: bool):
            if self._compiled is None or not reload:
                self._compiled = compiled_program(self._frames, args, name="panels.frames",
                                                  closure=self.key or b"", directory=self.cache_dir,
                                                  reload=reload)
            groups = self._compiled(*args)
            images, omegas = [None] * self._count, [0.0] * self._count
            for (indices, _), (imgs, oms) in zip(self._groups, groups):
                imgs, oms = np.asarray(imgs), np.asarray(oms)
                for j, k in enumerate(indices):
                    images[k], omegas[k] = imgs[j], float(oms[j]) / self._steps
            return images, omegas

        try:
            return render(reload=True)
        except jax.errors.JaxRuntimeError:
            if self.cache_dir is None:
                raise
            return render(reload=False)  # a stored executable that loads but cannot run: recompile

    def submit(self, exps):
        """Render the one experiment of `exps` now (the series' batch interface)."""
        if len(exps) != 1:
            raise ValueError("PanelFrameProgram renders one frame at a time")
        images, omegas = self.run(exps[0])
        return [(images, sum(omegas))]

    def collect(self, pending) -> list:
        """[(list of panel images, solid-angle sum)] of `submit`."""
        return pending


def render_panel_frames(exp, *, chunk_rows: Optional[int] = None,
                        cache_dir: Optional[str] = None) -> tuple[list, list]:
    """Every panel's float image, what the per-panel -floatfile files hold, and C's solid-angle
    sums.

    Arguments:
        exp: an Experiment with panels (`--geom`, a multi-panel `--experiment`).
        chunk_rows: pixel rows per kernel chunk (None: automatic).
        cache_dir: where executables are kept (None: compile in memory only).
    Returns:
        ([float32 image (spixels_k, fpixels_k) per panel], [omega_sum / steps per panel, sr]).
    """
    return PanelFrameProgram(exp, chunk_rows=chunk_rows, cache_dir=cache_dir).run(exp)
