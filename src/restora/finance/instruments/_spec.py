"""What every instrument shares: a frozen input spec, validation into :class:`InputError`,
and a result that lists rule codes, tables used and rows for printing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from restora.errors import InputError, Problem, validation_problems
from restora.units import field_units


class Spec(BaseModel):
    """Base of every instrument's input model: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def quantity(description: str, unit: str, **bounds: Any) -> Any:
    """A pydantic field carrying its unit in ``json_schema_extra["unit"]``."""
    default = bounds.pop("default", ...)
    return Field(default, description=description, json_schema_extra={"unit": unit}, **bounds)


def parse(spec_cls: type[Spec], data: Any, *, file: str | None = None, prefix: str = "") -> Any:
    """Validate ``data`` against ``spec_cls``; problems name the file and the field path.

    ``prefix`` is where ``data`` sits in a larger document (``financing.0.inputs`` in a
    project file): the fields are named by their full path, and no row is given (the path
    says which item it is).

    Raises
    ------
    InputError
        One problem per invalid field, ``field`` the dotted path (``tranches.1.target``, or
        ``financing.0.inputs.tranches.1.target`` with a prefix).
    """
    if isinstance(data, spec_cls):
        return data
    try:
        return spec_cls.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, file=file, prefix=prefix)
        # the item number of the first list in the path, as a row (``tranches.1`` → 2)
        raise InputError(
            problems=[
                Problem(
                    p.message,
                    file=p.file,
                    row=None if prefix else _row(tuple(e["loc"])),
                    field=p.field,
                )
                for p, e in zip(problems, exc.errors(), strict=True)
            ]
        ) from exc


def _row(loc: tuple[Any, ...]) -> int | None:
    """The 1-based item number of the first list index in a field path, if any."""
    for p in loc:
        if isinstance(p, int):
            return p + 1
    return None


def units_of(spec_cls: type[BaseModel]) -> dict[str, str]:
    """Unit of each field of a spec (docs, CLI help, API schemas)."""
    return field_units(spec_cls)


@dataclass(frozen=True)
class InstrumentResult:
    """What an instrument's ``run`` returns.

    Attributes
    ----------
    instrument : str
        The instrument's CLI name (``performance-bond`` …).
    summary : dict
        Headline figures (JSON-safe).
    schedule : list of dict
        Period-by-period rows (the table/CSV output).
    rule_codes : tuple of str
        Codes of the rules that fired or were tested.
    flags : tuple of str
        Human-readable findings (covenant breaches, pool below threshold …).
    tables_used : tuple of dict
        Provenance of the reference tables read.
    """

    instrument: str
    summary: dict[str, Any]
    schedule: list[dict[str, Any]]
    rule_codes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    tables_used: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: instrument, summary, schedule, rule_codes, flags, tables_used."""
        return {
            "instrument": self.instrument,
            "summary": self.summary,
            "schedule": self.schedule,
            "rule_codes": list(self.rule_codes),
            "flags": list(self.flags),
            "tables_used": list(self.tables_used),
        }
