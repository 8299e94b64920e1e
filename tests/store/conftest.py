"""Fixtures for the store tests: one database per test, on SQLite and on PostgreSQL.

PostgreSQL tests run in a fresh schema of their own (unique name, selected through the
connection's ``search_path``) that is dropped afterwards, so they can run beside other tests on
the same server. An unreachable server makes them fail, not skip.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from restora.inventory.model import DETECTION_LIMIT_COLUMNS, Register
from restora.inventory.schema import METALS
from restora.store.engine import sqlite_path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database: a SQLite file, or a fresh PostgreSQL schema (``pg_schema_url``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'restora.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def file_digest(url: str) -> str:
    """SHA-256 of a SQLite store's file."""
    path = sqlite_path(url)
    assert path is not None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_register(
    mines: list[dict[str, Any]],
    sites: list[dict[str, Any]] = (),  # type: ignore[assignment]
    samples: list[dict[str, Any]] = (),  # type: ignore[assignment]
    hazards: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Register:
    """A register from row dicts, with the dtypes the store returns (see restora.store.frames)."""
    empty = Register.empty()
    frames = {}
    for name, recs in (
        ("mines", mines),
        ("sites", sites),
        ("samples", samples),
        ("hazards", hazards),
    ):
        template = getattr(empty, name)
        data = {}
        for col in template.columns:
            values = [r.get(col) for r in recs]
            data[col] = values
        frame = pd.DataFrame(data, columns=template.columns)
        frames[name] = canonical(name, frame)
    return Register(**frames)


def canonical(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give a test frame the store's dtypes (built independently of restora.store.frames)."""
    from restora.inventory.schema import TABLES

    kinds = {c.name: c.kind for c in TABLES[name]}
    kinds.update({m: "float" for m in METALS} if name == "samples" else {})
    kinds.update(
        dict.fromkeys(DETECTION_LIMIT_COLUMNS.values(), "float") if name == "samples" else {}
    )
    kinds.update({"area_hm2": "float"} if name == "sites" else {})
    out = {}
    for col in frame.columns:
        kind = kinds.get(col, "object")
        values = frame[col].tolist()
        if kind == "str":
            out[col] = pd.Series(values, dtype="str")
        elif kind == "float":
            out[col] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif kind == "int":
            out[col] = pd.Series(values, dtype="Int64")
        elif kind == "bool":
            out[col] = pd.Series(values, dtype="boolean")
        else:
            out[col] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, columns=frame.columns)


def square(lon: float, lat: float, side_deg: float = 0.001) -> shapely.Polygon:
    """A square polygon with its south-west corner at (lon, lat) [degrees]."""
    return shapely.box(lon, lat, lon + side_deg, lat + side_deg)


@pytest.fixture
def sample_register() -> Register:
    """Two mines, three sites, three samples, two hazards; every kind of value and of gap."""
    holed = shapely.Polygon(
        [(110.0, 30.0), (110.01, 30.0), (110.01, 30.01), (110.0, 30.01)],
        holes=[[(110.002, 30.002), (110.004, 30.002), (110.004, 30.004), (110.002, 30.004)]],
    )
    multi = shapely.MultiPolygon([square(111.0, 31.0), square(111.01, 31.0)])
    mines = [
        {
            "mine_id": "HN-0002",
            "name": "石门雄黄矿",
            "region_code": "430726",
            "mineral": "metal",
            "status": "abandoned",
            "responsible_party": "absent",
            "closure_year": 2011,
            "landscape_value": "high",
        },
        {
            "mine_id": "HN-0001",
            "name": "冷水江锑矿 No. 3",
            "region_code": "431381",
            "mineral": "metal",
            "status": "closed",
            "responsible_party": None,
            "closure_year": None,
            "landscape_value": None,
        },
    ]
    sites = [
        {
            "site_id": "S-3",
            "mine_id": "HN-0002",
            "kind": "tailings_pond",
            "declared_area_hm2": 12.5,
            "slope_deg": 0.0,
            "water": True,
            "water_depth_m": 1.25,
            "soil_thickness_m": None,
            "area_hm2": 99.123456789,
            "geometry": holed,
        },
        {
            "site_id": "S-1",
            "mine_id": "HN-0001",
            "kind": "open_pit",
            "declared_area_hm2": None,
            "slope_deg": 35.5,
            "water": False,
            "water_depth_m": None,
            "soil_thickness_m": 0.3,
            "area_hm2": 1.0 / 3.0,
            "geometry": multi,
        },
        {
            "site_id": "S-2",
            "mine_id": "HN-0001",
            "kind": "waste_rock_dump",
            "water": None,
            "area_hm2": 0.5,
            "geometry": square(111.2, 31.2),
        },
    ]
    samples = [
        {
            "sample_id": "P-2",
            "mine_id": "HN-0002",
            "site_id": "S-3",
            "lon": 110.005,
            "lat": 30.005,
            "depth_m": 0.2,
            "ph": 5.5,
            "land_use": "paddy",
            "lab": "湖南省地质测试研究院",
            "sampled_on": dt.date(2024, 4, 30),
            "Cd": 1.8,
            "As": 312.0,
            "Pb": 0.1 + 0.2,  # not representable exactly: must come back bit for bit
        },
        {
            "sample_id": "P-1",
            "mine_id": "HN-0001",
            "site_id": None,
            "ph": 7.0,
            "land_use": "other",
            "sampled_on": None,
            "Zn": 250.0,
        },
        {
            "sample_id": "P-10",
            "mine_id": "HN-0001",
            "site_id": "S-1",
            "ph": 6.8,
            "land_use": "orchard",
            "sampled_on": dt.date(2023, 12, 31),
            "Hg": 0.0,
        },
    ]
    hazards = [
        {
            "hazard_id": "H-2",
            "mine_id": "HN-0001",
            "site_id": "S-1",
            "kind": "collapse",
            "volume_m3": 12000.0,
            "people_threatened": 35,
            "property_threatened_cny": 2.5e6,
            "distance_to_buildings_m": 80.0,
            "lon": 111.005,
            "lat": 31.0005,
        },
        {
            "hazard_id": "H-1",
            "mine_id": "HN-0002",
            "site_id": None,
            "kind": "debris_flow",
            "people_threatened": None,
        },
    ]
    return make_register(mines, sites, samples, hazards)


def sorted_by_id(register: Register) -> Register:
    """The register with each table sorted by id in code-point order (what the store returns)."""
    ids = {"mines": "mine_id", "sites": "site_id", "samples": "sample_id", "hazards": "hazard_id"}
    out = {}
    for name, id_col in ids.items():
        frame = getattr(register, name)
        order = sorted(range(len(frame)), key=lambda i: str(frame[id_col].iloc[i]))
        out[name] = frame.iloc[order].reset_index(drop=True)
    return Register(**out)


@pytest.fixture
def helpers() -> SimpleNamespace:
    """The helpers above, for test modules (which cannot import a conftest)."""
    return SimpleNamespace(
        make_register=make_register,
        canonical=canonical,
        square=square,
        sorted_by_id=sorted_by_id,
        file_digest=file_digest,
    )
