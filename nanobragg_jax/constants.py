"""Physical and program constants, each defined once, with the value nanoBragg.c uses.

Plain Python floats (no JAX), shared by the set-up, the kernel and the companion programs.
"""

from __future__ import annotations

import sys

#: Degrees per radian.  C: `RTD = 180.0*M_1_PI` (nanoBragg.c L349); M_1_PI is written out so the
#: double equals glibc's constant (it also equals 180/math.pi).
RTD = 180.0 * 0.318309886183790671537767526745028724

#: Smallest positive normal double (C's DBL_MIN), what C puts in place of a zero divisor.
DBL_MIN = sys.float_info.min

#: Classical electron radius r_e in metres (CODATA value nanoBragg.c uses).
R_E = 2.81794117756025e-15

#: r_e^2 in m^2, the constant nanoBragg.c multiplies every pixel by.
R_E_SQR = 7.94079248018965e-30

#: Avogadro's number as nanoBragg.c and nonBragg.c #define it.
AVOGADRO = 6.02214179e23

#: nanoBragg.c's default fluence (photons/m^2): makes r_e^2 * fluence == 1.
DEFAULT_FLUENCE = 125932015286227086360700780544.0

#: Structure factor and molecular weight of water in nanoBragg.c's -water term.
WATER_F = 2.57
WATER_MW = 18.0

#: Distance of the sources from the sample in metres (C's source_distance; its flag is commented out).
SOURCE_DISTANCE = 10.0

#: Largest value of an unsigned 16-bit SMV pixel; C clamps to it and counts overloads.
SMV_OVERLOAD = 65535.0

#: h c in eV Angstrom as nanoBragg.c's -energy uses it (lambda = 12398.42 / E).
HC_EV_ANGSTROM = 12398.42
