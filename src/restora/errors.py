"""Errors meant for people.

Every error caused by a user's input names the file, the row (or feature) and the field, so the
user can fix it without reading code. The CLI maps :class:`InputError` to exit code 2 and any
other :class:`RestoraError` to exit code 1 (see DESIGN.md, "Contracts").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class RestoraError(Exception):
    """A failure Restora can explain; the CLI exits with :attr:`exit_code`."""

    exit_code = 1


class StoreBusyError(RestoraError):
    """The store stayed locked by another writer for longer than the busy timeout; exit code 1.

    Raised before anything of the waiting transaction was written (see docs/store.md,
    "Locking and concurrent writers").
    """


class StoreReadOnlyError(RestoraError):
    """The store cannot be written (a read-only file, folder or database); exit code 1."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and what is wrong.

    ``row`` is the 1-based data row (header not counted) or the feature number of a GIS file.
    """

    message: str
    file: str | None = None
    row: int | str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}" if isinstance(self.row, int) else str(self.row))
        if self.field:
            where.append(f'column "{self.field}"')
        return (", ".join(where) + ": " if where else "") + self.message


class InputError(RestoraError):
    """Bad input. Carries one or more :class:`Problem` s; exit code 2."""

    exit_code = 2

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
        problems: Iterable[Problem] | None = None,
    ) -> None:
        probs = list(problems or [])
        if message is not None:
            probs.insert(0, Problem(message, file=file, row=row, field=field))
        if not probs:
            raise ValueError("InputError needs a message or problems")
        self.problems: list[Problem] = probs
        super().__init__(self._render())

    def _render(self, limit: int = 20) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            lines.append(f"... and {more} more problem(s)")
        return "\n".join(lines)


# a whole-model check names its field first: "risk.drivers.0.streams: no revenue stream …"
_FIELD_FIRST = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)+): (.*)$", re.S)


def validation_problems(
    exc: Any, *, file: str | None = None, row: int | str | None = None, prefix: str = ""
) -> list[Problem]:
    """The errors of a pydantic ``ValidationError`` as problems naming the full field path.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error.
    file, row : optional
        Where the validated data came from.
    prefix : str
        Path of the validated object inside a larger document (``"financing.0.inputs"``).

    Returns
    -------
    list of Problem
        One per error: ``field`` is the dotted path (``financing.0.inputs.valuation_rate``),
        the message says what is wrong in words (``required``, ``not a known field``, the
        validator's message without pydantic's "Value error, " prefix, with the offending
        value when it is short).

    Examples
    --------
    >>> from pydantic import BaseModel, ValidationError
    >>> class M(BaseModel):
    ...     rate: float
    >>> try:
    ...     M.model_validate({"rat": 1})
    ... except ValidationError as e:
    ...     print(validation_problems(e, file="p.yaml", prefix="risk")[0])
    p.yaml, column "risk.rate": required
    """
    out = []
    for e in exc.errors():
        path = [str(p) for p in e.get("loc", ())]
        kind = e.get("type", "")
        msg = str(e.get("msg", ""))
        if kind == "missing":
            msg = "required"
        elif kind == "extra_forbidden":
            msg = "not a known field"
        else:
            msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
            m = _FIELD_FIRST.match(msg)
            if m:
                path += m.group(1).split(".")
                msg = m.group(2)
            value = e.get("input")
            if isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 40:
                msg = f"{value!r}: {msg}"
        field = ".".join([p for p in (prefix,) if p] + path) or None
        out.append(Problem(msg, file=file, row=row, field=field))
    return out


def input_error(
    exc: Any, *, file: str | None = None, row: int | str | None = None, prefix: str = ""
) -> InputError:
    """An :class:`InputError` from a pydantic ``ValidationError`` (see :func:`validation_problems`)."""
    return InputError(problems=validation_problems(exc, file=file, row=row, prefix=prefix))
