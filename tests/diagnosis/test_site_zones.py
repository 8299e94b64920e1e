"""Zoning of a register's sites from its soil samples (lon/lat → China Albers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from restora.diagnosis.site_zones import detection_limits, zone_sites
from restora.errors import InputError
from restora.inventory.geometry import equal_area_hm2

ON = "2026-01-01"
# two 0.004° squares near 112.9°E 27.6°N (≈ 395 m × 444 m, ≈ 17.5 hm² each)
SITE_A = shapely.box(112.900, 27.600, 112.904, 27.604)
SITE_B = shapely.box(112.910, 27.600, 112.914, 27.604)
SITES = pd.DataFrame(
    {
        "site_id": ["A", "B", "C"],
        "mine_id": ["M1", "M1", "M1"],
        "geometry": [SITE_A, SITE_B, SITE_B],
    }
)


def _samples(site: str, cd: float, n: int = 4, land: str = "paddy") -> pd.DataFrame:
    box = {"A": SITE_A, "B": SITE_B}[site]
    x0, y0, x1, y1 = box.bounds
    lon = np.linspace(x0 + 0.0005, x1 - 0.0005, n)
    lat = np.linspace(y0 + 0.0005, y1 - 0.0005, n)
    return pd.DataFrame(
        {
            "sample_id": [f"{site}{i}" for i in range(n)],
            "site_id": site,
            "lon": lon,
            "lat": lat,
            "land_use": land,
            "ph": 6.0,
            "Cd": cd,
            "Pb": 20.0,
        }
    )


def test_uniform_samples_give_one_zone_over_the_whole_site():
    # GB 15618-2018, paddy, 5.5 < pH ≤ 6.5: Cd screening 0.4, intervention 2.0 mg/kg.
    # A: Cd 5.0 everywhere (IDW of equal values is that value) → above intervention;
    # B: Cd 0.1, Pb 20 (screening 100) → below screening, clean; C has no sample → left out.
    smp = pd.concat([_samples("A", 5.0), _samples("B", 0.1)], ignore_index=True)
    out = {z.site_id: z for z in zone_sites(SITES, smp, on=ON)}
    assert set(out) == {"A", "B"}
    a, b = out["A"].json, out["B"].json
    assert a["n_samples"] == 4 and a["method"] == "idw" and a["land"] == "paddy"
    assert len(a["zones"]) == 1 and len(b["zones"]) == 1
    za, zb = a["zones"][0], b["zones"][0]
    assert za["standard_class"] == "strict_control" and za["governing_metal"] == "Cd"
    assert za["governing_index"] == pytest.approx(5.0 / 0.4)  # P = C / screening
    assert za["zone_class"] != "clean" and za["techniques"]
    assert all(t["unit_cost_key"] for t in za["techniques"])
    assert zb["zone_class"] == "clean" and zb["techniques"] == []
    # the zone covers the site: its area is the site's equal-area area (independent path)
    expect = float(equal_area_hm2(np.array([SITE_A], dtype=object))[0])
    assert za["area_hm2"] == pytest.approx(expect, rel=1e-6)
    assert a["site_area_hm2"] == pytest.approx(expect, rel=1e-6)
    # the domain zones for the planner are the same
    assert out["A"].result.zones[0].zone_class == za["zone_class"]


def test_mixed_land_uses_zone_as_the_most_frequent_and_say_so():
    smp = pd.concat(
        [_samples("A", 0.1, n=3, land="paddy"), _samples("A", 0.1, n=1, land="orchard")],
        ignore_index=True,
    )
    (z,) = zone_sites(SITES.iloc[:1], smp, on=ON)
    assert z.json["land"] == "paddy"
    assert any("several land uses" in w for w in z.json["warnings"])


def test_no_samples_no_zones():
    assert zone_sites(SITES, pd.DataFrame(columns=["site_id", "lon", "lat"]), on=ON) == []


def test_detection_limits_read_the_register_qualifiers():
    # what restora.inventory.censored writes ("Hg=ND; Cd=<0.05"), a Chinese separator, free text
    smp = pd.DataFrame(
        {
            "qualifiers": [
                "Hg=ND; Cd=<0.05",
                None,
                "Cd=<2；Pb=未检出",
                "checked twice",
                "Zn=<1 ug/kg",
            ]
        }
    )
    censored, limit = detection_limits(smp, ["Cd", "Hg", "Pb", "Zn"])
    assert censored.tolist() == [
        [True, True, False, False],
        [False, False, False, False],
        [True, False, True, False],
        [False, False, False, False],
        [False, False, False, False],  # a limit with its own unit is not read as mg/kg
    ]
    assert limit[0, 0] == 0.05 and limit[2, 0] == 2.0
    assert np.isnan(limit[0, 1]) and np.isnan(limit[2, 2])  # ND / 未检出: no stated limit


def test_gb36600_needs_a_land_class_and_strict_says_which_site():
    smp = _samples("A", 30.0)  # Cd 30 mg/kg
    with pytest.raises(InputError, match="site A: its samples have no land_class"):
        zone_sites(SITES.iloc[:1], smp, standard="gb36600", strict=True, on=ON)
    assert zone_sites(SITES.iloc[:1], smp, standard="gb36600", on=ON) == []  # left out
    (z,) = zone_sites(SITES.iloc[:1], smp, standard="gb36600", land="1", on=ON)
    # GB 36600 class 1 land: Cd screening 20, intervention 47 -> 30 is above screening only
    (zone,) = z.json["zones"]
    assert zone["governing_index"] == pytest.approx(30 / 20)
    assert zone["standard_class"] == "safe_utilization"
    assert z.json["min_zone_area_m2"] == 200.0  # TD/T 1055-2019: construction land
    with pytest.raises(InputError, match="'9' is not one of 1, 2"):
        zone_sites(SITES.iloc[:1], smp, standard="gb36600", land="9", strict=True, on=ON)
