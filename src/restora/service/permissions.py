"""The one permission matrix: which role may do which action, on which records, in which regions.

Roles are the parties of a restoration (issue 13, DESIGN.md "The platform"):

=======================  ===================================================================
role                     may
=======================  ===================================================================
``natural_resources``    own the register (mines, sites, hazards) and the plans of its region;
                         run appraisals, publish projects and disclosures, answer complaints
``ecology_environment``  own pollution (soil samples, diagnosis) and monitoring; answer
                         complaints
``finance``              banks, investors, guarantors, insurers: read the appraisals of
                         *published* projects (and the register they rest on)
``enterprise``           a restoration company: its own projects (its organisation owns them)
                         and its fund accounts
``evaluator``            third-party verification: read all the evidence and the audit trail,
                         record verifications (the registry's verified outcomes)
``village``              a village collective: the benefit-sharing terms of its projects
``public``               disclosed information only; file and track a complaint
``admin``                everything, accounts included
=======================  ===================================================================

An action is ``<resource>.<verb>``; :data:`PERMISSIONS` lists, one line per action, the roles that
may do it (``admin`` may do every action and is not listed). Adding an action is a one-line edit
here; a route declares its action with :func:`restora.service.security.authorize`.

Three rules come on top of the table, for the records themselves:

- **Region scope.** An account's ``region`` (a 6-digit GB/T 2260 code) limits what it reads and
  writes to that county (``430121``), city (``430100``) or province (``430000``); no scope
  means the whole country. Out of scope is 404 on reads (the record is not theirs to see) and
  403 on writes (:func:`restora.service.security.check_region`).
- **Monitoring** (:func:`mine_monitoring_visible`): the bureaus and evaluators read the
  monitoring of the mines of their region; ``enterprise`` only that of the mines of its
  organisation's projects.
- **Integrity records** (:func:`integrity_visible`): ``enterprise`` reads its own
  organisation's record; bureaus and evaluators those of companies of their region (the
  organisation's region or that of a project it owns); the
  public only the grades (:data:`PUBLIC_FIELDS` ``integrity``).
- **Coordination record** (:func:`coordination_visible`): the bureaus, finance and evaluators
  read the meetings and consultations concerning their region (the record's region or that of
  a project or mine it concerns); the public those marked public, without people's names
  (:data:`PUBLIC_FIELDS` ``coordination``).
- **Projects** (:func:`project_visible`, :func:`project_writable`, :func:`check_project`):
  ``finance`` sees published projects only; ``enterprise`` sees and writes only the projects its
  organisation owns; ``village`` sees the projects of its region (their benefit-sharing terms);
  bureaus and evaluators see the projects of their region, ``natural_resources`` writes them.
- **The public** sees only disclosed fields: :data:`PUBLIC_FIELDS` names, per subject, every
  field a public response may carry, and :data:`NEVER_PUBLIC` the fields no public response
  ever carries (tests/service/test_no_leak.py walks every public route against them).

docs/platform-security.md shows the table (generated from :data:`PERMISSIONS`; a test checks the
document equals it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

ROLES = (
    "admin",
    "natural_resources",
    "ecology_environment",
    "finance",
    "enterprise",
    "evaluator",
    "village",
    "public",
)

NR, ECO, FIN, ENT, EVAL, VIL, PUB = (
    "natural_resources",
    "ecology_environment",
    "finance",
    "enterprise",
    "evaluator",
    "village",
    "public",
)
#: Every role that signs in (all but the public; admin is implicit everywhere).
SIGNED_IN = (NR, ECO, FIN, ENT, EVAL, VIL)
#: Everyone, the public included.
EVERYONE = (*SIGNED_IN, PUB)
#: The roles that read the register and its evidence.
STAFF = (NR, ECO, FIN, ENT, EVAL)

PERMISSIONS: dict[str, tuple[str, ...]] = {
    # -- the register (mines, sites, hazards) ------------------------------------------------
    "register.read": STAFF,
    "register.write": (NR,),
    "register.import": (NR,),
    # -- pollution: soil samples, diagnosis ---------------------------------------------------
    "pollution.read": (NR, ECO, ENT, EVAL),
    "pollution.write": (ECO, NR),
    "diagnosis.read": (NR, ECO, ENT, EVAL),
    "diagnosis.run": (NR, ECO),
    # -- monitoring ----------------------------------------------------------------------------
    # readings, alerts, rules, hooks of the mines of one's region (enterprise: of the mines of
    # its organisation's projects only, mine_monitoring_visible); the ecology bureau writes
    "monitoring.read": (NR, ECO, ENT, EVAL),
    "monitoring.write": (ECO,),
    # the integrity archive: a company's obligations, score and measures (integrity_visible:
    # enterprise its own; bureaus and evaluators of their region); the grades are public
    # (disclosure.read); the bureaus record obligations and run the scoring
    "integrity.read": (NR, ECO, ENT, EVAL),
    "integrity.write": (NR, ECO),
    # -- plans, costs, values -----------------------------------------------------------------
    "plan.read": (NR, ECO, ENT, EVAL),
    "plan.write": (NR,),
    "cost.read": (NR, ENT, EVAL),
    "cost.write": (NR, ENT),
    "valuation.read": (NR, ECO, FIN, ENT, EVAL),
    "valuation.run": (NR, ECO),
    # -- projects and appraisals (record rules: project_visible / project_writable) ------------
    "project.read": (NR, ECO, FIN, ENT, EVAL, VIL),
    "project.write": (NR, ENT),
    "project.publish": (NR,),
    "appraisal.read": (NR, ECO, FIN, ENT, EVAL),
    "appraisal.run": (NR, ENT),
    "benefit.read": (NR, ENT, EVAL, VIL),
    "fund.read": (NR, ENT, EVAL),
    "fund.write": (ENT,),
    "verification.write": (EVAL,),
    # -- the project library, finance supply and the market (docs/market.md) ------------------
    "library.read": (NR, ECO, FIN, ENT, EVAL),  # listings (finance: of its scope)
    "library.publish": (NR, ENT),  # publish/withdraw a listing, choose a claim (the owner)
    "supply.read": (NR, FIN, ENT, EVAL),  # products (finance: its organisation's)
    "supply.manage": (FIN,),  # a provider's own products
    "market.claim": (FIN,),  # claim a listing, answer when chosen
    "market.inbox": (NR, FIN, ENT),  # an organisation's notifications and claims
    # -- the registry of credits and quotas (docs/registry.md) --------------------------------
    "registry.read": SIGNED_IN,  # accounts, blocks, statements (an organisation: its own)
    "registry.operate": (NR, ECO, FIN, ENT, VIL),  # one's organisation's blocks
    "registry.admin": (NR,),  # open accounts, policies, issue, freeze, unfreeze, cancel
    "registry.public": EVERYONE,  # signed tree heads, proofs, totals, public records, venues
    "trading.read": SIGNED_IN,  # one's organisation's money, orders and bids
    "trading.trade": (NR, ECO, FIN, ENT, VIL),  # offer one's lots, bid, sell, buy, cancel
    "trading.admin": (NR,),  # the trading platform's cash desk; close auctions
    "offset.read": STAFF,  # offset obligations and their status (of one's region)
    "offset.record": (NR, ECO),  # record a regional offset obligation
    "earthstone.read": (NR, ECO, EVAL),  # a mine's approved, sold, hauled earth and stone, alerts
    "earthstone.write": (NR,),  # approved surplus from the plan; weighbridge uploads
    # -- policy evaluation (docs/evaluation.md): indicators, disparity, exports (of one's scope)
    "evaluation.read": (NR, ECO, FIN, EVAL),
    # the coordination record: joint meetings of bureaus and financial institutions, community
    # consultations and hearings (coordination_visible: of one's region); the bureaus record
    # them; what is public (hearings' notices and answers) is read with disclosure.read
    "coordination.read": (NR, ECO, FIN, EVAL),
    "coordination.write": (NR, ECO),
    # -- background jobs ----------------------------------------------------------------------
    "job.read": (NR, ECO, ENT, EVAL),
    "job.cancel": (NR, ENT),
    # -- disclosure and public supervision ----------------------------------------------------
    "disclosure.read": EVERYONE,
    "disclosure.publish": (NR, ECO),
    "complaint.file": EVERYONE,
    "complaint.track": EVERYONE,
    "complaint.read": (NR, ECO, EVAL),
    "complaint.handle": (NR, ECO),
    # -- the audit trail -------------------------------------------------------------------------
    "audit.read": (EVAL,),
    # -- accounts ------------------------------------------------------------------------------
    "session.manage": EVERYONE,  # sign in, sign out, read one's own session
    "account.self": SIGNED_IN,  # one's own account: its API tokens and password
    "users.read": (),
    "users.manage": (),
}

ACTIONS: frozenset[str] = frozenset(PERMISSIONS)
MATRIX: dict[str, frozenset[str]] = {
    role: frozenset(ACTIONS)
    if role == "admin"
    else frozenset(a for a, roles in PERMISSIONS.items() if role in roles)
    for role in ROLES
}
"""Role → the actions it may do (derived from :data:`PERMISSIONS`)."""


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` at all (record rules and region scope aside).

    Examples
    --------
    >>> allowed("finance", "appraisal.read"), allowed("finance", "register.write")
    (True, False)
    >>> allowed("admin", "users.manage"), allowed("public", "disclosure.read")
    (True, True)
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return action in MATRIX.get(role, frozenset())


def page_action(action: str) -> Callable[[], None]:
    """A route dependency that declares a web page's action without checking it.

    A web page checks its action itself (it answers with the sign-in page or a 403 page, not a
    problem document), but declares it like an API route, so that the route × role test
    (tests/service/test_permissions_matrix.py) finds it::

        @router.get("/map", dependencies=[Depends(page_action("register.read"))])
    """
    allowed("public", action)  # an unknown action fails at import time

    def declared() -> None:
        return None

    declared.__name__ = f"page_{action.replace('.', '_')}"
    declared.restora_action = action  # type: ignore[attr-defined]
    declared.restora_page = True  # type: ignore[attr-defined]
    return declared


def region_prefix(scope: str | None) -> str:
    """The code prefix a scope covers: ``430000`` → ``43``, ``430100`` → ``4301``.

    Examples
    --------
    >>> region_prefix("430000"), region_prefix("430100"), region_prefix("430121")
    ('43', '4301', '430121')
    >>> region_prefix(None), region_prefix("000000")
    ('', '')
    """
    if not scope:
        return ""
    code = str(scope)
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return "" if code == "00" else code


def in_scope(scope: str | None, region_code: str | None) -> bool:
    """Whether a record of ``region_code`` lies in the ``scope`` (None: everywhere).

    Examples
    --------
    >>> in_scope("430500", "430599"), in_scope("430599", "430521"), in_scope(None, None)
    (True, False, True)
    """
    prefix = region_prefix(scope)
    return not prefix or (region_code is not None and str(region_code).startswith(prefix))


def roles_with(action: str) -> list[str]:
    """The roles that may do ``action`` (for docs and tests)."""
    return [r for r in ROLES if allowed(r, action)]


def check_matrix(actions: Iterable[str]) -> list[str]:
    """Actions used by routes that the matrix does not know (a test keeps this empty)."""
    return sorted(a for a in actions if a not in ACTIONS)


def matrix_markdown() -> str:
    """The matrix as a Markdown table (docs/platform-security.md holds it; a test checks the
    document against this)."""
    head = "| action | " + " | ".join(ROLES) + " |"
    rule = "|---|" + "|".join(":-:" for _ in ROLES) + "|"
    rows = [
        f"| `{action}` | " + " | ".join("✓" if allowed(r, action) else "" for r in ROLES) + " |"
        for action in PERMISSIONS
    ]
    return "\n".join([head, rule, *rows]) + "\n"


# ------------------------------------------------------------------------------ record rules
def project_visible(
    principal: Any, *, region_code: str | None, owner_org_id: int | None, published: bool
) -> bool:
    """Whether ``principal`` (a :class:`~restora.service.security.Principal`) may see a project.

    ``admin`` sees every project; ``finance`` the published ones of its scope; ``enterprise``
    those its organisation owns; the bureaus, evaluators and villages those of their region
    scope; the public none (it reads disclosures, not projects).

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> bank = P(role="finance", org_id=7, region=None)
    >>> project_visible(bank, region_code="430599", owner_org_id=3, published=False)
    False
    >>> firm = P(role="enterprise", org_id=3, region=None)
    >>> project_visible(firm, region_code="430599", owner_org_id=3, published=False)
    True
    """
    role = principal.role
    if role == "admin":
        return True
    if role == ENT:
        return principal.org_id is not None and owner_org_id == principal.org_id
    if role == FIN:
        return bool(published) and in_scope(principal.region, region_code)
    if role in (NR, ECO, EVAL, VIL):
        return in_scope(principal.region, region_code)
    return False


def mine_monitoring_visible(
    principal: Any, *, region_code: str | None, owner_org_ids: Iterable[int | None] = ()
) -> bool:
    """Whether ``principal`` may read the monitoring (sensors, readings, alerts) of a mine.

    ``region_code`` is the mine's; ``owner_org_ids`` the organisations owning the live
    projects the mine is part of. ``admin`` reads every mine; ``enterprise`` the mines of its
    organisation's projects (a restoration company watches its own works, not its
    competitors'); the bureaus and evaluators the mines of their region scope; others none.
    A mine unknown to the register (``region_code`` None) is visible to unscoped accounts only.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> firm = P(role="enterprise", org_id=3, region="430599")
    >>> mine_monitoring_visible(firm, region_code="430599", owner_org_ids=[3])
    True
    >>> mine_monitoring_visible(firm, region_code="430599", owner_org_ids=[5, None])
    False
    >>> county = P(role="ecology_environment", org_id=None, region="430599")
    >>> mine_monitoring_visible(county, region_code="430599")
    True
    """
    role = principal.role
    if role == "admin":
        return True
    if role == ENT:
        return principal.org_id is not None and principal.org_id in set(owner_org_ids)
    if role in (NR, ECO, EVAL):
        if region_code is None:
            return not region_prefix(principal.region)
        return in_scope(principal.region, region_code)
    return False


def integrity_visible(principal: Any, *, org_id: int, region_codes: Iterable[str | None]) -> bool:
    """Whether ``principal`` may read a company's integrity record (obligations, score).

    ``region_codes`` are the company's: its organisation's region and those of the projects it
    owns. ``admin`` reads every record; ``enterprise`` its own organisation's only; the bureaus
    and evaluators those of companies with a region in their scope (a company with no region at
    all: unscoped accounts only). The public reads the grades (``disclosure.read``), never a
    record.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> firm = P(role="enterprise", org_id=3, region="430599")
    >>> integrity_visible(firm, org_id=3, region_codes=["430599"])
    True
    >>> integrity_visible(firm, org_id=4, region_codes=["430599"])
    False
    >>> county = P(role="natural_resources", org_id=1, region="430599")
    >>> integrity_visible(county, org_id=4, region_codes=[None, "430521"])
    False
    >>> integrity_visible(county, org_id=4, region_codes=[None, "430599"])
    True
    """
    role = principal.role
    if role == "admin":
        return True
    if role == ENT:
        return principal.org_id is not None and principal.org_id == org_id
    if role in (NR, ECO, EVAL):
        regions = [r for r in region_codes if r]
        if not regions:
            return not region_prefix(principal.region)
        return any(in_scope(principal.region, r) for r in regions)
    return False


def coordination_visible(principal: Any, *, regions: Iterable[str | None]) -> bool:
    """Whether ``principal`` may read a meeting or consultation of the coordination record.

    ``regions`` are the record's: its own region and those of the projects and mines it
    concerns. ``admin`` reads every record; the bureaus, finance and evaluators those with a
    region in their scope (a record of no region: unscoped accounts only); others none (the
    public reads what is marked public, through ``disclosure.read``).

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> county = P(role="natural_resources", org_id=1, region="430599")
    >>> coordination_visible(county, regions=["430599"]), coordination_visible(county, regions=[])
    (True, False)
    >>> bank = P(role="finance", org_id=2, region=None)
    >>> coordination_visible(bank, regions=["430521"]), coordination_visible(bank, regions=[])
    (True, True)
    """
    role = principal.role
    if role == "admin":
        return True
    if role in (NR, ECO, FIN, EVAL):
        present = [r for r in regions if r]
        if not present:
            return not region_prefix(principal.region)
        return any(in_scope(principal.region, r) for r in present)
    return False


def project_writable(principal: Any, *, region_code: str | None, owner_org_id: int | None) -> bool:
    """Whether ``principal`` may change a project: ``admin``; ``natural_resources`` in its region
    scope; ``enterprise`` when its organisation owns the project."""
    role = principal.role
    if role == "admin":
        return True
    if role == NR:
        return in_scope(principal.region, region_code)
    if role == ENT:
        return principal.org_id is not None and owner_org_id == principal.org_id
    return False


def check_project(principal: Any, project: Mapping[str, Any], *, write: bool) -> None:
    """Refuse a project ``principal`` may not see (404) or, with ``write``, change (403).

    ``project`` is its ``projects`` row as a mapping (``region_code``, ``owner_org_id``,
    ``published``). A project one may not see answers 404 on writes too: its existence is not
    theirs to learn.
    """
    from restora.service.problems import Problem

    region = project.get("region_code")
    owner = project.get("owner_org_id")
    if not project_visible(
        principal, region_code=region, owner_org_id=owner, published=bool(project.get("published"))
    ):
        raise Problem(404, "no such project", kind="not-found")
    if write and not project_writable(principal, region_code=region, owner_org_id=owner):
        raise Problem(
            403, f"the role {principal.role} may not change this project", kind="forbidden"
        )


# ------------------------------------------------------------------------- public disclosure
def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


PUBLIC_FIELDS: dict[str, frozenset[str]] = {
    # a disclosed mine: where, what, who answers for it (the responsible party is a legal
    # person, disclosed under the mine-restoration disclosure rules), how far restoration got
    "mine": _names(
        "mine_id name region_code mineral status responsible_party closure_year lon lat bbox "
        "sites area_hm2 area_mu plan_summary progress money_raised_cny money_spent_cny "
        "money_basis "
        "monitoring disclosed_at updated_at fields"
    ),
    # a disclosed project: its plan in summary, money raised and spent, progress; never the
    # appraisal, costs or cash flows of a project (those go to finance once it is published)
    "project": _names(
        "project_id name name_en region_code mines status start_year plan_summary progress "
        "money_raised_cny money_spent_cny money_basis monitoring responsible_party disclosed_at "
        "updated_at fields"
    ),
    # the latest monitoring summary of a disclosed mine or project
    "monitoring": frozenset(
        {"indicator", "value", "unit", "measured_on", "status", "summary", "count", "latest"}
    ),
    # a complaint followed by its receipt number: its state and the answer, never who filed
    # it nor who handles it by name
    "complaint": _names(
        "receipt status created_at due_at answered_at answer overdue mine_id project_id "
        "region_code photos events at action deadline_basis extension_reason"
    ),
    # the registry of credits and quotas: signed tree heads, public keys, proofs, totals per
    # project and the public record of issuances, transfers, retirements and cancellations
    # (account names — organisations' — never a person's) and of their basis: an evaluator's
    # sign-off of a milestone (the evaluator's organisation, never the person) and the
    # verified outcome it records
    "registry": _names(
        "origin size root timestamp key_id signature checkpoint algorithm public_key pem "
        "created_at kind event_id event leaf_index tree_size leaf_hash proof head size1 size2 "
        "project_id unit_type unit_name_en unit_name_zh measure issued retired cancelled "
        "outstanding amounts code name_en name_zh serial_unit attrs id name at serial start end "
        "count amount vintage region_code from_account to_account beneficiary purpose reason "
        "proof_url verification milestone indicator value target decision "
        "evaluator_organisation report_sha256 evidence_sha256"
    ),
    # the registry's venues: auctions (bids sealed until the close: only their number; then the
    # ranked bids by account name), the order books' depth, the latest trades
    "venues": _names(
        "id unit_type serial project_id attrs amount measure rule reserve_fen closes_at "
        "created_at status bids seller result price_fen winner ranking rank account amount_fen "
        "valid book asks quantity orders venue reference buyer payee at"
    ),
    # the integrity grades (企业环境信用评价办法（试行）: grades are disclosed): an organisation's
    # name and region, its grade and labels, the date, the lists it is on and the measures
    # disclosed with the grade; never its score, breakdown or obligations
    "integrity": _names(
        "name region_code grade label_zh label_en colour as_of listed measures code kind "
        "name_zh name_en"
    ),
    # the coordination record's public part: hearings' and consultations' notices, attendance by
    # group, opinions by group with their answers; meetings marked public with the
    # organisations and roles present, decisions and follow-ups by owner organisation — never
    # a person's name, an attachment or who recorded it
    "coordination": _names(
        "id kind held_on title place organiser convener project_id mine_id region_code notice "
        "published_on channel content attendance villagers village_committee company bureau "
        "other total opinions group opinion answer adopted agenda participants organisation "
        "role decisions follow_ups action owner_organisation due_on done_on status projects"
    ),
    # a proof-of-work challenge for filing a complaint through the API (antispam)
    "challenge": _names("challenge kind bits algorithm expires_at honeypot"),
    # one's own session (the public: not signed in)
    "session": frozenset({"signed_in", "role", "csrf_token", "expires_at"}),
    # envelopes: pages, GeoJSON, problem details (RFC 9457)
    "envelope": _names(
        "items total limit offset type features geometry properties coordinates id subject "
        "subject_id title status detail instance request_id errors field in message file row"
    ),
}
"""Per subject, every field a response to the public may carry (the no-leak test's allowed set)."""

NEVER_PUBLIC: frozenset[str] = _names(
    # accounts and their secrets, people's names and contacts (``evaluator``: the username of
    # who signed off a milestone; the public reads ``evaluator_organisation``)
    "username display_name password password_hash user_id user org_id token evaluator "
    "token_sha256 csrf_secret created_by disclosed_by assigned_user_id "
    "assigned_org_id client_sha256 email phone contact contact_name filed_by text "
    # the coordination record's people: participants, follow-up owners, speakers at hearings
    "person owner_person speaker "
    # appraisals, costs and finance of projects (finance reads them once published)
    "spec document files inputs_sha256 npv_cny irr capex_cny opex_cny_per_yr cost "
    "costs cash_flows financing appraisal appraisals"
)
"""Fields no response to the public ever carries, whatever a disclosure says."""


def public_fields(subject: str) -> frozenset[str]:
    """The fields of ``subject`` (``mine``, ``project``, …) a disclosure may make public.

    Examples
    --------
    >>> "responsible_party" in public_fields("mine"), "npv_cny" in public_fields("project")
    (True, False)
    """
    try:
        return PUBLIC_FIELDS[subject] - NEVER_PUBLIC
    except KeyError:
        raise ValueError(f"no public fields for {subject!r}") from None
