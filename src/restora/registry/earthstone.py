"""Surplus earth and stone within the approved restoration: sales, hauling and weighbridge records.

Under the Ministry of Natural Resources' rules on market-based mine restoration (自然资规
〔2019〕6号), the surplus earth and stone that a mine's approved restoration works (slope cutting
and unloading, 削坡减载) produce may be sold by the county through the public resource trading
platform, the proceeds going to that mine's restoration (:mod:`restora.revenue.materials`).
Regulators warn of restoration used as cover for mining (以修复之名行采矿之实): material sold or
hauled beyond what the approved plan produces, or ahead of its works. This module is the pure
engine of those checks:

- :func:`check_sale` refuses a sale that would take the volume sold beyond the approved
  surplus (:class:`BeyondApprovedSurplus`);
- :func:`compliance` reads the approved volume by year (the arrays of
  :func:`restora.revenue.from_plan.volume_by_year`), the lots sold and the weighbridge records,
  and returns :class:`Alert` s — findings for a person to review, not errors;
- :func:`read_weighbridge` reads weighbridge records (磅单) from CSV (UTF-8 or GBK) or ``.xlsx``
  with Chinese or English column names.

A weighbridge record weighs a loaded truck (gross) and the empty truck (tare); the net mass
over the material's density gives its volume, in the basis of the approved plan's volumes:
:math:`V = (m_\\text{gross} - m_\\text{tare}) / \\rho`.

>>> from datetime import datetime
>>> r = WeighbridgeRecord("T1", "M1", datetime(2026, 4, 1, 9), "苏E12345", 49.0, 16.6, 1.8, "L1")
>>> round(r.net_m3, 3)
18.0
>>> alerts = compliance(([2026], [10_000.0]), [Lot("L1", 5_000.0, 2026)], [r])
>>> alerts
[]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from restora.errors import InputError, Problem
from restora.inventory.headers import header_key
from restora.textio import decode_text

#: Default relative tolerance of the pace check: cumulative hauling may run ahead of the
#: cumulative approved volume by this share of the plan's total approved volume (see
#: :func:`compliance`).
PACE_TOLERANCE = 0.10

#: Plausible bulk density of earth and stone [t/m³]: about 1.1 (loose soil) to 3.0 (basalt).
#: A density outside it is a typo, a unit error (kg/m³) or a conversion that shrinks the hauled
#: volume on paper (a high density makes a truckload look smaller).
DENSITY_RANGE = (1.0, 3.0)


@dataclass(frozen=True)
class WeighbridgeRecord:
    """One weighing of a loaded truck leaving the mine (one 磅单).

    Attributes
    ----------
    ticket : str
        The weighbridge ticket number (磅单号).
    mine_id : str
    at : datetime
        When the truck was weighed.
    vehicle : str
        Licence plate (车牌号).
    gross_t : float
        Loaded truck [t].
    tare_t : float
        Empty truck [t].
    density_t_per_m3 : float
        Bulk density of the load, in the basis of the approved volumes [t/m³].
    lot_id : str
        The sold lot the load belongs to (批次).
    """

    ticket: str
    mine_id: str
    at: dt.datetime
    vehicle: str
    gross_t: float
    tare_t: float
    density_t_per_m3: float
    lot_id: str

    @property
    def net_t(self) -> float:
        """Net mass of the load [t]: gross − tare."""
        return self.gross_t - self.tare_t

    @property
    def net_m3(self) -> float:
        """Volume of the load [m³]: (gross − tare) / density."""
        return (self.gross_t - self.tare_t) / self.density_t_per_m3


@dataclass(frozen=True)
class Lot:
    """A lot of surplus earth and stone sold on the platform: ``volume_m3`` [m³] in ``year``."""

    lot_id: str
    volume_m3: float
    year: int


@dataclass(frozen=True)
class Alert:
    """A finding for a person to review (not an error).

    Attributes
    ----------
    code : str
        What kind of finding (``HAUL-BEYOND-LOT`` …; see :func:`compliance`).
    message : str
        The finding in words, with the numbers.
    lot_id, year, ticket : optional
        What it is about.
    excess_m3 : float or None
        By how much a limit is exceeded [m³], where that applies.
    """

    code: str
    message: str
    lot_id: str | None = None
    year: int | None = None
    ticket: str | None = None
    excess_m3: float | None = None


class BeyondApprovedSurplus(InputError):
    """A sale that would take the volume sold beyond the approved surplus; exit code 2.

    Attributes ``approved_m3``, ``sold_m3`` (before the sale), ``lot_m3`` and ``excess_m3``
    [m³].
    """

    def __init__(
        self,
        approved_m3: float,
        sold_m3: float,
        lot_m3: float,
        *,
        mine_id: str | None = None,
        lot_id: str | None = None,
    ) -> None:
        self.approved_m3 = approved_m3
        self.sold_m3 = sold_m3
        self.lot_m3 = lot_m3
        self.excess_m3 = sold_m3 + lot_m3 - approved_m3
        what = f"lot {lot_id!r}" if lot_id else "this lot"
        msg = (
            f"{what} of {lot_m3:,.1f} m³ would take the volume sold to "
            f"{sold_m3 + lot_m3:,.1f} m³, beyond the approved surplus of {approved_m3:,.1f} m³ "
            f"by {self.excess_m3:,.1f} m³ (already sold: {sold_m3:,.1f} m³)"
        )
        super().__init__(msg, row=f"mine {mine_id}" if mine_id else None, field="lot_m3")


def _eps(scale: float) -> float:
    """Floating-point slack for comparisons of volumes of this size [m³]."""
    return 1e-9 * max(1.0, abs(scale))


def _volume(v: object, field: str, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InputError(f"{v!r}: not a number of m³", field=field)
    x = float(v)
    if not math.isfinite(x) or x < 0 or (positive and x == 0):
        raise InputError(
            f"{v!r}: a volume is a finite {'positive' if positive else 'non-negative'} number "
            "of m³",
            field=field,
        )
    return x


def check_sale(
    approved_m3_total: float,
    sold_m3_so_far: float,
    lot_m3: float,
    *,
    mine_id: str | None = None,
    lot_id: str | None = None,
) -> None:
    """Refuse a sale that would exceed the approved surplus.

    Parameters
    ----------
    approved_m3_total : float
        Surplus earth and stone of the approved restoration plan [m³] (the sum of
        :func:`restora.revenue.from_plan.volume_by_year`).
    sold_m3_so_far : float
        Volume of the lots already sold [m³].
    lot_m3 : float
        Volume of the lot to sell [m³], positive.
    mine_id, lot_id : str, optional
        Named in the error.

    Raises
    ------
    BeyondApprovedSurplus
        ``sold_m3_so_far + lot_m3 > approved_m3_total`` (beyond floating-point slack).
    InputError
        A volume that is negative, not finite or not a number, or a lot of 0 m³.

    References
    ----------
    自然资规〔2019〕6号 (MNR 2019): only the surplus earth and stone of the approved
    restoration works may be sold, through the public resource trading platform.

    Examples
    --------
    >>> check_sale(10_000, 6_000, 4_000)
    >>> check_sale(10_000, 6_000, 4_500, lot_id="L3")
    Traceback (most recent call last):
    ...
    restora.registry.earthstone.BeyondApprovedSurplus: column "lot_m3": lot 'L3' of 4,500.0 m³ would take the volume sold to 10,500.0 m³, beyond the approved surplus of 10,000.0 m³ by 500.0 m³ (already sold: 6,000.0 m³)
    """
    approved = _volume(approved_m3_total, "approved_m3_total")
    sold = _volume(sold_m3_so_far, "sold_m3_so_far")
    lot = _volume(lot_m3, "lot_m3", positive=True)
    if sold + lot > approved + _eps(approved):
        raise BeyondApprovedSurplus(approved, sold, lot, mine_id=mine_id, lot_id=lot_id)


def _approved(
    approved_by_year: tuple[ArrayLike, ArrayLike] | Mapping[int, float],
) -> dict[int, float]:
    if isinstance(approved_by_year, Mapping):
        pairs = list(approved_by_year.items())
    else:
        years, vols = approved_by_year
        ys, vs = np.asarray(years).ravel(), np.asarray(vols, dtype=np.float64).ravel()
        if ys.shape != vs.shape:
            raise InputError(f"{ys.size} years but {vs.size} volumes", field="approved_by_year")
        pairs = list(zip(ys.tolist(), vs.tolist(), strict=True))
    out: dict[int, float] = {}
    for y, v in pairs:
        if isinstance(y, bool) or not float(y).is_integer():
            raise InputError(f"{y!r}: not a calendar year", field="approved_by_year")
        out[int(y)] = out.get(int(y), 0.0) + _volume(v, f"approved_by_year.{int(y)}")
    return out


def _lots(sold_by_lot: Iterable[Lot] | Mapping[str, float]) -> dict[str, float]:
    if isinstance(sold_by_lot, Mapping):
        items = [(str(k), v) for k, v in sold_by_lot.items()]
    else:
        items = [(lot.lot_id, lot.volume_m3) for lot in sold_by_lot]
    out: dict[str, float] = {}
    for k, v in items:
        if k in out:
            raise InputError(f"lot {k!r} appears twice", field="sold_by_lot")
        out[k] = _volume(v, f"sold_by_lot.{k}")
    return out


def compliance(
    approved_by_year: tuple[ArrayLike, ArrayLike] | Mapping[int, float],
    sold_by_lot: Iterable[Lot] | Mapping[str, float],
    hauled_records: Iterable[WeighbridgeRecord],
    *,
    pace_tolerance: float = PACE_TOLERANCE,
    haul_tolerance: float = 0.0,
    density_range: tuple[float, float] = DENSITY_RANGE,
    mine_id: str | None = None,
) -> list[Alert]:
    """Findings on one mine's sales and hauling against its approved restoration plan.

    Parameters
    ----------
    approved_by_year : (years, volumes) or mapping year → volume
        Surplus volume the approved plan's works produce each calendar year [m³], e.g.
        :func:`restora.revenue.from_plan.volume_by_year` ``(plan)``.
    sold_by_lot : iterable of Lot, or mapping lot_id → volume [m³]
        The lots sold on the platform.
    hauled_records : iterable of WeighbridgeRecord
        The weighbridge records of the mine.
    pace_tolerance : float
        Share of the total approved volume [1] by which cumulative hauling may run ahead of the
        cumulative approved volume before ``HAUL-AHEAD-OF-PLAN``. The default 0.10 lets works
        slip across a year boundary (on a plan of two to five years, a tenth of the volume is
        roughly one to six months of works, the usual slip of earthworks against a yearly
        schedule) while a mine that hauls a whole year's material early is flagged.
    haul_tolerance : float
        Relative slack [1] on the hauling-beyond checks (lot, total sold, total approved). The
        default 0 flags any excess: the alert gives the excess, and the reviewer judges whether
        the density assumption explains it.
    density_range : (float, float)
        Plausible densities [t/m³] (:data:`DENSITY_RANGE`).
    mine_id : str, optional
        The mine; records of another mine are flagged (``RECORD-OTHER-MINE``) and left out.

    Returns
    -------
    list of Alert
        In this order, each kind sorted by lot, year or ticket:

        - ``RECORD-OTHER-MINE``, ``RECORD-DUPLICATE-TICKET`` (the repeats are left out),
          ``RECORD-TARE-GE-GROSS``, ``RECORD-IMPLAUSIBLE-DENSITY``: records left out of every
          volume (their volume cannot be trusted);
        - ``SOLD-BEYOND-APPROVED``: lots sold exceed the approved surplus;
        - ``HAUL-UNSOLD-LOT``: hauling against a lot that was not sold;
        - ``HAUL-BEYOND-LOT``: hauled from a lot more than the lot's volume;
        - ``HAUL-BEYOND-SOLD``: hauled in total more than sold in total;
        - ``HAUL-BEYOND-APPROVED``: hauled in total more than the approved surplus;
        - ``HAUL-NO-WORKS-YEAR``: hauling in a year when the plan has no approved works;
        - ``HAUL-AHEAD-OF-PLAN``: at the end of a year, cumulative hauling exceeds cumulative
          approved volume by more than ``pace_tolerance`` × total approved.

    Raises
    ------
    InputError
        Malformed approved volumes or lots (negative, not finite, a lot twice), a tolerance
        that is negative.

    Notes
    -----
    Volume of a record :math:`V = (m_g - m_t)/\\rho`. Pace: with :math:`H(y)` and
    :math:`A(y)` the cumulative hauled and approved volumes through year :math:`y` and
    :math:`A` the total approved, alert when :math:`H(y) - A(y) > \\tau A`.

    References
    ----------
    自然资规〔2019〕6号 (MNR 2019), on surplus earth and stone from restoration; the
    ministry's warnings against mining under the name of restoration.
    """
    for name, tol in (("pace_tolerance", pace_tolerance), ("haul_tolerance", haul_tolerance)):
        if not math.isfinite(tol) or tol < 0:
            raise InputError(f"{tol!r}: a tolerance is a non-negative number", field=name)
    approved = _approved(approved_by_year)
    lots = _lots(sold_by_lot)
    total_approved = sum(approved.values())
    total_sold = sum(lots.values())
    lo, hi = density_range
    alerts: list[Alert] = []
    seen: set[str] = set()
    good: list[WeighbridgeRecord] = []
    for r in sorted(hauled_records, key=lambda r: (r.at, r.ticket)):
        if mine_id is not None and r.mine_id != mine_id:
            alerts.append(
                Alert(
                    "RECORD-OTHER-MINE",
                    f"ticket {r.ticket!r} is of mine {r.mine_id!r}, not {mine_id!r}; left out",
                    lot_id=r.lot_id,
                    year=r.at.year,
                    ticket=r.ticket,
                )
            )
            continue
        if r.ticket in seen:
            alerts.append(
                Alert(
                    "RECORD-DUPLICATE-TICKET",
                    f"ticket {r.ticket!r} appears again (vehicle {r.vehicle}, {r.at}); the "
                    "repeat is left out",
                    lot_id=r.lot_id,
                    year=r.at.year,
                    ticket=r.ticket,
                )
            )
            continue
        seen.add(r.ticket)
        if not (math.isfinite(r.gross_t) and math.isfinite(r.tare_t)) or r.tare_t >= r.gross_t:
            alerts.append(
                Alert(
                    "RECORD-TARE-GE-GROSS",
                    f"ticket {r.ticket!r}: tare {r.tare_t} t is not below gross {r.gross_t} t "
                    f"(vehicle {r.vehicle}); left out",
                    lot_id=r.lot_id,
                    year=r.at.year,
                    ticket=r.ticket,
                )
            )
            continue
        if not (math.isfinite(r.density_t_per_m3) and lo <= r.density_t_per_m3 <= hi):
            alerts.append(
                Alert(
                    "RECORD-IMPLAUSIBLE-DENSITY",
                    f"ticket {r.ticket!r}: density {r.density_t_per_m3} t/m³ is outside "
                    f"{lo}-{hi} t/m³ (vehicle {r.vehicle}); left out",
                    lot_id=r.lot_id,
                    year=r.at.year,
                    ticket=r.ticket,
                )
            )
            continue
        good.append(r)

    if total_sold > total_approved + _eps(total_approved):
        alerts.append(
            Alert(
                "SOLD-BEYOND-APPROVED",
                f"lots sold total {total_sold:,.1f} m³, beyond the approved surplus of "
                f"{total_approved:,.1f} m³",
                excess_m3=total_sold - total_approved,
            )
        )
    by_lot: dict[str, float] = {}
    by_year: dict[int, float] = {}
    for r in good:
        by_lot[r.lot_id] = by_lot.get(r.lot_id, 0.0) + r.net_m3
        by_year[r.at.year] = by_year.get(r.at.year, 0.0) + r.net_m3
    total_hauled = sum(by_lot.values())
    for lot_id in sorted(by_lot):
        h = by_lot[lot_id]
        if lot_id not in lots:
            alerts.append(
                Alert(
                    "HAUL-UNSOLD-LOT",
                    f"{h:,.1f} m³ hauled against lot {lot_id!r}, which was not sold",
                    lot_id=lot_id,
                    excess_m3=h,
                )
            )
        elif h > lots[lot_id] * (1 + haul_tolerance) + _eps(lots[lot_id]):
            alerts.append(
                Alert(
                    "HAUL-BEYOND-LOT",
                    f"{h:,.1f} m³ hauled from lot {lot_id!r} of {lots[lot_id]:,.1f} m³ sold",
                    lot_id=lot_id,
                    excess_m3=h - lots[lot_id],
                )
            )
    for code, limit, what in (
        ("HAUL-BEYOND-SOLD", total_sold, "sold in total"),
        ("HAUL-BEYOND-APPROVED", total_approved, "the approved surplus"),
    ):
        if total_hauled > limit * (1 + haul_tolerance) + _eps(limit):
            alerts.append(
                Alert(
                    code,
                    f"{total_hauled:,.1f} m³ hauled in total, beyond {what} ({limit:,.1f} m³)",
                    excess_m3=total_hauled - limit,
                )
            )
    for year in sorted(by_year):
        if approved.get(year, 0.0) <= 0:
            alerts.append(
                Alert(
                    "HAUL-NO-WORKS-YEAR",
                    f"{by_year[year]:,.1f} m³ hauled in {year}, a year without approved works",
                    year=year,
                    excess_m3=by_year[year],
                )
            )
    if total_approved > 0 and by_year:
        allowed = pace_tolerance * total_approved
        cum_h = cum_a = 0.0
        for year in range(min(min(by_year), min(approved)), max(by_year) + 1):
            cum_h += by_year.get(year, 0.0)
            cum_a += approved.get(year, 0.0)
            ahead = cum_h - cum_a
            if ahead > allowed + _eps(total_approved):
                alerts.append(
                    Alert(
                        "HAUL-AHEAD-OF-PLAN",
                        f"by the end of {year} {cum_h:,.1f} m³ hauled against {cum_a:,.1f} m³ "
                        f"of approved works: {ahead:,.1f} m³ ahead, more than "
                        f"{pace_tolerance:.0%} of the approved {total_approved:,.1f} m³",
                        year=year,
                        excess_m3=ahead - allowed,
                    )
                )
    return alerts


# --- reading weighbridge records -------------------------------------------------------------

# canonical field → accepted headers (compared by restora.inventory.headers.header_key);
# mass headers in kg are converted to t
_ALIASES: dict[str, tuple[str, ...]] = {
    "ticket": ("ticket", "ticket_no", "磅单号", "磅单编号", "磅单", "票号", "单号", "过磅单号"),
    "mine_id": ("mine_id", "mine", "矿山编号", "矿山", "矿山名称"),
    "at": ("at", "time", "datetime", "时间", "过磅时间", "日期时间", "称重时间", "出场时间"),
    "vehicle": ("vehicle", "plate", "车牌号", "车牌", "车号", "车牌号码"),
    "gross_t": ("gross_t", "gross", "gross(t)", "毛重", "毛重(t)", "毛重(吨)"),
    "tare_t": ("tare_t", "tare", "tare(t)", "皮重", "皮重(t)", "皮重(吨)"),
    "density_t_per_m3": (
        "density_t_per_m3",
        "density",
        "density(t/m3)",
        "密度",
        "密度(t/m3)",
        "容重",
        "容重(t/m3)",
    ),
    "lot_id": ("lot_id", "lot", "批次", "批次号", "标的", "标的编号"),
}
_KG_ALIASES = {
    "gross_t": ("gross(kg)", "gross_kg", "毛重(kg)", "毛重(千克)", "毛重(公斤)"),
    "tare_t": ("tare(kg)", "tare_kg", "皮重(kg)", "皮重(千克)", "皮重(公斤)"),
}
_KEYS: dict[str, tuple[str, float]] = {}
for _f, _names in _ALIASES.items():
    for _n in _names:
        _KEYS[header_key(_n)] = (_f, 1.0)
for _f, _names in _KG_ALIASES.items():
    for _n in _names:
        _KEYS[header_key(_n)] = (_f, 0.001)
_REQUIRED = ("ticket", "at", "vehicle", "gross_t", "tare_t", "lot_id")
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
_HEADER_SCAN_ROWS = 20


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _parse_time(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time())
    s = " ".join(str(v).split())
    try:
        return dt.datetime.fromisoformat(s)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(f"{s!r}: not a date and time (e.g. 2026-04-01 08:30)")


def _parse_number(v: Any, *, positive: bool) -> float:
    if isinstance(v, bool):
        raise ValueError(f"{v!r}: not a number")
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        s = str(v).strip().replace(",", "").replace("，", "")
        try:
            x = float(s)
        except ValueError:
            raise ValueError(f"{str(v).strip()!r}: not a number") from None
    if not math.isfinite(x) or x < 0 or (positive and x == 0):
        raise ValueError(
            f"{v!r}: must be a finite {'positive' if positive else 'non-negative'} number"
        )
    return x


def _rows(path: Path, data: bytes, encoding: str | None) -> list[list[Any]]:
    name = str(path)
    if data[:4] == b"PK\x03\x04":  # .xlsx / .xlsm (a zip), whatever the file is called
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises assorted errors on broken files
            raise InputError(f"cannot read the workbook: {exc}", file=name) from exc
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()
            return [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise InputError("an Excel 97-2003 .xls workbook: save it as .xlsx or CSV", file=name)
    text, _ = decode_text(data, name, encoding)
    head = text[:20_000]
    sep = "\t" if head.count("\t") > head.count(",") else ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text), delimiter=sep)]
    except csv.Error as exc:
        raise InputError(f"cannot read the text table: {exc}", file=name) from exc


def _header(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, tuple[int, str, float]]]:
    """Index of the header row (the one naming most fields) and field → (column, header, factor)."""
    best, best_map = -1, dict[str, tuple[int, str, float]]()
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        found: dict[str, tuple[int, str, float]] = {}
        for j, cell in enumerate(row):
            hit = _KEYS.get(header_key(_text(cell)))
            if hit is not None and hit[0] not in found:
                found[hit[0]] = (j, _text(cell), hit[1])
        if len(found) > len(best_map):
            best, best_map = i, found
    return best, best_map


def read_weighbridge(
    path: str | Path,
    *,
    mine_id: str | None = None,
    density_t_per_m3: float | None = None,
    encoding: str | None = None,
) -> list[WeighbridgeRecord]:
    """Weighbridge records (磅单) from a CSV or ``.xlsx`` file.

    Parameters
    ----------
    path : str or Path
        CSV or tab-separated text (UTF-8, UTF-16 with BOM, GBK/GB18030; decoded by
        :func:`restora.textio.decode_text`), or an ``.xlsx`` workbook (its first sheet). Title
        rows above the header are skipped.
    mine_id : str, optional
        The mine of every record when the file has no mine column (矿山编号).
    density_t_per_m3 : float, optional
        The density [t/m³] of every record when the file has no density column (密度, 容重).
    encoding : str, optional
        Force a text encoding.

    Returns
    -------
    list of WeighbridgeRecord
        In file order; masses [t] (a header in kg, ``毛重(kg)``, is converted), density
        [t/m³].

    Raises
    ------
    InputError
        The file cannot be read, a column is missing, or rows are bad; every problem names the
        file, the data row (1-based, the header not counted) and the column as written in the
        file. A tare at or above the gross and an implausible density are *not* errors here:
        :func:`compliance` flags them.

    Notes
    -----
    Accepted columns (Chinese or English, case, width and bracket style ignored):
    ticket 磅单号/票号/单号, mine_id 矿山编号/矿山, at 时间/过磅时间/日期时间, vehicle
    车牌号/车牌, gross_t 毛重/毛重(t)/毛重(吨)/毛重(kg), tare_t 皮重/皮重(t)/皮重(kg),
    density_t_per_m3 密度/容重/密度(t/m3), lot_id 批次/批次号/标的. Other columns (净重 …) are
    ignored.
    """
    p = Path(path)
    name = str(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from exc
    rows = _rows(p, data, encoding)
    h, cols = _header(rows)
    if h < 0:
        raise InputError("no header naming weighbridge columns (磅单号, 车牌号, 毛重 …)", file=name)
    missing = [f for f in _REQUIRED if f not in cols]
    if "mine_id" not in cols and mine_id is None:
        missing.append("mine_id")
    if "density_t_per_m3" not in cols and density_t_per_m3 is None:
        missing.append("density_t_per_m3")
    if missing:
        raise InputError(
            problems=[
                Problem(
                    f"missing column (accepted: {', '.join(_ALIASES[f][:5])})",
                    file=name,
                    field=f,
                )
                for f in missing
            ]
        )
    if density_t_per_m3 is not None:
        _volume(density_t_per_m3, "density_t_per_m3", positive=True)
    problems: list[Problem] = []
    out: list[WeighbridgeRecord] = []
    tickets: dict[str, int] = {}
    for n, row in enumerate(rows[h + 1 :], start=1):
        if all(_text(c) == "" for c in row):
            continue
        values: dict[str, Any] = {}
        bad = False
        for field, (j, header, factor) in cols.items():
            cell = row[j] if j < len(row) else None
            if _text(cell) == "":
                if (
                    field in ("mine_id", "density_t_per_m3")
                    and (mine_id if field == "mine_id" else density_t_per_m3) is not None
                ):
                    continue
                problems.append(Problem("required", file=name, row=n, field=header))
                bad = True
                continue
            try:
                if field == "at":
                    values[field] = _parse_time(cell)
                elif field in ("gross_t", "tare_t"):
                    values[field] = _parse_number(cell, positive=False) * factor
                elif field == "density_t_per_m3":
                    values[field] = _parse_number(cell, positive=True)
                else:
                    values[field] = _text(cell)
            except ValueError as exc:
                problems.append(Problem(str(exc), file=name, row=n, field=header))
                bad = True
        if bad:
            continue
        t = values["ticket"]
        if t in tickets:
            problems.append(
                Problem(
                    f"ticket {t!r} repeats row {tickets[t]}",
                    file=name,
                    row=n,
                    field=cols["ticket"][1],
                )
            )
            continue
        tickets[t] = n
        out.append(
            WeighbridgeRecord(
                ticket=t,
                mine_id=values.get("mine_id") or str(mine_id),
                at=values["at"],
                vehicle=values["vehicle"],
                gross_t=values["gross_t"],
                tare_t=values["tare_t"],
                density_t_per_m3=float(values.get("density_t_per_m3") or density_t_per_m3 or 0),
                lot_id=values["lot_id"],
            )
        )
    if problems:
        raise InputError(problems=problems)
    if not out:
        raise InputError("has a header but no data rows", file=name)
    return out
