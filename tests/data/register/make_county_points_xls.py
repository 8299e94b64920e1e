"""Writes county_points.xls: a county's point register as an Excel 97-2003 workbook.

The fixture is committed; this script says how it was made. Restora reads .xls with xlrd and
has no .xls writer among its dependencies (xlwt, the writer used here, is unmaintained), so
run it with a Python that has xlwt 1.3.0 installed on its own:

    python -m venv /tmp/xlwt && /tmp/xlwt/bin/pip install xlwt==1.3.0
    /tmp/xlwt/bin/python tests/data/register/make_county_points_xls.py

What the workbook holds (tests/inventory/test_county_files.py checks each):
- a title row merged across the table and a second line (填报单位, 填报日期) above the header;
- one row per mine with its centre point (经度/纬度, WGS 84) and damaged area in 亩, no polygon;
- the region code as a number cell, a date cell (调查日期) and a column Restora does not use (备注).
"""

import datetime as dt
from pathlib import Path

import xlwt

HEADER = [
    "矿山编号",
    "矿山名称",
    "行政区代码",
    "矿种",
    "状态",
    "损毁类型",
    "经度",
    "纬度",
    "损毁面积（亩）",
    "闭坑年份",
    "调查日期",
    "备注",
]
ROWS = [
    [
        "GY-001",
        "甲煤矿",
        430181,
        "煤",
        "废弃",
        "采场",
        113.5012,
        28.1234,
        300,
        2005,
        dt.date(2024, 9, 10),
        "无主",
    ],
    [
        "GY-002",
        "乙石料场",
        430181,
        "建筑石料",
        "废弃",
        "排土场",
        113.6021,
        28.2045,
        45,
        2010,
        dt.date(2024, 9, 11),
        "",
    ],
    [
        "GY-003",
        "丙铅锌矿",
        430181,
        "铅锌矿",
        "闭坑",
        "露天采场",
        113.7033,
        28.3056,
        1200,
        2012,
        dt.date(2024, 9, 12),
        "尾矿已清运",
    ],
]


def main() -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("登记表")
    title = xlwt.easyxf("font: bold on, height 280; align: horiz center")
    sheet.write_merge(0, 0, 0, len(HEADER) - 1, "某县历史遗留矿山损毁土地登记表（点位）", title)
    sheet.write_merge(1, 1, 0, 5, "填报单位：某县自然资源局")
    sheet.write_merge(1, 1, 6, len(HEADER) - 1, "填报日期：2024年9月15日")
    for c, h in enumerate(HEADER):
        sheet.write(2, c, h)
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for r, row in enumerate(ROWS, start=3):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                sheet.write(r, c, v, date)
            else:
                sheet.write(r, c, v)
    book.save(str(Path(__file__).with_name("county_points.xls")))


if __name__ == "__main__":
    main()
