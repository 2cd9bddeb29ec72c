"""The plan of a series: which single `nanobragg` run each frame is.

Every frame is the base command line plus a few flags of its own, appended (C: the last flag
wins), so frame i of any series can be re-made alone with

    nanobragg <base flags> <frame i's flags>

- a rotation sweep adds `-phi <phi0 + i*osc>` (the `-osc`, `-phisteps` of the base keep their
  meaning per frame); with a DIALS experiment list (`--experiment`) it adds `--image <first + i>`,
  the list's next image (its scan gives the angles);
- a still series adds an orientation: `-misset random` (seeded per frame), `-misset x y z` or
  `-mat <file>` from a file of orientations;
- `--vary` adds drawn values of `-N`, `-cell` or `-lambda`;
- every frame adds `-seed <seed + i>` (the noise seed), and, when a random misset is drawn,
  `-misset_seed <misset seed (+ i for random stills)> -misset random` (the seed's default is the
  time; `-misset random` after it because C also reads `-misset_seed` as misset angles when three
  tokens follow it, C quirk P1).

Drawn values are a function of (seed, frame index) only, so a frame's flags do not depend on
which process plans or renders it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import List, Optional, Sequence

import numpy as np

from nanobragg_jax.constants import RTD
from nanobragg_jax.errors import InputError
from nanobragg_jax.io import atomic_write_bytes, read_input_text

# --vary NAME: (flag, unit, whole numbers)
VARIABLES = {
    "N": ("-N", "cells", True),
    "cell": ("-cell", "A", False),
    "lambda": ("-lambda", "A", False),
}
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_VALUE = re.compile(rf"({_NUMBER})(%?)$")


@dataclasses.dataclass(frozen=True)
class Variation:
    """One `--vary NAME=DIST` option: a per-frame draw of -N, -cell (the a axis, with b and c scaled
    by the same factor, angles kept) or -lambda.

    DIST is `normal:SIGMA` (base value + SIGMA x a standard normal deviate) or `uniform:LO:HI`
    (uniform between the bounds; whole numbers LO..HI inclusive for N).  A value with a % suffix
    is relative to the base value: `normal:1%` has SIGMA = 1% of it, `uniform:-2%:2%` spans +-2%.
    """

    name: str
    dist: str
    args: tuple  # ((value, relative), ...)
    text: str

    @staticmethod
    def parse(text: str) -> "Variation":
        name, eq, spec = text.partition("=")
        if not eq or name not in VARIABLES:
            raise InputError(f"--vary {text!r}: expected NAME=DIST with NAME one of {', '.join(VARIABLES)}")
        dist, *values = spec.split(":")
        want = {"normal": 1, "uniform": 2}.get(dist)
        if want is None or len(values) != want:
            raise InputError(f"--vary {text!r}: DIST is normal:SIGMA or uniform:LO:HI (values may end in %)")
        args = []
        for v in values:
            m = _VALUE.match(v.strip())
            if not m:
                raise InputError(f"--vary {text!r}: {v!r} is not a number")
            args.append((float(m.group(1)), bool(m.group(2))))
        if dist == "normal" and args[0][0] < 0:
            raise InputError(f"--vary {text!r}: SIGMA must be >= 0")
        if dist == "uniform" and args[0][1] == args[1][1] and args[0][0] > args[1][0]:
            raise InputError(f"--vary {text!r}: LO must not exceed HI")
        return Variation(name, dist, tuple(args), text)

    def _value(self, k: int, base: float) -> float:
        value, relative = self.args[k]
        return base * value / 100.0 if relative else value

    def draw(self, rng: np.random.Generator, base: float) -> float:
        """One value around `base` (the experiment's own) from `rng`."""
        whole = VARIABLES[self.name][2]
        if self.dist == "normal":
            x = base + self._value(0, base) * rng.standard_normal()
            return float(round(x)) if whole else float(x)
        lo, hi = (self._value(k, base) + (base if self.args[k][1] else 0.0) for k in (0, 1))
        if whole:
            return float(rng.integers(math.ceil(lo), math.floor(hi) + 1))
        return float(lo + (hi - lo) * rng.random())


@dataclasses.dataclass(frozen=True)
class FrameTask:
    """One frame to make: its index, its own flags, and the files it becomes (absolute paths;
    `float_path` None unless --float)."""

    index: int
    flags: tuple
    path: str
    float_path: Optional[str] = None


def read_orientations(path: str) -> List[List[str]]:
    """A text file of orientations, one per line ('#' starts a comment): 3 numbers are misset
    angles (deg, as -misset), 9 numbers an A matrix (the three lines of a MOSFLM .mat, as -mat
    reads them: a*, b*, c* as columns, times lambda).  Every line must have the same count.
    Returns the numbers of each line as the file spells them."""
    rows = []
    for n, line in enumerate(read_input_text(path, "--orientations file").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) not in (3, 9) or not all(re.fullmatch(_NUMBER, w) for w in words):
            raise InputError(f"--orientations {path}:{n}: expected 3 misset angles or 9 matrix elements, "
                             f"got {line.strip()!r}")
        if rows and len(words) != len(rows[0]):
            raise InputError(f"--orientations {path}:{n}: {len(words)} numbers, earlier lines have "
                             f"{len(rows[0])}")
        rows.append(words)
    if not rows:
        raise InputError(f"--orientations {path}: no orientations in the file")
    return rows


def _fmt_deg(value_rad: float) -> float:
    """An angle the command line gave in degrees, back from radians (12 significant digits)."""
    return float(f"{value_rad * RTD:.12g}")


@dataclasses.dataclass
class Seeds:
    """The series' seeds as the command line spells them (C stores them negated): the noise seed
    of frame 0 (`-seed`), the misset seed (`-misset_seed`) and the --vary seed."""

    seed: int
    misset_seed: int
    vary_seed: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def frame_flags(i: int, *, kind: str, settings, exp, seeds: Seeds, orientation: Optional[Sequence[str]],
                variations: Sequence[Variation], mat_path: Optional[str] = None) -> List[str]:
    """The flags frame i adds to the base command line (see the module docstring)."""
    s = settings
    flags: List[str] = []
    if kind == "sweep" and s.experiment_file is not None:
        flags += ["--image", str((s.experiment_image or 1) + i)]
    elif kind == "sweep":
        phi0, osc = _fmt_deg(s.phi0), _fmt_deg(exp.static.phi.range)
        flags += ["-phi", f"{phi0 + i * osc:.12g}"]
    random_misset = bool(s.misset_random)
    if orientation is not None:
        random_misset = list(orientation) == ["random"]
        if mat_path is not None:
            flags += ["-mat", mat_path]
        elif not random_misset:
            flags += ["-misset", *orientation]
    if random_misset:
        # The misset seed is pinned (its default is the time).  C also reads `-misset_seed N` as
        # misset angles when three tokens follow it (C quirk P1), so `-misset random` follows it
        # and wins, whatever comes after.
        step = i if orientation is not None else 0
        flags += ["-misset_seed", str(seeds.misset_seed + step), "-misset", "random"]
    if variations:
        rng = np.random.default_rng([seeds.vary_seed, i])
        for v in variations:
            flags += _varied(v, rng, exp, i)
    flags += ["-seed", str(seeds.seed + i)]
    return flags


def _varied(v: Variation, rng, exp, i: int) -> List[str]:
    p = exp.params
    if v.name == "N":
        n = v.draw(rng, float(p["N"][0]))
        if n < 1:
            raise InputError(f"--vary {v.text}: frame {i} drew N = {n:g} (N must be >= 1)")
        return ["-N", str(int(n))]
    if v.name == "lambda":
        lam = v.draw(rng, float(p["lambda"]))
        if not lam > 0:
            raise InputError(f"--vary {v.text}: frame {i} drew a wavelength of {lam:g} A")
        return ["-lambda", repr(lam)]
    cell = [float(x) for x in p["cell"]]
    a = v.draw(rng, cell[0])
    if not a > 0:
        raise InputError(f"--vary {v.text}: frame {i} drew a cell axis of {a:g} A")
    scale = a / cell[0]
    return ["-cell", repr(a), repr(cell[1] * scale), repr(cell[2] * scale),
            *(f"{x:.12g}" for x in cell[3:])]


def write_mat(path: str, words: Sequence[str]) -> None:
    """An A matrix as a MOSFLM .mat file (three lines of three numbers, as the orientation file
    spells them), written atomically."""
    text = "".join(" ".join(words[3 * r:3 * r + 3]) + "\n" for r in range(3))
    atomic_write_bytes(path, text.encode())


def plan_frames(count: int, *, kind: str, settings, exp, seeds: Seeds, template,
                orientations: Optional[List[List[str]]], variations: Sequence[Variation],
                keep_float: bool) -> List[FrameTask]:
    """Every frame's task.  Matrices from an orientation file become `<frame>.mat` files beside
    the frames (written here, so that each frame's -mat names a real file)."""
    if variations and any(v.name == "cell" for v in variations) and not settings.user_cell:
        raise InputError("--vary cell needs -cell in the flags (the cell the variation starts from)")
    tasks = []
    for i in range(count):
        path = os.path.abspath(template.path(i))
        orientation, mat_path = None, None
        if orientations is not None:
            orientation = orientations[i]
            if len(orientation) == 9:
                mat_path = os.path.splitext(path)[0] + ".mat"
        flags = frame_flags(i, kind=kind, settings=settings, exp=exp, seeds=seeds, orientation=orientation,
                            variations=variations, mat_path=mat_path)
        if mat_path is not None:
            write_mat(mat_path, orientation)
        tasks.append(FrameTask(i, tuple(flags), path,
                               os.path.abspath(template.float_path(i)) if keep_float else None))
    return tasks
