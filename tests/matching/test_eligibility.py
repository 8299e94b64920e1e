"""Eligibility rules on hand-made cases: verdicts, messages (English, 中文) and smallest changes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from restora.matching.eligibility import check, explain_unfunded
from restora.matching.problem import Product, Project, Requirements

PROJECT = Project(
    id="P1",
    need_cny=50_000_000,
    ecological_value=10.0,
    region="430000",
    mineral="coal",
    mode="ecological",
    min_dscr=1.08,
    irr=0.05,
    p90_overrun=0.25,
    collateral=("land_use_rights",),
)
OPEN = Product("L", 1e9, 1e6, 1e8)  # no requirements, ample capacity


def _one(requires: Requirements, project: Project = PROJECT) -> dict:
    e = check(project, replace(OPEN, requires=requires))
    assert not e.eligible and len(e.failures) == 1, e
    return e.failures[0].document()


def test_no_requirements_is_eligible() -> None:
    e = check(PROJECT, OPEN)
    assert e.eligible and e.failures == () and e.notes == ()


def test_dscr() -> None:
    f = _one(Requirements(min_dscr=1.2))
    assert f["code"] == "MATCH-DSCR"
    assert f["message"] == "DSCR 1.08 below the product's 1.20"
    assert f["message_zh"] == "最低偿债备付率 1.08 低于产品要求的 1.20"
    assert f["smallest_change"] == {"parameter": "min_dscr", "from": 1.08, "to": 1.2}
    # inclusive threshold: moving DSCR to exactly the smallest change passes
    assert check(
        replace(PROJECT, min_dscr=1.2), replace(OPEN, requires=Requirements(min_dscr=1.2))
    ).eligible


def test_irr_below_and_unknown() -> None:
    f = _one(Requirements(min_irr=0.06))
    assert f["message"] == "IRR 5.0% below the product's 6.0%"
    assert f["smallest_change"] == {"parameter": "irr", "from": 0.05, "to": 0.06}
    f = _one(Requirements(min_irr=0.0), replace(PROJECT, irr=None))  # null IRR fails any min_irr
    assert f["message"] == "IRR unknown; the product requires at least 0.0%"
    assert f["message_zh"] == "内部收益率未知；产品要求不低于 0.0%"
    assert f["smallest_change"] == {"parameter": "irr", "from": None, "to": 0.0}
    assert check(replace(PROJECT, irr=None), OPEN).eligible  # no min_irr: null IRR is fine


def test_p90_overrun() -> None:
    f = _one(Requirements(max_p90_overrun=0.2))
    assert f["code"] == "MATCH-P90"
    assert f["message"] == "P90 cost overrun 25.0% above the product's maximum 20.0%"
    assert f["smallest_change"] == {"parameter": "p90_overrun", "from": 0.25, "to": 0.2}
    assert check(PROJECT, replace(OPEN, requires=Requirements(max_p90_overrun=0.25))).eligible


@pytest.mark.parametrize(
    ("requires", "requirement", "message", "change"),
    [
        (
            Requirements(regions=("520000", "530000")),
            "regions",
            "region 430000 not among the product's regions (520000, 530000)",
            {"parameter": "product.requires.regions", "add": "430000"},
        ),
        (
            Requirements(minerals=("gold",)),
            "minerals",
            "mineral coal not among the product's minerals (gold)",
            {"parameter": "product.requires.minerals", "add": "coal"},
        ),
        (
            Requirements(modes=("industrial", "tourism")),
            "modes",
            "mode ecological not among the product's modes (industrial, tourism)",
            {"parameter": "product.requires.modes", "add": "ecological"},
        ),
        (
            Requirements(collateral_any=("carbon_sink_rights", "quota_rights")),
            "collateral_any",
            "collateral (land_use_rights) includes none the product accepts "
            "(carbon_sink_rights, quota_rights)",
            {"parameter": "collateral", "add": "carbon_sink_rights"},
        ),
    ],
)
def test_lists(requires: Requirements, requirement: str, message: str, change: dict) -> None:
    f = _one(requires)
    assert (f["requirement"], f["message"], f["smallest_change"]) == (requirement, message, change)
    # empty lists mean "any"
    assert check(
        PROJECT, replace(OPEN, requires=Requirements(regions=(), collateral_any=()))
    ).eligible


def test_collateral_none_pledged_zh() -> None:
    f = _one(Requirements(collateral_any=("quota_rights",)), replace(PROJECT, collateral=()))
    assert f["message"] == "collateral (none) includes none the product accepts (quota_rights)"
    assert f["message_zh"] == "可质押权益（无）均不在产品接受的（quota_rights）之内"


def test_need_below_ticket_min() -> None:
    f = _one(Requirements(), replace(PROJECT, need_cny=500_000))
    assert f["code"] == "MATCH-TICKET"
    assert f["message"] == "need 500,000 CNY below the product's minimum ticket 1,000,000 CNY"
    assert f["message_zh"] == "资金需求 50.00 万元 低于产品单笔下限 100.00 万元"
    assert f["smallest_change"] == {"parameter": "need_cny", "from": 500_000, "to": 1e6}


def test_product_that_can_make_no_ticket() -> None:
    for product in (
        replace(OPEN, capacity_cny=0, ticket_min_cny=0),
        replace(OPEN, capacity_cny=5e5),
    ):
        e = check(PROJECT, product)
        assert not e.eligible and [f.code for f in e.failures] == ["MATCH-CAPACITY"]
    f = check(PROJECT, replace(OPEN, capacity_cny=5e5)).failures[0]
    assert f.smallest_change == {"parameter": "product.capacity_cny", "from": 5e5, "to": 5e7}


def test_need_above_what_one_product_gives_is_a_note_not_a_failure() -> None:
    e = check(PROJECT, replace(OPEN, ticket_max_cny=2e7))
    assert e.eligible
    assert e.notes == (
        "the product alone gives at most 20,000,000 CNY (ticket maximum) of the need "
        "50,000,000 CNY; other products must give the rest",
    )
    e = check(PROJECT, replace(OPEN, capacity_cny=3e7))
    assert e.eligible and "(capacity)" in e.notes[0]


def test_several_failures_in_rule_order() -> None:
    k = replace(OPEN, requires=Requirements(min_dscr=1.5, min_irr=0.08, regions=("110000",)))
    e = check(PROJECT, k)
    assert [f.requirement for f in e.failures] == ["min_dscr", "min_irr", "regions"]


def test_explain_unfunded() -> None:
    products = [
        replace(OPEN, id="A", requires=Requirements(min_dscr=1.2)),
        replace(OPEN, id="B", requires=Requirements(min_dscr=1.3, regions=("110000",))),
    ]
    reasons = explain_unfunded(PROJECT, [check(PROJECT, k) for k in products])
    assert reasons == [
        "no eligible product among 2",
        "min_dscr fails for 2 product(s), e.g. A: DSCR 1.08 below the product's 1.20",
        "regions fails for 1 product(s), e.g. B: region 430000 not among the product's regions (110000)",
    ]
    ok = [check(PROJECT, OPEN)]
    assert explain_unfunded(PROJECT, ok, cause="capacity") == [
        "eligible for 1 product(s) (L)",
        "capacity",
    ]
    assert explain_unfunded(PROJECT, []) == ["no product offered"]
