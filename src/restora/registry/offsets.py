"""Regional ecological offset obligations, met by retiring local mine-restoration credits.

A new project or a heavy polluter in a region may be required to retire credits of local mine
restoration (carbon-sink credits, farmland supplement quotas …) to offset part of its impact.
An :class:`Obligation` says how many units of which type, from where, by when; each
:class:`Retirement` against it counts only when its units are of the obligation's type and come
from an eligible region.

Regions are 6-digit administrative division codes (GB/T 2260): the first 2 digits are the
province, the first 4 the prefecture, all 6 the county. Eligibility:

- ``eligible_regions`` is None: only units of the obligation's own county (the same 6-digit
  code) count — the default, "local" restoration;
- otherwise each entry is a region whose units count: a county code (``"320583"``, exactly that
  county), a prefecture code (``"320500"``: every county whose code starts ``3205``) or a
  province code (``"320000"``: every county starting ``32``); a 2- or 4-digit prefix
  (``"32"``, ``"3205"``) means the same as the province or prefecture code. The obligation's own
  county is *not* added implicitly: list it (or its prefecture or province) when it counts.

>>> from datetime import date, datetime
>>> ob = Obligation("OB-1", "Plant X", "320583", "carbon_sink", 100, date(2026, 12, 31), None)
>>> rs = [Retirement("OB-1", "carbon_sink", "320583", 60, datetime(2026, 6, 1)),
...       Retirement("OB-1", "carbon_sink", "320585", 30, datetime(2026, 7, 1))]
>>> s = compliance_status(ob, rs, date(2027, 1, 15))
>>> s.retired, s.outstanding, s.status
(60, 40, 'partly met, overdue')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from restora.errors import InputError

Status = Literal["met", "open", "overdue", "partly met, overdue"]
_CODE = re.compile(r"^\d{6}$")
_PREFIX = re.compile(r"^(\d{2}|\d{4}|\d{6})$")


@dataclass(frozen=True)
class Obligation:
    """An offset obligation.

    Attributes
    ----------
    obligation_id : str
    party : str
        Who must offset (the project or the polluter).
    region_code : str
        The county (GB/T 2260, 6 digits) where the impact is.
    unit_type : str
        The unit type that counts (e.g. ``"carbon_sink"``).
    required : int
        Units to retire [unit] (t CO2e, 亩 … of the unit type), a positive integer.
    due : date
        Last day by which the units must be retired.
    eligible_regions : tuple of str or None
        Where eligible units come from (see the module docstring); None: the same county.
    """

    obligation_id: str
    party: str
    region_code: str
    unit_type: str
    required: int
    due: date
    eligible_regions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Retirement:
    """``count`` units of ``unit_type`` from ``region_code`` retired against an obligation at ``at``."""

    obligation_id: str
    unit_type: str
    region_code: str
    count: int
    at: datetime | date


@dataclass(frozen=True)
class ObligationStatus:
    """Where an obligation stands on a day.

    Attributes
    ----------
    obligation_id : str
    required : int
        Units required [unit].
    retired : int
        Eligible units retired against it up to and including the day [unit]; units beyond the
        requirement are counted too (``retired`` may exceed ``required``).
    outstanding : int
        ``max(required - retired, 0)`` [unit].
    status : {"met", "open", "overdue", "partly met, overdue"}
        ``met``: nothing outstanding; ``open``: something outstanding and the due date not
        passed; ``overdue``: past due with nothing retired; ``partly met, overdue``: past due
        with some but not all retired.
    met_on : date or None
        The day the eligible retirements first reached the requirement.
    late : bool
        Met after the due date (``met_on > due``).
    not_counted : tuple of (Retirement, str)
        Retirements against this obligation that do not count, each with the reason.
    """

    obligation_id: str
    required: int
    retired: int
    outstanding: int
    status: Status
    met_on: date | None
    late: bool
    not_counted: tuple[tuple[Retirement, str], ...]


class IneligibleRetirement(InputError):
    """Units that do not count against an obligation (wrong unit type or region); exit code 2."""


def _day(at: datetime | date) -> date:
    return at.date() if isinstance(at, datetime) else at


def _check_code(code: object, field: str, where: str) -> str:
    if not isinstance(code, str) or not _CODE.match(code):
        raise InputError(
            f"{code!r}: a region is a 6-digit administrative division code (GB/T 2260)",
            row=where,
            field=field,
        )
    return code


def region_prefix(code: str) -> str:
    """The prefix a region entry stands for: ``"320000"`` → ``"32"``, ``"320500"`` → ``"3205"``.

    >>> region_prefix("320000"), region_prefix("320500"), region_prefix("320583"), region_prefix("3205")
    ('32', '3205', '320583', '3205')
    """
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


def validate_obligation(obligation: Obligation) -> None:
    """Raise :class:`InputError` naming the obligation and field if it is malformed."""
    where = f"obligation {obligation.obligation_id!r}"
    if not isinstance(obligation.obligation_id, str) or not obligation.obligation_id:
        raise InputError("an obligation needs an id", field="obligation_id")
    _check_code(obligation.region_code, "region_code", where)
    if not isinstance(obligation.unit_type, str) or not obligation.unit_type:
        raise InputError("an obligation needs a unit type", row=where, field="unit_type")
    req = obligation.required
    if not isinstance(req, int) or isinstance(req, bool) or req <= 0:
        raise InputError(
            f"{req!r}: the requirement is a positive integer of units", row=where, field="required"
        )
    if not isinstance(obligation.due, date):
        raise InputError(f"{obligation.due!r}: not a date", row=where, field="due")
    if obligation.eligible_regions is not None:
        if not obligation.eligible_regions:
            raise InputError(
                "no eligible region: give None for the same county, or the regions",
                row=where,
                field="eligible_regions",
            )
        for r in obligation.eligible_regions:
            if not isinstance(r, str) or not _PREFIX.match(r):
                raise InputError(
                    f"{r!r}: an eligible region is a GB/T 2260 code (6 digits) or a 2- or "
                    "4-digit prefix",
                    row=where,
                    field="eligible_regions",
                )


def eligibility(obligation: Obligation, unit_type: str, region_code: str) -> str | None:
    """None when units of this type and region count against the obligation, else the reason."""
    if unit_type != obligation.unit_type:
        return (
            f"unit type {unit_type!r} does not count: obligation {obligation.obligation_id!r} "
            f"needs {obligation.unit_type!r}"
        )
    if obligation.eligible_regions is None:
        if region_code != obligation.region_code:
            return (
                f"region {region_code} does not count: obligation {obligation.obligation_id!r} "
                f"needs units of its own county {obligation.region_code}"
            )
        return None
    prefixes = [region_prefix(r) for r in obligation.eligible_regions]
    if not any(region_code.startswith(p) for p in prefixes):
        return (
            f"region {region_code} does not count: obligation {obligation.obligation_id!r} "
            f"accepts units of {', '.join(obligation.eligible_regions)}"
        )
    return None


def check_retirement_against(obligation: Obligation, unit_type: str, region_code: str) -> None:
    """Raise :class:`IneligibleRetirement` if these units would not count against the obligation.

    Parameters
    ----------
    obligation : Obligation
    unit_type : str
        The type of the units to retire.
    region_code : str
        Their county (GB/T 2260, 6 digits).

    Raises
    ------
    IneligibleRetirement
        Wrong unit type (field ``unit_type``) or a region the obligation does not accept
        (field ``region_code``), with the reason in words.
    InputError
        A malformed obligation or region code.

    References
    ----------
    GB/T 2260-2007, Codes for the administrative divisions of the People's Republic of China
    (province = digits 1-2, prefecture = digits 1-4, county = digits 1-6).
    """
    validate_obligation(obligation)
    where = f"obligation {obligation.obligation_id!r}"
    _check_code(region_code, "region_code", where)
    reason = eligibility(obligation, unit_type, region_code)
    if reason is not None:
        field = "unit_type" if unit_type != obligation.unit_type else "region_code"
        raise IneligibleRetirement(reason, row=where, field=field)


def compliance_status(
    obligation: Obligation, retirements: Iterable[Retirement], today: date
) -> ObligationStatus:
    """Retired, outstanding and status of an obligation on ``today``.

    Parameters
    ----------
    obligation : Obligation
    retirements : iterable of Retirement
        Retirements; those against other obligations are ignored, those after ``today`` not
        yet counted.
    today : date
        The day of the status (the due day itself is still on time).

    Returns
    -------
    ObligationStatus
        Eligible units retired [unit], outstanding [unit], status, when it was met, the
        retirements that do not count and why.

    Raises
    ------
    InputError
        A malformed obligation, or a retirement against it with a count that is not a positive
        integer or a malformed region code.
    """
    validate_obligation(obligation)
    mine = sorted(
        (r for r in retirements if r.obligation_id == obligation.obligation_id),
        key=lambda r: _day(r.at),
    )
    retired = 0
    met_on: date | None = None
    not_counted: list[tuple[Retirement, str]] = []
    for r in mine:
        where = f"retirement against {obligation.obligation_id!r} at {r.at}"
        if not isinstance(r.count, int) or isinstance(r.count, bool) or r.count <= 0:
            raise InputError(
                f"{r.count!r}: a count is a positive integer of units", row=where, field="count"
            )
        _check_code(r.region_code, "region_code", where)
        if _day(r.at) > today:
            continue
        reason = eligibility(obligation, r.unit_type, r.region_code)
        if reason is not None:
            not_counted.append((r, reason))
            continue
        retired += r.count
        if met_on is None and retired >= obligation.required:
            met_on = _day(r.at)
    outstanding = max(obligation.required - retired, 0)
    status: Status
    if outstanding == 0:
        status = "met"
    elif today <= obligation.due:
        status = "open"
    elif retired == 0:
        status = "overdue"
    else:
        status = "partly met, overdue"
    return ObligationStatus(
        obligation.obligation_id,
        obligation.required,
        retired,
        outstanding,
        status,
        met_on,
        met_on is not None and met_on > obligation.due,
        tuple(not_counted),
    )
