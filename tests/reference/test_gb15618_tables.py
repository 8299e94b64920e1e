"""GB 15618-2018 reference tables reproduce every value of the published standard.

The independent source is tests/data/reference/gb15618-2018.yaml, a transcription of the
standard's Tables 1 and 3 made apart from the shipped reference tables; it is compared, cell by
cell, with the refdata tables and with the arrays the classifier indexes.
"""

from __future__ import annotations

import numpy as np

from restora import refdata
from restora.diagnosis import soil

ON = "2024-01-01"
LAND_USES = ("paddy", "orchard", "other")


def test_ph_band_edges_match_the_reference(gb15618):
    bands = gb15618["ph_bands"]
    assert [b["upper_inclusive"] for b in bands] == [5.5, 6.5, 7.5, None]
    t = refdata.get("soil/gb15618-2018/ph-bands", on=ON)
    assert [r["upper_inclusive"] for r in t.data] == [b["upper_inclusive"] for b in bands]
    assert [r["lower_exclusive"] for r in t.data] == [b["lower_exclusive"] for b in bands]
    # upper bound inclusive ("pH ≤ 5.5", "5.5 < pH ≤ 6.5"): the edges belong to the lower band
    vals = soil.load_standard("gb15618", on=ON)
    assert soil.ph_band([5.5, 6.5, 7.5], vals.ph_upper).tolist() == [0, 1, 2]
    assert soil.ph_band(np.nextafter([5.5, 6.5, 7.5], 99), vals.ph_upper).tolist() == [1, 2, 3]


def test_screening_table_reproduces_every_reference_value(gb15618):
    body = gb15618["screening"]
    t = refdata.get("soil/gb15618-2018/screening", on=ON)
    assert "GB 15618-2018" in t.source and t.unit == gb15618["unit"] == "mg/kg"
    ours = {(r["pollutant"], r["land"]): r for r in t.data}
    assert len(ours) == len(body) == 14
    band_cols = [b["band"] for b in refdata.get("soil/gb15618-2018/ph-bands", on=ON).data]
    for row in body:
        key = (row["pollutant"], row["land"])
        assert key in ours, key
        assert [float(ours[key][b]) for b in band_cols] == [float(v) for v in row["values"]], key


def test_classifier_arrays_use_the_right_row_for_each_land_use(gb15618):
    """Which row governs which land use, derived from the standard's wording.

    paddy -> paddy; orchard -> orchard; all -> every land use; other -> the land uses no other
    row of that pollutant names (其他, which for Cu includes paddy).
    """
    vals = soil.load_standard("gb15618", on=ON)
    by_pollutant: dict[str, dict[str, list[float]]] = {}
    for row in gb15618["screening"]:
        by_pollutant.setdefault(row["pollutant"], {})[row["land"]] = [
            float(v) for v in row["values"]
        ]
    assert set(by_pollutant) == set(vals.pollutants) == {
        "Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"
    }  # fmt: skip
    checked = 0
    for pollutant, lands in by_pollutant.items():
        m = vals.pollutants.index(pollutant)
        for land_use in LAND_USES:
            if land_use in lands:
                expected = lands[land_use]
            elif "all" in lands:
                expected = lands["all"]
            else:
                expected = lands["other"]
            got = vals.screening[m, LAND_USES.index(land_use), :].tolist()
            assert got == expected, (pollutant, land_use)
            checked += 1
    assert checked == 8 * 3


def test_intervention_table_reproduces_every_reference_value(gb15618):
    body = gb15618["intervention"]
    t = refdata.get("soil/gb15618-2018/intervention", on=ON)
    assert "Table 3" in t.source and t.unit == "mg/kg"
    ours = {r["pollutant"]: r for r in t.data}
    assert set(ours) == {r["pollutant"] for r in body} == {"Cd", "Hg", "As", "Pb", "Cr"}
    band_cols = [b["band"] for b in refdata.get("soil/gb15618-2018/ph-bands", on=ON).data]
    vals = soil.load_standard("gb15618", on=ON)
    for row in body:
        expected = [float(v) for v in row["values"]]
        assert [float(ours[row["pollutant"]][b]) for b in band_cols] == expected
        m = vals.pollutants.index(row["pollutant"])
        for li in range(3):  # all agricultural land
            assert vals.intervention[m, li, :].tolist() == expected
    # the standard gives Cu, Ni and Zn no intervention value
    assert gb15618["intervention_none"] == ["Cu", "Ni", "Zn"]
    for p in gb15618["intervention_none"]:
        assert np.isnan(vals.intervention[vals.pollutants.index(p)]).all()
