"""restora.evaluation.indicators, pure: the funding rules of evaluation/funding-sources, the
management cycle with every stage, milestones on time, selection and the figures by region,
against hand calculations on plain records."""

from __future__ import annotations

import datetime as dt

import pytest

from restora import refdata
from restora.evaluation import indicators as ind

D = dt.date
ON = D(2026, 1, 1)
TABLE = refdata.get(ind.FUNDING_TABLE, on=ON).data


def _project(pid: str, **kw: object) -> ind.ProjectInput:
    base: dict[str, object] = {
        "project_id": pid,
        "name": pid,
        "region_code": "430521",
        "minerals": ("coal",),
        "mode": "safety_baseline",
        "start_year": 2025,
        "mine_areas": {f"M-{pid}": 10.0},
        "completed": False,
        "funding": None,
    }
    base.update(kw)
    return ind.ProjectInput(**base)  # type: ignore[arg-type]


def _lines(**amounts: float) -> list[dict[str, object]]:
    return [{"item": k, "total_cny": v} for k, v in amounts.items()]


@pytest.mark.parametrize(
    ("stated", "party", "category", "rule"),
    [
        ("public", "present", "public", "EVAL-SPONSOR-01"),  # stated wins over the register
        ("responsible_party", None, "enterprise", "EVAL-SPONSOR-02"),
        ("social_capital", "present", "social_capital", "EVAL-SPONSOR-03"),
        ("mixed", "absent", "unattributed", "EVAL-SPONSOR-04"),
        (None, "present", "enterprise", "EVAL-SPONSOR-05"),
        (None, "absent", "social_capital", "EVAL-SPONSOR-06"),
        (None, None, "unattributed", "EVAL-SPONSOR-07"),
    ],
)
def test_the_sponsor_decides_its_equity_and_loans(
    stated: str | None, party: str | None, category: str, rule: str
) -> None:
    lines = ind.classify_funding(
        _lines(sponsor_equity=40.0, loan_drawdown=60.0, grant=25.0),
        TABLE,
        funding_source=stated,
        responsible_party=party,
    )
    got = {(ln.item, ln.category) for ln in lines}
    assert got == {("sponsor_equity", category), ("loan_drawdown", category), ("grant", "public")}
    assert all(ln.rule.endswith(rule) for ln in lines if ln.item != "grant")


def test_instrument_specific_rules_and_unknown_lines() -> None:
    lines = ind.classify_funding(
        [
            {"item": "bond_proceeds", "instrument": "ppp", "total_cny": 10.0},
            {"item": "bond_proceeds", "instrument": "performance-bond", "total_cny": 20.0},
            {"item": "special_bond_allocation", "instrument": "special-bond", "total_cny": 30.0},
            {"item": "investor_payments", "total_cny": 5.0},
            {"item": "operating_surplus", "total_cny": 7.0},
            {"item": "crowdfunding", "total_cny": 3.0},
            {"item": "grant", "total_cny": 0.0},  # nothing paid: no line
        ],
        TABLE,
        responsible_party="present",
    )
    got = [(ln.item, ln.instrument, ln.category, ln.rule) for ln in lines]
    assert got == [
        ("bond_proceeds", "ppp", "social_capital", "EVAL-FUND-03"),
        ("bond_proceeds", "performance-bond", "enterprise", "EVAL-FUND-08+EVAL-SPONSOR-05"),
        ("special_bond_allocation", "special-bond", "public", "EVAL-FUND-02"),
        ("investor_payments", None, "social_capital", "EVAL-FUND-04"),
        ("operating_surplus", None, "project_revenue", "EVAL-FUND-05"),
        ("crowdfunding", None, "unattributed", "EVAL-FUND-NONE"),
    ]


def _funded(pid: str, **amounts: float) -> ind.ProjectInput:
    return _project(
        pid, funding=ind.classify_funding(_lines(**amounts), TABLE, responsible_party="absent")
    )


def test_shares_are_of_sums_not_means_of_shares() -> None:
    # P1: grant 100, social 300 (share 0.75); P2: grant 900, social 100 (share 0.1)
    # sum: social 400 / total 1400 = 0.2857 (the mean of shares would be 0.425);
    # leverage 400 / 1000 = 0.4
    ps = [_funded("P1", grant=100.0, sponsor_equity=300.0), _funded("P2", grant=900.0,
          sponsor_equity=100.0)]  # fmt: skip
    s = ind.compute(ps, [], on=ON)
    assert s.value("EVAL-INV-SOCIAL-SHARE") == pytest.approx(400 / 1400)
    assert s.value("EVAL-LEVERAGE") == pytest.approx(0.4)
    # no public money: leverage is not available, and says why
    s = ind.compute([_funded("P3", sponsor_equity=50.0)], [], on=ON)
    lev = next(i for i in s.indicators if i.definition.code == "EVAL-LEVERAGE")
    assert lev.value is None and "no public money" in (lev.reason or "")


def test_cycle_with_every_stage() -> None:
    dates = {
        "P1": ("2024-01-01", "2024-01-31", "2024-03-01", "2024-09-01", "2025-03-01", "2025-06-01"),
        "P2": ("2024-01-01", "2024-01-11", "2024-01-21", None, None, None),
        "P3": ("2024-01-01", "2024-02-10", None, None, None, None),
    }
    ps = [
        _project(
            pid,
            stage_dates={
                s: (D.fromisoformat(x) if x else None) for s, x in zip(ind.STAGES, ds, strict=True)
            },
        )
        for pid, ds in dates.items()
    ]
    rows = {r["stage"]: r for r in ind.compute(ps, [], on=ON).cycle}
    # appraised: 30, 10, 40 days -> median 30, longest 40
    assert (rows["appraised"]["median_days"], rows["appraised"]["max_days"]) == (30, 40)
    # listed: P1 60 (2024 is a leap year: 30 + 30 days to 1 March), P2 20 -> median 40;
    # step from appraisal: P1 30, P2 10 -> 20
    assert rows["listed"]["median_days"] == 40 and rows["listed"]["median_step_days"] == 20
    # financed: P1 only, 2024-01-01 -> 2024-09-01 = 244 days; step 184
    assert rows["financed"]["median_days"] == 244 and rows["financed"]["median_step_days"] == 184
    # first sign-off 2025-03-01: 366 + 59 = 425; step 181; completed 2025-06-01: 517, step 92
    assert rows["first_signoff"]["median_days"] == 425
    assert rows["completed"]["median_days"] == 517
    slowest = [r["stage"] for r in rows.values() if r["slowest_step"]]
    assert slowest == ["financed"]  # 184 > 181 > 92 > 30 > 20


def test_milestones_on_time() -> None:
    ms = (
        ind.MilestoneInput("a", D(2025, 6, 30), D(2025, 6, 30)),  # on the day: on time
        ind.MilestoneInput("b", D(2025, 6, 30), D(2025, 7, 1)),  # late
        ind.MilestoneInput("c", D(2025, 12, 1), None),  # overdue on 2026-01-01
        ind.MilestoneInput("d", D(2026, 1, 1), None),  # due today: pending, not yet missed
        ind.MilestoneInput("e", None, None),  # undated
        ind.MilestoneInput("f", None, D(2025, 1, 1)),  # undated but accepted: on time
    )
    assert [ind.milestone_status(m, ON) for m in ms] == [
        "on_time", "late", "overdue", "pending", "undated", "on_time",
    ]  # fmt: skip
    s = ind.compute([_project("P", milestones=ms)], [], on=ON)
    assert s.value("EVAL-MILESTONES-ON-TIME") == pytest.approx(2 / 4)


def test_select_by_region_prefix() -> None:
    ps = [_project("A", region_code="430521"), _project("B", region_code="430602"),
          _project("C", region_code="440101"), _project("D", region_code=None)]  # fmt: skip
    ids = {
        r: [p.project_id for p in ind.select(ps, ind.Filters(region=r))]
        for r in ("43", "430000", "4305", "430521", "000000", None)
    }
    assert ids["43"] == ids["430000"] == ["A", "B"]
    assert ids["4305"] == ids["430521"] == ["A"]
    assert ids["000000"] == ids[None] == ["A", "B", "C", "D"]


def test_by_city_counts_a_shared_mine_once() -> None:
    ps = [
        _funded("P1", grant=10.0),
        _project("P2", mine_areas={"M-P1": 10.0, "M-X": 5.0}, completed=True),
        _project("P3", region_code="430602", mine_areas={"M-Y": 7.0}),
    ]
    mines = [
        ind.MineInput("M-P1", "430521", "coal", "closed", 10.0),
        ind.MineInput("M-X", "430502", "coal", "closed", 5.0),
        ind.MineInput("M-Y", "430602", "coal", "closed", 7.0),
    ]
    rows = {r["region_code"]: r for r in ind.by_region(ps, mines, level="city")}
    assert rows["430500"]["damaged_area_hm2"] == 15.0
    assert rows["430500"]["project_area_hm2"] == 15.0  # M-P1 once, though in P1 and P2
    assert rows["430500"]["restored_area_hm2"] == 15.0  # P2 complete: its two mines
    assert rows["430600"]["projects"] == 1 and rows["430600"]["social_capital_share"] is None
    with pytest.raises(ValueError, match="level"):
        ind.by_region(ps, mines, level="village")


def test_every_code_has_a_definition() -> None:
    s = ind.compute([_project("P")], [], on=ON)
    defs = ind.catalogue(ON)
    assert [i.definition.code for i in s.indicators] == [
        c for c in defs if c in {i.definition.code for i in s.indicators}
    ]
    assert set(defs) == {i.definition.code for i in s.indicators}
    for i in s.indicators:
        assert i.available == (i.value is not None)
        assert (i.reason is None) == i.available
