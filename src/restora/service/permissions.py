"""The one permission matrix: which role may do which action, and in which regions.

Roles are the departments and parties of a restoration (DESIGN.md, "Who uses it"). An action is
``<resource>.<verb>``. A role's ``region`` scope (a 6-digit GB/T 2260 code) limits what it may
*write* — and for non-public roles, what it may read — to that county, city or province: a
county bureau (``430121``) writes only its county, a provincial one (``430000``) its province;
no scope means the whole country. Everything every route checks comes from here; a test walks
every route × role against this table.
"""

from __future__ import annotations

from collections.abc import Iterable

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

_READ_REGISTER = {"register.read", "diagnosis.read", "valuation.read"}
_PUBLIC = {
    "disclosure.read",  # public pages of disclosed mines and projects
    "complaint.file",
    "complaint.track",
}
MATRIX: dict[str, frozenset[str]] = {
    "admin": frozenset(),  # every action (see allowed)
    "natural_resources": frozenset(
        _READ_REGISTER
        | _PUBLIC
        | {
            "register.write",
            "register.import",
            "plan.read",
            "plan.write",
            "cost.read",
            "project.read",
            "project.write",
            "appraisal.run",
            "appraisal.read",
            "job.read",
            "job.cancel",
            "complaint.read",
            "complaint.handle",
            "disclosure.publish",
        }
    ),
    "ecology_environment": frozenset(
        _READ_REGISTER
        | _PUBLIC
        | {"plan.read", "project.read", "appraisal.read", "job.read"}
        | {"pollution.read", "complaint.read", "complaint.handle"}
    ),
    "finance": frozenset(
        _PUBLIC | {"register.read", "valuation.read", "project.read", "appraisal.read", "job.read"}
    ),
    "enterprise": frozenset(
        _READ_REGISTER
        | _PUBLIC
        | {
            "plan.read",
            "cost.read",
            "project.read",
            "project.write",
            "appraisal.run",
            "appraisal.read",
            "job.read",
            "job.cancel",
        }
    ),
    "evaluator": frozenset(
        _READ_REGISTER
        | _PUBLIC
        | {"plan.read", "cost.read", "project.read", "appraisal.read", "job.read", "audit.read"}
    ),
    "village": frozenset(_PUBLIC | {"project.read", "benefit.read"}),
    "public": frozenset(_PUBLIC),
}
ACTIONS: frozenset[str] = frozenset().union(*MATRIX.values()) | {
    "audit.read",
    "users.manage",
    "users.read",
}


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` at all (region scope aside).

    Examples
    --------
    >>> allowed("finance", "appraisal.read"), allowed("finance", "register.write")
    (True, False)
    >>> allowed("admin", "users.manage")
    True
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if role == "admin":
        return True
    return action in MATRIX.get(role, frozenset())


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
    """Whether a record of ``region_code`` lies in the ``scope`` (None: everywhere)."""
    prefix = region_prefix(scope)
    return not prefix or (region_code is not None and str(region_code).startswith(prefix))


def roles_with(action: str) -> list[str]:
    """The roles that may do ``action`` (for docs and tests)."""
    return [r for r in ROLES if allowed(r, action)]


def check_matrix(actions: Iterable[str]) -> list[str]:
    """Actions used by routes that the matrix does not know (a test keeps this empty)."""
    return sorted(a for a in actions if a not in ACTIONS)
