"""A small synthetic store for the indicator tests, built with the repo's functions where they
exist (projects, appraisals, obligations, surplus) and Core inserts where the tests are not
about the writer (register rows, registry blocks and trades, milestones and sign-offs).

Not a test module: loaded by path (:func:`load`). The figures are chosen so that every
indicator can be worked by hand (tests/evaluation/test_indicators_store.py).

Register (site area = damaged area):

========  ========  =======  =========  =====================  ==============
mine      region    mineral  status     responsible party      area [hm²]
========  ========  =======  =========  =====================  ==============
M-A       430521    coal     abandoned  (none)                 100
M-B       430522    metal    producing  B 矿业有限公司           50
M-C       440101    coal     abandoned  (none)                 200
M-D       430521    coal     producing  D 煤业有限公司           30
========  ========  =======  =========  =====================  ==============

Projects (their latest appraisal):

- P1 on M-A, start 2024, resource_utilization: grant 300, loan 500, sponsor equity 200 (no
  responsible party: the sponsor is social capital) → public 300, social capital 700; ESV
  +50/yr, GEP 100 → 160 /yr. Milestones M1 (due 2025-06-30, accepted 2025-06-20: on time) and
  M2 (due 2025-12-31, accepted 2026-01-10: late) → complete. Units: CSINK 60 held + 40 retired,
  25 traded for 1 250 CNY. Registered 2024-01-01, appraised 2024-03-01 (an older version
  2024-02-01 first: 31 days).
- P2 on M-B, start 2025, safety_baseline: grant 100, sponsor equity 400 (responsible party
  present: enterprise), operating surplus 100; ESV +30/yr. Milestones M3 (due 2025-09-30, not
  accepted: overdue on 2026-03-01), M4 (due 2027-01-01: pending). Units: CLQ 500 serials held
  + 200 retired (7.00 mu issued, 2.00 used), 100 serials (1.00 mu) traded for 30 000 CNY; EST
  1 200 m³ of M-B sold for 24 000 CNY against 1 000 m³ approved (one SOLD-BEYOND-APPROVED
  alert). Registered 2025-01-01, appraised 2025-02-01.
- P3 on M-C, start 2026, industry_integration, no financing stage. Registered 2026-01-01,
  appraised 2026-01-02.
- P4 on M-C, start 2026, not appraised.

Fund accruals (due by 2026-03-01): M-B 400 due, 400 paid; M-D 1 000 due, 600 paid (and 500
due 2027-06-30, not counted).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve()
ON = dt.date(2026, 3, 1)


def load() -> Any:
    name = "restora_tests_indicators_support"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _utc(d: str) -> dt.datetime:
    """Noon in Beijing (04:00 UTC) of a day."""
    return dt.datetime.fromisoformat(d).replace(hour=4, tzinfo=dt.UTC)


MINES = (
    ("M-A", "430521", "coal", "abandoned", None, 100.0),
    ("M-B", "430522", "metal", "producing", "B 矿业有限公司", 50.0),
    ("M-C", "440101", "coal", "abandoned", None, 200.0),
    ("M-D", "430521", "coal", "producing", "D 煤业有限公司", 30.0),
)


def document(
    mine: str,
    mode: str,
    party: str,
    sources: list[tuple[str, float]] | None,
    esv: float | None = None,
    gep: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """A minimal appraisal document: the stages the indicators read."""
    stages: dict[str, Any] = {
        "modes": {
            "status": "assessed",
            "mines": [
                {
                    "mine_id": mine,
                    "primary_mode": mode,
                    "profile": {"profile": {"responsible_party": party, "funding_source": None}},
                }
            ],
        },
        "financing": {"status": "not_assessed"},
        "value": {"status": "assessed", "esv": {}, "gep": {"status": "not_assessed"}},
    }
    if sources is not None:
        stages["financing"] = {
            "status": "assessed",
            "structure": {
                "status": "assessed",
                "sources_uses": {
                    "sources": [{"item": i, "total_cny": a} for i, a in sources],
                },
            },
        }
    if esv is not None:
        stages["value"]["esv"] = {"change_cny_per_yr": esv}
    if gep is not None:
        stages["value"]["gep"] = {
            "status": "assessed",
            "before_cny_per_yr": gep[0],
            "after_cny_per_yr": gep[1],
        }
    return {"schema": "restora.appraisal/1", "project": {"mines": [mine]}, "stages": stages}


def build(store: Any) -> None:
    """Write the synthetic set into an empty store."""
    from restora.store import integrity, trading
    from restora.store.accounts import create_organisation
    from restora.store.audit import Change
    from restora.store.evaluation import add_appraised_project
    from restora.store.monitoring_tables import monitoring_milestones as MS
    from restora.store.monitoring_tables import monitoring_signoffs as SO
    from restora.store.platform_tables import appraisals, projects
    from restora.store.registry_tables import registry_accounts as ACC
    from restora.store.registry_tables import registry_blocks as BL
    from restora.store.registry_tables import registry_trades as TR
    from restora.store.tables import mines, sites

    engine = store.engine
    change = Change("tests/evaluation indicators", user="tests")
    with engine.begin() as conn:
        for mid, region, mineral, status, party, area in MINES:
            conn.execute(
                mines.insert().values(
                    mine_id=mid, name=f"矿山 {mid}", region_code=region, mineral=mineral,
                    status=status, responsible_party=party,
                )
            )  # fmt: skip
            conn.execute(
                sites.insert().values(site_id=f"{mid}-S1", mine_id=mid, kind="pit", area_hm2=area)
            )
    spec = {"horizon_years": 10}
    docs = {
        "P1": (
            "M-A", 2024,
            document("M-A", "resource_utilization", "absent",
                     [("grant", 300.0), ("loan_drawdown", 500.0), ("sponsor_equity", 200.0)],
                     esv=50.0, gep=(100.0, 160.0)),
        ),
        "P2": (
            "M-B", 2025,
            document("M-B", "safety_baseline", "present",
                     [("grant", 100.0), ("sponsor_equity", 400.0), ("operating_surplus", 100.0)],
                     esv=30.0),
        ),
        "P3": ("M-C", 2026, document("M-C", "industry_integration", "absent", None)),
    }  # fmt: skip
    # P1's first version (2024-02-01) is superseded by a second one (2024-03-01)
    add_appraised_project(
        store,
        {"project_id": "P1", "name": "项目一", "mines": ["M-A"], "start_year": 2024, **spec},
        document("M-A", "safety_baseline", "absent", [("grant", 1.0)]),
        change=change,
    )
    for pid, (mine, year, doc) in docs.items():
        add_appraised_project(
            store,
            {"project_id": pid, "name": f"项目 {pid}", "mines": [mine], "start_year": year, **spec},
            doc,
            change=change,
        )
    from restora.store.projects import create_project

    create_project(
        store,
        {"project_id": "P4", "name": "项目四", "mines": ["M-C"], "start_year": 2026, **spec},
        change=change,
    )
    registered = {"P1": "2024-01-01", "P2": "2025-01-01", "P3": "2026-01-01", "P4": "2026-01-05"}
    appraised = {("P1", 1): "2024-02-01", ("P1", 2): "2024-03-01", ("P2", 1): "2025-02-01",
                  ("P3", 1): "2026-01-02"}  # fmt: skip
    with engine.begin() as conn:
        for pid, d in registered.items():
            conn.execute(
                projects.update().where(projects.c.project_id == pid).values(created_at=_utc(d))
            )
        for (pid, v), d in appraised.items():
            conn.execute(
                appraisals.update()
                .where(appraisals.c.project_id == pid, appraisals.c.version == v)
                .values(created_at=_utc(d))
            )
        for mid, pid, due, accepted in (
            ("M1", "P1", "2025-06-30", "2025-06-20"),
            ("M2", "P1", "2025-12-31", "2026-01-10"),
            ("M3", "P2", "2025-09-30", None),
            ("M4", "P2", "2027-01-01", None),
        ):
            conn.execute(
                MS.insert().values(
                    id=mid, project_id=pid, name=mid, indicator="soil_cd", comparison="<=",
                    target=0.3, due_on=dt.date.fromisoformat(due), params={}, status=(
                        "accepted" if accepted else "open"), created_at=_utc("2024-01-01"),
                )
            )  # fmt: skip
            if accepted:
                conn.execute(
                    SO.insert().values(
                        milestone_id=mid, project_id=pid, decision="accepted", value=0.2,
                        evidence={}, report_sha256="0" * 64, evaluator="eva",
                        signed_at=_utc(accepted),
                    )
                )  # fmt: skip
        # a rejected sign-off of M3 does not make it accepted
        conn.execute(
            SO.insert().values(
                milestone_id="M3", project_id="P2", decision="rejected", value=0.5, evidence={},
                report_sha256="1" * 64, evaluator="eva", signed_at=_utc("2025-09-20"),
            )
        )  # fmt: skip
        acc = conn.execute(
            ACC.insert()
            .values(kind="holding", name="holder", created_at=_utc("2024-01-01"))
            .returning(ACC.c.id)
        ).scalar_one()
        blocks = (
            ("CSINK", 1, 60, "held", "P1", {}),
            ("CSINK", 61, 100, "retired", "P1", {}),
            ("CLQ", 1, 500, "held", "P2", {}),
            ("CLQ", 501, 700, "retired", "P2", {}),
            ("CLQ", 701, 800, "cancelled", "P2", {}),  # cancelled: not counted as issued
            ("EST", 1, 1200, "held", "P2", {"mine_id": "M-B", "grade": "A"}),
        )
        for ut, a, b, status, pid, attrs in blocks:
            conn.execute(
                BL.insert().values(
                    unit_type=ut, serial_start=a, serial_end=b, account_id=acc, status=status,
                    project_id=pid, vintage=2025, region_code="430521", attrs=attrs, event_id=1,
                )
            )  # fmt: skip
        for ut, a, b, fen in (("CSINK", 1, 25, 125_000), ("CLQ", 1, 100, 3_000_000),
                              ("EST", 1, 1200, 2_400_000)):  # fmt: skip
            conn.execute(
                TR.insert().values(
                    venue="book", reference=f"{ut} trade", unit_type=ut, serial_start=a,
                    serial_end=b, price_fen=fen, buyer=acc, seller=acc, payee=acc, event_id=1,
                    at=_utc("2025-08-01"),
                )
            )  # fmt: skip
    trading.set_surplus(store, "M-B", {2025: 1000.0}, at=_utc("2025-01-01"), project_id="P2")
    for name, mine in (("B 矿业有限公司", "M-B"), ("D 煤业有限公司", "M-D")):
        org = create_organisation(engine, name, "enterprise", "430521", change=change)
        rows = {"M-B": [("2025-12-31", 400.0, 400.0)],
                "M-D": [("2025-12-31", 1000.0, 600.0), ("2027-06-30", 500.0, None)]}[mine]  # fmt: skip
        for due, amount, paid in rows:
            integrity.add_obligation(
                store, org_id=org["id"], kind="fund_accrual", due_on=due,
                description=f"{mine} fund {due}", amount=amount, mine_id=mine,
                done_on="2025-12-20" if paid is not None else None, done_amount=paid,
                change=change,
            )  # fmt: skip


def counts(store: Any) -> dict[str, int]:
    """Rows of the tables the indicators read (reading must not change them)."""
    from restora.store.tables import metadata

    with store.engine.connect() as conn:
        return {
            t: conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[t])).scalar_one()
            for t in ("projects", "appraisals", "changes", "audit", "registry_blocks")
        }
