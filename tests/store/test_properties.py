"""Property tests: whatever register goes in comes out, on SQLite and PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restora.inventory.schema import METALS
from restora.store import Store

# Text a database can hold: no NUL, no lone surrogates.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
IDS = st.text(st.sampled_from("AZaz09-_·矿山"), min_size=1, max_size=6)
FLOATS = st.none() | st.floats(allow_nan=True, allow_infinity=True, width=64)
INTS = st.none() | st.integers(-(2**31), 2**31 - 1)
BOOLS = st.none() | st.booleans()
DATES = st.none() | st.dates()


@st.composite
def registers(draw: st.DrawFn, helpers: SimpleNamespace) -> tuple:
    mine_ids = draw(st.lists(IDS, min_size=1, max_size=4, unique=True))
    mines = [
        {
            "mine_id": m,
            "name": draw(TEXT.filter(bool)),
            "region_code": draw(st.sampled_from(["430726", "520102"])),
            "mineral": "coal",
            "status": "abandoned",
            "responsible_party": draw(st.none() | TEXT),
            "closure_year": draw(INTS),
            "landscape_value": draw(st.none() | st.sampled_from(["low", "high"])),
        }
        for m in mine_ids
    ]
    site_ids = draw(st.lists(IDS.map(lambda s: "S" + s), max_size=4, unique=True))
    sites = []
    for s in site_ids:
        x, y = draw(st.floats(-180, 179)), draw(st.floats(-90, 89))
        side = draw(st.floats(1e-9, 1.0))
        sites.append(
            {
                "site_id": s,
                "mine_id": draw(st.sampled_from(mine_ids)),
                "kind": "open_pit",
                "declared_area_hm2": draw(FLOATS),
                "slope_deg": draw(FLOATS),
                "water": draw(BOOLS),
                "water_depth_m": draw(FLOATS),
                "soil_thickness_m": draw(FLOATS),
                "area_hm2": draw(FLOATS),
                "geometry": draw(st.none() | st.just(shapely.box(x, y, x + side, y + side))),
            }
        )
    samples = []
    for p in draw(st.lists(IDS.map(lambda s: "P" + s), max_size=4, unique=True)):
        site = draw(st.none() | st.sampled_from(sites)) if sites else None
        rec = {
            "sample_id": p,
            "mine_id": site["mine_id"] if site else draw(st.sampled_from(mine_ids)),
            "site_id": site["site_id"] if site else None,
            "lon": draw(FLOATS),
            "lat": draw(FLOATS),
            "depth_m": draw(FLOATS),
            "ph": draw(st.floats(0, 14)),
            "land_use": "paddy",
            "lab": draw(st.none() | TEXT),
            "sampled_on": draw(DATES),
        }
        rec.update({m: draw(FLOATS) for m in METALS})
        samples.append(rec)
    hazards = [
        {
            "hazard_id": h,
            "mine_id": draw(st.sampled_from(mine_ids)),
            "kind": "collapse",
            "volume_m3": draw(FLOATS),
            "people_threatened": draw(INTS),
        }
        for h in draw(st.lists(IDS.map(lambda s: "H" + s), max_size=3, unique=True))
    ]
    subset = draw(st.lists(st.sampled_from(mine_ids), unique=True))
    return helpers.make_register(mines, sites, samples, hazards), subset


def _assert_equal(got, expected) -> None:
    for name in ("mines", "sites", "samples", "hazards"):
        g, e = getattr(got, name), getattr(expected, name)
        if name == "sites":
            wkb = [None if x is None else shapely.to_wkb(x) for x in g["geometry"]]
            assert wkb == [None if x is None else shapely.to_wkb(x) for x in e["geometry"]]
            g, e = g.drop(columns="geometry"), e.drop(columns="geometry")
        pd.testing.assert_frame_equal(g, e, check_exact=True, obj=name)


def test_round_trip_property(db_url: str, helpers: SimpleNamespace) -> None:
    store = Store(db_url)

    @settings(
        max_examples=15 if db_url.startswith("sqlite") else 8,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(registers(helpers))
    def check(case: tuple) -> None:
        register, subset = case
        try:
            store.add_register(register)
            expected = helpers.sorted_by_id(register)
            _assert_equal(store.load_register(), expected)
            # Loading some mines gives exactly their rows.
            chosen = {
                name: getattr(expected, name)[
                    getattr(expected, name)["mine_id"].isin(subset)
                ].reset_index(drop=True)
                for name in ("mines", "sites", "samples", "hazards")
            }
            _assert_equal(store.load_register(subset), type(register)(**chosen))
            assert store.counts() == {n: len(getattr(register, n)) for n in chosen}
        finally:
            store.purge_mines(store.mine_ids())
        assert store.counts() == {"mines": 0, "sites": 0, "samples": 0, "hazards": 0}

    try:
        check()
    finally:
        store.close()
