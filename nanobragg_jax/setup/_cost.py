"""Before rendering: will it fit, and how long will it take?  One line naming the flag that drives
the cost, as a warning for a long run, as an error for one that cannot fit in memory or would run
for longer than the limit (`--max-hours`).  Plain Python; the numbers come from
`layout.render_cost`."""

from __future__ import annotations

import os
from typing import Optional

from nanobragg_jax.errors import InputError
from nanobragg_jax.layout import render_cost

# Renders estimated to take longer than this get a one-line warning naming what drives the time.
WARN_SECONDS = 600.0


def available_memory() -> Optional[int]:
    """Bytes of memory this process can still take (Linux MemAvailable; else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def _factor_text(exp, name: str, count: int) -> str:
    """One factor of the work with the flag that sets it."""
    L, s = exp.layout, exp.settings
    if name == "pixels":
        return f"{L.fpixels} x {L.spixels} pixels (-detpixels, or -detsize / -pixel)"
    if name == "oversample":
        text = f"-oversample {L.oversample} ({count} sub-pixels per pixel"
        if getattr(s, "oversample", 0) <= 0:
            text += (", chosen automatically from the crystal size, wavelength, pixel size and distance;"
                     " set -oversample to a smaller number to override it")
        return text + ")"
    if name == "sources":
        return f"{count} sources (-divsteps / -hdivsteps / -vdivsteps / -dispsteps, or -sourcefile)"
    flag = {"phisteps": "-phisteps", "mosaic_domains": "-mosaic_dom", "thicksteps": "-thicksteps"}[name]
    return f"{flag} {count}"


def check_render_cost(exp, *, max_hours: float = 24.0, cores: Optional[int] = None,
                      ns_per_sample: Optional[float] = None,
                      memory: Optional[int] = -1) -> list:
    """Refuse a render that cannot fit or would take too long; warn about a long one.

    Arguments:
        exp: the Experiment.
        max_hours: refuse renders estimated to take longer (hours of wall time).
        cores: cores the kernel runs on (default: this machine's).
        ns_per_sample: CPU ns per pixel-sample (default: `layout.NS_PER_SAMPLE`, a CPU figure).
        memory: bytes available (default: `available_memory()`; None: do not check memory).
    Returns:
        Warnings (one line each) for a render estimated to take longer than WARN_SECONDS.
    Raises:
        InputError: the estimate needs more memory than is available, or more than max_hours.
    """
    cores = cores or os.cpu_count() or 1
    extra = 0
    hkl = getattr(exp.static, "hkl", None)
    if hkl is not None and getattr(hkl, "F", None) is not None:
        extra += int(hkl.F.nbytes)
    if getattr(exp.static, "mask", None) is not None:
        extra += int(exp.static.mask.nbytes)
    cost = render_cost(exp.layout, ns_per_sample, cores, extra)
    memory = available_memory() if memory == -1 else memory
    if memory is not None and cost.peak_bytes > memory:
        raise InputError(f"this render needs about {_gb(cost.peak_bytes)} of memory, more than the "
                         f"{_gb(memory)} available; the image holds {_factor_text(exp, 'pixels', 0)}")
    drivers = [_factor_text(exp, name, n) for name, n in cost.factors if n > 1]
    what = (f"{cost.samples:.3g} pixel-samples: " + " x ".join(drivers)) if drivers else f"{cost.samples} pixel-samples"
    if cost.seconds > max_hours * 3600.0:
        raise InputError(f"this render would take about {_duration(cost.seconds)} on {cores} cores "
                         f"({what}); refused above --max-hours {max_hours:g}")
    if cost.seconds > WARN_SECONDS:
        return [f"this render will take about {_duration(cost.seconds)} on {cores} cores ({what})"]
    return []
