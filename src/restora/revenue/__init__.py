"""Revenue streams of a restored mine: land quotas, carbon-sink credits, surplus earth and
stone, land rights, after-use operations, subsidies and outcome payments.

Every stream is a frozen input spec and a function returning a
:class:`~restora.revenue.streams.RevenueStream`; :func:`build` runs one from a mapping with a
``kind`` key (as in a project file) and :func:`~restora.revenue.streams.combine` adds them by
year, keeping earmarked money apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from restora.errors import InputError, input_error
from restora.revenue.carbon import CarbonCreditSpec, carbon_stream
from restora.revenue.land_rights import LandRightsSpec, land_rights_stream
from restora.revenue.materials import MaterialsSpec, materials_stream
from restora.revenue.operations import OperationsSpec, operations_stream
from restora.revenue.quotas import QuotaSpec, quota_stream
from restora.revenue.streams import RevenueStream, combine
from restora.revenue.subsidies import SubsidySpec, subsidy_stream

STREAMS: dict[str, tuple[type[BaseModel], Callable[[Any], RevenueStream]]] = {
    "quota": (QuotaSpec, quota_stream),
    "carbon": (CarbonCreditSpec, carbon_stream),
    "materials": (MaterialsSpec, materials_stream),
    "land_rights": (LandRightsSpec, land_rights_stream),
    "operations": (OperationsSpec, operations_stream),
    "subsidy": (SubsidySpec, subsidy_stream),
}

__all__ = [
    "STREAMS",
    "RevenueStream",
    "build",
    "build_all",
    "carbon_stream",
    "combine",
    "land_rights_stream",
    "materials_stream",
    "operations_stream",
    "quota_stream",
    "subsidy_stream",
]


def build(item: Any, *, file: str | None = None, row: int | None = None) -> RevenueStream:
    """Run one stream from a mapping ``{"stream": <kind>, ...inputs}``.

    Raises
    ------
    InputError
        Unknown kind or invalid inputs, naming the file, the stream's number and the field.
    """
    if not isinstance(item, dict) or "stream" not in item:
        raise InputError(
            f"each revenue stream needs a 'stream' key ({', '.join(STREAMS)})",
            file=file,
            row=row,
            field="stream",
        )
    kind = item["stream"]
    if kind not in STREAMS:
        raise InputError(
            f"unknown stream {kind!r} (one of {', '.join(STREAMS)})",
            file=file,
            row=row,
            field="stream",
        )
    spec_cls, fn = STREAMS[kind]
    body = {k: v for k, v in item.items() if k != "stream"}
    try:
        spec = spec_cls.model_validate(body)
    except ValidationError as exc:
        raise input_error(exc, file=file, row=row) from exc
    return fn(spec)


def build_all(items: Sequence[Any], *, file: str | None = None) -> list[RevenueStream]:
    """Run every stream of a list (``row`` in errors is the stream's 1-based number)."""
    return [build(it, file=file, row=i) for i, it in enumerate(items, start=1)]
