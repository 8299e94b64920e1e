"""Offset obligations (restora.registry.offsets): eligibility by unit type and GB/T 2260 region,
status on a day, worked examples by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError, RestoraError
from restora.registry.offsets import (
    IneligibleRetirement,
    Obligation,
    Retirement,
    check_retirement_against,
    compliance_status,
    region_prefix,
)

DUE = date(2026, 12, 31)
# Kunshan (320583) in Suzhou prefecture (3205), Jiangsu (32); Changshu 320581 in Suzhou too;
# Wuxi's Jiangyin 320281 in Jiangsu but another prefecture; Hangzhou 330100 another province.
COUNTY = Obligation("OB-1", "Plant X", "320583", "carbon_sink", 100, DUE, None)
PREFECTURE = Obligation("OB-2", "Plant Y", "320583", "carbon_sink", 100, DUE, ("320500",))
PROVINCE = Obligation("OB-3", "Plant Z", "320583", "carbon_sink", 100, DUE, ("32",))


def _r(
    ob: str, n: int, when: date, region: str = "320583", unit: str = "carbon_sink"
) -> Retirement:
    return Retirement(ob, unit, region, n, datetime.combine(when, datetime.min.time()))


def test_worked_example_county_rule() -> None:
    # 60 from Kunshan count; 30 from Changshu (same prefecture, other county) do not;
    # 25 of farmland quota do not; 10 against another obligation are ignored.
    rs = [
        _r("OB-1", 60, date(2026, 3, 1)),
        _r("OB-1", 30, date(2026, 4, 1), region="320581"),
        _r("OB-1", 25, date(2026, 5, 1), unit="farmland_supplement"),
        _r("OB-9", 10, date(2026, 5, 1)),
    ]
    s = compliance_status(COUNTY, rs, date(2026, 6, 30))
    # retired = 60; outstanding = 100 - 60 = 40; before the due date: open
    assert (s.required, s.retired, s.outstanding, s.status) == (100, 60, 40, "open")
    assert [r.count for r, _ in s.not_counted] == [30, 25]
    assert "320581" in s.not_counted[0][1] and "own county 320583" in s.not_counted[0][1]
    assert "farmland_supplement" in s.not_counted[1][1]
    # after the due date with 60 of 100: partly met, overdue
    assert compliance_status(COUNTY, rs, date(2027, 1, 1)).status == "partly met, overdue"
    # the due day itself is still on time
    assert compliance_status(COUNTY, rs, DUE).status == "open"


def test_prefecture_and_province_rules() -> None:
    rs = [
        _r("OB-2", 50, date(2026, 3, 1), region="320581"),  # Suzhou: counts for OB-2
        _r("OB-2", 30, date(2026, 3, 2), region="320281"),  # Wuxi: not for OB-2
        _r("OB-2", 50, date(2026, 3, 3), region="320583"),  # Kunshan: counts
    ]
    s = compliance_status(PREFECTURE, rs, date(2026, 4, 1))
    assert (s.retired, s.outstanding, s.status, s.met_on, s.late) == (
        100,
        0,
        "met",
        date(2026, 3, 3),
        False,
    )
    rs3 = [
        _r("OB-3", 30, date(2026, 3, 2), region="320281"),  # Jiangsu: counts
        _r("OB-3", 30, date(2026, 3, 2), region="330102"),  # Zhejiang: does not
    ]
    s3 = compliance_status(PROVINCE, rs3, date(2026, 4, 1))
    assert (s3.retired, s3.outstanding) == (30, 70)
    assert len(s3.not_counted) == 1 and s3.not_counted[0][0].region_code == "330102"


def test_overdue_nothing_retired_and_late_met() -> None:
    assert compliance_status(COUNTY, [], date(2027, 1, 1)).status == "overdue"
    rs = [_r("OB-1", 40, date(2026, 11, 1)), _r("OB-1", 70, date(2027, 2, 1))]
    # on 2027-01-15 the second is not yet retired: 40 of 100, past due
    mid = compliance_status(COUNTY, rs, date(2027, 1, 15))
    assert (mid.retired, mid.status) == (40, "partly met, overdue")
    # on 2027-03-01: 110 >= 100, met on 2027-02-01, after the due date
    s = compliance_status(COUNTY, rs, date(2027, 3, 1))
    assert (s.retired, s.outstanding, s.status, s.met_on, s.late) == (
        110,
        0,
        "met",
        date(2027, 2, 1),
        True,
    )


def test_check_retirement_against() -> None:
    check_retirement_against(COUNTY, "carbon_sink", "320583")
    check_retirement_against(PREFECTURE, "carbon_sink", "320581")
    check_retirement_against(PROVINCE, "carbon_sink", "320281")
    with pytest.raises(IneligibleRetirement, match="own county 320583") as e:
        check_retirement_against(COUNTY, "carbon_sink", "320581")
    assert e.value.problems[0].field == "region_code"
    assert isinstance(e.value, RestoraError) and e.value.exit_code == 2
    with pytest.raises(IneligibleRetirement, match="accepts units of 320500") as e:
        check_retirement_against(PREFECTURE, "carbon_sink", "320281")
    with pytest.raises(IneligibleRetirement, match="needs 'carbon_sink'") as e:
        check_retirement_against(PROVINCE, "construction_land", "320583")
    assert e.value.problems[0].field == "unit_type"
    with pytest.raises(InputError, match="6-digit") as bad:
        check_retirement_against(COUNTY, "carbon_sink", "32058")
    assert bad.value.problems[0].field == "region_code"
    assert not isinstance(bad.value, IneligibleRetirement)


@pytest.mark.parametrize(
    ("ob", "field"),
    [
        (Obligation("OB", "P", "3205", "carbon_sink", 1, DUE), "region_code"),
        (Obligation("OB", "P", "320583", "carbon_sink", 0, DUE), "required"),
        (Obligation("OB", "P", "320583", "carbon_sink", 1, DUE, ()), "eligible_regions"),
        (Obligation("OB", "P", "320583", "carbon_sink", 1, DUE, ("320",)), "eligible_regions"),
        (Obligation("OB", "P", "320583", "", 1, DUE), "unit_type"),
    ],
)
def test_bad_obligations(ob: Obligation, field: str) -> None:
    with pytest.raises(InputError) as e:
        compliance_status(ob, [], date(2026, 1, 1))
    assert e.value.problems[0].field == field


def test_bad_retirement_count() -> None:
    with pytest.raises(InputError, match="positive integer") as e:
        compliance_status(COUNTY, [_r("OB-1", 0, date(2026, 1, 1))], date(2026, 2, 1))
    assert e.value.problems[0].field == "count"


def test_region_prefix() -> None:
    assert [region_prefix(c) for c in ("320000", "320500", "320583", "32", "3205")] == [
        "32",
        "3205",
        "320583",
        "32",
        "3205",
    ]


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(1, 60), st.integers(0, 400), st.booleans()), max_size=10),
    today=st.integers(0, 500),
)
def test_status_invariants(counts: list[tuple[int, int, bool]], today: int) -> None:
    start = date(2026, 1, 1).toordinal()
    rs = [
        _r("OB-1", n, date.fromordinal(start + d), region="320583" if ok else "320581")
        for n, d, ok in counts
    ]
    day = date.fromordinal(start + today)
    s = compliance_status(COUNTY, rs, day)
    expected = sum(n for n, d, ok in counts if ok and d <= today)
    assert s.retired == expected
    assert s.outstanding == max(100 - expected, 0)
    assert (s.status == "met") == (expected >= 100)
    if s.status != "met":
        assert (s.status == "open") == (day <= DUE)
