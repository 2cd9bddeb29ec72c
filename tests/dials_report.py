"""What DIALS made of a sweep, as JSON, for tests/test_dials.py.  Runs under DIALS' own Python
(`dxtbx.python dials_report.py truth.expt indexed.expt indexed.refl`), not the project's venv.

Prints {"niggli_true", "niggli_indexed": (a, b, c, alpha, beta, gamma) of the reduced cells
(cctbx), "rmsd_px": (x, y) over the reflections used in refinement, "indexed": the fraction of
strong spots indexed, "panels": [(origin, fast, slow) in the lab frame] of every panel of the
detector dxtbx built when importing (imported.expt, if given: dxtbx composes its hierarchy)}.
"""

import json
import math
import sys

from dials.array_family import flex
from dxtbx.model.experiment_list import ExperimentListFactory


def niggli(path):
    crystal = ExperimentListFactory.from_json_file(path, check_format=False)[0].crystal
    return list(crystal.get_unit_cell().niggli_cell().parameters())


def lab_panels(path):
    detector = ExperimentListFactory.from_json_file(path, check_format=False)[0].detector
    return [[list(p.get_origin()), list(p.get_fast_axis()), list(p.get_slow_axis())] for p in detector]


def main(truth, indexed, refl, imported=None):
    table = flex.reflection_table.from_file(refl)
    used = table.select(table.get_flags(table.flags.used_in_refinement))
    obs_x, obs_y, _ = used["xyzobs.px.value"].parts()
    cal_x, cal_y, _ = used["xyzcal.px"].parts()
    rmsd = [math.sqrt(flex.mean(flex.pow2(o - c))) for o, c in ((obs_x, cal_x), (obs_y, cal_y))]
    fraction = (table["id"] >= 0).count(True) / len(table)
    print(json.dumps({"niggli_true": niggli(truth), "niggli_indexed": niggli(indexed), "rmsd_px": rmsd,
                      "indexed": fraction, "used": len(used),
                      "panels": lab_panels(imported) if imported else None}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
