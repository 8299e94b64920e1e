"""The registry's pages (docs/registry.md, docs/web.md).

Signed in (``registry.read``):

- ``/registry``: the accounts of the caller's organisation (the bureaus and evaluators: every
  account), each with its serial blocks — serial id, amount in the unit's measure, status — and
  small forms on each block to transfer, retire or pledge part of it (the first N serials), to
  accept or reject a transfer sent to the organisation, and to release or enforce a pledge it
  holds as lender;
- ``/registry/accounts/{id}``: an account's statement, every event naming its block, with a
  link to the public record of each issuance, transfer, retirement and cancellation.

Public (no sign-in, ``registry.public``):

- ``/public/registry``: per project and unit type, units issued, retired, cancelled and
  outstanding (in 亩, t CO2e, m³ …), the latest signed tree head and the public key to check it,
  the latest public records;
- ``/public/registry/events/{id}``: the stable public record of one issuance, transfer,
  retirement or cancellation — account names, beneficiary and purpose, its leaf index and the
  link to its inclusion proof, checked offline with ``restora registry check-proof`` — or of
  the basis of an issuance: an evaluator's sign-off of a milestone (indicator, verified value,
  target, decision, the evaluator's organisation, the report's and the evidence's SHA-256) and
  the verified outcome it records (unit type, project, vintage, region, count).

Everything is read from the registry API in process (:mod:`restora.service.api.registry`) with
the caller's credentials; every form writes through it (``static/js/market.js``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from restora.service.permissions import allowed, page_action
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.render import locale_of, render
from restora.service.web.verificationpage import DECISIONS, INDICATORS

router = APIRouter(include_in_schema=False)
API = "/api/v1/registry"
BigId = Annotated[int, Path(ge=1, le=2**62)]

STATUSES = {
    "held": N_("held"),
    "listed": N_("listed for sale"),
    "pending_transfer": N_("transfer pending"),
    "retired": N_("retired"),
    "cancelled": N_("cancelled"),
    "buffer": N_("buffer pool"),
    "frozen": N_("frozen"),
    "pledged": N_("pledged"),
}
KINDS = {
    "sign_off": N_("milestone sign-off"),
    "open_account": N_("account opened"),
    "policy": N_("policy set"),
    "verify_outcome": N_("verified outcome recorded"),
    "issue": N_("issuance"),
    "split": N_("block split"),
    "transfer": N_("transfer"),
    "initiate_transfer": N_("transfer sent"),
    "accept_transfer": N_("transfer accepted"),
    "reject_transfer": N_("transfer rejected"),
    "list": N_("listed for sale"),
    "delist": N_("delisted"),
    "settle": N_("sale settled"),
    "retire": N_("retirement"),
    "cancel": N_("cancellation"),
    "freeze": N_("frozen"),
    "unfreeze": N_("unfrozen"),
    "pledge": N_("pledge"),
    "release_pledge": N_("pledge released"),
    "enforce_pledge": N_("pledge enforced"),
}
ACCOUNT_KINDS = {
    "holding": N_("holding account"),
    "retirement": N_("retirement account"),
    "buffer": N_("buffer pool"),
    "government": N_("government account"),
    "proceeds": N_("share of proceeds"),
    "restoration": N_("restoration account"),
}
#: the measures of the unit types as the pages write them
MEASURES = {
    "mu": N_("mu"),
    "t CO2e": N_("t CO2e"),
    "kg/yr": N_("kg/yr"),
    "m**3": N_("m³"),
}
DIRECTIONS = {"in": N_("in"), "out": N_("out"), "": ""}


def words() -> dict[str, dict[str, str]]:
    return {
        "status": STATUSES,
        "kind": KINDS,
        "account": ACCOUNT_KINDS,
        "measure": MEASURES,
        "direction": DIRECTIONS,
        "decision": DECISIONS,
        "indicator": INDICATORS,
    }


async def _unit_names(request: Request) -> dict[str, str]:
    _status, types = await api_get(request, f"{API}/unit-types")
    zh = locale_of(request).startswith("zh")
    return {t["code"]: t["name_zh"] if zh else t["name_en"] for t in types or []}


def _digits(measure: str) -> int:
    return 2 if measure == "mu" else 0


# ----------------------------------------------------------------------------- signed in
@router.get("/registry", dependencies=[Depends(page_action("registry.read"))])
@html_errors
async def registry_page(request: Request) -> Response:
    who = await guard(request, "registry.read")
    if isinstance(who, Response):
        return who
    accounts = await api_json(request, f"{API}/accounts")
    blocks = await api_json(request, f"{API}/blocks")
    everyone = await api_json(request, f"{API}/public/accounts")
    mine = {a["id"] for a in accounts if a["mine"]}
    by_account: dict[int, list[dict[str, Any]]] = {}
    for b in blocks:
        by_account.setdefault(b["account"], []).append(b)
    incoming = [b for b in blocks if b.get("pending_to") in mine and b["account"] not in mine]
    as_lender = [b for b in blocks if b.get("lender") in mine and b["account"] not in mine]
    shown = [a for a in accounts if a["mine"]] or accounts
    return await render(
        request,
        "registry.html",
        {
            "accounts": shown,
            "by_account": by_account,
            "incoming": incoming,
            "as_lender": as_lender,
            "others": [a for a in everyone if a["id"] not in mine],
            "may_operate": allowed(who.role, "registry.operate") and bool(mine),
            "venues": {
                "earthstone": allowed(who.role, "earthstone.read"),
                "offsets": allowed(who.role, "offset.read"),
            },
            "may_admin": allowed(who.role, "registry.admin"),
            "units": await _unit_names(request),
            "words": words(),
            "digits": _digits,
        },
        principal=who,
    )


@router.get("/registry/accounts/{account_id}", dependencies=[Depends(page_action("registry.read"))])
@html_errors
async def account_page(request: Request, account_id: BigId) -> Response:
    who = await guard(request, "registry.read")
    if isinstance(who, Response):
        return who
    status, st = await api_get(request, f"{API}/accounts/{account_id}/statement")
    if status != 200:
        return await error_page(request, 404, N_("No such account."), who)
    return await render(
        request,
        "registry_account.html",
        {
            "st": st,
            "units": await _unit_names(request),
            "words": words(),
            "digits": _digits,
        },
        principal=who,
    )


# ----------------------------------------------------------------------------- public
@router.get("/public/registry", dependencies=[Depends(page_action("registry.public"))])
async def public_registry(
    request: Request, project: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    params = {"project_id": project} if project else {}
    _s, totals = await api_get(request, f"{API}/public/totals", params)
    _s, head = await api_get(request, f"{API}/head")
    _s, keys = await api_get(request, f"{API}/keys")
    _s, records = await api_get(request, f"{API}/public/events", {**params, "limit": 50})
    return await render(
        request,
        "public/registry.html",
        {
            "project": project,
            "totals": totals or [],
            "head": head,
            "keys": keys or [],
            "records": records or [],
            "units": await _unit_names(request),
            "words": words(),
            "digits": _digits,
        },
    )


@router.get(
    "/public/registry/events/{event_id}", dependencies=[Depends(page_action("registry.public"))]
)
async def public_registry_event(request: Request, event_id: BigId) -> Response:
    status, record = await api_get(request, f"{API}/public/events/{event_id}")
    if status != 200:
        return await render(
            request,
            "error.html",
            {"status": 404, "message": N_("This registry record is not public.")},
            status=404,
        )
    _s, head = await api_get(request, f"{API}/head")
    _s, keys = await api_get(request, f"{API}/keys")
    key = next((k for k in keys or [] if head and k["key_id"] == head["key_id"]), None)
    proof_url = record["proof_url"]
    if head and record.get("leaf_index") is not None and record["leaf_index"] < head["size"]:
        proof_url += f"?size={head['size']}"
    return await render(
        request,
        "public/registry_event.html",
        {
            "r": record,
            "head": head,
            "key": key,
            "proof_url": proof_url,
            "units": await _unit_names(request),
            "words": words(),
            "digits": _digits,
        },
    )
