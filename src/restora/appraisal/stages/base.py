"""What every stage result has in common, and the helpers the stages share.

A stage result is a frozen dataclass (pvlib's ``ModelChainResult`` is the model): each field is
typed, its docstring line gives the unit and the function that produced it, and
:meth:`StageResult.to_json` writes the stage's section of ``appraisal.json``. A stage that could
not be assessed says why in ``reason`` and carries no figure.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

ASSESSED = "assessed"
NOT_ASSESSED = "not assessed"

#: The price basis of a stage whose money is CNY of the year it is paid.
NOMINAL: Mapping[str, Any] = {
    "basis": "nominal",
    "price_year": None,
    "note": "CNY of the year paid",
}

Table = Mapping[str, Any]
"""The provenance of a reference table: ``{name, version, source, ...}`` (refdata)."""


@dataclass(frozen=True, kw_only=True)
class StageResult:
    """Fields every stage result has.

    Attributes
    ----------
    status : str
        ``"assessed"`` or ``"not assessed"``.
    reason : str or None
        Why the stage was not assessed (``"not assessed: …"``).
    method : str
        The method, in words, with its references.
    tables : tuple of mapping
        The reference tables the stage used (name, version, source).
    rule_codes : tuple of str
        The rule codes that fired.
    """

    name: ClassVar[str] = "stage"

    status: str = ASSESSED
    reason: str | None = None
    method: str = ""
    tables: tuple[Table, ...] = ()
    rule_codes: tuple[str, ...] = ()

    @property
    def assessed(self) -> bool:
        return self.status == ASSESSED

    def section(self) -> dict[str, Any]:
        """The stage's own keys of its JSON section (overridden by each stage)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The stage's section of ``appraisal.json``."""
        if not self.assessed:
            return {"status": NOT_ASSESSED, "reason": self.reason}
        return {
            "status": ASSESSED,
            "method": self.method,
            **self.section(),
            "rule_codes": sorted(set(self.rule_codes)),
            "tables": [dict(t) for t in self.tables],
        }


def not_assessed_reason(reason: str) -> str:
    """``"not assessed: <reason>"`` — the wording every section and the report use."""
    return f"{NOT_ASSESSED}: {reason}"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-ready dicts (missing values as ``None``)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[no-any-return]


def sha256_of(obj: Any) -> str:
    """SHA-256 of an object's canonical JSON (sorted keys)."""
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def unique_tables(tables: Iterable[Table]) -> tuple[Table, ...]:
    """Reference tables without repeats (by name and version), in first-seen order."""
    seen: dict[tuple[str, str], Table] = {}
    for t in tables:
        seen.setdefault((str(t.get("name")), str(t.get("version"))), dict(t))
    return tuple(seen.values())


def plain(v: Any) -> Any:
    """A cell as a JSON scalar: NaN, NA and None → ``None``; numpy booleans → bool."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.bool_):
        return bool(v)
    return v
