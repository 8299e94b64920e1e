"""Hand-made plans shared by the costing tests."""

from __future__ import annotations

import pytest

from restora.planning.model import RestorationPlan


def quarry_and_subsidence() -> RestorationPlan:
    """A limestone quarry face (2 hm²) and a coal subsidence area (10 hm²), price year 2023."""
    w = dict
    return RestorationPlan.model_validate(
        {
            "mine_id": "HAND-1",
            "region_code": "000000",
            "price_year": 2023,
            "start_year": 2025,
            "post_closure_years": 3,
            "sites": [
                {
                    "site_id": "Q1",
                    "kind": "open_pit",
                    "area_hm2": 2.0,
                    "after_use": "forest",
                    "topsoil_m": 0.3,
                    "works": [
                        w(item="slope_cutting", quantity=4000, unit="m3", phase="closure_hazard"),
                        w(item="anchoring", quantity=200, unit="m", phase="closure_hazard"),
                        w(item="retaining_wall", quantity=120, unit="m3", phase="closure_hazard"),
                        w(item="drainage_ditch", quantity=300, unit="m", phase="closure_hazard"),
                        w(
                            item="terrain_reshaping",
                            quantity=2,
                            unit="hm2",
                            phase="basic_restoration",
                            start_year=1,
                        ),
                        w(
                            item="topsoil_cover",
                            quantity=6000,
                            unit="m3",
                            phase="basic_restoration",
                            start_year=1,
                        ),
                        w(
                            item="tree_planting",
                            quantity=3000,
                            unit="plant",
                            phase="revegetation",
                            start_year=1,
                        ),
                        w(
                            item="shrub_planting",
                            quantity=2666,
                            unit="plant",
                            phase="revegetation",
                            start_year=1,
                        ),
                        w(
                            item="grass_seeding",
                            quantity=20000,
                            unit="m2",
                            phase="revegetation",
                            start_year=1,
                        ),
                        w(
                            item="tree_planting",
                            quantity=450,
                            unit="plant",
                            phase="revegetation",
                            start_year=2,
                            note="replanting 15 % dead",
                        ),
                        w(
                            item="irrigation",
                            quantity=2,
                            unit="hm2*yr",
                            phase="maintenance",
                            start_year=2,
                            years=3,
                            per_year=True,
                        ),
                    ],
                },
                {
                    "site_id": "S1",
                    "kind": "subsidence_area",
                    "area_hm2": 10.0,
                    "after_use": "water",
                    "works": [
                        w(item="fissure_filling", quantity=1000, unit="m3", phase="closure_hazard"),
                        w(item="pit_filling", quantity=5000, unit="m3", phase="closure_hazard"),
                        w(
                            item="terrain_reshaping",
                            quantity=10,
                            unit="hm2",
                            phase="basic_restoration",
                        ),
                        w(
                            item="pond_excavation",
                            quantity=20000,
                            unit="m3",
                            phase="basic_restoration",
                        ),
                        w(
                            item="bank_protection",
                            quantity=400,
                            unit="m",
                            phase="basic_restoration",
                        ),
                        w(
                            item="soil_amendment",
                            quantity=8,
                            unit="hm2",
                            phase="basic_restoration",
                            start_year=1,
                        ),
                    ],
                },
            ],
            "mine_works": [
                w(item="topographic_survey", quantity=12, unit="hm2", phase="survey_design"),
                w(
                    item="sampling_campaign",
                    quantity=1,
                    unit="campaign",
                    phase="monitoring",
                    years=4,
                    per_year=True,
                ),
                w(
                    item="remote_sensing",
                    quantity=1,
                    unit="mine*yr",
                    phase="monitoring",
                    years=4,
                    per_year=True,
                ),
                w(item="verification", quantity=1, unit="mine", phase="verification", start_year=4),
            ],
        }
    )


@pytest.fixture
def hand_plan() -> RestorationPlan:
    return quarry_and_subsidence()


HEADER = "item,kind,phase,unit,low,likely,high,price_year,source\n"


def write_unit_cost_table(folder, rows: str | None, csv: str = "hn.csv", region: str = "430000"):
    """A user's regional unit-cost table under ``folder``/costing (rows=None: no data file)."""
    from restora import refdata

    d = folder / "costing"
    d.mkdir(exist_ok=True)
    (d / "unit-costs.yaml").write_text(
        "title: t\nsource: test quota\nunit: CNY\nversions:\n"
        f"  - {{valid_from: 2023-01-01, region: '{region}', csv: {csv}}}\n",
        encoding="utf-8",
    )
    if rows is not None:
        (d / csv).write_text(HEADER + rows, encoding="utf-8")
    refdata.reload()
    return str(d / csv)


@pytest.fixture
def user_path(tmp_path, monkeypatch):
    """A folder on RESTORA_REFDATA_PATH for the test's own tables (reloaded before and after)."""
    from restora import refdata

    monkeypatch.setenv("RESTORA_REFDATA_PATH", str(tmp_path))
    refdata.reload()
    yield tmp_path
    monkeypatch.delenv("RESTORA_REFDATA_PATH")
    refdata.reload()


@pytest.fixture
def unit_cost_table(user_path):
    """Write a regional unit-cost table into ``user_path`` (see :func:`write_unit_cost_table`)."""
    return lambda rows, **kw: write_unit_cost_table(user_path, rows, **kw)
