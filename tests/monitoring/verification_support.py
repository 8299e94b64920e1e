"""Helpers of the verification tests: a mine with soil samples, an owner organisation, the
QS-M28 demo project on that mine, an evaluator account.

Not a test module (pytest does not collect it): the tests load it by path (:func:`load`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
AT = dt.datetime(2030, 6, 1, 8, 0, tzinfo=dt.UTC)
REPORT = hashlib.sha256(b"evaluator's report").hexdigest()


def load() -> Any:
    """This module, loaded by path."""
    name = "restora_tests_verification_support"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def add_mine(store: Any, mine_id: str, *, region_code: str = "430599") -> None:
    """A mine with one site in the register (Core inserts: the register's own checks are not
    what these tests are about)."""
    from restora.store.tables import mines, sites

    with store.engine.begin() as conn:
        conn.execute(
            mines.insert().values(
                mine_id=mine_id, name=f"Mine {mine_id}", region_code=region_code,
                mineral="lead-zinc", status="abandoned",
            )
        )  # fmt: skip
        conn.execute(sites.insert().values(site_id=f"{mine_id}-S1", mine_id=mine_id, kind="pit"))


def add_samples(store: Any, mine_id: str, cd: list[float], *, ph: float = 7.0) -> None:
    """Farmland ('other') soil samples of a mine: Cd as given, Pb 50 mg/kg (below its screening
    value 120 at pH 6.5-7.5, GB 15618-2018 Table 1)."""
    from restora.store.tables import samples

    with store.engine.begin() as conn:
        for i, c in enumerate(cd):
            conn.execute(
                samples.insert().values(
                    {
                        "sample_id": f"{mine_id}-SS{i:02d}",
                        "mine_id": mine_id,
                        "site_id": f"{mine_id}-S1",
                        "ph": ph,
                        "land_use": "other",
                        "Cd": c,
                        "Pb": 50.0,
                    }
                )
            )


def add_org(store: Any, name: str, kind: str = "enterprise") -> int:
    from restora.store.accounts import create_organisation
    from restora.store.audit import Change

    org = create_organisation(store.engine, name, kind, "430599", change=Change("test"))
    return int(org["id"])


def add_user(store: Any, username: str, role: str, org_id: int | None = None) -> int:
    from restora.store.accounts import create_account
    from restora.store.audit import Change

    acc = create_account(
        store.engine, username=username, display_name=username, password_hash=None, role=role,
        org_id=org_id, change=Change("test"),
    )  # fmt: skip
    return int(acc.id)


def qs_m28_spec(project_id: str, mine_id: str) -> dict[str, Any]:
    """The QS-M28 demo project's file, on another mine (bond: 20 000 000 CNY; tranches soil
    0.6 and vegetation 0.4)."""
    spec = yaml.safe_load((ROOT / "examples" / "demo-projects" / "QS-M28.yaml").read_text("utf-8"))
    spec.update(project_id=project_id, mines=[mine_id])
    for stream in spec.get("revenue_streams", []):
        if stream.get("mine_id"):
            stream["mine_id"] = mine_id
    return dict(spec)


def setup_project(store: Any, tag: str) -> dict[str, Any]:
    """Mine ``M-<tag>`` (20 samples: 17 with Cd 0.2, 3 with Cd 0.5 mg/kg against the screening
    value 0.3), owner organisation, project ``P-<tag>`` (QS-M28's bond), evaluator ``eva-<tag>``."""
    from restora.store.projects import create_project

    mine = f"M-{tag}"
    add_mine(store, mine)
    add_samples(store, mine, [0.2] * 17 + [0.5] * 3)
    org = add_org(store, f"Restorer {tag}")
    eva_org = add_org(store, f"Evaluator {tag}", "evaluator")
    add_user(store, f"eva-{tag}", "evaluator", eva_org)
    add_user(store, f"ent-{tag}", "enterprise", org)
    create_project(store, qs_m28_spec(f"P-{tag}", mine), owner_org_id=org)
    return {"mine": mine, "project": f"P-{tag}", "org": org, "evaluator": f"eva-{tag}"}


def add_cover(store: Any, mine_id: str, zones: list[tuple[str, float, float]], on: dt.date) -> int:
    """A stored FVC result of a mine: zones as (zone_id, fvc_mean, valid_area_m2)."""
    from restora.store.remote_sensing import save_result

    r = save_result(
        store, mine_id=mine_id, kind="fvc", acquired_on=on,
        sha256=hashlib.sha256(f"{mine_id}{on}".encode()).hexdigest(),
        params={"ndvi_soil": 0.05, "ndvi_veg": 0.85},
        zones=[{"zone_id": z, "fvc_mean": f, "valid_area_m2": a, "area_m2": a} for z, f, a in zones],
        file_name=f"ndvi-{on}.tif",
    )  # fmt: skip
    return int(r["id"])


def counts(store: Any) -> dict[str, int]:
    """Rows of every table a sign-off writes (a refused one must leave them as they were)."""
    from restora.store import monitoring_tables as mt
    from restora.store import registry_tables as rt

    tables = [
        mt.monitoring_signoffs, mt.finance_tranche_releases, rt.registry_events,
        rt.registry_blocks, rt.registry_verifications, rt.registry_accounts,
    ]  # fmt: skip
    with store.engine.connect() as conn:
        out = {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in tables
        }
        out["open_milestones"] = int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(mt.monitoring_milestones)
                .where(mt.monitoring_milestones.c.status != "accepted")
            ).scalar_one()
        )
    return out
