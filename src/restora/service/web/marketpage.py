"""The project library, finance products and offers (docs/market.md, docs/web.md).

- ``/library``: the listings the caller may see with their key figures (finance: how many of
  its products are eligible); ``/library/new``: the owner publishes a project's need from one
  of its stored appraisal versions;
- ``/library/{id}``: a listing — its figures, its need, its state and deadlines, the products
  against it with each failed requirement in words, the claims the caller may see, the claim /
  choose / answer forms, its history;
- ``/products``, ``/products/{id}``: a provider's products (create, edit) and the listings a
  product is eligible for;
- ``/offers``: an organisation's inbox and claims.

Everything is read from the market API in process (:mod:`restora.service.api.market`) with the
caller's credentials, and every form writes through it (``static/js/market.js``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from restora.service.permissions import allowed, page_action
from restora.service.problems import Problem
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
API = "/api/v1/market"
IntId = Annotated[int, Path(ge=1, le=2**31 - 1)]

INSTRUMENTS = {
    "loan": N_("Loan"),
    "pledge_loan": N_("Pledge loan"),
    "bond_subscription": N_("Bond subscription"),
    "equity": N_("Equity"),
    "guarantee": N_("Guarantee"),
    "insurance": N_("Insurance"),
    "subsidy": N_("Subsidy"),
}
COLLATERAL = {
    "carbon_sink_rights": N_("Carbon-sink rights"),
    "quota_rights": N_("Quota rights"),
    "charging_rights": N_("Charging rights"),
    "land_use_rights": N_("Land-use rights"),
}
STAGES = {
    "preparation": N_("Preparation"),
    "construction": N_("Construction"),
    "operation": N_("Operation"),
}
LISTING_STATES = {
    "open": N_("Open for claims"),
    "closed": N_("Claim window closed"),
    "matched": N_("Matched"),
    "withdrawn": N_("Withdrawn"),
    "superseded": N_("Superseded by a newer version"),
}
CLAIM_STATES = {
    "claimed": N_("Claimed"),
    "chosen": N_("Chosen: waiting for the answer"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "lapsed": N_("Lapsed (no answer in time)"),
    "not_chosen": N_("Not chosen"),
    "closed": N_("Closed"),
}
NOTICES = {
    "eligible_listing": N_("A new listing your product is eligible for"),
    "claimed": N_("A provider claimed your listing"),
    "chosen": N_("Your claim was chosen: answer before the deadline"),
    "accepted": N_("The chosen provider accepted"),
    "declined": N_("The chosen provider declined"),
    "not_chosen": N_("Another provider was chosen"),
    "withdrawn": N_("The listing was withdrawn"),
}
EVENTS = {
    "published": N_("published"),
    "notified": N_("eligible providers notified"),
    "claimed": N_("claimed"),
    "chosen": N_("claim chosen"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "withdrawn": N_("withdrawn"),
    "superseded": N_("superseded"),
}
MODES = {
    "safety_baseline": N_("Safety baseline"),
    "resource_utilization": N_("Resource utilization"),
    "property_rights": N_("Property-rights transaction"),
    "industry_integration": N_("Industry integration"),
}
MINERALS = {
    "coal": N_("Coal"),
    "metal": N_("Metal"),
    "non_metal": N_("Non-metal"),
    "building_stone": N_("Building stone"),
    "oil_gas": N_("Oil and gas"),
}

#: the figures of a listing (restora.matching.library.figures) as the pages name them
FIGURES = {
    "cost_p50_cny": N_("cost P50"),
    "cost_p90_cny": N_("cost P90"),
    "p90_overrun": N_("P90 cost overrun"),
    "revenue_cny": N_("revenue"),
    "npv_cny": N_("net present value"),
    "irr": N_("internal rate of return"),
    "npv_p10_cny": N_("NPV P10"),
    "npv_p50_cny": N_("NPV P50"),
    "npv_p90_cny": N_("NPV P90"),
    "irr_p10": N_("IRR P10"),
    "irr_p50": N_("IRR P50"),
    "irr_p90": N_("IRR P90"),
    "p_npv_negative": N_("probability of a negative NPV"),
    "p_irr_below_hurdle": N_("probability of an IRR below the hurdle"),
    "p_dscr_below_1": N_("probability of a DSCR below 1"),
    "lender_expected_loss_cny": N_("lender's expected loss"),
    "min_dscr": N_("minimum DSCR"),
    "mode": N_("value-realization mode"),
    "esv_gain_cny_per_yr": N_("ESV gain"),
    "gep_gain_cny_per_yr": N_("GEP gain"),
    "hazards_total": N_("hazard points"),
    "hazards_eliminated": N_("hazard points eliminated"),
    "jobs": N_("jobs"),
}
#: why a figure is missing (the texts of restora.matching.library.figures), to translate
MISSING = (
    N_("the appraisal has no cost stage (Monte Carlo P50/P90)"),
    N_("the appraisal has no revenue stage"),
    N_("the appraisal has no cash flows"),
    N_("the cash flows have no unique IRR"),
    N_("the appraisal has no risk stage (Monte Carlo of NPV and IRR)"),
    N_("the appraisal's financing has no loan or bond with a DSCR"),
    N_("the appraisal has no modes stage"),
    N_("the appraisal has no value stage (ESV before and after)"),
    N_("GEP was not assessed (the project file gives no GEP zones)"),
    N_("the appraisal's modes stage has no hazard points"),
    N_("the project file gives no jobs by year (modes.figures.jobs_by_year)"),
)


def words() -> dict[str, dict[str, str]]:
    """The codes of the market as the pages say them (translated in the templates)."""
    return {
        "instrument": INSTRUMENTS,
        "collateral": COLLATERAL,
        "stage": STAGES,
        "listing": LISTING_STATES,
        "claim": CLAIM_STATES,
        "notice": NOTICES,
        "event": EVENTS,
        "mode": MODES,
        "mineral": MINERALS,
        "figure": FIGURES,
    }


def _reason(failure: dict[str, Any], locale: str) -> str:
    return str(failure.get("message_zh") if locale.startswith("zh") else failure.get("message"))


# ----------------------------------------------------------------------------------- library
@router.get("/library", dependencies=[Depends(page_action("library.read"))])
@html_errors
async def library_page(request: Request) -> Response:
    who = await guard(request, "library.read")
    if isinstance(who, Response):
        return who
    body = await api_json(request, f"{API}/listings", {"current": "true", "limit": 500})
    listings = body["items"]
    eligible: dict[int, int] = {}
    if who.role == "finance":
        for item in listings:
            status, verdicts = await api_get(request, f"{API}/listings/{item['id']}/eligibility")
            if status == 200:
                eligible[item["id"]] = sum(1 for v in verdicts if v["eligible"])
    return await render(
        request,
        "library.html",
        {
            "listings": listings,
            "eligible": eligible,
            "is_finance": who.role == "finance",
            "may_publish": allowed(who.role, "library.publish"),
            "words": words(),
        },
        principal=who,
    )


@router.get("/library/new", dependencies=[Depends(page_action("library.publish"))])
@html_errors
async def publish_page(
    request: Request, project: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    who = await guard(request, "library.publish")
    if isinstance(who, Response):
        return who
    body = await api_json(request, "/api/v1/projects", {"limit": 500})
    choices = []
    for p in body.get("items", []):
        status, versions = await api_get(request, f"/api/v1/projects/{p['project_id']}/appraisals")
        if status == 200 and versions:
            choices.append({**p, "versions": [v["version"] for v in versions]})
    selected = next((c for c in choices if c["project_id"] == project), None)
    selected = selected or (choices[0] if choices else None)
    return await render(
        request,
        "library_new.html",
        {"choices": choices, "selected": selected, "words": words()},
        principal=who,
    )


@router.get("/library/{listing_id}", dependencies=[Depends(page_action("library.read"))])
@html_errors
async def listing_page(request: Request, listing_id: IntId) -> Response:
    who = await guard(request, "library.read")
    if isinstance(who, Response):
        return who
    status, listing = await api_get(request, f"{API}/listings/{listing_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such listing."), who)
    verdicts = await api_json(request, f"{API}/listings/{listing_id}/eligibility")
    locale = locale_of(request)
    for v in verdicts:
        v["reasons"] = [_reason(f, locale) for f in v["failures"]]
    events = await api_json(request, f"{API}/listings/{listing_id}/events")
    my_claim = next((c for c in listing["claims"] if c["id"] == listing.get("my_claim")), None)
    return await render(
        request,
        "listing.html",
        {
            "l": listing,
            "f": listing["figures"],
            "verdicts": verdicts,
            "events": events,
            "my_claim": my_claim,
            "may_claim": allowed(who.role, "market.claim") and who.org_id is not None,
            "eligible_mine": [v for v in verdicts if v["eligible"]],
            "words": words(),
        },
        principal=who,
    )


@router.get("/library/{listing_id}/appraisal", dependencies=[Depends(page_action("library.read"))])
@html_errors
async def listing_appraisal_page(request: Request, listing_id: IntId) -> Response:
    """The appraisal a listing was published from (its owner and the first N claims): the
    summary and charts of the project page, from the stored document."""
    who = await guard(request, "library.read")
    if isinstance(who, Response):
        return who
    from restora.service.web.projectpage import charts, summary

    status, listing = await api_get(request, f"{API}/listings/{listing_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such listing."), who)
    status, document = await api_get(request, f"{API}/listings/{listing_id}/appraisal")
    if status == 403:
        return await error_page(
            request, 403, N_("The full appraisal goes to the owner and the first claims."), who
        )
    if status != 200 or not isinstance(document, dict):
        return await error_page(request, 404, N_("No such listing."), who)
    return await render(
        request,
        "listing_appraisal.html",
        {
            "l": listing,
            "shown": listing["appraisal_version"],
            "summary": summary(document),
            "charts": charts(document),
        },
        principal=who,
    )


# ---------------------------------------------------------------------------------- products
@router.get("/products", dependencies=[Depends(page_action("supply.read"))])
@html_errors
async def products_page(request: Request) -> Response:
    who = await guard(request, "supply.read")
    if isinstance(who, Response):
        return who
    items = (await api_json(request, f"{API}/products", {"limit": 500}))["items"]
    return await render(
        request,
        "products.html",
        {
            "products": items,
            "may_manage": allowed(who.role, "supply.manage") and who.org_id is not None,
            "words": words(),
        },
        principal=who,
    )


@router.get("/products/{product_id}", dependencies=[Depends(page_action("supply.read"))])
@html_errors
async def product_page(request: Request, product_id: IntId) -> Response:
    who = await guard(request, "supply.read")
    if isinstance(who, Response):
        return who
    status, product = await api_get(request, f"{API}/products/{product_id}")
    if status != 200:
        return await error_page(request, 404, N_("No such product."), who)
    verdicts = await api_json(request, f"{API}/products/{product_id}/listings")
    locale = locale_of(request)
    for v in verdicts:
        v["reasons"] = [_reason(f, locale) for f in v["failures"]]
    may_edit = allowed(who.role, "supply.manage") and (
        who.role == "admin" or product["org_id"] == who.org_id
    )
    return await render(
        request,
        "product.html",
        {"p": product, "verdicts": verdicts, "may_edit": may_edit, "words": words()},
        principal=who,
    )


# ------------------------------------------------------------------------------------ offers
@router.get("/offers", dependencies=[Depends(page_action("market.inbox"))])
@html_errors
async def offers_page(request: Request) -> Response:
    who = await guard(request, "market.inbox")
    if isinstance(who, Response):
        return who
    try:
        inbox = (await api_json(request, f"{API}/notifications", {"limit": 200}))["items"]
        claims = (await api_json(request, f"{API}/claims", {"limit": 200}))["items"]
    except Problem as exc:
        return await error_page(request, exc.status, exc.detail, who)
    return await render(
        request,
        "offers.html",
        {"inbox": inbox, "claims": claims, "is_finance": who.role == "finance", "words": words()},
        principal=who,
    )
