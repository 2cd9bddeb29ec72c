"""nanoBragg.c's automatic sampling rules (host side, plain Python).

phi grid (A11, L1381-1428), divergence and dispersion (S-3, L1430-1571), sensor layers (L1574-1629),
mosaic domains (C5, L1638-1672), the sanity pass (L1676-1694), fluence from flux and beam clipping
(C4, L1129-1147), interpolation auto-choice (F3, L1778-1789) and the auto-oversample (L2071-2087).

Each rule takes and returns plain numbers (SI), so it can be tested against the C table directly.
"""

from __future__ import annotations

import dataclasses
import math

from nanobragg_jax.errors import InputError


@dataclasses.dataclass(frozen=True)
class Axis:
    """A sampled axis: range, step, count (C's *range, *step, *steps)."""

    range: float
    step: float
    steps: int


def resolve_phi(osc: float, phistep: float, phisteps: int) -> Axis:
    """A11: phi steps are left endpoints phi0 + i*phistep; returns Axis(osc, phistep, phisteps).

    Arguments:
        osc: oscillation range in rad (`-osc`, converted from degrees); negative means not given.
        phistep: phi step in rad (`-phistep`); non-positive means not given.
        phisteps: number of phi steps (`-phisteps`); negative means not given, 0 is read as 1.
    Returns:
        Axis(range rad, step rad, steps) after the A11 auto-rules (osc alone: 2 steps; phistep
        alone: osc = step, 2 steps; phisteps alone: osc = 1 degree; osc and step: ceil(osc/step)).
    """
    if phisteps < 0:
        if osc < 0.0:
            if phistep <= 0.0:
                return Axis(0.0, 0.0, 1)
            return Axis(phistep, phistep, 2)
        if phistep <= 0.0:
            return Axis(osc, osc / 2.0, 2)
        return Axis(osc, phistep, int(math.ceil(osc / phistep)))
    if phisteps == 0:
        phisteps = 1
    if osc < 0.0:
        if phistep <= 0.0:
            osc = 1.0 / (180.0 * 0.318309886183790671537767526745028724)  # C: 1 degree
            return Axis(osc, osc / phisteps, phisteps)
        # C quirk A11: -phistep with -phisteps but no -osc forces 2 steps.
        return Axis(phistep, phistep, 2)
    if phistep < 0.0:
        return Axis(osc, osc / phisteps, phisteps)
    return Axis(osc, phistep, phisteps)


def resolve_spread(rng: float, step: float, steps: int, count_only_range: float = 1.0,
                   range_only_step_fraction: float = 1.0) -> Axis:
    """S-3 rule shared by hdiv, vdiv, dispersion and the sensor layers (before the sanity pass).

    C quirk S-3: a count alone gives a range of `count_only_range` (1.0: 1 rad of divergence) and
    step = range/count; a range alone gives 2 steps of range * `range_only_step_fraction`.

    Arguments:
        rng: range in the axis' own unit (rad for divergence, a fraction for dispersion, m for the
            sensor); negative means not given.
        step: step in the same unit; non-positive means not given.
        steps: count; non-positive means not given.
        count_only_range: range used when only a count is given (same unit as `rng`).
        range_only_step_fraction: step = rng * this when only a range is given.
    Returns:
        Axis(range, step, steps) before the sanity pass (see `sanity`); with a range and a count
        but no step, step = range/(steps - 1) and steps is at least 2.
    """
    if steps <= 0:
        if rng < 0.0:
            if step <= 0.0:
                return Axis(0.0, 0.0, 1)
            return Axis(step, step, 2)
        if step <= 0.0:
            return Axis(rng, rng * range_only_step_fraction, 2)
        return Axis(rng, step, int(math.ceil(rng / step)))
    if rng < 0.0:
        if step <= 0.0:
            return Axis(count_only_range, count_only_range / steps, steps)
        return Axis(step, step, 2)
    if step <= 0.0:
        steps = max(steps, 2)
        return Axis(rng, rng / (steps - 1), steps)
    return Axis(rng, step, steps)


def resolve_thickness(thick: float, step: float, steps: int) -> Axis:
    """Sensor layers (L1574-1629): the S-3 rule, except that a thickness alone gives step = thick/2
    and a count alone a 0.5 um sensor."""
    return resolve_spread(thick, step, steps, count_only_range=0.5e-6, range_only_step_fraction=0.5)


def sanity(axis: Axis) -> Axis:
    """L1676-1694: any non-positive range, step or count collapses the axis to one sample.

    Arguments:
        axis: an Axis from `resolve_spread` or `resolve_thickness` (any unit).
    Returns:
        `axis` unchanged, or Axis(0.0, 0.0, 1) when its range, step or steps is <= 0.
    """
    if axis.range <= 0.0 or axis.step <= 0.0 or axis.steps <= 0:
        return Axis(0.0, 0.0, 1)
    return axis


def resolve_mosaic(spread: float, domains: int):
    """C5 (L1638-1672) -> (spread rad, domains, printed warnings)."""
    lines = []
    if domains <= 0:
        if spread < 0.0:
            return 0.0, 1, lines
        if spread == 0.0:
            return spread, 1, lines
        lines.append("WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains")
        return spread, 10, lines
    if spread < 0.0:
        lines.append("WARNING: no mosaic spread specified.  setting mosaic_domains = 1")
        return 0.0, 1, lines
    if spread == 0.0:
        lines.append("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1")
        return spread, 1, lines
    return spread, domains, lines


def resolve_mu(thick: float, mu: float):
    """L1630-1635: a thickness without -detector_abs gives mu = 1/thick (printed as a 'depth')."""
    if thick > 0.0 and mu < 0.0:
        mu = 1.0 / thick
        return mu, ["WARNING: setting detector attenuation depth to %g m" % mu]
    return mu, []


def resolve_fluence(fluence: float, flux: float, exposure: float, beamsize: float) -> float:
    """L1130-1132: fluence = flux*exposure/beamsize^2 when a flux is given.

    Arguments:
        fluence: fluence from `-fluence`, photons/m^2 (returned when no flux applies).
        flux: photons/s (`-flux`); 0 means not given.
        exposure: exposure time in s; the flux is used only when it is > 0.
        beamsize: beam size in m; the flux is used only when it is >= 0.
    Returns:
        Fluence in photons/m^2: flux*exposure/beamsize^2 when flux != 0, exposure > 0 and
        beamsize > 0, else `fluence` unchanged.
    Raises:
        InputError: -beamsize 0 with a flux (C divides by 0: an infinite fluence and a NaN image).
    """
    if flux != 0.0 and exposure > 0.0 and beamsize >= 0:
        if beamsize == 0.0:
            raise InputError("-beamsize 0 with -flux: the fluence flux*exposure/beamsize^2 is infinite "
                             "(nanoBragg.c writes a NaN image); give a beam size > 0 or -fluence")
        return flux * exposure / beamsize / beamsize
    return fluence


def clip_sample(sample_y: float, sample_z: float, beamsize: float):
    """C quirk C4 (L1133-1143): the sample's y and z are clipped to the beam even without -flux.

    Arguments:
        sample_y: sample height in m.
        sample_z: sample width in m.
        beamsize: beam size in m; negative means no clipping.
    Returns:
        (sample_y m, sample_z m, lines): each size capped at `beamsize`, and the C warning lines
        (list of str) printed for every clip.
    """
    lines = []
    if beamsize >= 0:
        if beamsize < sample_y:
            lines.append("WARNING: clipping sample (%g m high) with beam (%g m)" % (sample_y, beamsize))
            sample_y = beamsize
        if beamsize < sample_z:
            lines.append("WARNING: clipping sample (%g m wide) with beam (%g m)" % (sample_z, beamsize))
            sample_z = beamsize
    return sample_y, sample_z, lines


def auto_interpolate(interpolate: int, Na: float, Nb: float, Nc: float):
    """C quirk F3: the auto-choice uses the command-line N (before -xtalsize and before clamping)."""
    if interpolate > 1:
        if Na <= 2 or Nb <= 2 or Nc <= 2:
            return 1, ["auto-selected tricubic interpolation of structure factors"]
        return 0, ["auto-selected no interpolation"]
    return interpolate, []


def auto_oversample(oversample: int, xtalsize_max: float, lambda0: float, distance: float,
                    pixel_size: float):
    """L2075-2087: recommended = ceil(3*xtal/(lambda*distance/pixel)), with C's final distance."""
    reciprocal_pixel_size = lambda0 * distance / pixel_size
    # C: (int)ceil(3*xtal/rps) in doubles; a zero rps gives inf, and a value past int's range
    # converts to INT_MIN on x86-64 (cvttsd2si), which the <= 0 rule then turns into 1.
    ratio = 3.0 * xtalsize_max / reciprocal_pixel_size if reciprocal_pixel_size != 0.0 else math.inf
    ceiled = math.ceil(ratio) if math.isfinite(ratio) else None
    recommended = ceiled if ceiled is not None and -2**31 <= ceiled < 2**31 else -2**31
    if recommended <= 0:
        recommended = 1
    lines = []
    if oversample <= 0:
        oversample = recommended
        lines.append("auto-selected %d-fold oversampling" % oversample)
    if oversample < recommended:
        lines += ["WARNING: maximum dimension of sample is %g A" % (xtalsize_max * 1e10),
                  "         but reciprocal pixel size is %g A" % (reciprocal_pixel_size * 1e10),
                  "         intensity may vary significantly across a pixel!",
                  "         recommend -oversample %d to work around this" % recommended]
    return max(oversample, 1), lines

