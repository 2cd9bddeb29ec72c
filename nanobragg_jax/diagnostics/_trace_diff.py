"""`nanobragg trace-diff`: two per-pixel trace files (`TRACE_C:` from the C build, `TRACE_PY:` from
ours) compared quantity by quantity in file order; names the first that differs beyond a relative
tolerance (host side).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Optional

import numpy as np

from nanobragg_jax.errors import InputError

_TRACE = re.compile(r"^TRACE_(?:C|PY)(_[A-Z0-9]+)?:?\s+(.*)$")
_DETECTOR = re.compile(r"^(DETECTOR_[A-Z0-9_]+)\s+(.*)$")


def _numbers(text):
    try:
        return [float(t) for t in text.split()]
    except ValueError:
        return None


def parse_trace(path) -> list:
    """[(quantity, numbers or text, line number)] in file order; repeated quantities get '#n'.

    Arguments:
        path: a trace file with `TRACE_C:`/`TRACE_PY:` lines (TRACE_*_CONFIG lines are skipped;
            tagged lines of key=value pairs give one quantity per key) and DETECTOR_* lines.
    Returns:
        list of (name str, list of floats or stripped text str, 1-based line number int).
    Raises:
        InputError: the file cannot be read, or holds no trace line.
    """
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
    """The result of `trace_diff`: the first quantity of trace A that trace B gives differently.

    Fields:
        first: (quantity name, A's value, B's value, relative difference, line number in A) of the
            first quantity, in A's order, whose relative difference is not <= the tolerance; None when
            none is.  Values are lists of floats, or text for lines that are not numbers.
        compared: how many quantities both traces hold.
        only_in_a: the names of A's quantities that B lacks, in A's order.
        only_in_b: the names of B's quantities that A lacks, in B's order.
    """
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
    """Compare two per-pixel traces quantity by quantity, in A's order (`nanobragg trace-diff A B`).

    Quantities are matched by name (a repeated name gets '#2', '#3', ... in each file).  The relative
    difference of two lines is the largest element difference over the largest magnitude in either
    line (a vector as a whole); text lines differ unless equal, and lines of different lengths differ
    infinitely.

    Arguments:
        a_path: trace A (`TRACE_C:` or `TRACE_PY:` lines), usually the C build's.
        b_path: trace B.
        tol: the largest relative difference taken as equal (unitless).
    Returns:
        A `TraceDiff`.
    Raises:
        InputError: a file that cannot be read, or one with no TRACE_C/TRACE_PY lines.
    """
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
