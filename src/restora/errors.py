"""Errors meant for people.

Every error caused by a user's input names the file, the row (or feature) and the field, so the
user can fix it without reading code. The CLI maps :class:`InputError` to exit code 2 and any
other :class:`RestoraError` to exit code 1 (see DESIGN.md, "Contracts").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class RestoraError(Exception):
    """A failure Restora can explain; the CLI exits with :attr:`exit_code`."""

    exit_code = 1


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
