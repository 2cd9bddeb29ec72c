"""Orientation sweeps: K crystal orientations rendered by one vmapped, jitted call per batch.

    missets = misset_series(exp, axis="x", step=1.0, count=10)   # (10, 3) deg
    images  = orientation_sweep(exp, missets)                    # (10, slow, fast)
    paths   = write_sweep(exp, missets, "sweep_", smv=True)      # sweep_0000.bin, sweep_0000.img, ...

An orientation is a misset triple (deg, rotations about x then y then z, as `-misset`); everything
else comes from the experiment (or `p`).  The batch function is compiled once per experiment,
batch size and chunking: the last, partial batch is padded so it reuses that compile.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, List, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from nanobragg_jax.api import Params, simulate_batch

_AXES = {"x": 0, "y": 1, "z": 2}
_compiled: dict = {}  # (id(exp), chunk_rows, checkpoint) -> (exp, jitted batch fn); last one only


def misset_series(exp, axis: str = "x", step: float = 1.0, count: int = 10,
                  start: Optional[Sequence[float]] = None) -> np.ndarray:
    """(count, 3) misset angles (deg): `start` (default: the experiment's misset) with the `axis`
    component advanced by `step` degrees per orientation."""
    if axis not in _AXES:
        raise ValueError(f"axis must be one of x, y, z, got {axis!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    base = np.asarray(exp.params["misset"] if start is None else start, dtype=np.float64).reshape(3)
    out = np.tile(base, (count, 1))
    out[:, _AXES[axis]] += step * np.arange(count)
    return out


def read_missets(path: str) -> np.ndarray:
    """A text file of misset triples (deg), one orientation per line; '#' starts a comment."""
    rows = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 3:
                raise ValueError(f"{path}:{n}: expected 3 angles, got {len(words)}")
            rows.append([float(w) for w in words])
    if not rows:
        raise ValueError(f"{path}: no orientations")
    return np.asarray(rows, dtype=np.float64)


def _batch_fn(exp, chunk_rows, checkpoint):
    key = (id(exp), chunk_rows, checkpoint)
    hit = _compiled.get(key)
    if hit is None or hit[0] is not exp:
        fn = jax.jit(lambda batch, p: simulate_batch(exp, batch, p, chunk_rows=chunk_rows,
                                                      checkpoint=checkpoint))
        _compiled.clear()
        _compiled[key] = hit = (exp, fn)
    return hit[1]


def iter_sweep(exp, missets, p: Optional[Params] = None, *, batch: Optional[int] = None,
               chunk_rows: Optional[int] = None):
    """Yield (index, image) for every orientation, rendering `batch` orientations per call."""
    missets = np.asarray(missets, dtype=np.float64).reshape(-1, 3)
    K = missets.shape[0]
    B = K if batch is None else int(max(1, min(batch, K)))
    fixed = {k: v for k, v in (p or {}).items() if k != "misset"}
    fn = _batch_fn(exp, chunk_rows, True)
    for i0 in range(0, K, B):
        chunk = missets[i0:i0 + B]
        n = chunk.shape[0]
        if n < B:  # pad with the last orientation: same shape, no second compile
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], B - n, axis=0)])
        images = np.asarray(fn({"misset": jnp.asarray(chunk)}, fixed))
        for j in range(n):
            yield i0 + j, images[j]


def orientation_sweep(exp, missets, p: Optional[Params] = None, *, batch: Optional[int] = None,
                      chunk_rows: Optional[int] = None) -> np.ndarray:
    """Images (K, slow, fast) for K misset triples (deg), in the experiment's dtype."""
    images = [img for _, img in iter_sweep(exp, missets, p, batch=batch, chunk_rows=chunk_rows)]
    return np.stack(images)


class ProgressBar:
    """A one-line text bar on stderr: `sweep [#####     ] 5/10 images`."""

    def __init__(self, total: int, label: str = "sweep", width: int = 30, stream=None):
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = sys.stderr if stream is None else stream

    def __call__(self, done: int) -> None:
        filled = self.width * done // self.total
        bar = "#" * filled + " " * (self.width - filled)
        end = "\n" if done >= self.total else ""
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total} images{end}")
        self.stream.flush()


def write_sweep(exp, missets, prefix: str = "sweep_", p: Optional[Params] = None, *,
                smv: bool = False, batch: Optional[int] = None, chunk_rows: Optional[int] = None,
                progress: bool | Callable[[int], None] = True) -> List[str]:
    """Render the orientations and write `<prefix><i>.bin` (raw float32, as -floatfile) for each,
    plus `<prefix><i>.img` (SMV, as -intfile: auto scale unless -scale was given) when smv.

    progress: True for a bar on stderr, False for none, or a callable taking images done.
    Returns the paths written, in order.
    """
    from nanobragg_jax.io import write_float_image, write_smv
    from nanobragg_jax.outputs import int_image

    missets = np.asarray(missets, dtype=np.float64).reshape(-1, 3)
    K = missets.shape[0]
    digits = max(4, len(str(K - 1)))
    report = ProgressBar(K) if progress is True else (progress or None)
    folder = os.path.dirname(prefix)
    if folder:
        os.makedirs(folder, exist_ok=True)
    s, paths = exp.settings, []
    if report is not None:
        report(0)
    for i, img in iter_sweep(exp, missets, p, batch=batch, chunk_rows=chunk_rows):
        name = f"{prefix}{i:0{digits}d}"
        img32 = np.asarray(img, dtype=np.float64).astype(np.float32)
        write_float_image(name + ".bin", img32)
        paths.append(name + ".bin")
        if smv:
            ints, _ = int_image(img32, exp.layout.roi, s.intfile_scale, s.adc_offset)
            write_smv(name + ".img", ints, exp.header)
            paths.append(name + ".img")
        if report is not None:
            report(i + 1)
    return paths


def run_sweep(settings, missets_file: Optional[str] = None, axis: str = "x", step: float = 1.0,
              count: int = 10, prefix: str = "sweep_", smv: bool = False, batch: int = 8) -> List[str]:
    """The `nanobragg sweep` command after flag parsing: set up as the render command does, then
    write one image per orientation (progress bar unless -noprogress).  Returns the paths."""
    from nanobragg_jax.setup import build_experiment

    exp = build_experiment(settings, workdir=".")
    for w in dict.fromkeys(exp.warnings):
        print(f"nanobragg: warning: {w}", file=sys.stderr)
    missets = read_missets(missets_file) if missets_file else misset_series(exp, axis, step, count)
    paths = write_sweep(exp, missets, prefix, smv=smv, batch=batch, progress=settings.progress_meter)
    print(f"wrote {missets.shape[0]} orientations: {paths[0]} ... {paths[-1]}")
    return paths
