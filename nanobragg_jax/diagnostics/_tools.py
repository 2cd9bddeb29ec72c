"""Two checking tools behind `nanobragg compare` and `nanobragg trace-diff` (host side, NumPy only).

- compare_images: two float images (raw float32 or SMV, optionally gzipped): correlation, sum ratio,
  the worst pixel and its relative error, and how many pixels pass the goldens' tolerance.
- trace_diff: two per-pixel trace files (`TRACE_C:` from the C build, `TRACE_PY:` from ours) compared
  quantity by quantity in file order; names the first one that differs beyond a relative tolerance.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import os
import re
import tempfile
from typing import Optional

import numpy as np

from nanobragg_jax.errors import InputError

_SMV_START = b"{\nHEADER_BYTES="


# --- images ---------------------------------------------------------------------------------------------
def _raw_bytes(path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read '{path}': {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"'{path}': broken gzip file ({exc})") from None
    return raw


def _read_smv_bytes(raw: bytes, path) -> np.ndarray:
    from nanobragg_jax.io._smv import read_smv

    with tempfile.TemporaryDirectory() as tmp:  # read_smv takes a path; the file may be gzipped
        name = os.path.join(tmp, "image.img")
        with open(name, "wb") as fh:
            fh.write(raw)
        try:
            return read_smv(name).data.astype(np.float64)
        except InputError as exc:
            raise InputError(str(exc).replace(name, str(path))) from None


def _companion_shape(path) -> Optional[tuple]:
    """(slow, fast) from an SMV image next to a raw float file (same stem, or the usual names)."""
    folder = os.path.dirname(os.path.abspath(path))
    stem = os.path.basename(path).split(".")[0]
    for name in (stem + ".img", stem + ".img.gz", "int.img", "int.img.gz", "intimage.img", "noise.img",
                 "noiseimage.img"):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            raw = _raw_bytes(candidate)
            if raw.startswith(_SMV_START):
                return _read_smv_bytes(raw, candidate).shape
    return None


def load_image(path, shape=None) -> np.ndarray:
    """A 2-D float64 image (slow, fast) from raw float32 or SMV (gzip accepted)."""
    raw = _raw_bytes(path)
    if raw.startswith(_SMV_START):
        return _read_smv_bytes(raw, path)
    if len(raw) % 4:
        raise InputError(f"'{path}': {len(raw)} bytes is not a whole number of float32 values")
    data = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    shape = tuple(shape) if shape else _companion_shape(path)
    if shape is None:
        side = math.isqrt(data.size)
        if side * side != data.size:
            raise InputError(f"'{path}': cannot tell the image shape of {data.size} values; give --shape S F")
        shape = (side, side)
    if shape[0] * shape[1] != data.size:
        raise InputError(f"'{path}': {data.size} values do not fit the shape {shape[0]}x{shape[1]}")
    return data.reshape(shape)


@dataclasses.dataclass
class Comparison:
    shape: tuple
    correlation: float
    sum_ratio: float  # sum(B) / sum(A)
    worst_pixel: tuple  # (slow, fast)
    worst_a: float
    worst_b: float
    worst_rel: float  # |B - A| / |A| at the worst pixel (inf where A is 0 and B is not)
    max_abs: float
    failing: int  # pixels outside |B - A| <= 1e-5 |A| + 1e-7 max|A| (the goldens' tolerance)

    def lines(self) -> list:
        s, f = self.worst_pixel
        return [
            f"shape (slow, fast): {self.shape[0]} x {self.shape[1]}",
            f"correlation: {self.correlation:.9g}",
            f"sum ratio B/A: {self.sum_ratio:.9g}",
            f"worst pixel (slow, fast) = ({s}, {f}): A = {self.worst_a:.9g}  B = {self.worst_b:.9g}  "
            f"relative error = {self.worst_rel:.3g}",
            f"max |B - A| = {self.max_abs:.3g}",
            f"pixels outside 1e-5*|A| + 1e-7*max|A|: {self.failing} of {self.shape[0] * self.shape[1]}",
        ]


def compare_images(a_path, b_path, shape=None) -> Comparison:
    a = load_image(a_path, shape)
    b = load_image(b_path, shape if shape else a.shape)
    if a.shape != b.shape:
        raise InputError(f"the images differ in shape: {a.shape} vs {b.shape}")
    diff = np.abs(b - a)
    peak = float(np.nanmax(np.abs(a))) if a.size else 0.0
    # Worst pixel: largest error relative to the pixel, with a floor of 1e-7 of the peak so empty
    # background pixels do not dominate (the same floor as the goldens' tolerance).
    floor = max(1e-7 * peak, np.finfo(np.float64).tiny)
    k = int(np.nanargmax(diff / np.maximum(np.abs(a), floor))) if a.size else 0
    s, f = divmod(k, a.shape[1])
    rel = float(diff.flat[k] / abs(a.flat[k])) if a.flat[k] != 0 else (0.0 if diff.flat[k] == 0 else math.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.size > 1 else math.nan
        ratio = float(b.sum() / a.sum()) if a.sum() != 0 else math.nan
    failing = int(np.count_nonzero(~(diff <= 1e-5 * np.abs(a) + 1e-7 * peak)))
    return Comparison(a.shape, corr, ratio, (s, f), float(a.flat[k]), float(b.flat[k]), rel,
                      float(np.nanmax(diff)) if a.size else 0.0, failing)


# --- traces ---------------------------------------------------------------------------------------------
_TRACE = re.compile(r"^TRACE_(?:C|PY)(_[A-Z0-9]+)?:?\s+(.*)$")
_DETECTOR = re.compile(r"^(DETECTOR_[A-Z0-9_]+)\s+(.*)$")


def _numbers(text):
    try:
        return [float(t) for t in text.split()]
    except ValueError:
        return None


def parse_trace(path) -> list:
    """[(quantity, numbers or text, line number)] in file order; repeated quantities get '#n'."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read trace '{path}': {exc.strerror or exc}") from None
    out, seen = [], {}
    for n, line in enumerate(lines, 1):
        items = []
        m = _TRACE.match(line)
        if m and m.group(1) == "_CONFIG":
            continue
        if m and "=" in m.group(2):  # TRACE_C_PHI phi_tic=0 phi_deg=0 k_frac=...: one per key
            pairs = dict(kv.split("=", 1) for kv in m.group(2).split() if "=" in kv)
            tag = (m.group(1) or "").lstrip("_").lower()
            loop = next(iter(pairs.items()))
            items = [(f"{tag}[{loop[0]}={loop[1]}].{k}", v) for k, v in list(pairs.items())[1:]]
        elif m:
            key, _, rest = m.group(2).partition(" ")
            items = [(key, rest)]
        elif _DETECTOR.match(line):
            d = _DETECTOR.match(line)
            items = [(d.group(1), d.group(2))]
        for key, text in items:
            seen[key] = seen.get(key, 0) + 1
            name = key if seen[key] == 1 else f"{key}#{seen[key]}"
            nums = _numbers(text)
            out.append((name, nums if nums is not None else text.strip(), n))
    if not out:
        raise InputError(f"'{path}' has no TRACE_C/TRACE_PY lines")
    return out


@dataclasses.dataclass
class TraceDiff:
    first: Optional[tuple]  # (quantity, A value, B value, relative difference, line in A) or None
    compared: int
    only_in_a: list
    only_in_b: list

    def lines(self, tol: float) -> list:
        out = []
        if self.first is None:
            out.append(f"no quantity differs beyond {tol:g} ({self.compared} compared)")
        else:
            name, a, b, rel, line = self.first
            out.append(f"first divergence: {name} (line {line} of A): A = {_show(a)}  B = {_show(b)}  "
                       f"relative difference {rel:.3g} > {tol:g}")
        for label, names in (("A", self.only_in_a), ("B", self.only_in_b)):
            if names:
                out.append(f"only in {label}: " + ", ".join(names[:10]) + (" ..." if len(names) > 10 else ""))
        return out


def _show(v):
    return " ".join(f"{x:.15g}" for x in v) if isinstance(v, list) else repr(v)


def _relative(a, b) -> float:
    """Largest element difference over the larger magnitude of the two lines (vectors as a whole)."""
    if isinstance(a, str) or isinstance(b, str):
        return 0.0 if a == b else math.inf
    if len(a) != len(b):
        return math.inf
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if np.array_equal(va, vb, equal_nan=True):
        return 0.0
    scale = max(float(np.max(np.abs(va))), float(np.max(np.abs(vb))))
    return float(np.max(np.abs(va - vb))) / scale if scale > 0 else math.inf


def trace_diff(a_path, b_path, tol: float = 1e-6) -> TraceDiff:
    a, b = parse_trace(a_path), parse_trace(b_path)
    b_map = {name: value for name, value, _ in b}
    first, compared = None, 0
    for name, value, line in a:
        if name not in b_map:
            continue
        compared += 1
        rel = _relative(value, b_map[name])
        if first is None and not rel <= tol:
            first = (name, value, b_map[name], rel, line)
    a_names = {name for name, _, _ in a}
    return TraceDiff(first, compared, [n for n, _, _ in a if n not in b_map],
                     [n for n, _, _ in b if n not in a_names])
