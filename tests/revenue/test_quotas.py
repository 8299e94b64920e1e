"""Land-quota revenue: construction-land quota and farmland supplement quota in 亩."""

from __future__ import annotations

import pytest

from restora.errors import InputError
from restora.revenue import build
from restora.revenue.quotas import QuotaSpec, mu_from_hm2, quota_stream


def test_construction_land_quota_at_the_chongqing_land_ticket_price():
    # 12 hm2 reclaimed = 180 亩; sold 2 years after acceptance, in two halves;
    # 90 亩 * 200 000 = 18 M in 2028 and 90 * 200 000 * 1.02 = 18.36 M in 2029
    s = quota_stream(
        QuotaSpec(
            kind="construction_land",
            area_mu=mu_from_hm2(12.0),
            region="500101",
            acceptance_year=2026,
            sale_lag_years=2,
            sale_shares=[0.5, 0.5],
            price_escalation=0.02,
            low=0.8,
            high=1.1,
        )
    )
    assert s.years.tolist() == [2028, 2029]
    assert s.quantity.tolist() == pytest.approx([90.0, 90.0])
    assert s.revenue.tolist() == pytest.approx([18_000_000, 18_360_000])
    assert s.revenue_low.sum() == pytest.approx(0.8 * 36_360_000)
    assert "REV-QUOTA-REFPRICE" in s.rule_codes
    assert any("indicative" in f for f in s.flags)


def test_farmland_quota_price_capped_at_the_ceiling():
    # asked 400 000 for paddy in Zhoushan: cut to the 350 000 ceiling; 10 亩 -> 3.5 M
    s = quota_stream(
        QuotaSpec(
            kind="farmland_supplement",
            farmland_type="paddy",
            area_mu=10.0,
            price=400_000,
            region="330902",
            acceptance_year=2026,
        )
    )
    assert s.revenue.tolist() == pytest.approx([3_500_000])
    assert "REV-QUOTA-CEILING" in s.rule_codes
    below = quota_stream(
        QuotaSpec(
            kind="farmland_supplement",
            farmland_type="dry_land",
            area_mu=10.0,
            price=150_000,
            region="330902",
            acceptance_year=2026,
        )
    )
    assert below.revenue.tolist() == pytest.approx([1_500_000])


def test_region_without_a_price_needs_the_users_price():
    with pytest.raises(InputError, match="give `price`"):
        quota_stream(
            QuotaSpec(kind="construction_land", area_mu=5, region="420100", acceptance_year=2026)
        )
    # with a price it works anywhere
    s = quota_stream(
        QuotaSpec(
            kind="construction_land", area_mu=5, region="420100", acceptance_year=2026, price=1e5
        )
    )
    assert s.revenue.sum() == pytest.approx(5e5)


def test_cross_province_quota_requires_a_price():
    with pytest.raises(InputError) as e:
        build(
            {
                "stream": "quota",
                "kind": "construction_land",
                "scope": "cross_province",
                "area_mu": 5,
                "acceptance_year": 2026,
            },
            file="project.yaml",
            row=3,
        )
    p = e.value.problems[0]
    assert p.file == "project.yaml" and p.row == 3
    assert "cross-province" in p.message


def test_mu_conversion():
    assert mu_from_hm2(1.0) == pytest.approx(15.0)


def test_a_broken_user_price_table_is_reported_not_taken_for_a_missing_price(tmp_path, monkeypatch):
    from restora import refdata

    d = tmp_path / "revenue" / "prices"
    d.mkdir(parents=True)
    (d / "land-ticket.yaml").write_text(
        "title: t\nsource: s\nversions:\n  - {valid_from: 2020-01-01, region: '420000', "
        "csv: hubei.csv}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RESTORA_REFDATA_PATH", str(tmp_path))
    refdata.reload()
    try:
        with pytest.raises(InputError) as e:
            quota_stream(
                QuotaSpec(
                    kind="construction_land", area_mu=5, region="420100", acceptance_year=2026
                )
            )
        assert "hubei.csv" in str(e.value) and "give `price`" not in str(e.value)
    finally:
        monkeypatch.delenv("RESTORA_REFDATA_PATH")
        refdata.reload()
