"""GB 15618-2018 reference tables reproduce every value of ../shared/reference/soil-standards.md.

The Markdown tables of the shared reference are parsed here as the independent source and
compared, cell by cell, with the refdata tables and with the arrays the classifier indexes.
"""

from __future__ import annotations

import re

import numpy as np

from restora import refdata
from restora.diagnosis import soil

ON = "2024-01-01"
BANDS_MD = ("≤5.5", "5.5–6.5", "6.5–7.5", ">7.5")
LAND_USES = ("paddy", "orchard", "other")


def md_land(cell: str) -> str:
    # "paddy (水田)" -> paddy, "other (incl. paddy)" -> other, "all" -> all
    return cell.split()[0]


def test_ph_band_edges_match_the_reference(md):
    line = next(x for x in md.splitlines() if x.startswith("pH bands:"))
    edges = sorted({float(v) for v in re.findall(r"\d+\.\d+", line)})
    assert edges == [5.5, 6.5, 7.5]
    t = refdata.get("soil/gb15618-2018/ph-bands", on=ON)
    assert [r["upper_inclusive"] for r in t.data] == [5.5, 6.5, 7.5, None]
    assert [r["lower_exclusive"] for r in t.data] == [None, 5.5, 6.5, 7.5]
    # upper bound inclusive ("pH ≤ 5.5", "5.5 < pH ≤ 6.5"): the edges belong to the lower band
    vals = soil.load_standard("gb15618", on=ON)
    assert soil.ph_band([5.5, 6.5, 7.5], vals.ph_upper).tolist() == [0, 1, 2]
    assert soil.ph_band(np.nextafter([5.5, 6.5, 7.5], 99), vals.ph_upper).tolist() == [1, 2, 3]


def test_screening_table_reproduces_every_reference_value(md, md_table):
    rows = md_table(md, "Risk screening values (风险筛选值, Table 1)")
    header, body = rows[0], rows[1:]
    assert header[2:] == list(BANDS_MD)
    t = refdata.get("soil/gb15618-2018/screening", on=ON)
    assert "GB 15618-2018" in t.source and t.unit == "mg/kg"
    ours = {(r["pollutant"], r["land"]): r for r in t.data}
    assert len(ours) == len(body) == 14
    band_cols = [b["band"] for b in refdata.get("soil/gb15618-2018/ph-bands", on=ON).data]
    for cells in body:
        key = (cells[0], md_land(cells[1]))
        assert key in ours, key
        assert [float(ours[key][b]) for b in band_cols] == [float(c) for c in cells[2:]], key


def test_classifier_arrays_use_the_right_row_for_each_land_use(md, md_table):
    """Which row governs which land use, derived from the reference's wording.

    paddy -> paddy; orchard -> orchard; all -> every land use; other -> the land uses no other
    row of that pollutant names ("other (incl. paddy)" for Cu).
    """
    body = md_table(md, "Risk screening values (风险筛选值, Table 1)")[1:]
    vals = soil.load_standard("gb15618", on=ON)
    by_pollutant: dict[str, dict[str, list[float]]] = {}
    for cells in body:
        by_pollutant.setdefault(cells[0], {})[md_land(cells[1])] = [float(c) for c in cells[2:]]
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


def test_intervention_table_reproduces_every_reference_value(md, md_table):
    rows = md_table(md, "Risk intervention values (风险管制值, Table 3)")
    header, body = rows[0], rows[1:]
    assert header[1:] == list(BANDS_MD)
    t = refdata.get("soil/gb15618-2018/intervention", on=ON)
    assert "Table 3" in t.source and t.unit == "mg/kg"
    ours = {r["pollutant"]: r for r in t.data}
    assert set(ours) == {c[0] for c in body} == {"Cd", "Hg", "As", "Pb", "Cr"}
    band_cols = [b["band"] for b in refdata.get("soil/gb15618-2018/ph-bands", on=ON).data]
    vals = soil.load_standard("gb15618", on=ON)
    for cells in body:
        expected = [float(c) for c in cells[1:]]
        assert [float(ours[cells[0]][b]) for b in band_cols] == expected
        m = vals.pollutants.index(cells[0])
        for li in range(3):  # all agricultural land
            assert vals.intervention[m, li, :].tolist() == expected
    # "Cu, Ni, Zn have none"
    for p in ("Cu", "Ni", "Zn"):
        assert np.isnan(vals.intervention[vals.pollutants.index(p)]).all()
