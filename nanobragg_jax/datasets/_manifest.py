"""The series manifest: one JSON file beside the frames that says what they are.

    {"manifest": "nanobragg_jax series", "manifest_version": 1, "version": ..., "command": [...],
     "flags": [...base nanoBragg flags...], "kind": "sweep" | "stills", "template": ..., "count": N,
     "seeds": {"seed": S, "misset_seed": M, "vary_seed": V}, "options": {...},
     "frames": [{"index": i, "flags": [...], "file": "name_00000.img", "sha256": "...",
                 "float_file": ..., "float_sha256": ..., "params": {...true parameters...},
                 "stats": {...}}, ...]}

A frame's entry gains "sha256" (and its true parameters) only once its file is complete, so the
manifest is also the record `--resume` trusts: a frame counts as done when its file exists and
still has the recorded checksum.  The file is rewritten atomically (at most every few seconds
while frames arrive, and at the end), so an interrupted run leaves the last complete version.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Optional

from nanobragg_jax.errors import InputError
from nanobragg_jax.io import atomic_write_bytes, read_input_text

MANIFEST = "nanobragg_jax series"
MANIFEST_VERSION = 1
# What must be the same for --resume to continue a manifest (besides each frame's flags).
PLAN_KEYS = ("flags", "kind", "template", "count", "options")
# Flags that change how a run looks, not what it makes.
DISPLAY_FLAGS = ("-noprogress", "-progress", "--no-cache")


def same_plan_flags(a, b) -> bool:
    """Whether two base command lines make the same frames (display-only flags aside)."""
    def strip(flags):
        return [f for f in (flags or []) if f not in DISPLAY_FLAGS]

    return strip(a) == strip(b)


def sha256_file(path: str) -> Optional[str]:
    """Hex sha256 of a file's bytes, None if it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


class Manifest:
    """The manifest of one series (see the module docstring).

    Arguments:
        path: the JSON file.  head: the top-level fields (command, flags, kind, template, count,
            seeds, options, ...).  frames: each frame's plan entry ({"index", "flags", "file",
            ["float_file"]}), file names relative to the manifest's folder.
    """

    def __init__(self, path: str, head: dict, frames: list):
        self.path = path
        self.folder = os.path.dirname(os.path.abspath(path))
        self.data = {"manifest": MANIFEST, "manifest_version": MANIFEST_VERSION, **head, "frames": frames}
        self._saved_at = 0.0
        self._save_cost = 0.0

    @property
    def frames(self) -> list:
        return self.data["frames"]

    def relative(self, path: str) -> str:
        return os.path.relpath(os.path.abspath(path), self.folder)

    def record(self, entry: dict) -> None:
        """Merge a finished frame's entry (index, checksums, params, stats)."""
        self.frames[entry["index"]].update(entry)

    def done(self) -> int:
        return sum(1 for f in self.frames if "sha256" in f)

    def save(self, *, force: bool = True) -> None:
        """Write the manifest atomically; force False skips the write if the last one was recent
        (at most one write every 2 s, or every 20 write times for a very large manifest)."""
        now = time.monotonic()
        if not force and now - self._saved_at < max(2.0, 20 * self._save_cost):
            return
        atomic_write_bytes(self.path, _dumps(self.data).encode())
        self._saved_at = time.monotonic()
        self._save_cost = self._saved_at - now

    @staticmethod
    def load(path: str) -> dict:
        """The manifest's data; InputError if it is missing or not a series manifest."""
        text = read_input_text(path, "manifest")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"manifest {path!r}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("manifest") != MANIFEST:
            raise InputError(f"manifest {path!r}: not a nanobragg series manifest")
        return data

    def resume_from(self, old: dict, digest: Optional[Callable[[int], str]] = None) -> list:
        """Take over the finished frames of an earlier manifest of the same plan.

        Every frame the old manifest records as done whose file still has the recorded checksum
        (and float file, with --float) is kept; the others are to be made again.  digest: the
        checksum of frame i as stored, for frames that share one file (NXmx); None: each frame's
        file is hashed.
        Returns the indices of the frames kept.
        Raises:
            InputError: the old manifest is of a different plan (other flags, kind, template,
                count, options or per-frame flags).
        """
        for key in PLAN_KEYS:
            same = (same_plan_flags(old.get(key), self.data.get(key)) if key == "flags"
                    else old.get(key) == self.data.get(key))
            if not same:
                raise InputError(f"--resume: {self.path} was written for a different series ({key} differs: "
                                 f"{_difference(*_plan_values(key, old, self.data))}); run without "
                                 "--resume to start again, or give another --out")
        old_frames = old.get("frames") or []
        for mine, theirs in zip(self.frames, old_frames):
            if list(theirs.get("flags", [])) != list(mine["flags"]):
                raise InputError(f"--resume: frame {mine['index']} of {self.path} had the flags "
                                 f"{' '.join(theirs.get('flags', []))}, this run makes it with "
                                 f"{' '.join(mine['flags'])}")
        candidates = [(mine, theirs) for mine, theirs in zip(self.frames, old_frames) if "sha256" in theirs]

        def intact(pair) -> bool:
            mine, theirs = pair
            for name, key in (("file", "sha256"), ("float_file", "float_sha256")):
                if name not in mine:
                    continue
                found = (digest(mine["index"]) if name == "file" and digest is not None
                         else sha256_file(os.path.join(self.folder, mine[name])))
                if found != theirs.get(key):
                    return False
            return True

        with ThreadPoolExecutor(max_workers=4) as pool:  # hashing releases the GIL
            ok = list(pool.map(intact, candidates))
        kept = []
        for (mine, theirs), good in zip(candidates, ok):
            if good:
                mine.update({k: v for k, v in theirs.items() if k not in mine})
                kept.append(mine["index"])
        return kept


def _dumps(data: dict) -> str:
    """JSON with one line per top-level field and per frame (readable, and diff-able)."""
    head = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k != "frames"]
    frames = ",\n".join("  " + json.dumps(f) for f in data.get("frames", []))
    return "{\n" + ",\n".join(head + [f' "frames": [\n{frames}\n ]']) + "\n}\n"


def _plan_values(key, old: dict, new: dict):
    """The two values of a plan key as compared (the flags without display-only ones)."""
    was, now = old.get(key), new.get(key)
    if key == "flags":
        was, now = ([f for f in (v or []) if f not in DISPLAY_FLAGS] for v in (was, now))
    return was, now


def _difference(was, now) -> str:
    """Where two manifest values differ: the first differing item of two lists, else both values."""
    if isinstance(was, list) and isinstance(now, list):
        for k, (a, b) in enumerate(zip(was, now)):
            if a != b:
                return f"item {k + 1} was {_short(a)}, now {_short(b)}"
        if len(was) != len(now):
            return f"{len(was)} items before, {len(now)} now"
    return f"{_short(was)} vs {_short(now)}"


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def frame_entry(index: int, flags: Iterable[str], file: str, float_file: Optional[str]) -> dict:
    """A frame's manifest entry before the frame is rendered (no checksum, parameters or statistics yet).

    Arguments:
        index: the frame's index in the series.
        flags: the frame's own nanoBragg flags (added to the series' base flags).
        file: the frame's image file, relative to the manifest's folder.
        float_file: its float image file, relative likewise, or None when none is written.
    Returns:
        The entry {"index", "flags", "file"}, plus "float_file" when one is given.
    """
    entry = {"index": index, "flags": list(flags), "file": file}
    if float_file is not None:
        entry["float_file"] = float_file
    return entry
