"""Pagination, sorting and filtering of list endpoints, one way for all.

``?limit=50&offset=100&sort=-area_hm2`` — ``limit`` 1…500 (default 50), ``offset`` ≥ 0, ``sort``
a column of the resource, ``-`` for descending. The response is a :class:`Page`: ``items``,
``total`` (matching the filters), ``limit``, ``offset``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from restora.service.problems import Problem

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0
    sort: str | None = None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="items to skip")] = 0,
    sort: Annotated[
        str | None, Query(max_length=64, description="a column, '-' first for descending")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=offset, sort=sort)


Paging = Annotated[PageParams, Depends(page_params)]


def sort_key(sort: str | None, allowed: Sequence[str], default: str) -> tuple[str, bool]:
    """``(column, descending)`` of a ``sort`` parameter; an unknown column is a 422 naming it."""
    raw = sort or default
    desc = raw.startswith("-")
    col = raw.lstrip("-")
    if col not in allowed:
        raise Problem(
            422,
            f"cannot sort by {col!r}",
            kind="invalid-input",
            errors=[{"field": "sort", "message": f"one of {', '.join(allowed)}"}],
        )
    return col, desc
