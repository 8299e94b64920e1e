"""Surplus earth and stone (restora.registry.earthstone): the sale check, the compliance alerts
on worked examples computed by hand, and reading weighbridge records from GBK CSV and xlsx."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError, RestoraError
from restora.registry.earthstone import (
    Alert,
    BeyondApprovedSurplus,
    Lot,
    WeighbridgeRecord,
    check_sale,
    compliance,
    read_weighbridge,
)

# With density 2.0 t/m³ and tare 16 t, a load of V m³ has gross 16 + 2V t.


def _rec(
    ticket: str, when: datetime, lot: str, m3: float, density: float = 2.0
) -> WeighbridgeRecord:
    return WeighbridgeRecord(ticket, "M1", when, "苏E00001", 16 + density * m3, 16.0, density, lot)


def _codes(alerts: list[Alert]) -> list[str]:
    return [a.code for a in alerts]


# --- check_sale -----------------------------------------------------------------------------


def test_check_sale_worked_example() -> None:
    # approved 60 000 m³; sold 40 000 + 15 000 = 55 000: fine; + 20 000 = 60 000: fine (equal);
    # 40 000 + 20 001 = 60 001 > 60 000: refused, 1 m³ beyond
    check_sale(60_000, 40_000, 15_000)
    check_sale(60_000, 40_000, 20_000)
    with pytest.raises(BeyondApprovedSurplus) as e:
        check_sale(60_000, 40_000, 20_001, mine_id="M1", lot_id="L3")
    err = e.value
    assert isinstance(err, RestoraError) and err.exit_code == 2
    assert err.excess_m3 == pytest.approx(1.0)
    assert (err.approved_m3, err.sold_m3, err.lot_m3) == (60_000, 40_000, 20_001)
    msg = str(err)
    assert msg.startswith("mine M1, column \"lot_m3\": lot 'L3' of 20,001.0 m³")
    assert "beyond the approved surplus of 60,000.0 m³ by 1.0 m³" in msg


def test_check_sale_float_sums_are_not_refused() -> None:
    # 0.1 + 0.2 > 0.3 in binary floating point; a sale exactly to the approved total passes
    check_sale(0.3, 0.1, 0.2)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((-1, 0, 1), "approved_m3_total"),
        ((10, -1, 1), "sold_m3_so_far"),
        ((10, 0, 0), "lot_m3"),
        ((10, 0, float("nan")), "lot_m3"),
        ((10, 0, "5"), "lot_m3"),
    ],
)
def test_check_sale_bad_input(args: tuple[float, float, float], field: str) -> None:
    with pytest.raises(InputError) as e:
        check_sale(*args)
    assert not isinstance(e.value, BeyondApprovedSurplus)
    assert e.value.problems[0].field == field


# --- compliance -----------------------------------------------------------------------------


def test_compliance_worked_example_records_and_lots() -> None:
    # approved 100 m³ in 2026 and 100 m³ in 2027 (200 in all); lots L1 60 m³, L2 50 m³
    approved = (np.array([2026, 2027]), np.array([100.0, 100.0]))
    lots = [Lot("L1", 60.0, 2026), Lot("L2", 50.0, 2027)]
    recs = [
        _rec("T1", datetime(2026, 3, 1, 8), "L1", 17),
        _rec("T2", datetime(2026, 4, 1, 8), "L1", 20),
        _rec("T2", datetime(2026, 4, 1, 9), "L1", 20),  # repeat ticket: left out
        _rec("T3", datetime(2026, 5, 1, 8), "L1", 23),  # L1 now 60: not beyond
        _rec("T4", datetime(2026, 6, 1, 8), "L1", 2),  # L1 62 > 60: 2 m³ beyond
        _rec("T5", datetime(2026, 7, 1, 8), "L9", 10),  # no such lot sold
        WeighbridgeRecord("T6", "M1", datetime(2026, 7, 2), "苏E2", 16.0, 16.0, 2.0, "L1"),
        _rec("T7", datetime(2026, 7, 3), "L1", 5, density=4.5),  # implausible density
        _rec("T8", datetime(2025, 12, 20), "L2", 10),  # 2025: no approved works
    ]
    alerts = compliance(approved, lots, recs)
    assert _codes(alerts) == [
        "RECORD-DUPLICATE-TICKET",
        "RECORD-TARE-GE-GROSS",
        "RECORD-IMPLAUSIBLE-DENSITY",
        "HAUL-BEYOND-LOT",
        "HAUL-UNSOLD-LOT",
        "HAUL-NO-WORKS-YEAR",
    ]
    by = {a.code: a for a in alerts}
    assert by["HAUL-BEYOND-LOT"].lot_id == "L1"
    assert by["HAUL-BEYOND-LOT"].excess_m3 == pytest.approx(2.0)
    assert "62.0 m³ hauled from lot 'L1' of 60.0 m³ sold" in by["HAUL-BEYOND-LOT"].message
    assert by["HAUL-UNSOLD-LOT"].excess_m3 == pytest.approx(10.0)
    assert by["HAUL-NO-WORKS-YEAR"].year == 2025
    assert by["HAUL-NO-WORKS-YEAR"].excess_m3 == pytest.approx(10.0)
    assert by["RECORD-TARE-GE-GROSS"].ticket == "T6"
    assert by["RECORD-IMPLAUSIBLE-DENSITY"].ticket == "T7"
    # total hauled 17+20+23+2+10+10 = 82 ≤ 110 sold and ≤ 200 approved; pace: 2025 10 ahead of 0
    # (allowed 0.10 × 200 = 20), 2026 cumulative 82 against 100: no pace alert


def test_compliance_totals_and_pace_boundary() -> None:
    # approved 50 m³ in 2026; one lot of 60 m³ sold (10 beyond the approved), 55 m³ hauled:
    #   lot: 55 ≤ 60 fine; total sold 60 fine; approved: 55 > 50 by 5;
    #   pace: 55 - 50 = 5 ahead, allowed 0.10 × 50 = 5: not more than allowed
    alerts = compliance({2026: 50.0}, {"L1": 60.0}, [_rec("T1", datetime(2026, 5, 1), "L1", 55)])
    assert _codes(alerts) == ["SOLD-BEYOND-APPROVED", "HAUL-BEYOND-APPROVED"]
    assert alerts[0].excess_m3 == pytest.approx(10.0)
    assert alerts[1].excess_m3 == pytest.approx(5.0)
    # lot of 40: 55 hauled is 15 beyond the lot and 15 beyond all sold
    alerts = compliance({2026: 50.0}, {"L1": 40.0}, [_rec("T1", datetime(2026, 5, 1), "L1", 55)])
    assert _codes(alerts) == ["HAUL-BEYOND-LOT", "HAUL-BEYOND-SOLD", "HAUL-BEYOND-APPROVED"]
    assert [a.excess_m3 for a in alerts] == pytest.approx([15.0, 15.0, 5.0])
    # a 10 % haul tolerance lets 55 against 50 approved pass (55 ≤ 55), not 55 against 40 sold
    alerts = compliance(
        {2026: 50.0}, {"L1": 40.0}, [_rec("T1", datetime(2026, 5, 1), "L1", 55)], haul_tolerance=0.1
    )
    assert _codes(alerts) == ["HAUL-BEYOND-LOT", "HAUL-BEYOND-SOLD"]


def test_compliance_pace_ahead_of_plan() -> None:
    # approved 100 m³ a year 2026-2028 (300); allowed ahead 0.10 × 300 = 30 m³.
    # 2026: 135 hauled vs 100 approved: 35 ahead, 5 beyond the allowance -> alert;
    # 2027: 135 + 80 = 215 vs 200: 15 ahead -> none
    approved = {2026: 100.0, 2027: 100.0, 2028: 100.0}
    recs = [
        _rec("A", datetime(2026, 2, 1), "L1", 70),
        _rec("B", datetime(2026, 11, 1), "L1", 65),
        _rec("C", datetime(2027, 6, 1), "L1", 80),
    ]
    alerts = compliance(approved, [Lot("L1", 300.0, 2026)], recs)
    assert _codes(alerts) == ["HAUL-AHEAD-OF-PLAN"]
    assert alerts[0].year == 2026
    assert alerts[0].excess_m3 == pytest.approx(5.0)
    assert "35.0 m³ ahead" in alerts[0].message
    # with a 20 % tolerance (60 m³) nothing is ahead
    assert compliance(approved, [Lot("L1", 300.0, 2026)], recs, pace_tolerance=0.2) == []


def test_compliance_other_mine_left_out() -> None:
    other = WeighbridgeRecord("X1", "M2", datetime(2026, 5, 1), "苏E3", 216.0, 16.0, 2.0, "L1")
    alerts = compliance({2026: 50.0}, {"L1": 40.0}, [other], mine_id="M1")
    assert _codes(alerts) == ["RECORD-OTHER-MINE"]  # its 100 m³ counts nowhere


def test_compliance_bad_input() -> None:
    with pytest.raises(InputError) as e:
        compliance(([2026, 2027], [1.0]), {}, [])
    assert e.value.problems[0].field == "approved_by_year"
    with pytest.raises(InputError) as e:
        compliance({2026: -1.0}, {}, [])
    assert e.value.problems[0].field == "approved_by_year.2026"
    with pytest.raises(InputError) as e:
        compliance({2026: 1.0}, [Lot("L", 1, 2026), Lot("L", 2, 2026)], [])
    assert e.value.problems[0].field == "sold_by_lot"
    with pytest.raises(InputError) as e:
        compliance({2026: 1.0}, {}, [], pace_tolerance=-0.1)
    assert e.value.problems[0].field == "pace_tolerance"


@settings(max_examples=200, deadline=None)
@given(
    loads=st.lists(
        st.tuples(st.integers(0, 2), st.integers(2026, 2028), st.integers(1, 40)), max_size=20
    ),
    sold=st.lists(st.integers(0, 200), min_size=3, max_size=3),
)
def test_compliance_haul_alerts_match_sums(
    loads: list[tuple[int, int, int]], sold: list[int]
) -> None:
    recs = [_rec(f"T{i}", datetime(y, 6, 1), f"L{lot}", m3) for i, (lot, y, m3) in enumerate(loads)]
    lots = {f"L{i}": float(v) for i, v in enumerate(sold)}
    alerts = compliance({2026: 1e6, 2027: 1e6, 2028: 1e6}, lots, recs)
    hauled = {f"L{i}": sum(m for lot, _, m in loads if lot == i) for i in range(3)}
    beyond = {a.lot_id: a.excess_m3 for a in alerts if a.code == "HAUL-BEYOND-LOT"}
    assert beyond == {k: pytest.approx(h - lots[k]) for k, h in hauled.items() if h > lots[k]}
    total = sum(hauled.values())
    assert ("HAUL-BEYOND-SOLD" in _codes(alerts)) == (total > sum(sold))


# --- reading weighbridge records ------------------------------------------------------------

GBK_CSV = (
    "某县历史遗留矿山修复余料过磅记录\n"
    "磅单号,矿山编号,车牌号,时间,毛重(t),皮重(t),净重(t),密度（t/m3）,批次\n"
    "BD0001,M1,苏E12345,2026-04-01 08:15:00,49.00,16.60,32.40,1.80,L1\n"
    "BD0002,M1,苏E67890,2026/4/1 9:05,48.2,15.9,32.3,1.8,L1\n"
)


def test_read_gbk_csv_with_title_row(tmp_path: Path) -> None:
    p = tmp_path / "磅单.csv"
    p.write_bytes(GBK_CSV.encode("gbk"))
    recs = read_weighbridge(p)
    assert [r.ticket for r in recs] == ["BD0001", "BD0002"]
    r = recs[0]
    assert (r.mine_id, r.vehicle, r.lot_id) == ("M1", "苏E12345", "L1")
    assert r.at == datetime(2026, 4, 1, 8, 15)
    assert recs[1].at == datetime(2026, 4, 1, 9, 5)
    # (49.00 - 16.60) / 1.80 = 32.40 / 1.80 = 18.0 m³
    assert r.net_m3 == pytest.approx(18.0)
    # (48.2 - 15.9) / 1.8 = 32.3 / 1.8 = 17.944… m³
    assert recs[1].net_m3 == pytest.approx(32.3 / 1.8)


def test_read_xlsx_english_and_chinese_headers(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["票号", "车牌", "过磅时间", "毛重（kg）", "皮重（kg）", "lot"])
    ws.append([1001, "浙A1", datetime(2026, 5, 2, 10, 30), 45_000, 15_000, "L2"])
    ws.append(["1002", "浙A2", "2026-05-02 11:00", "44,500", "15,100", "L2"])
    p = tmp_path / "weighbridge.xlsx"
    wb.save(p)
    recs = read_weighbridge(p, mine_id="M7", density_t_per_m3=2.0)
    assert [r.ticket for r in recs] == ["1001", "1002"]
    assert recs[0].mine_id == "M7" and recs[0].density_t_per_m3 == 2.0
    assert recs[0].at == datetime(2026, 5, 2, 10, 30)
    # kg -> t: (45 000 - 15 000) kg = 30 t; / 2.0 = 15 m³;  (44 500 - 15 100) kg = 29.4 t -> 14.7 m³
    assert (recs[0].gross_t, recs[0].tare_t) == (45.0, 15.0)
    assert [r.net_m3 for r in recs] == pytest.approx([15.0, 14.7])


def test_read_utf8_english(tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    p.write_text(
        "Ticket,Mine ID,Vehicle,Time,Gross (t),Tare (t),Density,Lot ID\n"
        "T1,M1,AB123,2026-01-05T07:00:00,30,10,2.5,L1\n",
        encoding="utf-8",
    )
    (r,) = read_weighbridge(p)
    assert r.net_m3 == pytest.approx(8.0)  # (30 - 10) / 2.5


def test_bad_rows_name_file_row_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    text = (
        "磅单号,矿山编号,车牌号,时间,毛重(t),皮重(t),密度,批次\n"
        "B1,M1,苏E1,2026-04-01 08:00,49,16,1.8,L1\n"
        "B2,M1,苏E2,昨天,abc,16,1.8,L1\n"
        "B3,M1,,2026-04-01 09:00,49,16,0,L1\n"
        "B1,M1,苏E4,2026-04-01 10:00,49,16,1.8,L1\n"
    )
    p.write_bytes(text.encode("gbk"))
    with pytest.raises(InputError) as e:
        read_weighbridge(p)
    got = [(pr.file, pr.row, pr.field) for pr in e.value.problems]
    assert got == [
        (str(p), 2, "时间"),
        (str(p), 2, "毛重(t)"),
        (str(p), 3, "车牌号"),
        (str(p), 3, "密度"),
        (str(p), 4, "磅单号"),
    ]
    msg = str(e.value)
    assert f'{p}, row 2, column "毛重(t)": ' in msg and "'abc': not a number" in msg
    assert f'{p}, row 3, column "车牌号": required' in msg
    assert "ticket 'B1' repeats row 1" in msg


def test_missing_columns(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text(
        "磅单号,车牌号,时间,毛重,皮重,批次\nB1,苏E1,2026-04-01 08:00,49,16,L1\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as e:
        read_weighbridge(p)
    assert [pr.field for pr in e.value.problems] == ["mine_id", "density_t_per_m3"]
    assert all(pr.file == str(p) for pr in e.value.problems)
    # given as defaults, the same file reads
    (r,) = read_weighbridge(p, mine_id="M1", density_t_per_m3=1.65)
    assert r.net_m3 == pytest.approx(33 / 1.65)


def test_unreadable_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_weighbridge(tmp_path / "nope.csv")
    p = tmp_path / "e.csv"
    p.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="no header naming weighbridge columns"):
        read_weighbridge(p)
    p.write_text("磅单号,矿山编号,车牌号,时间,毛重,皮重,密度,批次\n", encoding="utf-8")
    with pytest.raises(InputError, match="no data rows"):
        read_weighbridge(p)
