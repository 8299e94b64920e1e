"""A three-mine register (built in code) and its context layers, for the derivation tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from restora.inventory.geometry import equal_area_hm2
from restora.inventory.model import Register

CRS = "EPSG:4547"
X0, Y0 = 500_000.0, 3_340_000.0  # EPSG:4547: central meridian 114° E, false easting 500 km
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def square_lonlat(x: float, y: float, side: float) -> shapely.Polygon:
    """A square of ``side`` metres at projected (x, y) in EPSG:4547, in lon/lat."""
    box = shapely.box(x, y, x + side, y + side)
    return shapely.transform(box, lambda c: np.column_stack(TO_LONLAT.transform(c[:, 0], c[:, 1])))


@pytest.fixture
def register(register_frame: Callable[..., pd.DataFrame]) -> Register:
    """Mines A (metal, 2 sites: a 300 m pit and a 100 m water-filled dump), B (coal, ownerless,
    200 m tailings pond with a giant landslide threatening 1500 people), C (stone quarry, no
    hazards)."""
    sites = [
        ("A1", "A", "open_pit", X0, Y0, 300.0, False),
        ("A2", "A", "waste_rock_dump", X0 + 400, Y0, 100.0, True),
        ("B1", "B", "tailings_pond", X0 + 10_000, Y0, 200.0, False),
        ("C1", "C", "open_pit", X0 + 20_000, Y0, 100.0, False),
    ]
    geoms = [square_lonlat(x, y, s) for _, _, _, x, y, s, _ in sites]
    areas = equal_area_hm2(np.array(geoms, dtype=object))
    mines = register_frame(
        "mines",
        [
            {
                "mine_id": m,
                "name": f"Mine {m}",
                "region_code": "420100",
                "mineral": mineral,
                "status": "abandoned",
                "responsible_party": party,
                "landscape_value": lv,
            }
            for m, mineral, party, lv in (
                ("A", "metal", "Hubei Mining Co.", "high"),
                ("B", "coal", "absent", None),
                ("C", "building_stone", "Quarry Ltd.", "low"),
            )
        ],
    )
    site_rows = [
        {
            "site_id": sid,
            "mine_id": mid,
            "kind": kind,
            "geometry": g,
            "area_hm2": float(a),
            "slope_deg": 5.0,
            "soil_thickness_m": 0.6,
            "water": water,
            "water_depth_m": 2.0 if water else None,
        }
        for (sid, mid, kind, _, _, _, water), g, a in zip(sites, geoms, areas, strict=True)
    ]
    hazards = register_frame(
        "hazards",
        [
            {
                "hazard_id": "H1",
                "mine_id": "B",
                "kind": "landslide",
                "volume_m3": 2e7,
                "people_threatened": 1500,
            }
        ],
    )
    samples = register_frame(
        "samples",
        [
            # GB 15618-2018, other farmland, pH 6.0: Cd screening 0.3, intervention 2.0 mg/kg
            {
                "sample_id": "P1",
                "mine_id": "A",
                "site_id": "A1",
                "ph": 6.0,
                "land_use": "other",
                "Cd": 10.0,
            },
            {
                "sample_id": "P2",
                "mine_id": "C",
                "site_id": "C1",
                "ph": 6.0,
                "land_use": "other",
                "Cd": 0.1,
            },
        ],
    )
    return Register(
        mines=mines, sites=register_frame("sites", site_rows), samples=samples, hazards=hazards
    )


@pytest.fixture
def context_gpkg(tmp_path: Path) -> str:
    """A town 1 km north of A's pit centre (30 000 people), a road 500 m south of B, and an
    ecological red line over the corner of A's pit."""
    ctx = tmp_path / "context.gpkg"
    gpd.GeoDataFrame(
        {"name": ["Town"], "population": [30000]},
        geometry=[shapely.Point(X0 + 150, Y0 + 1150)],
        crs=CRS,
    ).to_file(ctx, layer="towns")
    gpd.GeoDataFrame(
        {"name": ["Road"]},
        geometry=[shapely.LineString([(X0 + 10_000, Y0 - 500), (X0 + 10_200, Y0 - 500)])],
        crs=CRS,
    ).to_file(ctx, layer="roads")
    gpd.GeoDataFrame(
        {"name": ["RL"]}, geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 100, Y0 + 100)], crs=CRS
    ).to_file(ctx, layer="ecological_redline")
    return str(ctx)
