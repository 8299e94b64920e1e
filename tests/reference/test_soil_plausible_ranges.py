"""The plausibility limits never flag a value the soil standards themselves contemplate.

Each limit of ``soil/plausible-ranges`` must lie above the metal's highest risk intervention
value in GB 15618-2018 (Table 3) and GB 36600-2018 (Table 1), read from the shipped tables, and
above its screening values where it has no intervention value (Cu, Ni, Zn in GB 15618). Fails
on the code before issue 11 item 6b (no such table).
"""

from __future__ import annotations

import numpy as np

from restora.diagnosis import soil, soil_plausibility

ON = "2024-01-01"


def test_limits_lie_above_every_threshold_of_both_standards():
    ranges = soil_plausibility.load_ranges(on=ON)
    covered: set[str] = set()
    for std in ("gb15618", "gb36600"):
        v = soil.load_standard(std, ON)
        for j, p in enumerate(v.pollutants):
            highest = np.nanmax(np.concatenate([v.screening[j].ravel(), v.intervention[j].ravel()]))
            assert ranges.warn_above[p] > highest, (std, p, highest)
            covered.add(p)
    # every pollutant of either standard has a limit, with a basis and its evidence
    assert covered == set(ranges.warn_above)
    assert set(ranges.basis.values()) <= {"published_maximum", "judgement"}
    assert all(ranges.evidence[p] for p in covered)
    # a published maximum, where given, is above the limit (the limit is a judgement below it)
    assert ranges.published_max["Pb"] == 312452.0 > ranges.warn_above["Pb"]
